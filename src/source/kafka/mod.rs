//! The Kafka source: a consumer group reading `satpam.v1.MessageEvent`
//! protobuf from the events topic.
//!
//! Per-partition queues: when a partition is assigned, its queue is split
//! off the consumer's (librdkafka's `rd_kafka_queue_get_partition`, before
//! the assignment takes effect) and handed to worker p mod `workers`. The
//! worker reads its partitions' queues in turn, takes the records where
//! librdkafka buffered them (no copy, no lock shared with other workers)
//! and processes each partition in order; it sleeps when its queues are
//! empty and a queue wakes it when records arrive. A busy worker stops
//! reading, its partitions' queues fill, and librdkafka stops fetching them
//! (`queued.max.messages.kbytes`, from `kafka.queue_bytes`, per partition):
//! backpressure, not loss.
//!
//! The poll thread owns the consumer but reads no records: it serves the
//! group (the rebalance callback, errors, statistics), commits the offsets
//! the workers checkpointed, and stops the service when a worker dies.
//!
//! Offsets: a worker checkpoints each partition every `commit_interval_ms`:
//! it waits until every signal and dead letter of the partition is
//! acknowledged by the broker, writes the partition's state snapshot (with
//! `state_dir`), and only then hands the next offset to the poll thread,
//! which commits. Revocation and shutdown do the same before they let go.
//!
//! Restart: with a snapshot whose offset is not behind the group's
//! committed offset, the partition resumes from the snapshot with the state
//! it had, and signals already on the signals topic since the snapshot are
//! fenced (not produced twice). Without one it starts empty at the
//! committed offset.
//!
//! The parts: [`shared`] (what the poll thread, the rebalance callback and
//! the workers share), [`rebalance`] (assignment with snapshot restore and
//! the partition queues, revocation with drain and commit), [`fence_reader`]
//! (signal ids already on the signals topic), [`worker`] (reading,
//! processing and checkpoints), and here the poll loop.

mod error;
mod fence_reader;
mod heartbeat;
mod lease;
mod merge;
mod rebalance;
mod settings;
mod shared;
mod state_topic;
mod store;
pub mod topic_window;
mod webhook;
mod worker;

pub use error::SourceError;
use rebalance::commit;
pub use settings::SourceSettings;
use shared::{Cmd, Consumer, Shared, SourceContext, WorkerLink};
pub use topic_window::{TopicWindow, TopicWindowSettings};
pub use webhook::RecordFormat;
use worker::Worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::message::Message;

use crate::convert::EventDecoder;
use crate::pipeline::shards::Shards;
use crate::pipeline::Pipeline;
use crate::sink::kafka::KafkaSink;

/// How long one poll of the consumer's own queue waits (it carries no
/// records): also how soon a dead worker, a fatal error or a stop is seen.
const POLL_WAIT: Duration = Duration::from_millis(100);

/// A running Kafka source.
pub struct KafkaSource {
    poll: Option<JoinHandle<Result<(), SourceError>>>,
    stop: Arc<AtomicBool>,
}

