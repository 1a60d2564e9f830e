//! The gRPC limits on Ingest, in-process with a real tonic client: a batch
//! over `grpc.max_message_bytes` ends its stream with OUT_OF_RANGE (the
//! client is told, not left with a stream that just stops), a batch over
//! `grpc.max_batch` with INVALID_ARGUMENT, and neither processes any of its
//! events; a new stream goes on. (Against the real broker, with signals
//! compared to a replay: tests/kafka_hostile.rs.)

mod common;

use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tokio_stream::StreamExt;

async fn start(
    dir: &std::path::Path,
    max_message_bytes: usize,
    max_batch: usize,
) -> RunningService {
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\nmax_message_bytes = {max_message_bytes}\n\
         max_batch = {max_batch}\n[metrics]\nlisten = \"127.0.0.1:0\"\n[sinks]\njsonl = {jsonl:?}\n",
        jsonl = dir.join("signals.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

/// One Ingest stream of `batches`: its acks and the status that ended it.
async fn ingest(
    s: &RunningService,
    batches: Vec<pb::EventBatch>,
) -> (Vec<pb::BatchAck>, Option<tonic::Status>) {
    let addr = s.grpc_addr().expect("grpc on");
    let mut client = pb::ingest_client::IngestClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_batches_end_their_stream_with_a_status_and_process_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path(), 64 * 1024, 50).await;
    let events = traffic(Script::SupportBot, "lim", 3, 30, true);
    assert!(events.len() > 10 && events.len() <= 50, "{}", events.len());

    // Far over 64 KiB (the client is still sending when the server refuses
    // it): forty valid events of 60 KB of text each, 2.4 MB.
    let mut heavy = Vec::new();
    for i in 0..40 {
        let mut e = events[0].clone();
        e.event_id = format!("heavy-{i}");
        e.text = "where is my parcel? ".repeat(3_000);
        heavy.push(e);
    }
    let (acks, status) = ingest(
        &svc,
        vec![
            pb::EventBatch {
                batch_id: 1,
                events: events[..5].to_vec(),
            },
            pb::EventBatch {
                batch_id: 2,
                events: heavy,
            },
        ],
    )
    .await;
    assert_eq!(acks.len(), 1, "the batch before it is acked");
    assert_eq!(acks[0].accepted, 5);
    let status = status.expect("a status, not a silent end");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");

    // 51 small events: over max_batch.
    let many: Vec<pb::MessageEvent> = (0..51)
        .map(|i| {
            let mut e = events[0].clone();
            e.event_id = format!("many-{i}");
            e
        })
        .collect();
    let (acks, status) = ingest(
        &svc,
        vec![pb::EventBatch {
            batch_id: 3,
            events: many,
        }],
    )
    .await;
    assert!(acks.is_empty());
    let status = status.expect("a status");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("51 events; at most 50"),
        "{status:?}"
    );

    // A new stream goes on; none of the refused events was processed, so
    // the rest of the traffic is accepted as new (no duplicates).
    let (acks, status) = ingest(
        &svc,
        vec![pb::EventBatch {
            batch_id: 4,
            events: events[5..].to_vec(),
        }],
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(acks[0].accepted as usize, events.len() - 5);
    assert_eq!(acks[0].duplicates, 0);
    let (_, body) =
        common::service::http_get(svc.metrics_addr().expect("metrics"), "/metrics").await;
    assert_eq!(
        satpam_testkit::http::metric_in(&body, "satpam_events_total{source=\"grpc\"}"),
        Some(events.len() as f64),
        "no event of a refused batch was processed"
    );
    svc.shutdown().await.expect("clean shutdown");
}
