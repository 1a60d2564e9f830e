//! The events topic's records of the last hours, read back as events in
//! time order across partitions: what the console's backtest replays when
//! it is given "the last N hours of the events topic" instead of a file.
//!
//! [`TopicWindowSettings::bounds`] fixes, once, the offsets of each
//! partition: from the first record written at or after the window's start
//! (the broker's time index, `ListOffsets` by timestamp) to the end the
//! partition had then. Each pass of a backtest then reads exactly those
//! records ([`TopicWindow::open`]), so both sides see the same events
//! whatever is written meanwhile. Records are decoded as the service decodes
//! them (protobuf, or raw webhook bodies verified with the apps' secrets),
//! and the partitions are merged by event time ([`super::merge`]), each in
//! its own order, as the service's partitions see them. It reads with
//! `assign`, never joins the service's group and commits nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::merge::{ByTime, Lanes};
use super::shared::record_headers;
use super::webhook::RecordFormat;
use crate::config::{KafkaSection, WebhookSection};
use crate::eval::EventSource;
use crate::io::RecordError;
use crate::pb::v1 as pb;
use crate::sink::kafka_client::TIMEOUT;
use crate::telemetry::Telemetry;

/// How long a partition may deliver nothing before the pass gives up.
const STALL: Duration = Duration::from_secs(30);
/// One wait on a partition's queue.
const POLL: Duration = Duration::from_millis(100);

/// Why the window could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the events topic {topic}: {what}: {reason}")]
pub struct WindowError {
    /// The topic.
    pub topic: String,
    /// The step (`reader`, `metadata`, `watermarks`, `assign`, `queue`).
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

/// How to read the events topic, built once from `[kafka]` and `[webhook]`.
#[derive(Clone)]
pub struct TopicWindowSettings {
    topic: String,
    reader: ClientConfig,
    format: RecordFormat,
}

impl std::fmt::Debug for TopicWindowSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicWindowSettings")
            .field("topic", &self.topic)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// One partition's records in the window: offsets `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRange {
    /// The partition.
    pub partition: i32,
    /// The first offset read.
    pub start: i64,
    /// One past the last offset read (the partition's end when the bounds were taken).
    pub end: i64,
}

/// The window's records, fixed once for every pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowBounds {
    /// Records written before this time (ms since the epoch) are left out.
    pub since_ms: i64,
    /// Each partition's range.
    pub partitions: Vec<PartitionRange>,
}

impl WindowBounds {
    /// Records in the window (an upper bound: a compacted topic has gaps).
    pub fn records(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| (p.end - p.start).max(0) as u64)
            .sum()
    }
}

impl TopicWindowSettings {
    /// The events topic of `kafka` (records decoded as `kafka.events_format`
    /// says, with the apps of `webhook`), read with the service's security
    /// and `[kafka.consumer]` properties; `None` when Kafka is not configured.
    pub fn from_config(kafka: &KafkaSection, webhook: &WebhookSection) -> Option<Self> {
        if kafka.brokers.trim().is_empty() {
            return None;
        }
        let mut reader = ClientConfig::new();
        reader
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", format!("{}-backtest", kafka.group_id));
        for (k, v) in kafka.consumer_properties() {
            reader.set(k, v);
        }
        // Ours last: a backtest never commits and must see each partition's end.
        reader
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest");
        Some(TopicWindowSettings {
            topic: kafka.events_topic.clone(),
            reader,
            format: RecordFormat::from_config(kafka, webhook),
        })
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn error(&self, what: &'static str, reason: impl std::fmt::Display) -> WindowError {
        WindowError {
            topic: self.topic.clone(),
            what,
            reason: reason.to_string(),
        }
    }

    /// Each partition's offsets from the first record written at or after
    /// `since_ms` to its end now. A broker that cannot look offsets up by
    /// time gives the partition's first offset (the records before
    /// `since_ms` are then skipped as they are read).
    pub fn bounds(&self, since_ms: i64) -> Result<WindowBounds, WindowError> {
        let consumer: BaseConsumer = self.reader.create().map_err(|e| self.error("reader", e))?;
        let metadata = consumer
            .fetch_metadata(Some(&self.topic), TIMEOUT)
            .map_err(|e| self.error("metadata", e))?;
        let topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == self.topic)
            .ok_or_else(|| self.error("metadata", "no such topic"))?;
        if let Some(e) = topic.error() {
            return Err(self.error("metadata", format!("{e:?}")));
        }
        let mut ids: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        if ids.is_empty() {
            return Err(self.error("metadata", "the topic has no partitions"));
        }
        let mut by_time = TopicPartitionList::new();
        for &p in &ids {
            by_time
                .add_partition_offset(&self.topic, p, Offset::Offset(since_ms))
                .map_err(|e| self.error("offsets", e))?;
        }
        let found = consumer.offsets_for_times(by_time, TIMEOUT).ok();
        let mut partitions = Vec::with_capacity(ids.len());
        for p in ids {
            let (low, high) = consumer
                .fetch_watermarks(&self.topic, p, TIMEOUT)
                .map_err(|e| self.error("watermarks", e))?;
            let at = found
                .as_ref()
                .and_then(|f| f.find_partition(&self.topic, p))
                .filter(|e| e.error().is_ok())
                .map(|e| e.offset());
            let start = match at {
                Some(Offset::Offset(o)) => o.clamp(low, high),
                // No record at or after the time: nothing of it is in the window.
                Some(Offset::End) => high,
                _ => low,
            };
            partitions.push(PartitionRange {
                partition: p,
                start,
                end: high,
            });
        }
        Ok(WindowBounds {
            since_ms,
            partitions,
        })
    }
}

