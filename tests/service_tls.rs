//! The listeners over TLS, in-process on ephemeral ports, with certificates
//! made at test time: gRPC with mTLS and a real tonic client (a good client
//! certificate ingests; none, one from another CA, or plaintext is
//! refused), `/metrics` over TLS with a real rustls client, and the client
//! certificate's subject reaching an HTTP handler as `ClientCertSubject`.

mod common;

use std::path::Path;

use axum::routing::get;
use axum::Extension;
use common::{traffic, Script};
use satpam::access::auth::ClientCertSubject;
use satpam::pb::v1 as pb;
use satpam::service::{self, tls_listen, Config, RunningService};
use satpam_testkit::tls::{https_get, Ca, Issued};
use tokio_stream::StreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// The service with gRPC over mTLS (clients of `ca`) and `/metrics` over TLS.
async fn start(dir: &Path, server: &Issued, ca: &Ca) -> RunningService {
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\n\
         [grpc.tls]\ncert_file = {cert:?}\nkey_file = {key:?}\nclient_ca_file = {ca:?}\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n\
         [metrics.tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n\
         [sinks]\njsonl = \"\"\n",
        cert = server.cert_file.display().to_string(),
        key = server.key_file.display().to_string(),
        ca = ca.cert_file.display().to_string(),
    );
    let _ = dir;
    let config = Config::from_toml(&toml, "tls.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

/// A tonic channel over TLS trusting `ca`, with `identity` when given.
async fn tls_channel(
    svc: &RunningService,
    ca: &Ca,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let addr = svc.grpc_addr().expect("grpc on");
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.cert_pem))
        .domain_name("localhost");
    if let Some(c) = identity {
        tls = tls.identity(Identity::from_pem(&c.cert_pem, &c.key_pem));
    }
    Channel::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)?
        .connect()
        .await
}

/// One Ingest batch of a short conversation; the ack, or the call's status.
async fn ingest_once(ch: Channel) -> Result<pb::BatchAck, tonic::Status> {
    let events = traffic(Script::SupportBot, "shop", 2, 5, true);
    let n = events.len();
    let batch = pb::EventBatch {
        batch_id: 1,
        events,
    };
    let mut acks = pb::ingest_client::IngestClient::new(ch)
        .ingest(tokio_stream::iter([batch]))
        .await?
        .into_inner();
    let ack = acks
        .next()
        .await
        .ok_or_else(|| tonic::Status::unknown("no ack"))??;
    assert_eq!(ack.accepted as usize, n);
    Ok(ack)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_mtls_takes_good_client_certificates_and_refuses_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "satpam-test");
    let other = Ca::new(dir.path(), "elsewhere");
    let server = ca.server(dir.path(), "server");
    let good = ca.client(dir.path(), "good", "bsp-ingest", "Example BSP");
    let stranger = other.client(dir.path(), "stranger", "bsp-ingest", "Example BSP");
    let svc = start(dir.path(), &server, &ca).await;

    // A client certificate from the configured CA: Ingest works.
    let ch = tls_channel(&svc, &ca, Some(&good)).await.expect("connect");
    let ack = ingest_once(ch).await.expect("ingest over mTLS");
    assert_eq!(ack.rejected, 0);

    // No client certificate, or one from another CA: refused. (With TLS 1.3
    // the server's verdict can arrive after the client's handshake, so the
    // refusal shows at the connect or at the first call.)
    for (who, identity) in [("none", None), ("another CA", Some(&stranger))] {
        let refused = match tls_channel(&svc, &ca, identity).await {
            Err(_) => true,
            Ok(ch) => ingest_once(ch).await.is_err(),
        };
        assert!(refused, "a client with {who} certificate was served");
    }

    // Plaintext to the TLS port: refused.
    let addr = svc.grpc_addr().expect("grpc");
    let plain = match Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
    {
        Err(_) => true,
        Ok(ch) => ingest_once(ch).await.is_err(),
    };
    assert!(plain, "plaintext gRPC was served on the TLS listener");

    // The refused calls changed nothing: one batch was ingested.
    let metrics = svc.metrics_addr().expect("metrics");
    let ca_pem = ca.cert_pem.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || https_get(metrics, "/metrics", &ca_pem, None))
            .await
            .expect("join")
            .expect("GET /metrics over TLS");
    assert_eq!(status, 200);
    let events = satpam_testkit::http::metric_in(&body, "satpam_events_total{source=\"grpc\"}");
    assert_eq!(
        events,
        Some(traffic(Script::SupportBot, "shop", 2, 5, true).len() as f64)
    );
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_over_tls_answers_tls_clients_only() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "satpam-test");
    let server = ca.server(dir.path(), "server");
    let svc = start(dir.path(), &server, &ca).await;
    let metrics = svc.metrics_addr().expect("metrics");
    let (ca_pem, other_pem) = (
        ca.cert_pem.clone(),
        Ca::new(dir.path(), "elsewhere").cert_pem,
    );
    let (ok, plain, untrusted) = tokio::task::spawn_blocking(move || {
        (
            https_get(metrics, "/readyz", &ca_pem, None),
            satpam_testkit::http::get(metrics, "/readyz"),
            https_get(metrics, "/readyz", &other_pem, None),
        )
    })
    .await
    .expect("join");
    assert_eq!(ok.expect("GET /readyz over TLS").0, 200);
    assert!(
        !matches!(plain, Ok((200, _))),
        "plaintext answered: {plain:?}"
    );
    assert!(
        untrusted.is_err(),
        "a client that does not trust the CA got through"
    );
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_handler_sees_the_verified_client_subject() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "satpam-test");
    let server = ca.server(dir.path(), "server");
    let client = ca.client(dir.path(), "client", "bsp-ops", "Example BSP");
    let tls = satpam::config::TlsSection {
        cert_file: server.cert_file.display().to_string(),
        key_file: server.key_file.display().to_string(),
        client_ca_file: ca.cert_file.display().to_string(),
    }
    .server_config("test.tls", &[b"http/1.1"])
    .expect("server config");
    let app = axum::Router::new().route(
        "/whoami",
        get(|s: Option<Extension<ClientCertSubject>>| async move {
            s.map(|Extension(s)| s.0).unwrap_or_else(|| "nobody".into())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server_task = tokio::spawn(tls_listen::serve_http(listener, tls, app, "test", stop_rx));
    let ca_pem = ca.cert_pem.clone();
    let (with, without) = tokio::task::spawn_blocking(move || {
        (
            https_get(addr, "/whoami", &ca_pem, Some(&client)),
            https_get(addr, "/whoami", &ca_pem, None),
        )
    })
    .await
    .expect("join");
    let (status, body) = with.expect("GET with a client certificate");
    assert_eq!(status, 200);
    assert_eq!(body, "CN=bsp-ops, O=Example BSP");
    assert!(
        without.is_err(),
        "served without a client certificate: {without:?}"
    );
    let _ = stop_tx.send(true);
    server_task.await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satpam_health_checks_a_tls_listener_with_its_flags() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "satpam-test");
    let server = ca.server(dir.path(), "server");
    let client = ca.client(dir.path(), "probe", "probe", "Example BSP");
    let svc = start(dir.path(), &server, &ca).await;
    let grpc = svc.grpc_addr().expect("grpc").to_string();
    let health = |extra: Vec<String>| {
        let grpc = grpc.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_satpam"))
                    .args(["health", "--grpc", &grpc])
                    .args(extra)
                    .output()
                    .expect("satpam health")
            })
            .await
            .expect("join")
        }
    };
    let path = |p: &Path| p.display().to_string();
    let ok = health(vec![
        "--ca-file".into(),
        path(&ca.cert_file),
        "--cert-file".into(),
        path(&client.cert_file),
        "--key-file".into(),
        path(&client.key_file),
    ])
    .await;
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "SERVING\n");
    // Without a client certificate, or in plaintext: not served.
    for extra in [vec!["--ca-file".to_string(), path(&ca.cert_file)], vec![]] {
        let out = health(extra.clone()).await;
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "UNREACHABLE\n");
    }
    svc.shutdown().await.expect("shutdown");
}

