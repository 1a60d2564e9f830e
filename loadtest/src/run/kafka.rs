//! The Kafka target: an idempotent producer of pre-encoded events keyed by
//! account, a reader of the signals topic, and the probe that reads
//! satpam's events counter from `/metrics`.
//!
//! The broker's high watermark is never used to decide where this run's
//! data ends (Tansu 0.6 reports one below the last offset): the producer's
//! delivery reports give the first offset of the run in each partition and
//! the number of events delivered, and readers count what they read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use satpam::pb::v1 as pb;

use super::generator::EventSink;
use super::metrics_scrape::MetricsEndpoint;
use super::shared::Shared;

/// Connection settings shared by the producer and the readers.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers.
    pub brokers: String,
    /// Events topic.
    pub topic: String,
    /// Signals topic.
    pub signals_topic: String,
    /// Producer `linger.ms`.
    pub linger_ms: u64,
    /// Producer `compression.type`.
    pub compression: String,
    /// Extra producer properties.
    pub producer: Vec<(String, String)>,
    /// Extra consumer properties (signals reader and baseline).
    pub consumer: Vec<(String, String)>,
}

impl KafkaSettings {
    /// A consumer config with the extra properties and a fresh group id.
    pub fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest");
        for (k, v) in &self.consumer {
            c.set(k, v);
        }
        c
    }
}

/// What the delivery reports told.
#[derive(Default)]
pub struct DeliveryStats {
    /// Events the broker acknowledged.
    pub delivered: AtomicU64,
    /// Events the broker refused.
    pub failed: AtomicU64,
    /// The first offset of this run in each partition.
    first_offsets: Mutex<HashMap<i32, i64>>,
    last_error: Mutex<Option<String>>,
}

impl DeliveryStats {
    /// The first offset of this run in each partition that got events.
    pub fn first_offsets(&self) -> HashMap<i32, i64> {
        self.first_offsets
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The last delivery error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

/// Delivery callbacks: counts, first offsets, and the broker's ack latency
/// of each event from its intended send time.
struct DeliveryContext {
    stats: Arc<DeliveryStats>,
    shared: Arc<Shared>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    /// The event's sequence number.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(m) => {
                let now = Instant::now();
                if let Some((phase, intended)) = self.shared.intended(seq as u64) {
                    self.shared.on_ack(phase, intended, now);
                }
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut f) = self.stats.first_offsets.lock() {
                    let e = f.entry(m.partition()).or_insert(m.offset());
                    *e = (*e).min(m.offset());
                }
            }
            Err((e, _)) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = self.stats.last_error.lock() {
                    *l = Some(e.to_string());
                }
            }
        }
    }
}

/// The producer side of the Kafka target.
pub struct KafkaSink {
    producer: ThreadedProducer<DeliveryContext>,
    topic: String,
    shared: Arc<Shared>,
    scratch: Vec<u8>,
    stats: Arc<DeliveryStats>,
    blocked: Duration,
}

impl KafkaSink {
    /// An idempotent producer to the events topic.
    pub fn new(settings: &KafkaSettings, shared: Arc<Shared>) -> anyhow::Result<KafkaSink> {
        let stats = Arc::new(DeliveryStats::default());
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &settings.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", settings.linger_ms.to_string())
            .set("compression.type", &settings.compression)
            .set("batch.size", "1000000")
            .set("queue.buffering.max.messages", "1000000")
            .set("message.timeout.ms", "120000");
        for (k, v) in &settings.producer {
            c.set(k, v);
        }
        let producer = c
            .create_with_context(DeliveryContext {
                stats: stats.clone(),
                shared: shared.clone(),
            })
            .context("creating the Kafka producer")?;
        Ok(KafkaSink {
            producer,
            topic: settings.topic.clone(),
            shared,
            scratch: Vec::with_capacity(1024),
            stats,
            blocked: Duration::ZERO,
        })
    }

    /// The delivery reports so far.
    pub fn stats(&self) -> Arc<DeliveryStats> {
        self.stats.clone()
    }
}

impl EventSink for KafkaSink {
    fn send(&mut self, seq: u64, _intended: Instant, _phase: usize) -> anyhow::Result<()> {
        self.scratch.clear();
        let pool = &self.shared.pool;
        pool.encode(seq, &mut self.scratch);
        let mut record = BaseRecord::with_opaque_to(&self.topic, seq as usize)
            .key(pool.key(seq))
            .payload(self.scratch.as_slice());
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    // The client's queue is full: wait for the broker. The
                    // schedule goes on; these events' latencies will show it.
                    record = r;
                    let t = Instant::now();
                    std::thread::sleep(Duration::from_micros(200));
                    self.blocked += t.elapsed();
                }
                Err((e, _)) => return Err(anyhow::anyhow!("producing event {seq}: {e}")),
            }
        }
    }

    fn idle(&mut self, _now: Instant) -> anyhow::Result<()> {
        Ok(())
    }

    fn blocked(&self) -> Duration {
        self.blocked
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.producer
            .flush(Duration::from_secs(120))
            .context("flushing the producer")?;
        if let Some(e) = self.stats.last_error() {
            anyhow::bail!("the broker refused events: {e}");
        }
        Ok(())
    }
}

