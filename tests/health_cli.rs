//! `satpam health` as a container health check runs it: exit 0 only when the
//! server answers SERVING; 1 (never 2) with a clear message otherwise.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::embedded::Embedded;
use common::http::free_port;
use tonic_health::ServingStatus;

fn health(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_satpam"))
        .arg("health")
        .args(args)
        .output()
        .expect("satpam health")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn serving_service_exits_0_and_unknown_service_exits_1() {
    let serve = Embedded::start();
    let addr = serve.grpc.to_string();
    // (extra arguments, exit code, stdout, what stderr must say)
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (&[], 0, "SERVING", ""),
        (&["--service", "satpam.v1.Admin"], 0, "SERVING", ""),
        (&["--service", "satpam.v1.Ingest"], 0, "SERVING", ""),
        (
            &["--service", "no.such.Service"],
            1,
            "SERVICE_UNKNOWN",
            "does not know service \"no.such.Service\"",
        ),
    ];
    for (extra, code, stdout, stderr) in cases {
        let with_uri = format!("http://{addr}");
        for grpc in [addr.as_str(), with_uri.as_str()] {
            let mut args = vec!["--grpc", grpc];
            args.extend_from_slice(extra);
            let out = health(&args);
            let (o, e) = text(&out);
            assert_eq!(out.status.code(), Some(*code), "{args:?}: {o} / {e}");
            assert_eq!(o, *stdout, "{args:?}");
            assert!(e.contains(stderr), "{args:?}: {e}");
        }
    }
}

#[test]
fn nothing_listening_exits_1_saying_it_cannot_connect() {
    let addr = format!("127.0.0.1:{}", free_port());
    let out = health(&["--grpc", &addr]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o} / {e}");
    assert_eq!(o, "UNREACHABLE");
    assert!(
        e.contains(&format!("cannot check {addr}")) && e.contains("connect"),
        "names the address and the failure: {e}"
    );
    assert!(e.contains("Connection refused"), "says why: {e}");

    let bad = health(&["--grpc", "not a uri"]);
    let (o, e) = text(&bad);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "exit 1, not 2 (Docker reserves 2)"
    );
    assert_eq!(o, "UNREACHABLE");
    assert!(e.contains("is not a gRPC address"), "{e}");
}

#[test]
fn a_server_that_never_answers_times_out_with_exit_1() {
    // Accepts TCP connections and says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let started = Instant::now();
    let out = health(&["--grpc", &addr, "--timeout-ms", "300"]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o} / {e}");
    assert!(e.contains("no answer within 300 ms"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the timeout"
    );
}

#[test]
fn not_serving_exits_1_and_prints_the_status() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr: SocketAddr = rt.block_on(async {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            // Kept alive for the test's duration.
            let _reporter = reporter;
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .expect("health server");
        });
        addr
    });
    let out = health(&["--grpc", &addr.to_string()]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o} / {e}");
    assert_eq!(o, "NOT_SERVING");
    assert!(e.contains("is NOT_SERVING"), "{e}");
    drop(rt);
}
