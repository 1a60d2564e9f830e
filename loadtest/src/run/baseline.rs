//! The raw baselines: what the client library and the transport deliver on
//! this machine, measured in the same run, so satpam's throughput can be
//! quoted as a share of it.
//!
//! * Kafka: a consume-only rdkafka loop (BaseConsumer, no decoding, a new
//!   group id) over exactly the events this run produced: from the first
//!   offset of the run in each partition (from the producer's delivery
//!   reports) until as many messages as were delivered have been read.
//! * gRPC: a null `Ingest` server inside loadgen that decodes each batch
//!   (as tonic must) and acks it at once; loadgen sends it the same batches
//!   at max rate.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use satpam::pb::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::cpu::{self, CpuWatch};
use super::kafka::KafkaSettings;
use super::latency::round3;
use super::phases::Runner;
use super::report::BaselineReport;
use super::throughput::CountSeries;

/// [`kafka_consume`] for a run: the raw consume baseline over the `count`
/// events produced from `first_offsets` (a new group named after `run`),
/// shown on the runner's progress line and printed; a note says when it
/// stopped at `timeout`.
pub fn kafka_consume_reported(
    runner: &mut Runner,
    settings: &KafkaSettings,
    run: u32,
    first_offsets: &HashMap<i32, i64>,
    count: u64,
    timeout: Duration,
) -> anyhow::Result<BaselineReport> {
    runner.progress.phase("baseline", Some(count));
    let progress = &runner.progress;
    let report = kafka_consume(
        settings,
        &runner.cpu,
        run,
        first_offsets,
        count,
        timeout,
        &|n| progress.update(n, "raw consume".into()),
    )?;
    runner.progress.println(&format!(
        "baseline: {} events read at {:.0}/s",
        report.events, report.rate
    ));
    if !report.complete {
        runner.notes.push(format!(
            "the baseline read {} of {count} events before --baseline-timeout",
            report.events
        ));
    }
    Ok(report)
}

/// Reads `count` messages of the events topic from `first_offsets` as fast
/// as the client can; `progress` is called with the count read now and then.
/// `cpu`'s processes are sampled from the consumer's start to its last read.
pub fn kafka_consume(
    settings: &KafkaSettings,
    cpu: &CpuWatch,
    run: u32,
    first_offsets: &HashMap<i32, i64>,
    count: u64,
    timeout: Duration,
    progress: &dyn Fn(u64),
) -> anyhow::Result<BaselineReport> {
    let consumer: BaseConsumer = settings
        .consumer_config(&format!("satpam-loadgen-baseline-{run:08x}"))
        .create()
        .context("creating the baseline consumer")?;
    let mut tpl = TopicPartitionList::new();
    for (p, o) in first_offsets {
        tpl.add_partition_offset(&settings.topic, *p, Offset::Offset(*o))?;
    }
    consumer
        .assign(&tpl)
        .context("assigning the baseline partitions")?;
    let cpu0 = cpu.sample();
    let started = Instant::now();
    let deadline = started + timeout;
    let mut read = 0u64;
    let mut bytes = 0usize;
    let mut series = CountSeries::default();
    series.push(0, started);
    let mut last = started;
    while read < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                // Touch the payload, nothing more: no decoding.
                bytes += m.payload().map_or(0, <[u8]>::len);
                read += 1;
                if read % 1_024 == 0 {
                    last = Instant::now();
                    series.push(read, last);
                    if read % 65_536 == 0 {
                        progress(read);
                    }
                }
            }
            Some(Err(e)) => eprintln!("warning: baseline consumer: {e}"),
            None => {}
        }
    }
    if read % 1_024 != 0 {
        last = Instant::now();
        series.push(read, last);
    }
    let cpu_s = cpu.since(&cpu0);
    progress(read);
    let seconds = (last - started).as_secs_f64();
    let rate = series.rate_10_90(0, count).unwrap_or(0.0);
    std::hint::black_box(bytes);
    Ok(BaselineReport {
        method: "rdkafka BaseConsumer, consume only (no decoding), new group, this run's events from its first offsets".into(),
        events: read,
        seconds: round3(seconds),
        rate: rate.round(),
        complete: read >= count,
        cpu_us_per_event: cpu::per_event_us(&cpu_s, read),
        cpu_s,
    })
}

/// Webhook: the bodies of `requests` (body, events), each signed first, then
/// on this thread alone: the signature checked (HMAC-SHA256) and the body
/// parsed as JSON (`serde_json::Value`), what any receiver must do before
/// it knows what a body says. A second pass times satpam's own parse and
/// mapping of the webhook bodies among them (events per second, returned apart).
pub fn webhook_parse(
    requests: &[super::webhook::Rendered],
    secret: &[u8],
    cpu: &CpuWatch,
) -> (BaselineReport, f64) {
    use satpam::webhook::signature::{sign, verify};
    let signed: Vec<(&[u8], String, u64, bool)> = requests
        .iter()
        .map(|(b, n, w)| (b.as_slice(), sign(secret, b), *n, *w))
        .collect();
    let events: u64 = signed.iter().map(|s| s.2).sum();
    let cpu0 = cpu.sample();
    let started = Instant::now();
    let mut ok = 0u64;
    for (body, sig, n, _) in &signed {
        let verified = verify(secret, body, Some(sig)).is_ok();
        let parsed = serde_json::from_slice::<serde_json::Value>(body).is_ok();
        if verified && parsed {
            ok += n;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_s = cpu.since(&cpu0);
    let started = Instant::now();
    let mut mapped = 0u64;
    for (body, _, _, _) in signed.iter().filter(|s| s.3) {
        if let Ok(p) = satpam::webhook::parse_body(body) {
            mapped += satpam::webhook::map_body(&p, "t").events.len() as u64;
        }
    }
    let map_seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(mapped);
    (
        BaselineReport {
            method: format!(
                "the run's first {events} events as the same {} request bodies, on one loadgen thread: HMAC-SHA256 check of X-Hub-Signature-256 + serde_json parse to a Value (no HTTP, no mapping, no engine)",
                signed.len()
            ),
            events: ok,
            seconds: round3(seconds),
            rate: if seconds > 0.0 { (ok as f64 / seconds).round() } else { 0.0 },
            complete: ok == events,
            cpu_us_per_event: cpu::per_event_us(&cpu_s, ok),
            cpu_s,
        },
        if map_seconds > 0.0 { (mapped as f64 / map_seconds).round() } else { 0.0 },
    )
}

/// An Ingest server that decodes each batch and acks it without processing.
struct NullIngest;

type AckStream = Pin<Box<dyn Stream<Item = Result<pb::BatchAck, Status>> + Send>>;

#[tonic::async_trait]
impl pb::ingest_server::Ingest for NullIngest {
    type IngestStream = AckStream;

    async fn ingest(
        &self,
        request: Request<Streaming<pb::EventBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Ok(Some(batch)) = inbound.message().await {
                let ack = pb::BatchAck {
                    batch_id: batch.batch_id,
                    accepted: batch.events.len() as u32,
                    ..Default::default()
                };
                if tx.send(Ok(ack)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// A running null Ingest server.
pub struct NullServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl NullServer {
    /// Starts it on a free loopback port.
    pub async fn start() -> anyhow::Result<NullServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(pb::ingest_server::IngestServer::new(NullIngest))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(NullServer {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// Stops it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}
