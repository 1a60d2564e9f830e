//! The target of a run, connected: its sink, its probe, where its signals
//! come from, and its raw baseline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Handle;

use super::args::{Batching, RunArgs, StatusSet, TargetKind};
use super::baseline::{self, NullServer};
use super::generator::EventSink;
use super::grpc::{self, GrpcSettings, GrpcSink, Watch};
use super::http_floor;
use super::kafka::{self, KafkaProbe, KafkaSettings, KafkaSink, SignalReader};
use super::latency::round3;
use super::metrics_scrape::MetricsEndpoint;
use super::phases::{AckCounter, KafkaCounter, PhaseOutcome, Probe, Runner};
use super::report::{BaselineReport, HttpFloorReport};
use super::shared::Shared;
use super::webhook::{self, WebhookCounter, WebhookSettings, WebhookSink};

/// A connected target.
pub enum Target {
    /// Kafka: producer, satpam's counter, signals topic reader.
    Kafka {
        /// Brokers and topics.
        settings: KafkaSettings,
        /// The producer.
        sink: KafkaSink,
        /// satpam's events counter and the delivery reports.
        counter: KafkaCounter,
        /// The signals topic reader.
        reader: SignalReader,
    },
    /// gRPC: Ingest streams, their acks, Signals.Watch.
    Grpc {
        /// Streams, batches, window.
        settings: GrpcSettings,
        /// The Ingest streams.
        sink: GrpcSink,
        /// The acks.
        counter: AckCounter,
        /// The Watch task.
        watch: tokio::task::JoinHandle<()>,
        /// Times the Watch was cut for falling behind.
        lagged: Arc<AtomicU64>,
    },
    /// Webhook: signed bodies POSTed to the receiver; Signals.Watch.
    Webhook {
        /// Address, paths, connections, secret.
        settings: WebhookSettings,
        /// The connections.
        sink: WebhookSink,
        /// The answers.
        counter: WebhookCounter,
        /// The Watch task.
        watch: tokio::task::JoinHandle<()>,
        /// Times the Watch was cut for falling behind.
        lagged: Arc<AtomicU64>,
    },
}

/// What closing a target leaves for the report.
#[derive(Debug, Default)]
pub struct Closing {
    /// The raw baseline, unless skipped.
    pub baseline: Option<BaselineReport>,
    /// The gRPC baseline's phase (Kafka's baseline is not a generator phase).
    pub baseline_phase: Option<PhaseOutcome>,
    /// Events refused in gRPC acks.
    pub rejected: u64,
    /// Duplicates reported in gRPC acks.
    pub ack_duplicates: u64,
    /// Times the Watch was cut for falling behind.
    pub watch_lagged: u64,
    /// Webhook: requests answered, and answered with anything but 200.
    pub requests: Option<(u64, u64)>,
    /// Webhook: statuses in the requests answered 200.
    pub reports: u64,
    /// Webhook: the HTTP floor (a null server, the baseline's bodies).
    pub http_floor: Option<HttpFloorReport>,
    /// Webhook: satpam's own parse and mapping of the baseline's webhook
    /// bodies on one loadgen thread, events per second.
    pub webhook_map_rate: Option<f64>,
}

/// The Signals.Watch task on `grpc` (ip:port), and its lag counter.
fn watch(
    grpc: &str,
    rt: &Handle,
    shared: &Arc<Shared>,
) -> anyhow::Result<(tokio::task::JoinHandle<()>, Arc<AtomicU64>)> {
    let addr: SocketAddr = grpc
        .trim_start_matches("http://")
        .parse()
        .with_context(|| format!("--grpc {grpc}: expected ip:port"))?;
    let watch = rt.block_on(async { Watch::open(grpc::connect(addr).await?).await })?;
    let lagged = Arc::new(AtomicU64::new(0));
    let (sh, lg) = (shared.clone(), lagged.clone());
    let task = rt.spawn(async move {
        if let Err(e) = watch.run(sh, lg).await {
            eprintln!("warning: {e}");
        }
    });
    Ok((task, lagged))
}

/// The broker, topics and client properties `args` give.
pub fn kafka_settings(args: &RunArgs) -> KafkaSettings {
    KafkaSettings {
        brokers: args.kafka.brokers.clone(),
        topic: args.kafka.topic.clone(),
        signals_topic: args.kafka.signals_topic.clone(),
        linger_ms: args.linger_ms,
        compression: args.compression.clone(),
        producer: args.producer.clone(),
        consumer: args.consumer.clone(),
    }
}