/// A principal named by its client certificate's subject (no token): the
/// verified subject of the mTLS connection is what authenticates it, its
/// roles and tenants are what it may do, and a certificate from the same
/// CA with another subject is nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_subject_is_a_principal() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "satpam-test");
    let server = ca.server(dir.path(), "server");
    let ingest = ca.client(dir.path(), "ingest", "bsp-ingest", "Example BSP");
    let elsewhere = ca.client(dir.path(), "elsewhere", "bsp-other", "Example BSP");
    let stranger = ca.client(dir.path(), "stranger", "someone", "Nowhere");
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\n\
         [grpc.tls]\ncert_file = {cert:?}\nkey_file = {key:?}\nclient_ca_file = {ca:?}\n\
         [metrics]\nlisten = \"\"\n\
         [sinks]\njsonl = \"\"\n\
         [audit]\npath = {audit:?}\n\
         [[auth.principals]]\nname = \"ingest-by-cert\"\ncert_subject = \"CN=bsp-ingest, O=Example BSP\"\n\
         roles = [\"ingest\"]\ntenants = [\"bsp-test\"]\n\
         [[auth.principals]]\nname = \"other-tenant\"\ncert_subject = \"CN=bsp-other, O=Example BSP\"\n\
         roles = [\"ingest\", \"read\"]\ntenants = [\"bsp-2\"]\n",
        cert = server.cert_file.display().to_string(),
        key = server.key_file.display().to_string(),
        ca = ca.cert_file.display().to_string(),
        audit = dir.path().join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "tls.toml", Vec::new()).expect("config");
    let svc = service::start(config).await.expect("service starts");

    // Its own tenant's events: all taken.
    let ch = tls_channel(&svc, &ca, Some(&ingest))
        .await
        .expect("connect");
    let ack = ingest_once(ch.clone())
        .await
        .expect("ingest by certificate");
    assert_eq!(ack.rejected, 0);
    // It has no `read` role: Admin refuses it.
    let denied = pb::admin_client::AdminClient::new(ch)
        .list_actioned(pb::ListActionedRequest::default())
        .await
        .expect_err("ListActioned without the read role");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");

    // A principal of another tenant: every event of bsp-test refused in the ack.
    let ch = tls_channel(&svc, &ca, Some(&elsewhere))
        .await
        .expect("connect");
    let events = traffic(Script::SupportBot, "shop", 2, 5, true);
    let n = events.len();
    let mut acks = pb::ingest_client::IngestClient::new(ch)
        .ingest(tokio_stream::iter([pb::EventBatch {
            batch_id: 2,
            events,
        }]))
        .await
        .expect("ingest call")
        .into_inner();
    let ack = acks.next().await.expect("an ack").expect("ack");
    assert_eq!((ack.accepted, ack.rejected as usize), (0, n), "{ack:?}");

    // A certificate the CA signed for a subject no principal has: nobody.
    let ch = tls_channel(&svc, &ca, Some(&stranger))
        .await
        .expect("connect");
    let status = ingest_once(ch).await.expect_err("an unknown subject");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    svc.shutdown().await.expect("stops");
}
