//! The webhook receiver with Kafka configured: a signed body's events are
//! produced to the events topic (keyed by account) and acknowledged before
//! the 200, then consumed and processed like any other event; an invalid
//! event and an unreadable signed body go to the dead-letter topic. Needs a
//! broker (not run in the plain test run):
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test webhook_kafka -- --ignored --test-threads 1
//! ```

mod common;

use std::path::Path;
use std::time::Duration;

use common::kafka::{brokers, create_topics, read_topic, unique};
use common::service::http_get;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config};
use satpam::webhook::signature::sign;

const SECRET: &str = "kafka-app-secret";

async fn post(addr: std::net::SocketAddr, body: Vec<u8>) -> u16 {
    let sig = sign(SECRET.as_bytes(), &body);
    common::http::post_webhook(addr, body, sig).await
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(name),
    )
    .expect("fixture")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn webhook_events_are_produced_acknowledged_and_consumed() {
    let topics = create_topics(&unique("webhook"), 1).await;
    let toml = format!(
        "[grpc]\nlisten = \"\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[sinks]\njsonl = \"\"\n\
         [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
         signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\ncommit_interval_ms = 200\n\
         [webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"bsp-k\"\napp_secret = \"{SECRET}\"\n",
        brokers = brokers(),
        group = topics.group,
        events = topics.events,
        signals = topics.signals,
        dlq = topics.dlq,
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    let svc = service::start(config).await.expect("service starts");
    let addr = svc.webhook_addr().expect("webhook on");

    assert_eq!(post(addr, fixture("pywa/message__text.json")).await, 200);
    // The 200 came after the broker's ack: the record is on the topic now.
    let records = read_topic(&topics.events, Duration::from_secs(10), |r| !r.is_empty());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].key.as_deref(), Some(&b"1122334455667"[..]));
    let m: pb::MessageEvent = prost::Message::decode(records[0].payload.as_slice()).expect("event");
    assert_eq!(m.event_id, "wamid.xyzxyz");
    assert_eq!(m.tenant_id, "bsp-k");
    assert_eq!(m.user_id, "US.13491208655302741918");

    // An invalid event (timestamp 0) and a signed body that is not JSON: dead letters.
    assert_eq!(
        post(addr, fixture("whatsapp-api-js/valid_message_mock.json")).await,
        200
    );
    assert_eq!(post(addr, b"{not json".to_vec()).await, 400);
    let dead = read_topic(&topics.dlq, Duration::from_secs(10), |r| r.len() >= 2);
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.headers["satpam-source"] == "webhook"));
    assert!(dead[0].headers["satpam-error"].contains("timestamp_ms"));
    assert_eq!(dead[1].payload, b"{not json");

    // The consumer group processes what the receiver produced.
    let metrics = svc.metrics_addr().expect("metrics");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, text) = http_get(metrics, "/metrics").await;
        if text.contains("satpam_events_total{source=\"kafka\"} 1") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not consumed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(svc
        .shards()
        .find_account("bsp-k", "1122334455667")
        .is_some());
    svc.shutdown().await.expect("shutdown");
}
