//! Helpers for tests that run `satpam serve` in-process or as a process.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;

/// GET `path` from async code (the blocking GET on a blocking thread).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || super::http::get(addr, &path))
        .await
        .expect("join")
        .expect("GET")
}

/// A plaintext gRPC channel to `addr`, connected.
pub async fn grpc_channel(addr: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

pub use satpam_testkit::prom::{parse as parse_prometheus, sample};
