//! `satpam serve` consuming and producing through a real broker over TLS:
//! stunnel (Debian's `stunnel4`) terminates TLS with certificates made at
//! test time and forwards to Tansu's plaintext listener. Tansu must
//! advertise the stunnel address (`--advertised-listener-url`), or clients
//! would follow the metadata to the plaintext port. Run by `.ci/run`:
//!
//! ```text
//! SATPAM_BROKER_ADVERTISED=127.0.0.1:19094 scripts/broker.sh start 19093
//! SATPAM_TEST_TLS_UPSTREAM=127.0.0.1:19093 SATPAM_TEST_TLS_BROKERS=127.0.0.1:19094 \
//!   cargo test --test kafka_tls -- --ignored --test-threads 1
//! ```

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::kafka::{create_topics, produce, producer, read_topic, signals, unique, Serve};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam_testkit::kafka::use_client_properties;
use satpam_testkit::tls::{Ca, Stunnel};

fn addr_from(var: &str) -> SocketAddr {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: see this file's header"))
        .parse()
        .unwrap_or_else(|e| panic!("{var}: {e}"))
}

/// Signals as they go on the wire, without the wall-clock decision time.
fn comparable(mut s: Vec<pb::EnforcementSignal>) -> Vec<pb::EnforcementSignal> {
    for x in &mut s {
        x.decided_at_ms = 0;
    }
    s.sort_by(|a, b| a.signal_id.cmp(&b.signal_id));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Tansu advertising a stunnel port and stunnel4: SATPAM_TEST_TLS_BROKERS, SATPAM_TEST_TLS_UPSTREAM"]
async fn signals_over_tls_equal_a_replay_of_the_same_events() {
    let (tls_addr, upstream) = (
        addr_from("SATPAM_TEST_TLS_BROKERS"),
        addr_from("SATPAM_TEST_TLS_UPSTREAM"),
    );
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "kafka-test");
    let server = ca.server(dir.path(), "broker");
    let _stunnel = Stunnel::start(dir.path(), tls_addr, upstream, &server);
    let ca_file = ca.cert_file.display().to_string();
    let tls_brokers = tls_addr.to_string();
    // The test's own clients (topics, producer, reader) go through TLS too.
    use_client_properties(&[
        ("bootstrap.servers", &tls_brokers),
        ("security.protocol", "ssl"),
        ("ssl.ca.location", &ca_file),
    ]);

    let topics = create_topics(&unique("tls"), 3).await;
    let mut events = traffic(Script::Assistant, "t-ai", 25, 120, true);
    events.extend(traffic(Script::SupportBot, "t-shop", 25, 120, true));
    events.sort_by_key(|e| e.timestamp_ms);
    let (replayed, _) = common::replay_default_pack(events.iter().cloned(), Default::default());
    let expected = comparable(replayed.iter().map(pb::EnforcementSignal::from).collect());
    assert!(!expected.is_empty(), "the assistant is signalled");

    let serve = Serve::start(
        dir.path(),
        "tls",
        &topics,
        &format!("[kafka.security]\nprotocol = \"ssl\"\nca_file = {ca_file:?}\n"),
    );
    produce(&producer(), &topics.events, &events);
    let records = read_topic(&topics.signals, Duration::from_secs(60), |r| {
        r.len() >= expected.len()
    });
    assert_eq!(comparable(signals(&records)), expected);
    serve.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(30),
        |v| v == events.len() as f64,
    );
    serve.wait_metric(
        "satpam_offset_commits_total{result=\"ok\"}",
        Duration::from_secs(10),
        |v| v >= 1.0,
    );
    assert!(serve.terminate().success(), "clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Tansu advertising a stunnel port and stunnel4: SATPAM_TEST_TLS_BROKERS, SATPAM_TEST_TLS_UPSTREAM"]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let (tls_addr, upstream) = (
        addr_from("SATPAM_TEST_TLS_BROKERS"),
        addr_from("SATPAM_TEST_TLS_UPSTREAM"),
    );
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new(dir.path(), "kafka-test");
    let impostor = Ca::new(dir.path(), "impostor").server(dir.path(), "broker");
    let _stunnel = Stunnel::start(dir.path(), tls_addr, upstream, &impostor);
    let ca_file = ca.cert_file.display().to_string();
    let sink = satpam::sink::kafka::KafkaSink::new(
        &tls_addr.to_string(),
        "tls-refused.signals",
        "tls-refused.dlq",
        &satpam::service::config::KafkaSection {
            security: satpam::service::kafka_security::KafkaSecuritySection {
                protocol: "ssl".into(),
                ca_file,
                ..Default::default()
            },
            ..Default::default()
        }
        .producer_properties(),
        satpam::telemetry::Telemetry::new(),
    )
    .expect("producer");
    let err = sink
        .signals_watermarks(Duration::from_secs(5))
        .expect_err("metadata from an untrusted broker");
    let _ = err;
}
