//! Analyst overrides shared by the fleet through a compacted topic: a
//! `SetOverride` or `ClearOverride` on any instance is produced there
//! (keyed by tenant and account; a clear is a tombstone) and acknowledged
//! before the call returns, and every instance follows the topic from its
//! beginning, applying each record to its engine context. An override so
//! holds wherever the account's partition lives, and survives any restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::decide::{Override, Overrides};
use crate::engine::EngineContext;
use crate::sink::kafka_client::{acked, ensure_compacted_topic, TIMEOUT};

/// The record key of an account's override: tenant, unit separator, account.
/// Why the overrides topic could not be set up, read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverridesTopicError {
    /// The step that failed (`create`, `producer`, `reader`, `assign`,
    /// `watermarks`, `read`, `thread`, `encode`, `send`, `delivery`).
    what: &'static str,
    /// Why.
    reason: String,
}

impl OverridesTopicError {
    fn new(what: &'static str, reason: impl std::fmt::Display) -> Self {
        OverridesTopicError {
            what,
            reason: reason.to_string(),
        }
    }
}

impl std::fmt::Display for OverridesTopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "overrides topic: {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for OverridesTopicError {}

fn key(tenant_id: &str, account_id: &str) -> String {
    format!("{tenant_id}\u{1f}{account_id}")
}

/// The overrides topic, its producer and its follower thread.
pub struct OverridesTopic {
    topic: String,
    producer: FutureProducer,
    stop: Arc<AtomicBool>,
    follower: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl OverridesTopic {
    /// Creates the topic when missing, reads it to its end into `ctx`'s
    /// overrides (on top of those already there, e.g. from the overrides
    /// file), then follows it on a thread of its own.
    pub fn start(
        topic: String,
        producer: &ClientConfig,
        reader: &ClientConfig,
        ctx: Arc<EngineContext>,
    ) -> Result<Self, OverridesTopicError> {
        ensure_compacted_topic(producer, &topic, 1)
            .map_err(|e| OverridesTopicError::new("create", e))?;
        let mut pc = producer.clone();
        pc.set("acks", "all").set("enable.idempotence", "true");
        let producer: FutureProducer = pc
            .create()
            .map_err(|e| OverridesTopicError::new("producer", e))?;
        let consumer: BaseConsumer = reader
            .create()
            .map_err(|e| OverridesTopicError::new("reader", e))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Beginning)
            .and_then(|()| consumer.assign(&tpl))
            .map_err(|e| OverridesTopicError::new("assign", e))?;
        let (_, high) = consumer
            .fetch_watermarks(&topic, 0, TIMEOUT)
            .map_err(|e| OverridesTopicError::new("watermarks", e))?;
        let applied = catch_up(&consumer, &ctx, high)?;
        tracing::info!(topic = %topic, records = applied, "overrides read from the overrides topic");
        let stop = Arc::new(AtomicBool::new(false));
        let follower = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("satpam-overrides".into())
                .spawn(move || follow(consumer, ctx, stop))
                .map_err(|e| OverridesTopicError::new("thread", e))?
        };
        Ok(OverridesTopic {
            topic,
            producer,
            stop,
            follower: std::sync::Mutex::new(Some(follower)),
        })
    }

    /// Produces `o` (set) or a tombstone (clear) for the account and waits
    /// for the broker's acknowledgement.
    pub fn publish(
        &self,
        tenant_id: &str,
        account_id: &str,
        o: Option<&Override>,
    ) -> Result<(), OverridesTopicError> {
        let key = key(tenant_id, account_id);
        let payload = match o {
            Some(o) => {
                Some(serde_json::to_vec(o).map_err(|e| OverridesTopicError::new("encode", e))?)
            }
            None => None,
        };
        let mut rec: FutureRecord<'_, str, Vec<u8>> =
            FutureRecord::to(&self.topic).partition(0).key(&key);
        if let Some(p) = &payload {
            rec = rec.payload(p);
        }
        let f = self
            .producer
            .send_result(rec)
            .map_err(|(e, _)| OverridesTopicError::new("send", e))?;
        acked(f, TIMEOUT).map_err(|e| OverridesTopicError::new("delivery", e))
    }

    /// Stops following.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.follower.lock().ok().and_then(|mut f| f.take()) {
            let _ = h.join();
        }
    }
}

impl Drop for OverridesTopic {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Applies records to a copy of the overrides in force and swaps it in.
fn apply(ctx: &EngineContext, records: &[(String, Option<Vec<u8>>)]) {
    if records.is_empty() {
        return;
    }
    let mut next: Overrides = (*ctx.overrides()).clone();
    for (key, payload) in records {
        match payload {
            Some(p) => match serde_json::from_slice::<Override>(p) {
                Ok(o) => {
                    if let Err(e) = next.set(o) {
                        tracing::warn!(error = %e, "an override on the overrides topic is refused");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an overrides topic record does not parse; skipped")
                }
            },
            None => {
                if let Some((tenant, account)) = key.split_once('\u{1f}') {
                    next.clear(tenant, account);
                }
            }
        }
    }
    ctx.swap_overrides(next);
}

fn record(m: &rdkafka::message::BorrowedMessage<'_>) -> Option<(String, Option<Vec<u8>>)> {
    let key = String::from_utf8(m.key()?.to_vec()).ok()?;
    Some((key, m.payload().map(<[u8]>::to_vec)))
}

/// Reads to `high` (and on until quiet: Tansu 0.6 reports a high watermark
/// below the last offset), applying what it reads; returns the record count.
fn catch_up(
    consumer: &BaseConsumer,
    ctx: &EngineContext,
    high: i64,
) -> Result<usize, OverridesTopicError> {
    let deadline = Instant::now() + TIMEOUT;
    let quiet = Duration::from_millis(300);
    let mut last_seen = Instant::now();
    let mut next = 0;
    let mut records = Vec::new();
    while next < high || last_seen.elapsed() < quiet {
        if Instant::now() > deadline {
            return Err(OverridesTopicError::new(
                "read",
                "not read to its end in time",
            ));
        }
        let Some(m) = consumer.poll(Duration::from_millis(50)) else {
            continue;
        };
        let m = m.map_err(|e| OverridesTopicError::new("read", e))?;
        last_seen = Instant::now();
        next = m.offset() + 1;
        records.extend(record(&m));
    }
    apply(ctx, &records);
    Ok(records.len())
}

fn follow(consumer: BaseConsumer, ctx: Arc<EngineContext>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        let mut records = Vec::new();
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => records.extend(record(&m)),
            Some(Err(e)) => tracing::warn!(error = %e, "overrides topic"),
            None => continue,
        }
        // What else is there now, applied in one swap.
        while let Some(Ok(m)) = consumer.poll(Duration::ZERO) {
            records.extend(record(&m));
        }
        apply(&ctx, &records);
    }
}
