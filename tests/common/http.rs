//! HTTP GETs, metric lookups and free ports: re-exported from the shared
//! test kit, so every test uses one implementation.
#![allow(unused_imports)]

pub use satpam_testkit::http::{
    free_addr, free_port, get, get_body, metric, metric_in, wait_until,
};

/// POSTs `body`, signed `sig`, to the webhook receiver's `/webhooks/whatsapp`
/// at `addr` over HTTP/1.0; the answer's status code (waits up to 70 s:
/// with Kafka, the answer waits for the broker).
pub async fn post_webhook(addr: std::net::SocketAddr, body: Vec<u8>, sig: String) -> u16 {
    post_signed(addr, "/webhooks/whatsapp".into(), Vec::new(), body, sig).await
}

/// POSTs `body`, signed `sig`, to `path` at `addr` over HTTP/1.0 with the
/// `extra` headers; the answer's status code (waits up to 70 s).
pub async fn post_signed(
    addr: std::net::SocketAddr,
    path: String,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
    sig: String,
) -> u16 {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(70)))
            .expect("timeout");
        let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        write!(
            s,
            "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             X-Hub-Signature-256: {sig}\r\n{extra}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .expect("head");
        s.write_all(&body).expect("body");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("response");
        text.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status")
    })
    .await
    .expect("join")
}