/// One pass over a window: the events of its records in time order. The
/// records read are added to `read` as they are (skipped ones included),
/// for a progress bar.
pub struct TopicWindow {
    merged: ByTime<Partitions>,
}

impl TopicWindow {
    /// Starts reading `bounds` with `settings`.
    pub fn open(
        settings: &TopicWindowSettings,
        bounds: &WindowBounds,
        read: Arc<AtomicU64>,
    ) -> Result<TopicWindow, WindowError> {
        let consumer: Arc<BaseConsumer> = Arc::new(
            settings
                .reader
                .create()
                .map_err(|e| settings.error("reader", e))?,
        );
        let mut tpl = TopicPartitionList::new();
        for p in bounds.partitions.iter().filter(|p| p.start < p.end) {
            tpl.add_partition_offset(&settings.topic, p.partition, Offset::Offset(p.start))
                .map_err(|e| settings.error("assign", e))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| settings.error("assign", e))?;
        let mut lanes = Vec::with_capacity(bounds.partitions.len());
        let mut queues = Vec::with_capacity(bounds.partitions.len());
        for p in &bounds.partitions {
            queues.push(if p.start < p.end {
                Some(
                    consumer
                        .split_partition_queue(&settings.topic, p.partition)
                        .ok_or_else(|| {
                            settings.error("queue", format!("partition {}", p.partition))
                        })?,
                )
            } else {
                None
            });
            lanes.push(Lane {
                range: *p,
                pending: VecDeque::new(),
                next: p.start,
                done: p.start >= p.end,
                last_ms: i64::MIN,
            });
        }
        Ok(TopicWindow {
            merged: ByTime::new(Partitions {
                consumer,
                queues,
                lanes,
                records: Records {
                    since_ms: bounds.since_ms,
                    format: settings.format.clone(),
                    telemetry: Telemetry::new(),
                    read,
                },
            }),
        })
    }
}

impl EventSource for TopicWindow {
    fn next_event(&mut self) -> Option<Result<pb::MessageEvent, RecordError>> {
        self.merged.next()
    }

    fn interrupted(&self) -> Option<String> {
        self.merged.failure().map(str::to_string)
    }
}

/// A decoded event, or why a record could not be, as a replay counts it.
type Decoded = Result<pb::MessageEvent, RecordError>;

/// One partition as the merge sees it.
struct Lane {
    range: PartitionRange,
    /// Events of records read but not yet handed out, with their times.
    pending: VecDeque<(i64, Decoded)>,
    /// The next offset expected.
    next: i64,
    /// The range has been read.
    done: bool,
    /// The time of the last event handed out (a bad record's place).
    last_ms: i64,
}

/// Every partition of the window.
struct Partitions {
    consumer: Arc<BaseConsumer>,
    /// Each lane's queue (`None`: nothing to read); apart from the lanes,
    /// which a record read from it is added to.
    queues: Vec<Option<PartitionQueue<DefaultConsumerContext>>>,
    lanes: Vec<Lane>,
    records: Records,
}

/// How a record read becomes its lane's events.
struct Records {
    /// Records written before this time are skipped.
    since_ms: i64,
    format: RecordFormat,
    /// The webhook counters of this pass's decoding, kept apart from the
    /// service's own (a backtest is not traffic).
    telemetry: Arc<Telemetry>,
    /// Records read, skipped ones included (the progress bar's count).
    read: Arc<AtomicU64>,
}