impl KafkaSource {
    /// Subscribes and starts the poll thread and the workers; records are
    /// decoded as `format` says.
    pub fn start(
        cfg: SourceSettings,
        format: RecordFormat,
        shards: Arc<Shards>,
        pipeline: Arc<Pipeline>,
        sink: Arc<KafkaSink>,
    ) -> Result<KafkaSource, SourceError> {
        let store = store::StateStore::build(&cfg.store, &cfg.events_topic, sink.writer().clone())
            .map_err(SourceError::start)?;
        let telemetry = pipeline.telemetry.clone();
        let mut receivers = Vec::new();
        let mut links = Vec::new();
        let origin = Instant::now();
        for _ in 0..cfg.workers {
            let (tx, rx) = channel();
            links.push(WorkerLink {
                commands: tx,
                thread: OnceLock::new(),
                heartbeat: heartbeat::Heartbeat::new(origin),
            });
            receivers.push(rx);
        }
        let shared = Arc::new(Shared {
            store,
            cfg,
            format,
            shards,
            pipeline,
            sink,
            telemetry,
            workers: links,
            consumer: OnceLock::new(),
            ready: Mutex::new(HashMap::new()),
            starts: Mutex::new(HashMap::new()),
            fatal: Mutex::new(None),
            has_fatal: AtomicBool::new(false),
            lease: lease::Lease::default(),
        });
        let mut workers = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let w = Worker {
                index: i,
                shared: shared.clone(),
                parts: HashMap::new(),
                state: shared.pipeline.worker(),
                decoder: EventDecoder::new(),
                queues: Vec::new(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("satpam-worker-{i}"))
                .spawn(move || w.run(rx))
                .map_err(|e| SourceError::start(format!("cannot start a worker: {e}")))?;
            let _ = shared.workers[i].thread.set(handle.thread().clone());
            workers.push(handle);
        }
        let c = &shared.cfg;
        let consumer: Arc<Consumer> = Arc::new(
            c.consumer
                .create_with_context(SourceContext {
                    shared: shared.clone(),
                })
                .map_err(|e| {
                    SourceError::start(format!("cannot create the Kafka consumer: {e}"))
                })?,
        );
        // Before the subscription: the rebalance callback splits the
        // assigned partitions' queues off this consumer.
        let _ = shared.consumer.set(Arc::downgrade(&consumer));
        consumer.subscribe(&[&c.events_topic]).map_err(|e| {
            SourceError::start(format!("cannot subscribe to {}: {e}", c.events_topic))
        })?;
        let ticker = {
            let (shared, consumer) = (shared.clone(), consumer.clone());
            std::thread::Builder::new()
                .name("satpam-kafka-lease".into())
                .spawn(move || tick(&shared, &consumer))
                .map_err(|e| SourceError::start(format!("cannot start the lease ticker: {e}")))?
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let poll = std::thread::Builder::new()
            .name("satpam-kafka-poll".into())
            .spawn(move || poll_loop(consumer, shared, workers, ticker, stop2))
            .map_err(|e| SourceError::start(format!("cannot start the poll thread: {e}")))?;
        Ok(KafkaSource {
            poll: Some(poll),
            stop,
        })
    }

    /// Whether the source stopped on its own (an error).
    pub fn finished(&self) -> bool {
        self.poll.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops fetching, drains the workers, commits; returns the source's error, if any.
    pub fn stop(mut self) -> Result<(), SourceError> {
        self.stop.store(true, Ordering::Release);
        match self.poll.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(SourceError::poll_panicked()),
            None => Ok(()),
        }
    }
}

/// The lease ticker (see [`lease`]): notes pauses of the process and
/// mirrors librdkafka's lost-assignment mark, until the source stops.
fn tick(shared: &Shared, consumer: &Consumer) {
    while !shared.lease.is_stopped() {
        // The epoch first: a loss seen after it covers the partitions taken by then.
        let epoch = shared.sink.writer().epoch();
        if consumer.assignment_lost() {
            shared.lease.lose_up_to(epoch);
        }
        if let Some(gap) = shared.lease.tick() {
            shared.telemetry.pauses.increment(1);
            tracing::warn!(
                paused_ms = gap.as_millis() as u64,
                "the process did not run for a while: Kafka writes held until the group membership is settled"
            );
        }
        std::thread::sleep(lease::TICK);
    }
}

/// The first worker thread that has ended (workers only end when told to
/// stop, so before that an ended one died).
fn dead_worker(workers: &[JoinHandle<()>]) -> Option<usize> {
    workers.iter().position(JoinHandle::is_finished)
}

// Long because it is the poll thread from start to shutdown: the loop
// (serve the group, commit, watch the workers) and then drain, flush, commit.
fn poll_loop(
    consumer: Arc<Consumer>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    ticker: JoinHandle<()>,
    stop: Arc<AtomicBool>,
) -> Result<(), SourceError> {
    let interval = shared.cfg.commit_interval;
    let mut last_commit = Instant::now();
    let mut fatal = None;
    // A worker found stuck: not waited for at shutdown.
    let mut stuck = None;
    let mut watch = heartbeat::StallWatch::new(shared.workers.len(), Instant::now());
    while !stop.load(Ordering::Acquire) {
        // Records go to the partitions' queues: this serves the group
        // (rebalances, errors, statistics) and waits.
        match consumer.poll(POLL_WAIT) {
            Some(Ok(m)) => shared.fail(format!(
                "a record of partition {} (offset {}) came through the consumer's own queue, not its partition's: its order with the partition's other records cannot be kept; stopping the service",
                m.partition(),
                m.offset()
            )),
            Some(Err(e)) => tracing::warn!(error = %e, "kafka consumer error"),
            None => {}
        }
        if last_commit.elapsed() >= interval
            // Not while a pause is being settled or the assignment is lost:
            // the revocation decides what becomes of these offsets.
            && !shared.lease.holding()
            && !consumer.assignment_lost()
        {
            let ready: Vec<(i32, i64)> = shared
                .ready
                .lock()
                .map(|mut r| r.drain().collect())
                .unwrap_or_default();
            // Synchronous, once per interval: the result is known (and
            // counted), and the round trip is not per message.
            commit(&consumer, &shared, ready, CommitMode::Sync);
            last_commit = Instant::now();
        }
        if let Some(w) = dead_worker(&workers) {
            // A panic killed a worker: its partitions would go unread while
            // health says SERVING. Stop instead (exit 1); its partitions'
            // offsets stay uncommitted, so nothing is lost.
            shared.fail(format!(
                "worker thread {w} stopped unexpectedly (see the panic above); stopping the service"
            ));
        }
        let beats = shared.workers.iter().map(|l| &l.heartbeat);
        if let Some((w, silent)) = watch.look(beats, Instant::now(), shared.cfg.stall_limit) {
            // A stuck worker's partitions would stay assigned and unread
            // while health says SERVING. Stop (exit 1) so that they move;
            // their offsets stay at the last checkpoint, so nothing is lost.
            stuck = Some(w);
            shared.fail(format!(
                "worker thread {w} has not finished a turn for {} s (more than max.poll.interval.ms, {} s); stopping the service so that its partitions move",
                silent.as_secs(),
                shared.cfg.stall_limit.as_secs()
            ));
        }
        if shared.has_fatal.load(Ordering::Acquire) {
            fatal = shared.fatal.lock().ok().and_then(|f| f.clone());
            break;
        }
    }
    // Shutdown: every worker checkpoints and stops, then flush and commit.
    let mut offsets: Vec<(i32, i64)> = shared
        .ready
        .lock()
        .map(|mut r| r.drain().collect())
        .unwrap_or_default();
    for (i, link) in shared.workers.iter().enumerate() {
        if stuck == Some(i) {
            continue;
        }
        let (rtx, rrx) = sync_channel(1);
        if link.commands.send(Cmd::Stop(rtx)).is_ok() {
            link.wake();
            if let Ok(o) = rrx.recv() {
                offsets.retain(|(p, _)| !o.iter().any(|(q, _)| q == p));
                offsets.extend(o);
            }
        }
    }
    for (i, w) in workers.into_iter().enumerate() {
        // A stuck worker is left behind: the process exits without it.
        if stuck != Some(i) {
            let _ = w.join();
        }
    }
    shared.lease.stop();
    let _ = ticker.join();
    if let Err(e) = shared.sink.flush(Duration::from_secs(30)) {
        tracing::warn!(error = %e, "producer flush incomplete");
    }
    if fatal.is_none() {
        fatal = shared.fatal.lock().ok().and_then(|f| f.clone());
    }
    shared.store.flush();
    commit(&consumer, &shared, offsets, CommitMode::Sync);
    tracing::info!("kafka source stopped");
    match fatal {
        Some(f) => Err(SourceError::fatal(f)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_thread_that_died_is_found() {
        let (keep, wait) = std::sync::mpsc::channel::<()>();
        let alive = std::thread::spawn(move || {
            let _ = wait.recv();
        });
        let dead = std::thread::spawn(|| {});
        while !dead.is_finished() {
            std::thread::yield_now();
        }
        let workers = vec![alive, dead];
        assert_eq!(dead_worker(&workers), Some(1));
        assert_eq!(dead_worker(&workers[..1]), None);
        drop(keep);
    }
}
