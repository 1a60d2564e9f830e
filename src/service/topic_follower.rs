//! A fleet-wide table kept from a compacted, one-partition topic: read from
//! its beginning to its end before the service answers, then followed on a
//! thread of its own. The overrides topic and the actions topic are both
//! kept this way (Kafka Streams' global tables): every instance holds all
//! of it, whichever partitions of the events it owns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::sink::kafka_client::TIMEOUT;

/// One record as the table sees it: its key and its value (None for a
/// tombstone) and the header naming its writer, when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    /// The record key, as UTF-8.
    pub key: String,
    /// The value; None for a tombstone.
    pub value: Option<Vec<u8>>,
    /// The `satpam-writer` header, when present.
    pub writer: Option<String>,
}

/// Why a table topic could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct FollowError {
    /// The step that failed (`reader`, `assign`, `watermarks`, `read`, `thread`).
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

impl FollowError {
    fn new(what: &'static str, reason: impl std::fmt::Display) -> Self {
        FollowError {
            what,
            reason: reason.to_string(),
        }
    }
}

/// A running follower; stopping it (or dropping it) joins its thread.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Follower {
    /// Reads partition 0 of `topic` from its beginning to its end with a
    /// consumer made from `reader` (no group offsets are used), handing
    /// what it read to `apply` in one call, then follows the topic on a
    /// thread named `thread`, handing each poll's records to `apply`.
    /// Returns the follower and how many records the first read held.
    pub fn start<F>(
        topic: &str,
        reader: &ClientConfig,
        thread: &str,
        mut apply: F,
    ) -> Result<(Self, usize), FollowError>
    where
        F: FnMut(&[TableRecord]) + Send + 'static,
    {
        let consumer: BaseConsumer = reader.create().map_err(|e| FollowError::new("reader", e))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .and_then(|()| consumer.assign(&tpl))
            .map_err(|e| FollowError::new("assign", e))?;
        let (_, high) = consumer
            .fetch_watermarks(topic, 0, TIMEOUT)
            .map_err(|e| FollowError::new("watermarks", e))?;
        let first = read_to_end(&consumer, high)?;
        apply(&first);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(thread.into())
                .spawn(move || follow(consumer, apply, stop))
                .map_err(|e| FollowError::new("thread", e))?
        };
        Ok((
            Follower {
                stop,
                thread: std::sync::Mutex::new(Some(handle)),
            },
            first.len(),
        ))
    }

    /// Stops following and joins the thread.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop();
    }
}

fn record(m: &rdkafka::message::BorrowedMessage<'_>) -> Option<TableRecord> {
    use rdkafka::message::Headers;
    let key = String::from_utf8(m.key()?.to_vec()).ok()?;
    let writer = m.headers().and_then(|h| {
        h.iter()
            .find(|h| h.key == crate::sink::writer::WRITER_HEADER)
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string)
    });
    Some(TableRecord {
        key,
        value: m.payload().map(<[u8]>::to_vec),
        writer,
    })
}

/// Reads to `high` (and on until quiet: Tansu 0.6 reports a high watermark
/// below the last offset).
fn read_to_end(consumer: &BaseConsumer, high: i64) -> Result<Vec<TableRecord>, FollowError> {
    let deadline = Instant::now() + TIMEOUT;
    let quiet = Duration::from_millis(300);
    let mut last_seen = Instant::now();
    let mut next = 0;
    let mut records = Vec::new();
    while next < high || last_seen.elapsed() < quiet {
        if Instant::now() > deadline {
            return Err(FollowError::new("read", "not read to its end in time"));
        }
        let Some(m) = consumer.poll(Duration::from_millis(50)) else {
            continue;
        };
        let m = m.map_err(|e| FollowError::new("read", e))?;
        last_seen = Instant::now();
        next = m.offset() + 1;
        records.extend(record(&m));
    }
    Ok(records)
}

fn follow<F>(consumer: BaseConsumer, mut apply: F, stop: Arc<AtomicBool>)
where
    F: FnMut(&[TableRecord]),
{
    while !stop.load(Ordering::Acquire) {
        let mut records = Vec::new();
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => records.extend(record(&m)),
            Some(Err(e)) => tracing::warn!(error = %e, "table topic"),
            None => continue,
        }
        // What else is there now, applied in one call.
        while let Some(Ok(m)) = consumer.poll(Duration::ZERO) {
            records.extend(record(&m));
        }
        apply(&records);
    }
}