impl Lanes for Partitions {
    type Item = Decoded;

    fn count(&self) -> usize {
        self.lanes.len()
    }

    fn pull(&mut self, i: usize) -> Result<Option<(i64, Decoded)>, String> {
        let mut waited = Instant::now();
        loop {
            self.serve_main_queue();
            let lane = &mut self.lanes[i];
            if let Some((t, item)) = lane.pending.pop_front() {
                lane.last_ms = lane.last_ms.max(t);
                return Ok(Some((t, item)));
            }
            if lane.done {
                return Ok(None);
            }
            let Some(queue) = self.queues[i].as_ref() else {
                lane.done = true;
                continue;
            };
            match queue.poll(POLL) {
                Some(Ok(m)) => {
                    waited = Instant::now();
                    self.records.take(lane, &m);
                    continue;
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    lane.done = true;
                    continue;
                }
                // librdkafka retries what it can (a broker down, a leader
                // moving); what lasts shows as a stall below.
                Some(Err(e)) => {
                    tracing::warn!(partition = lane.range.partition, error = %e, "backtest: reading the events topic");
                }
                None => {}
            }
            if waited.elapsed() > STALL {
                return Err(format!(
                    "partition {}: nothing read for {} s at offset {} (the window ends at {})",
                    lane.range.partition,
                    STALL.as_secs(),
                    lane.next,
                    lane.range.end
                ));
            }
        }
    }
}

impl Partitions {
    /// Serves the consumer's callbacks; a record fetched before its
    /// partition's queue was split arrives here and joins its lane (before
    /// any record of the split queue, so the lane's order holds).
    fn serve_main_queue(&mut self) {
        while let Some(r) = self.consumer.poll(Duration::ZERO) {
            match r {
                Ok(m) => {
                    if let Some(lane) = lane_of(&mut self.lanes, m.partition()) {
                        self.records.take(lane, &m);
                    }
                }
                // At the partition's end now, so past the range's end.
                Err(KafkaError::PartitionEOF(p)) => {
                    if let Some(lane) = lane_of(&mut self.lanes, p) {
                        lane.done = true;
                    }
                }
                // As in `pull`: retried by librdkafka, a lasting one stalls a lane.
                Err(e) => tracing::warn!(error = %e, "backtest: reading the events topic"),
            }
        }
    }
}

/// The lane of `partition`.
fn lane_of(lanes: &mut [Lane], partition: i32) -> Option<&mut Lane> {
    lanes.iter_mut().find(|l| l.range.partition == partition)
}

impl Records {
    /// Adds the events of record `m` to its lane (nothing when it lies
    /// outside the window); the lane is done once its range's last record
    /// is in.
    fn take(&self, lane: &mut Lane, m: &BorrowedMessage<'_>) {
        let Records {
            since_ms,
            format,
            telemetry,
            read,
        } = self;
        let since_ms = *since_ms;
        let offset = m.offset();
        if offset >= lane.range.end {
            lane.done = true;
            return;
        }
        if offset < lane.next {
            return;
        }
        read.fetch_add(1, Ordering::Relaxed);
        lane.next = offset + 1;
        if lane.next >= lane.range.end {
            lane.done = true;
        }
        if m.timestamp().to_millis().is_some_and(|t| t < since_ms) {
            return;
        }
        let partition = lane.range.partition;
        let at = |reason: String| RecordError {
            line: offset.max(0) as u64,
            reason: format!("partition {partition} offset {offset}: {reason}"),
        };
        let payload = m.payload().unwrap_or_default();
        match format {
            RecordFormat::Protobuf => {
                let decoded = <pb::MessageEvent as prost::Message>::decode(payload)
                    .map_err(|e| at(format!("not a satpam.v1.MessageEvent: {e}")));
                let t = decoded.as_ref().map_or(lane.last_ms, |e| e.timestamp_ms);
                lane.pending.push_back((t, decoded));
            }
            RecordFormat::Webhook(records) => {
                let headers = record_headers(m);
                match records.decode(payload, &headers, telemetry) {
                    Ok(events) => lane
                        .pending
                        .extend(events.into_iter().map(|e| (e.timestamp_ms, Ok(e)))),
                    Err(e) => lane
                        .pending
                        .push_back((lane.last_ms, Err(at(e.to_string())))),
                }
            }
        }
    }
}