impl Target {
    /// Connects to the target `args` name; signals are listened for before it returns.
    pub fn connect(
        args: &RunArgs,
        rt: &Handle,
        shared: &Arc<Shared>,
        metrics: &MetricsEndpoint,
    ) -> anyhow::Result<Target> {
        match args.target {
            TargetKind::Kafka => {
                let settings = kafka_settings(args);
                if let Some(p) = args.create_topics {
                    rt.block_on(kafka::create_topics(&settings, p))?;
                }
                let probe = KafkaProbe::new(metrics.clone())?;
                let reader = SignalReader::start(&settings, shared.clone())?;
                let sink = KafkaSink::new(&settings, shared.clone())?;
                let counter = KafkaCounter {
                    probe,
                    delivered: sink.stats(),
                };
                Ok(Target::Kafka {
                    settings,
                    sink,
                    counter,
                    reader,
                })
            }
            TargetKind::Grpc => {
                let addr: SocketAddr = args
                    .grpc
                    .trim_start_matches("http://")
                    .parse()
                    .with_context(|| format!("--grpc {}: expected ip:port", args.grpc))?;
                let settings = GrpcSettings {
                    addr,
                    streams: args.streams,
                    batch: args.batch,
                    linger: Duration::from_millis(args.linger_ms),
                    inflight: args.inflight,
                };
                let (watch, lagged) = watch(&args.grpc, rt, shared)?;
                let sink = GrpcSink::connect(rt, settings, shared.clone())?;
                let counter = AckCounter {
                    acks: sink.stats(),
                    shared: shared.clone(),
                    offset: 0,
                };
                Ok(Target::Grpc {
                    settings,
                    sink,
                    counter,
                    watch,
                    lagged,
                })
            }
            TargetKind::Webhook => {
                let addr: SocketAddr = args
                    .webhook
                    .parse()
                    .with_context(|| format!("--webhook {}: expected ip:port", args.webhook))?;
                let secret = std::env::var(&args.app_secret_env).with_context(|| {
                    format!(
                        "the app secret: set {} (or name another variable with --app-secret-env)",
                        args.app_secret_env
                    )
                })?;
                anyhow::ensure!(
                    args.prerender > 0
                        || (args.webhook_batch == Batching::Number && args.statuses == StatusSet::Delivered),
                    "--webhook-batch connection and --statuses all are built before the run: add --prerender N"
                );
                let settings = WebhookSettings {
                    addr,
                    path: args.webhook_path.clone(),
                    send_path: args.send_path.clone(),
                    connections: args.connections,
                    events_per_body: args.events_per_body,
                    inflight: args.inflight,
                    linger: Duration::from_millis(args.linger_ms),
                    secret: secret.into_bytes(),
                    prerender: args.prerender,
                    batch: args.webhook_batch,
                    statuses: args.statuses,
                };
                let (watch, lagged) = watch(&args.grpc, rt, shared)?;
                let sink = WebhookSink::connect(rt, settings.clone(), shared.clone())?;
                let counter = WebhookCounter {
                    stats: sink.stats(),
                    shared: shared.clone(),
                    offset: 0,
                };
                Ok(Target::Webhook {
                    settings,
                    sink,
                    counter,
                    watch,
                    lagged,
                })
            }
        }
    }

    /// Brokers and topic, or the gRPC address.
    pub fn endpoint(&self) -> String {
        match self {
            Target::Kafka { settings, .. } => {
                format!("{} topic {}", settings.brokers, settings.topic)
            }
            Target::Grpc { settings, .. } => settings.addr.to_string(),
            Target::Webhook { settings, .. } => {
                format!("http://{}{}", settings.addr, settings.path)
            }
        }
    }

    /// The sink and the probe, for the phases.
    pub fn parts(&mut self) -> (&mut dyn EventSink, &dyn Probe) {
        match self {
            Target::Kafka { sink, counter, .. } => (sink, counter),
            Target::Grpc { sink, counter, .. } => (sink, counter),
            Target::Webhook { sink, counter, .. } => (sink, counter),
        }
    }