/// Creates the events, signals and `<events>.dlq` topics with `partitions`
/// partitions each; topics that exist are left alone.
pub async fn create_topics(settings: &KafkaSettings, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()
        .context("creating the Kafka admin client")?;
    let dlq = format!("{}.dlq", settings.topic);
    let names = [&settings.topic, &settings.signals_topic, &dlq];
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, partitions, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .context("creating topics")?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// The partitions of `topic` (at least one, or an error saying the topic is missing).
pub fn partitions(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata of {topic}"))?;
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    anyhow::ensure!(
        !parts.is_empty(),
        "topic {topic} does not exist on the broker (create it, or pass --create-topics N)"
    );
    Ok(parts)
}

/// Reads the signals topic from (about) its current end until `stop`,
/// handing every signal to [`Shared::on_signal`]. Starting at the reported
/// high watermark is safe even when a broker reports it too low: older
/// signals belong to other runs and are ignored.
pub struct SignalReader {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl SignalReader {
    /// Assigns every partition of the signals topic and starts reading.
    pub fn start(settings: &KafkaSettings, shared: Arc<Shared>) -> anyhow::Result<SignalReader> {
        let group = format!("satpam-loadgen-signals-{:08x}", shared.pool.run());
        let mut config = settings.consumer_config(&group);
        // Our own hop should add little to the end-to-end latency: some
        // brokers (Tansu 0.6) hold a fetch for its full wait even when data
        // arrives. --consumer-property overrides this too.
        if !settings
            .consumer
            .iter()
            .any(|(k, _)| k == "fetch.wait.max.ms")
        {
            config.set("fetch.wait.max.ms", "10");
        }
        let consumer: BaseConsumer = config.create().context("creating the signals consumer")?;
        let topic = &settings.signals_topic;
        let mut tpl = TopicPartitionList::new();
        for p in partitions(&consumer, topic)? {
            let (_, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .with_context(|| format!("watermarks of {topic}/{p}"))?;
            tpl.add_partition_offset(topic, p, Offset::Offset(high))?;
        }
        consumer.assign(&tpl)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("loadgen-signals".into())
            .spawn(move || {
                while !stop2.load(Ordering::Acquire) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let at = Instant::now();
                            if let Some(bytes) = m.payload() {
                                if let Ok(s) =
                                    <pb::EnforcementSignal as prost::Message>::decode(bytes)
                                {
                                    shared.on_signal(&s, at);
                                }
                            }
                        }
                        Some(Err(e)) => warn_rate_limited(&format!("signals consumer: {e}")),
                        None => {}
                    }
                }
                Ok(())
            })
            .context("starting the signals reader")?;
        Ok(SignalReader {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops reading.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow::anyhow!("the signals reader panicked")),
            None => Ok(()),
        }
    }
}

/// Consumer errors are transient (the client retries); say so once a second at most.
fn warn_rate_limited(msg: &str) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    if let Ok(mut last) = LAST.lock() {
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            eprintln!("warning: {msg}");
            *last = Some(Instant::now());
        }
    }
}

/// How many of this run's events satpam processed: its
/// `satpam_events_total{source="kafka"}` minus the value at the start.
pub struct KafkaProbe {
    metrics: MetricsEndpoint,
    start: f64,
}

impl KafkaProbe {
    /// Reads the counter's starting value; fails when /metrics is not reachable.
    pub fn new(metrics: MetricsEndpoint) -> anyhow::Result<KafkaProbe> {
        let s = metrics.scrape().with_context(|| {
            format!(
                "cannot scrape satpam's metrics at {} (the Kafka target counts processed events there; pass --metrics URL)",
                metrics.url()
            )
        })?;
        Ok(KafkaProbe {
            start: s.events("kafka"),
            metrics,
        })
    }

    /// A satpam that loadgen started itself: every event it counts is this run's.
    pub fn fresh(metrics: MetricsEndpoint) -> KafkaProbe {
        KafkaProbe {
            metrics,
            start: 0.0,
        }
    }

    /// Events processed since the start, and when that was read.
    pub fn processed(&self) -> anyhow::Result<(u64, Instant)> {
        let s = self
            .metrics
            .scrape()
            .with_context(|| format!("scraping {}", self.metrics.url()))?;
        Ok(((s.events("kafka") - self.start).max(0.0) as u64, s.at))
    }
}
