//! gRPC Ingest on a fleet, against the real broker: two instances in one
//! group; every event is ingested through instance A, which produces it to
//! the events topic keyed by account and acks each batch once the broker
//! has; each event is then decided by the owner of its account's
//! partition, A or B. The signals topic equals an in-memory replay of the
//! same events exactly, and B decided events it never received over gRPC.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::kafka::{
    assert_no_duplicates, create_topics, ids_of, read_topic, replay_events, unique,
    violating_and_legit, Serve,
};
use satpam::pb::v1 as pb;
use tokio_stream::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn events_ingested_through_one_instance_are_decided_by_their_partitions_owners() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("ingestfleet"), 4).await;
    let a = Serve::start(dir.path(), "a", &topics, "");
    let b = Serve::start(dir.path(), "b", &topics, "");
    for s in [&a, &b] {
        s.wait_metric("satpam_shards", Duration::from_secs(60), |v| v >= 1.0);
    }
    assert_eq!(
        a.metric("satpam_shards").unwrap_or(0.0) + b.metric("satpam_shards").unwrap_or(0.0),
        4.0,
        "every partition owned by exactly one instance"
    );

    let mut events = Vec::new();
    for tag in ["f1", "f2", "f3", "f4"] {
        events.extend(violating_and_legit(tag));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let expected: BTreeSet<String> = replay_events(&events)
        .1
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(expected.len() >= 4, "signals to expect: {expected:?}");

    // Every event through A, in order, 50 per batch; then one invalid event.
    let mut batches: Vec<pb::EventBatch> = events
        .chunks(50)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let mut invalid = events[0].clone();
    invalid.account_id.clear();
    batches.push(pb::EventBatch {
        batch_id: 999,
        events: vec![invalid],
    });
    let n_batches = batches.len();
    let ch = common::service::grpc_channel(a.grpc).await;
    let mut client = pb::ingest_client::IngestClient::new(ch);
    let mut acks = client
        .ingest(tokio_stream::iter(batches.clone()))
        .await
        .expect("ingest")
        .into_inner();
    let mut got = Vec::new();
    while let Some(ack) = acks.next().await {
        got.push(ack.expect("every batch acked"));
    }
    assert_eq!(got.len(), n_batches);
    for (ack, batch) in got.iter().zip(&batches).take(n_batches - 1) {
        assert_eq!(ack.batch_id, batch.batch_id);
        assert_eq!(ack.accepted as usize, batch.events.len(), "{ack:?}");
        assert_eq!(
            (ack.rejected, ack.signals),
            (0, 0),
            "decided by the owner, not here"
        );
    }
    let last = &got[n_batches - 1];
    assert_eq!((last.accepted, last.rejected), (0, 1), "{last:?}");
    assert!(last.rejections[0].reason.contains("account_id"), "{last:?}");

    // The owners decide: exactly the replay's signals, none twice.
    let records = read_topic(&topics.signals, Duration::from_secs(90), |r| {
        r.len() >= expected.len()
    });
    let records = read_topic(&topics.signals, Duration::from_secs(3), |r| {
        r.len() > records.len()
    });
    let ids = ids_of(&records);
    assert_no_duplicates(&ids);
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);

    let kafka = "satpam_events_total{source=\"kafka\"}";
    let total = events.len() as f64;
    let ea = a.wait_metric(kafka, Duration::from_secs(30), |v| {
        v + b.metric(kafka).unwrap_or(0.0) >= total
    });
    let eb = b.metric(kafka).unwrap_or(0.0);
    assert_eq!(ea + eb, total, "each event decided exactly once");
    assert!(
        eb > 0.0,
        "B decided events it never received over gRPC: {ea} + {eb}"
    );
    assert_eq!(
        a.metric("satpam_events_total{source=\"grpc\"}"),
        Some(total + 1.0),
        "A received them all over gRPC"
    );
    assert_eq!(b.metric("satpam_events_total{source=\"grpc\"}"), Some(0.0));
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}
