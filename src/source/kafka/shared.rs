//! What the poll thread, its rebalance callback and the workers share: the
//! workers' command channels (and how to wake them), the offsets ready to
//! commit, the start offsets of assigned partitions and the first fatal
//! error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::Thread;

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use serde::{Deserialize, Serialize};

use super::heartbeat::Heartbeat;
use super::webhook::{RecordFormat, RecordHeaders};
use super::SourceSettings;
use crate::pipeline::shards::Shards;
use crate::pipeline::Pipeline;
use crate::sink::kafka::KafkaSink;
use crate::telemetry::Telemetry;

/// The consumer's callbacks (rebalances and statistics, in [`super::rebalance`]).
pub(super) struct SourceContext {
    pub(super) shared: Arc<Shared>,
}

/// The group consumer.
pub(super) type Consumer = BaseConsumer<SourceContext>;

/// One partition's queue, split off the consumer's: its records come to
/// the worker that owns the partition, in order, and to no one else.
pub(super) type Queue = PartitionQueue<SourceContext>;

/// What a snapshot file carries besides the state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(super) struct SnapshotMeta {
    pub(super) topic: String,
    pub(super) partition: i32,
    /// The next offset to process.
    pub(super) offset: i64,
    /// High watermarks of the signals topic when the snapshot was taken.
    pub(super) signals_watermarks: Vec<(i32, i64)>,
}

/// Records a worker takes from one partition's queue at once (one span).
pub(super) const BATCH: usize = 256;

/// A record as a worker reads it: borrowed from librdkafka's buffer, not
/// copied.
pub(super) struct Record<'a> {
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) key: Option<&'a [u8]>,
    pub(super) payload: &'a [u8],
    /// The headers satpam reads (webhook records only).
    pub(super) headers: RecordHeaders,
}

impl<'a> Record<'a> {
    /// The record `m` is; its headers are read only for `webhook` records.
    pub(super) fn of(m: &'a BorrowedMessage<'_>, webhook: bool) -> Record<'a> {
        Record {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
            payload: m.payload().unwrap_or_default(),
            headers: if webhook {
                record_headers(m)
            } else {
                RecordHeaders::default()
            },
        }
    }
}

/// What satpam reads of `m`'s headers, and its timestamp.
pub(super) fn record_headers<M: Message>(m: &M) -> RecordHeaders {
    let pairs = m
        .headers()
        .map(|h| h.iter().map(|h| (h.key, h.value)).collect::<Vec<_>>())
        .unwrap_or_default();
    RecordHeaders::read(pairs, m.timestamp().to_millis())
}

/// What the poll thread (its rebalance callback) asks of a worker.
pub(super) enum Cmd {
    /// Take partition `.0`, whose records come in this queue.
    Assign(i32, Box<Queue>),
    /// Checkpoint these partitions, drop them, reply with offsets to commit.
    Revoke(Vec<i32>, SyncSender<Vec<(i32, i64)>>),
    /// Checkpoint everything and stop.
    Stop(SyncSender<Vec<(i32, i64)>>),
    /// These partitions were lost: drop them with no checkpoint.
    Drop(Vec<i32>, SyncSender<()>),
}

/// How the poll thread reaches one worker.
pub(super) struct WorkerLink {
    pub(super) commands: Sender<Cmd>,
    /// The worker's thread, woken by a command or a record.
    pub(super) thread: OnceLock<Thread>,
    /// Beaten by the worker once per turn of its loop.
    pub(super) heartbeat: Heartbeat,
}

impl WorkerLink {
    /// Wakes the worker (it parks when it has nothing to do).
    pub(super) fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

/// The shared parts the poll thread, its rebalance callback and the workers use.
pub(super) struct Shared {
    pub(super) cfg: SourceSettings,
    /// Where each partition's checkpoints go and come back from.
    pub(super) store: super::store::StateStore,
    /// How records are decoded.
    pub(super) format: RecordFormat,
    pub(super) shards: Arc<Shards>,
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) sink: Arc<KafkaSink>,
    pub(super) telemetry: Arc<Telemetry>,
    pub(super) workers: Vec<WorkerLink>,
    /// The consumer, for splitting partition queues off it in the
    /// rebalance callback (weak: the consumer owns this through its context).
    pub(super) consumer: OnceLock<Weak<Consumer>>,
    /// Offsets checkpointed by workers, waiting to be committed.
    pub(super) ready: Mutex<HashMap<i32, i64>>,
    /// The offset each assigned partition starts at (its snapshot's, or the
    /// group's committed one), taken by the worker with the first record.
    pub(super) starts: Mutex<HashMap<i32, i64>>,
    /// Set by a worker that cannot checkpoint (a record the broker refused).
    pub(super) fatal: Mutex<Option<String>>,
    /// Set with `fatal`, so that loops check a flag, not a lock.
    pub(super) has_fatal: AtomicBool,
    /// The zombie fence: pauses and lost assignments (see [`super::lease`]).
    pub(super) lease: super::lease::Lease,
}

impl Shared {
    pub(super) fn worker_of(&self, partition: i32) -> usize {
        partition.unsigned_abs() as usize % self.workers.len()
    }

    /// Hands `cmd` to worker `w` and wakes it; a send fails only when the
    /// worker died: the service stops.
    pub(super) fn send(&self, w: usize, cmd: Cmd) -> bool {
        let link = &self.workers[w];
        if link.commands.send(cmd).is_err() {
            self.fail(format!(
                "worker thread {w} stopped unexpectedly; stopping the service"
            ));
            return false;
        }
        link.wake();
        true
    }

    /// Whether a write for a partition taken at `epoch` may go (waiting out
    /// a pause first); a dropped one is counted.
    pub(super) fn admit(&self, epoch: u64) -> bool {
        match self.lease.admit(epoch) {
            super::lease::Admit::Write => true,
            super::lease::Admit::Drop => {
                self.telemetry.fenced_writes.increment(1);
                false
            }
        }
    }

    pub(super) fn fail(&self, why: String) {
        tracing::error!(error = %why, "kafka source stopping");
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(why);
        }
        self.has_fatal.store(true, Ordering::Release);
    }
}