    /// Stops listening for signals, closes the target, and measures the
    /// raw baseline (unless `args.no_baseline`). `events` is the size of the
    /// gRPC baseline burst.
    pub fn close(
        self,
        args: &RunArgs,
        rt: &Handle,
        runner: &mut Runner,
        events: u64,
    ) -> anyhow::Result<Closing> {
        let mut closing = Closing::default();
        match self {
            Target::Kafka {
                settings,
                sink,
                counter,
                reader,
            } => {
                reader.stop()?;
                if !args.no_baseline {
                    let run = runner.shared.pool.run();
                    closing.baseline = Some(baseline::kafka_consume_reported(
                        runner,
                        &settings,
                        run,
                        &sink.stats().first_offsets(),
                        counter.sent(),
                        args.baseline_timeout,
                    )?);
                }
            }
            Target::Grpc {
                settings,
                sink,
                counter,
                watch,
                lagged,
            } => {
                watch.abort();
                closing.watch_lagged = lagged.load(Ordering::Relaxed);
                closing.rejected = counter.acks.rejected.load(Ordering::Relaxed);
                closing.ack_duplicates = counter.acks.duplicates.load(Ordering::Relaxed);
                sink.close(rt);
                if !args.no_baseline {
                    let (report, phase) = grpc_baseline(rt, settings, runner, events)?;
                    closing.baseline = Some(report);
                    closing.baseline_phase = Some(phase);
                }
            }
            Target::Webhook {
                settings,
                mut sink,
                counter,
                watch,
                lagged,
            } => {
                watch.abort();
                closing.watch_lagged = lagged.load(Ordering::Relaxed);
                closing.requests = Some((
                    counter.stats.requests.load(Ordering::Relaxed),
                    counter.stats.refused.load(Ordering::Relaxed),
                ));
                closing.reports = counter.stats.reports.load(Ordering::Relaxed);
                // The run's first events, as the same requests; at most
                // 100,000 (rendered in memory first).
                let n = events
                    .min(webhook::BASELINE_EVENTS)
                    .min(runner.shared.sent.load(Ordering::Relaxed));
                let prerendered = sink.take_baseline(n);
                sink.close(rt);
                if !args.no_baseline {
                    runner.progress.phase("baseline", Some(n));
                    // Pre-rendered: the same bodies as sent (those due
                    // within the first events); else rendered as live.
                    let requests = match prerendered {
                        Some(r) => r,
                        None => webhook::rendered(&runner.shared, settings.events_per_body, 0, n)?,
                    };
                    let (report, map_rate) =
                        baseline::webhook_parse(&requests, &settings.secret, &runner.cpu);
                    runner.progress.println(&format!(
                        "baseline: {} events verified and parsed at {:.0}/s on one thread; satpam's parse and mapping {:.0}/s",
                        report.events, report.rate, map_rate
                    ));
                    closing.baseline = Some(report);
                    closing.webhook_map_rate = Some(map_rate);
                    runner.progress.phase("http floor", None);
                    let floor = http_floor::measure(rt, &settings, &requests, &runner.cpu)?;
                    runner.progress.println(&format!(
                        "http floor: {} requests to a null server at {:.0}/s ({:.0} events/s)",
                        floor.requests, floor.requests_rate, floor.events_rate
                    ));
                    closing.http_floor = Some(floor);
                }
            }
        }
        Ok(closing)
    }
}

/// The same streams and batches against a null Ingest server in this process.
fn grpc_baseline(
    rt: &Handle,
    settings: GrpcSettings,
    runner: &mut Runner,
    events: u64,
) -> anyhow::Result<(BaselineReport, PhaseOutcome)> {
    let server = rt.block_on(NullServer::start())?;
    let shared = runner.shared.clone();
    let mut sink = GrpcSink::connect(
        rt,
        GrpcSettings {
            addr: server.addr,
            ..settings
        },
        shared.clone(),
    )?;
    let probe = AckCounter {
        acks: sink.stats(),
        shared: shared.clone(),
        offset: shared.sent.load(Ordering::Relaxed),
    };
    let (o, drained) = runner.drain("baseline", events, false, &mut sink, &probe)?;
    let rate = drained.as_ref().map_or(0.0, |d| d.rate);
    let report = BaselineReport {
        method: "the same batches to a null Ingest server in loadgen (tonic decodes each EventBatch and acks it at once), max rate".into(),
        events: o.run.events,
        seconds: drained.as_ref().map_or(0.0, |d| round3(d.seconds)),
        rate,
        complete: drained.is_some(),
        cpu_s: drained.as_ref().map(|d| d.cpu_s.clone()).unwrap_or_default(),
        cpu_us_per_event: drained
            .as_ref()
            .map(|d| d.cpu_us_per_event.clone())
            .unwrap_or_default(),
    };
    sink.close(rt);
    rt.block_on(server.stop());
    Ok((report, o))
}
