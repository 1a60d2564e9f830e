//! A Watch subscriber that stops reading, in-process: the service goes on
//! (every batch acknowledged), another subscriber receives every signal of
//! an in-memory replay, and the stalled one, when it reads again, gets what
//! was buffered for it and then RESOURCE_EXHAUSTED, counted in
//! `satpam_watch_lagged_total`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::service::{http_get, parse_prometheus, sample};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::{self, Config};
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};

/// Signals a Watch stream may fall behind (`grpc.watch_buffer`).
const WATCH_BUFFER: usize = 32;
/// Events per Ingest batch: fewer than WATCH_BUFFER signals each.
const BATCH: usize = 20;

async fn watch(ch: Channel) -> tonic::Streaming<pb::EnforcementSignal> {
    pb::signals_client::SignalsClient::new(ch)
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_is_cut_off_and_the_others_get_every_signal() {
    let dir = tempfile::tempdir().expect("dir");
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\nwatch_buffer = {WATCH_BUFFER}\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n[sinks]\njsonl = {jsonl:?}\n",
        jsonl = dir.path().join("signals.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    let svc = service::start(config).await.expect("service starts");
    let uri = format!("http://{}", svc.grpc_addr().expect("grpc"));
    let metrics = svc.metrics_addr().expect("metrics");
    // The stalled subscriber's connection takes little in flight (a 1 KiB
    // HTTP/2 window), so the service's buffers for it fill soon.
    let stalled_ch = Endpoint::from_shared(uri.clone())
        .expect("uri")
        .initial_stream_window_size(Some(1024))
        .initial_connection_window_size(Some(1024))
        .connect()
        .await
        .expect("connect");
    let ch = Endpoint::from_shared(uri)
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut stalled = watch(stalled_ch).await;
    let mut reader = watch(ch.clone()).await;

    let mut events = Vec::new();
    // Since pack 2026-12-02.1 each assistant goes to THROTTLE in one step
    // (one signal, not FLAG then THROTTLE), hence 300 of them.
    for i in 0..300 {
        events.extend(traffic(Script::Assistant, &format!("w{i}-ai"), 4, 30, true));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let (replayed, _) = common::replay_default_pack(events.iter().cloned(), Default::default());
    let want: BTreeSet<String> = replayed.iter().map(|s| s.signal_id.clone()).collect();
    assert_eq!(want.len(), replayed.len());
    assert!(
        want.len() > 200 + WATCH_BUFFER,
        "more signals than the stalled watcher's buffers hold: {}",
        want.len()
    );

    // One batch at a time: the reading watcher reads each batch's signals
    // before the next batch goes in, so it never falls behind, while the
    // stalled one never reads.
    let n = want.len();
    let mut ingest = pb::ingest_client::IngestClient::new(ch.clone());
    let mut got = Vec::new();
    for (i, chunk) in events.chunks(BATCH).enumerate() {
        let batch = pb::EventBatch {
            batch_id: i as u64 + 1,
            events: chunk.to_vec(),
        };
        let mut acks = ingest
            .ingest(tokio_stream::iter([batch]))
            .await
            .expect("ingest")
            .into_inner();
        let ack = acks
            .next()
            .await
            .expect("an ack: the service goes on")
            .expect("ack");
        assert!((ack.signals as usize) < WATCH_BUFFER, "{ack:?}");
        for _ in 0..ack.signals {
            let s = tokio::time::timeout(Duration::from_secs(30), reader.next())
                .await
                .expect("a signal on the reading watcher")
                .expect("stream open")
                .expect("signal");
            got.push(s.signal_id);
        }
    }
    assert_eq!(
        got.iter().cloned().collect::<BTreeSet<_>>(),
        want,
        "the reading watcher got exactly the replay's signals"
    );
    assert_eq!(got.len(), n, "none twice");

    // The stalled watcher reads again: what was buffered for it, then the cut.
    let mut buffered = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(30), stalled.next())
            .await
            .expect("the stalled watcher is answered")
        {
            Some(Ok(s)) => {
                assert!(want.contains(&s.signal_id));
                buffered += 1;
            }
            Some(Err(status)) => break status,
            None => panic!("ended without telling the watcher after {buffered} signals"),
        }
    };
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("fell"), "{status}");
    assert!(buffered < n, "cut off before the end: {buffered} of {n}");

    let scrape = |body: String| parse_prometheus(&body);
    let samples = scrape(http_get(metrics, "/metrics").await.1);
    assert_eq!(sample(&samples, "satpam_watch_lagged_total"), Some(1.0));
    drop(stalled);
    svc.shutdown().await.expect("shutdown");
}
