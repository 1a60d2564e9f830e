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
//!
//! SASL is checked at the librdkafka-property level
//! (`config::kafka_security`): Tansu 0.6's in-memory engine, with
//! `--authentication`, answers PLAIN with `NoSharedMechanism` and keeps
//! SCRAM credentials only in its SQL engines (docs/security.md).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::kafka::{create_topics, produce, producer, read_topic, signals, unique, Serve};
use common::{traffic, Script};
use satpam::config::KafkaSection;
use satpam::config::KafkaSecuritySection;
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

/// stunnel in front of the broker at `upstream` var, on the address of
/// `brokers` var, with certificates of a new CA made in `dir`; the test's
/// own clients (topics, producer, reader) go through it with `sasl` too.
/// Returns stunnel and the CA file.
fn tls_front(
    dir: &std::path::Path,
    brokers: &str,
    upstream: &str,
    sasl: &[(&str, &str)],
) -> (Stunnel, String, SocketAddr) {
    let (tls_addr, upstream) = (addr_from(brokers), addr_from(upstream));
    let ca = Ca::new(dir, "kafka-test");
    let server = ca.server(dir, "broker");
    let stunnel = Stunnel::start(dir, tls_addr, upstream, &server);
    let ca_file = ca.cert_file.display().to_string();
    let tls_brokers = tls_addr.to_string();
    let protocol = if sasl.is_empty() { "ssl" } else { "sasl_ssl" };
    let mut props = vec![
        ("bootstrap.servers", tls_brokers.as_str()),
        ("security.protocol", protocol),
        ("ssl.ca.location", ca_file.as_str()),
    ];
    props.extend_from_slice(sasl);
    use_client_properties(&props);
    (stunnel, ca_file, tls_addr)
}

/// Runs the violating and legitimate accounts' events through `satpam
/// serve` with `security_toml` against the broker of [`use_client_properties`]
/// and checks that its signals equal an in-memory replay.
async fn signals_equal_a_replay(dir: &std::path::Path, name: &str, security_toml: &str) {
    let topics = create_topics(&unique(name), 3).await;
    let mut events = traffic(Script::Assistant, &format!("{name}-ai"), 25, 120, true);
    events.extend(traffic(
        Script::SupportBot,
        &format!("{name}-shop"),
        25,
        120,
        true,
    ));
    events.sort_by_key(|e| e.timestamp_ms);
    let (replayed, _) = common::replay_default_pack(events.iter().cloned(), Default::default());
    let expected = comparable(replayed.iter().map(pb::EnforcementSignal::from).collect());
    assert!(!expected.is_empty(), "the assistant is signalled");

    let serve = Serve::start(dir, name, &topics, security_toml);
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

/// Whether a producer with `security` gets the signals topic's metadata
/// from `brokers` (satpam's producer, configured as `satpam serve` does).
fn metadata_answered(brokers: SocketAddr, security: KafkaSecuritySection) -> bool {
    let k = KafkaSection {
        security,
        ..Default::default()
    };
    let sink = satpam::sink::kafka::KafkaSink::new(
        &brokers.to_string(),
        "satpam-tls-probe.signals",
        "satpam-tls-probe.dlq",
        &k.producer_properties(),
        satpam::telemetry::Telemetry::new(),
    )
    .expect("producer");
    sink.signals_watermarks(Duration::from_secs(5)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Tansu advertising a stunnel port and stunnel4: SATPAM_TEST_TLS_BROKERS, SATPAM_TEST_TLS_UPSTREAM"]
async fn signals_over_tls_equal_a_replay_of_the_same_events() {
    let dir = tempfile::tempdir().expect("dir");
    let (_stunnel, ca_file, _) = tls_front(
        dir.path(),
        "SATPAM_TEST_TLS_BROKERS",
        "SATPAM_TEST_TLS_UPSTREAM",
        &[],
    );
    signals_equal_a_replay(
        dir.path(),
        "tls",
        &format!("[kafka.security]\nprotocol = \"ssl\"\nca_file = {ca_file:?}\n"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Tansu advertising a stunnel port and stunnel4: SATPAM_TEST_TLS_BROKERS, SATPAM_TEST_TLS_UPSTREAM"]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (_stunnel, ca_file, addr) = tls_front(
        dir.path(),
        "SATPAM_TEST_TLS_BROKERS",
        "SATPAM_TEST_TLS_UPSTREAM",
        &[],
    );
    let trusting = |ca_file: String| KafkaSecuritySection {
        protocol: "ssl".into(),
        ca_file,
        ..Default::default()
    };
    let impostor_ca = Ca::new(dir.path(), "impostor").cert_file;
    assert!(
        !metadata_answered(addr, trusting(impostor_ca.display().to_string())),
        "a broker whose certificate the configured CA did not sign was trusted"
    );
    assert!(metadata_answered(addr, trusting(ca_file)));
}
