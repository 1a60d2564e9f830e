//! Poison input against a real Kafka-protocol broker (Tansu): an oversized
//! record on the events topic and oversized gRPC Ingest batches each get
//! their error, the service goes on, and the signals of the rest of the
//! traffic are exactly those of an in-memory replay without them. Run by
//! `.ci/run` after `scripts/broker.sh start`:
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test kafka_hostile -- --ignored --test-threads 1
//! ```

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::kafka::{
    create_topics, produce, produce_raw, producer, read_topic, signals, unique,
    violating_and_legit, Serve,
};
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::pb::v1 as pb;
use satpam::sink::kafka::sha256_hex;
use satpam::{Engine, EngineConfig, Outcome, RuleSet};
use tokio_stream::StreamExt;

/// The signal ids an in-memory replay of `events` decides.
fn expected_signal_ids(events: &[pb::MessageEvent]) -> BTreeSet<String> {
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    );
    common::drive(&engine, None, &common::events_of(events.iter().cloned()))
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Processed(Some(s)) => Some(s.signal_id.clone()),
            _ => None,
        })
        .collect()
}

/// Reads the signals topic until it holds `expected.len()` records and
/// checks that they are exactly `expected`, none twice.
fn assert_signals(topic: &str, expected: &BTreeSet<String>) {
    let records = read_topic(topic, Duration::from_secs(60), |r| {
        r.len() >= expected.len()
    });
    let ids: Vec<String> = signals(&records).into_iter().map(|s| s.signal_id).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "a signal was produced twice");
    assert_eq!(&unique, expected, "the signals of the rest of the traffic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn an_oversized_record_on_the_events_topic_is_dead_lettered_truncated_and_changes_nothing_else(
) {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("big"), 1).await;
    let events = violating_and_legit("o");
    let expected = expected_signal_ids(&events);
    assert!(!expected.is_empty());
    // satpam's producer accepts records of at most 200,000 bytes; the poison
    // record is 300 KB (the broker and the test producer take it), so its
    // dead letter cannot carry it whole.
    let max = 200_000;
    let serve = Serve::start(
        dir.path(),
        "oversized",
        &topics,
        &format!("[kafka.producer]\n\"message.max.bytes\" = \"{max}\"\n"),
    );
    let mut poison = events[0].clone();
    poison.event_id = "o-poison".into();
    poison.text = "a".repeat(300_000);
    let poison = prost::Message::encode_to_vec(&poison);
    let p = producer();
    produce(&p, &topics.events, &events[..100]);
    produce_raw(&p, &topics.events, "o-ai", &poison);
    produce(&p, &topics.events, &events[100..]);

    let dead = read_topic(&topics.dlq, Duration::from_secs(30), |r| !r.is_empty());
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    let limit = max - 4_096;
    assert_eq!(d.payload.len(), limit, "truncated to the producer's limit");
    assert_eq!(d.payload[..], poison[..limit], "the original's first bytes");
    assert_eq!(d.headers["satpam-original-size"], poison.len().to_string());
    assert_eq!(d.headers["satpam-original-sha256"], sha256_hex(&poison));
    assert!(
        d.headers["satpam-error"].contains("text is longer than 65536 bytes"),
        "{}",
        d.headers["satpam-error"]
    );
    assert!(
        !d.headers["satpam-error"].contains("aaaa"),
        "no text in the reason"
    );
    assert_eq!(d.headers["satpam-source-offset"], "100");

    assert_signals(&topics.signals, &expected);
    serve.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(30),
        |v| v == events.len() as f64 + 1.0,
    );
    serve.wait_metric(
        "satpam_consumer_lag_messages",
        Duration::from_secs(30),
        |v| v == 0.0,
    );
    assert_eq!(
        serve.metric("satpam_dead_letters_total{source=\"kafka\"}"),
        Some(1.0)
    );
    assert_eq!(
        serve.metric("satpam_signal_delivery_failures_total"),
        Some(0.0),
        "the truncated dead letter was accepted"
    );
    assert!(serve.terminate().success(), "clean exit on SIGTERM");
}

/// What one Ingest stream got back: its acks, and the status that ended it
/// (None: it ended cleanly).
async fn ingest(
    addr: SocketAddr,
    batches: Vec<pb::EventBatch>,
) -> (Vec<pb::BatchAck>, Option<tonic::Status>) {
    let ch = common::service::grpc_channel(addr).await;
    let mut client = pb::ingest_client::IngestClient::new(ch);
    let mut acks = match client.ingest(tokio_stream::iter(batches)).await {
        Ok(r) => r.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut out = Vec::new();
    while let Some(a) = acks.next().await {
        match a {
            Ok(a) => out.push(a),
            Err(status) => return (out, Some(status)),
        }
    }
    (out, None)
}

fn batch(id: u64, events: &[pb::MessageEvent]) -> pb::EventBatch {
    pb::EventBatch {
        batch_id: id,
        events: events.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn oversized_ingest_batches_get_their_error_and_change_nothing_else() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("bigrpc"), 1).await;
    let events = violating_and_legit("g");
    let expected = expected_signal_ids(&events);
    assert!(!expected.is_empty());
    let serve = Serve::start(dir.path(), "oversized-grpc", &topics, "");
    let half = events.len() / 2;

    // Over grpc.max_message_bytes (16 MiB): 300 valid events of 60 KB of
    // text each, for the violating account, after the first half.
    let mut heavy = Vec::new();
    for i in 0..300 {
        let mut e = events[half].clone();
        e.event_id = format!("g-heavy-{i}");
        e.text = "what is the capital of France? ".repeat(2_000);
        heavy.push(e);
    }
    let (acks, status) = ingest(
        serve.grpc,
        vec![batch(1, &events[..half]), batch(2, &heavy)],
    )
    .await;
    assert_eq!(acks.len(), 1, "the batch before it is acked");
    assert_eq!(acks[0].accepted as usize, half);
    let status = status.expect("the oversized batch ends its stream with an error");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");

    // Over grpc.max_batch (10,000 events), small ones.
    let mut many = Vec::new();
    for i in 0..10_001 {
        let mut e = events[half].clone();
        e.event_id = format!("g-many-{i}");
        e.text = "hello".into();
        many.push(e);
    }
    let (acks, status) = ingest(serve.grpc, vec![batch(3, &many)]).await;
    assert!(acks.is_empty());
    let status = status.expect("a batch of too many events ends its stream");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("at most 10000"), "{status:?}");

    // The rest of the traffic on a new stream.
    let (acks, status) = ingest(serve.grpc, vec![batch(4, &events[half..])]).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].accepted as usize, events.len() - half);

    assert_signals(&topics.signals, &expected);
    assert_eq!(
        serve.metric("satpam_events_total{source=\"grpc\"}"),
        Some(events.len() as f64),
        "no event of an oversized batch was processed"
    );
    assert!(serve.terminate().success(), "clean exit on SIGTERM");
}
