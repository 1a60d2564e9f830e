//! What the poll thread, its rebalance callback and the workers share:
//! the worker queues and their byte budgets, the offsets ready to commit,
//! the start offsets of assigned partitions and the first fatal error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::webhook::RecordFormat;
use super::SourceSettings;
use crate::pipeline::shards::Shards;
use crate::pipeline::Pipeline;
use crate::sink::kafka::KafkaSink;
use crate::source::budget::ByteBudget;
use crate::telemetry::Telemetry;

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

/// Messages handed to a worker at once.
pub(super) const BATCH: usize = 256;

/// Bytes a batch holds against its worker's budget.
pub(super) fn batch_bytes(batch: &[Msg]) -> usize {
    batch
        .iter()
        .map(|m| m.payload.len() + m.key.as_ref().map_or(0, Vec::len))
        .sum()
}

/// A record as the poll thread hands it to a worker.
pub(super) struct Msg {
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) payload: Vec<u8>,
    /// The `x-hub-signature-256` header (webhook records only).
    pub(super) signature: Option<String>,
}

/// What the poll thread asks of a worker.
pub(super) enum Cmd {
    Batch(Vec<Msg>),
    /// Checkpoint these partitions, drop their shards, reply with offsets to commit.
    Revoke(Vec<i32>, SyncSender<Vec<(i32, i64)>>),
    /// Checkpoint everything and stop.
    Stop(SyncSender<Vec<(i32, i64)>>),
    /// These partitions were lost: drop their shards with no checkpoint.
    Drop(Vec<i32>, SyncSender<()>),
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
    pub(super) senders: Vec<SyncSender<Cmd>>,
    /// Bytes queued to each worker (`kafka.queue_bytes`).
    pub(super) budgets: Vec<Arc<ByteBudget>>,
    pub(super) batches: Mutex<Vec<Vec<Msg>>>,
    /// Offsets checkpointed by workers, waiting to be committed.
    pub(super) ready: Mutex<HashMap<i32, i64>>,
    /// The offset each assigned partition starts at (its snapshot's, or the
    /// group's committed one), taken by the worker with the first record.
    pub(super) starts: Mutex<HashMap<i32, i64>>,
    /// Set by a worker that cannot checkpoint (a record the broker refused).
    pub(super) fatal: Mutex<Option<String>>,
    /// Set with `fatal`, so that the poll loop checks a flag, not a lock, per message.
    pub(super) has_fatal: AtomicBool,
    /// The zombie fence: pauses and lost assignments (see [`super::lease`]).
    pub(super) lease: super::lease::Lease,
}

impl Shared {
    pub(super) fn worker_of(&self, partition: i32) -> usize {
        partition.unsigned_abs() as usize % self.senders.len()
    }

    pub(super) fn send(&self, w: usize, cmd: Cmd) {
        // Blocks when the worker is behind (its queue's count or bytes):
        // backpressure, not loss. A send fails only when the worker died:
        // the service stops.
        if let Cmd::Batch(batch) = &cmd {
            if self.budgets[w].acquire(batch_bytes(batch)).is_err() {
                self.fail(format!(
                    "worker thread {w} stopped unexpectedly; stopping the service"
                ));
                return;
            }
        }
        if self.senders[w].send(cmd).is_err() {
            self.fail(format!(
                "worker thread {w} stopped unexpectedly; stopping the service"
            ));
        }
    }

    pub(super) fn push(&self, m: Msg) {
        let w = self.worker_of(m.partition);
        let full = {
            let Ok(mut b) = self.batches.lock() else {
                return;
            };
            b[w].push(m);
            (b[w].len() >= BATCH).then(|| std::mem::take(&mut b[w]))
        };
        if let Some(batch) = full {
            self.send(w, Cmd::Batch(batch));
        }
    }

    pub(super) fn flush_batches(&self) {
        let taken: Vec<(usize, Vec<Msg>)> = match self.batches.lock() {
            Ok(mut b) => b
                .iter_mut()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(i, v)| (i, std::mem::take(v)))
                .collect(),
            Err(_) => return,
        };
        for (w, batch) in taken {
            self.send(w, Cmd::Batch(batch));
        }
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
