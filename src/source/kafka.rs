//! The Kafka source: a consumer group reading `satpam.v1.MessageEvent`
//! protobuf from the events topic.
//!
//! One poll thread owns the consumer; partition p goes to worker
//! p mod `workers` over a bounded queue, so the events of a partition are
//! processed in order and an overloaded worker slows the poll thread down
//! (librdkafka then stops fetching) instead of dropping anything.
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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::{Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientContext;
use serde::{Deserialize, Serialize};

use super::budget::ByteBudget;
use crate::event::Event;
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::pipeline::{Handled, Pipeline, WorkerState};
use crate::service::config::KafkaSection;
use crate::sink::kafka::{DeadLetterOrigin, Delivery, KafkaSink, PartitionEffects};
use crate::telemetry::{Source, Telemetry};
use crate::Engine;

/// How long a checkpoint waits for the broker to acknowledge a partition's effects.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);
/// Messages handed to a worker at once.
const BATCH: usize = 256;

/// What a snapshot file carries besides the state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct SnapshotMeta {
    topic: String,
    partition: i32,
    /// The next offset to process.
    offset: i64,
    /// High watermarks of the signals topic when the snapshot was taken.
    signals_watermarks: Vec<(i32, i64)>,
}

struct Msg {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

enum Cmd {
    Batch(Vec<Msg>),
    /// Checkpoint these partitions, drop their shards, reply with offsets to commit.
    Revoke(Vec<i32>, SyncSender<Vec<(i32, i64)>>),
    /// Checkpoint everything and stop.
    Stop(SyncSender<Vec<(i32, i64)>>),
}

/// The shared parts the poll thread, its rebalance callback and the workers use.
struct Shared {
    cfg: KafkaSection,
    shards: Arc<Shards>,
    pipeline: Arc<Pipeline>,
    sink: Arc<KafkaSink>,
    telemetry: Arc<Telemetry>,
    senders: Vec<SyncSender<Cmd>>,
    /// Bytes queued to each worker (`kafka.queue_bytes`).
    budgets: Vec<Arc<ByteBudget>>,
    batches: Mutex<Vec<Vec<Msg>>>,
    /// Offsets checkpointed by workers, waiting to be committed.
    ready: Mutex<HashMap<i32, i64>>,
    /// The offset each assigned partition starts at (its snapshot's, or the
    /// group's committed one), taken by the worker with the first record.
    starts: Mutex<HashMap<i32, i64>>,
    /// Set by a worker that cannot checkpoint (a record the broker refused).
    fatal: Mutex<Option<String>>,
    /// Set with `fatal`, so that the poll loop checks a flag, not a lock, per message.
    has_fatal: AtomicBool,
}

impl Shared {
    fn worker_of(&self, partition: i32) -> usize {
        partition.unsigned_abs() as usize % self.senders.len()
    }

    fn send(&self, w: usize, cmd: Cmd) {
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

    fn push(&self, m: Msg) {
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

    fn flush_batches(&self) {
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

    fn snapshot_path(&self, partition: i32) -> Option<PathBuf> {
        self.cfg
            .state_dir
            .as_ref()
            .map(|d| snapshot_file(d, &self.cfg.events_topic, partition))
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "kafka source stopping");
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(why);
        }
        self.has_fatal.store(true, Ordering::Release);
    }
}

/// The snapshot file of one partition.
pub fn snapshot_file(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    dir.join(format!("{topic}-{partition}.snap"))
}

/// The consumer's callbacks: rebalances and statistics.
struct SourceContext {
    shared: Arc<Shared>,
}

impl ClientContext for SourceContext {
    fn stats(&self, stats: Statistics) {
        if let Some(t) = stats.topics.get(&self.shared.cfg.events_topic) {
            self.shared.telemetry.set_lags(
                t.partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
                    .map(|p| (p.partition, p.consumer_lag)),
            );
        }
    }
}

impl ConsumerContext for SourceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.prepare_assignment(consumer, tpl);
                if let Err(e) = consumer.assign(tpl) {
                    self.shared
                        .fail(format!("cannot take the assigned partitions: {e}"));
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(partitions = ?parts, "partitions revoked: draining");
                let offsets = drain(&self.shared, &parts);
                commit(consumer, &self.shared, offsets, CommitMode::Sync);
                if let Ok(mut starts) = self.shared.starts.lock() {
                    starts.retain(|p, _| !parts.contains(p));
                }
                self.shared.telemetry.partitions_revoked(&parts);
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassign failed");
                }
                self.shared
                    .telemetry
                    .shards
                    .set(self.shared.shards.partition_ids().len() as f64);
            }
            other => tracing::warn!(error = ?other, "rebalance error"),
        }
    }
}

impl SourceContext {
    /// Restores snapshots of the assigned partitions and sets their start offsets.
    fn prepare_assignment(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let s = &self.shared;
        let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        tracing::info!(partitions = ?parts, "partitions assigned");
        s.telemetry.partitions_assigned(&parts);
        let committed: HashMap<i32, i64> = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .map(|c| {
                c.elements()
                    .iter()
                    .filter_map(|e| match e.offset() {
                        Offset::Offset(o) => Some((e.partition(), o)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut fence_from: Vec<(i32, i64)> = Vec::new();
        let mut starts = committed.clone();
        for p in parts {
            let Some(path) = s.snapshot_path(p) else {
                continue;
            };
            match crate::snapshot::load_from_file(s.shards.context().clone(), &path) {
                Ok(Some((engine, extra))) => {
                    let meta: Option<SnapshotMeta> = serde_json::from_slice(&extra).ok();
                    let Some(meta) =
                        meta.filter(|m| m.topic == s.cfg.events_topic && m.partition == p)
                    else {
                        tracing::warn!(path = %path.display(), "snapshot of another partition; ignored");
                        continue;
                    };
                    let behind = committed.get(&p).is_some_and(|c| *c > meta.offset);
                    if behind {
                        tracing::info!(partition = p, snapshot = meta.offset, committed = ?committed.get(&p),
                            "snapshot is behind the group's offset (another instance went on); starting empty");
                        continue;
                    }
                    s.shards.install_partition(p, Arc::new(engine));
                    starts.insert(p, meta.offset);
                    let _ = tpl.set_partition_offset(
                        &s.cfg.events_topic,
                        p,
                        Offset::Offset(meta.offset),
                    );
                    tracing::debug!(partition = p, watermarks = ?meta.signals_watermarks, "snapshot's signals watermarks");
                    fence_from.extend(meta.signals_watermarks);
                    tracing::info!(
                        partition = p,
                        offset = meta.offset,
                        "partition resumed from its snapshot"
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "snapshot unreadable; starting empty")
                }
            }
        }
        if let Ok(mut st) = s.starts.lock() {
            st.extend(starts);
        }
        if !fence_from.is_empty() {
            match read_signal_ids(&s.cfg, &s.sink, &fence_from) {
                Ok(ids) => {
                    tracing::info!(
                        signals = ids.len(),
                        "fenced signals produced since the snapshots"
                    );
                    tracing::debug!(?ids, "fenced ids");
                    s.pipeline.fence.add(ids);
                }
                Err(e) => s.fail(format!(
                    "cannot read the signals topic to fence re-emitted signals: {e}"
                )),
            }
        }
        s.telemetry.shards.set(tpl.count() as f64);
    }
}

/// Signal ids on the signals topic from `from` (partition, offset) to its end.
fn read_signal_ids(
    cfg: &KafkaSection,
    sink: &KafkaSink,
    from: &[(i32, i64)],
) -> KafkaResult<Vec<String>> {
    let mut start: HashMap<i32, i64> = HashMap::new();
    for (p, o) in from {
        let e = start.entry(*p).or_insert(*o);
        *e = (*e).min(*o);
    }
    let ends: HashMap<i32, i64> = sink
        .signals_watermarks(Duration::from_secs(10))?
        .into_iter()
        .collect();
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.brokers)
        .set("group.id", format!("{}-fence", cfg.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in cfg.consumer_properties() {
        c.set(k, v);
    }
    let reader: BaseConsumer = c.create()?;
    let mut tpl = TopicPartitionList::new();
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    for (p, end) in &ends {
        let s = start.get(p).copied().unwrap_or(*end);
        tpl.add_partition_offset(&cfg.signals_topic, *p, Offset::Offset(s))?;
        if s < *end {
            remaining.insert(*p, *end);
        }
    }
    let mut ids = Vec::new();
    reader.assign(&tpl)?;
    // Read to the reported end, then on until the topic stays quiet for a
    // moment: some Kafka-protocol brokers (Tansu 0.6) report a high
    // watermark below the last offset, and reading too much is harmless.
    let deadline = Instant::now() + Duration::from_secs(30);
    let quiet = Duration::from_millis(500);
    let mut last_seen = Instant::now();
    while Instant::now() < deadline && (!remaining.is_empty() || last_seen.elapsed() < quiet) {
        let Some(m) = reader.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m?;
        last_seen = Instant::now();
        if let Some(h) = m.headers() {
            for hdr in h.iter() {
                if hdr.key == "satpam-signal-id" {
                    if let Some(v) = hdr.value.and_then(|v| std::str::from_utf8(v).ok()) {
                        ids.push(v.to_string());
                    }
                }
            }
        }
        if remaining
            .get(&m.partition())
            .is_some_and(|end| m.offset() + 1 >= *end)
        {
            remaining.remove(&m.partition());
        }
    }
    if !remaining.is_empty() {
        return Err(rdkafka::error::KafkaError::MessageConsumption(
            rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
        ));
    }
    Ok(ids)
}

/// How many offsets were jumped over when `got` follows a partition whose
/// next offset was `expected`; `None` when nothing was (a record delivered
/// again, below `expected`, is the engine's duplicate to drop).
fn offset_gap(expected: i64, got: i64) -> Option<i64> {
    (got > expected).then(|| got - expected)
}

/// Asks the workers to checkpoint `parts` and drop them; returns the offsets to commit.
fn drain(shared: &Shared, parts: &[i32]) -> Vec<(i32, i64)> {
    shared.flush_batches();
    let mut by_worker: HashMap<usize, Vec<i32>> = HashMap::new();
    for p in parts {
        by_worker.entry(shared.worker_of(*p)).or_default().push(*p);
    }
    let mut replies = Vec::new();
    for (w, ps) in by_worker {
        let (tx, rx) = sync_channel(1);
        if shared.senders[w].send(Cmd::Revoke(ps, tx)).is_ok() {
            replies.push(rx);
        }
    }
    let mut out: Vec<(i32, i64)> = replies
        .into_iter()
        .filter_map(|r| r.recv().ok())
        .flatten()
        .collect();
    if let Ok(mut ready) = shared.ready.lock() {
        // Anything checkpointed earlier for these partitions is superseded.
        for p in parts {
            if let Some(o) = ready.remove(p) {
                if !out.iter().any(|(q, _)| q == p) {
                    out.push((*p, o));
                }
            }
        }
    }
    out
}

fn commit(
    consumer: &BaseConsumer<SourceContext>,
    shared: &Shared,
    offsets: Vec<(i32, i64)>,
    mode: CommitMode,
) {
    if offsets.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in &offsets {
        if tpl
            .add_partition_offset(&shared.cfg.events_topic, *p, Offset::Offset(*o))
            .is_err()
        {
            return;
        }
    }
    match consumer.commit(&tpl, mode) {
        Ok(()) => shared.telemetry.commits.increment(1),
        Err(e) => {
            shared.telemetry.commit_failures.increment(1);
            tracing::warn!(error = %e, "offset commit failed");
        }
    }
}

/// One partition as a worker sees it.
struct PartState {
    engine: Arc<Engine>,
    effects: Arc<PartitionEffects>,
    /// The next offset to process (what a checkpoint commits).
    next_offset: i64,
    dirty: bool,
}

struct Worker {
    shared: Arc<Shared>,
    parts: HashMap<i32, PartState>,
    state: WorkerState,
    budget: Arc<ByteBudget>,
}

/// Bytes a batch holds against its worker's budget.
fn batch_bytes(batch: &[Msg]) -> usize {
    batch
        .iter()
        .map(|m| m.payload.len() + m.key.as_ref().map_or(0, Vec::len))
        .sum()
}

/// Closes a worker's budget when the worker ends, however it ends, so the
/// poll thread never waits on bytes that will not come back.
struct CloseOnDrop(Arc<ByteBudget>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Worker {
    fn run(mut self, rx: Receiver<Cmd>) {
        let _close = CloseOnDrop(self.budget.clone());
        let interval = Duration::from_millis(self.shared.cfg.commit_interval_ms);
        let mut next_checkpoint = Instant::now() + interval;
        loop {
            let wait = next_checkpoint.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Cmd::Batch(msgs)) => {
                    let bytes = batch_bytes(&msgs);
                    for m in msgs {
                        self.process(m);
                    }
                    self.budget.release(bytes);
                }
                Ok(Cmd::Revoke(ps, reply)) => {
                    let offsets = self.checkpoint(&ps);
                    for p in &ps {
                        self.parts.remove(p);
                        self.shared.shards.remove_partition(*p);
                    }
                    let _ = reply.send(offsets);
                }
                Ok(Cmd::Stop(reply)) => {
                    let all: Vec<i32> = self.parts.keys().copied().collect();
                    let _ = reply.send(self.checkpoint(&all));
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next_checkpoint {
                // Latency counts reach /metrics at least once per commit
                // interval, however slow the traffic.
                self.state.latency.flush(&self.shared.telemetry.latency);
                let all: Vec<i32> = self.parts.keys().copied().collect();
                let offsets = self.checkpoint(&all);
                if let Ok(mut ready) = self.shared.ready.lock() {
                    ready.extend(offsets);
                }
                next_checkpoint = Instant::now() + interval;
            }
        }
        self.state.latency.flush(&self.shared.telemetry.latency);
    }

    fn process(&mut self, m: Msg) {
        let dequeued = Instant::now();
        // Disjoint borrows: the partition's state and the worker state at once.
        let Worker {
            shared,
            parts,
            state,
            ..
        } = self;
        let counters = shared.telemetry.source(Source::Kafka);
        counters.events.increment(1);
        let part = parts.entry(m.partition).or_insert_with(|| PartState {
            engine: shared.shards.partition(m.partition),
            effects: Arc::new(PartitionEffects::default()),
            next_offset: shared
                .starts
                .lock()
                .ok()
                .and_then(|mut s| s.remove(&m.partition))
                .unwrap_or(m.offset),
            dirty: false,
        });
        if let Some(skipped) = offset_gap(part.next_offset, m.offset) {
            shared.telemetry.offset_gaps.increment(1);
            tracing::warn!(
                partition = m.partition,
                expected = part.next_offset,
                offset = m.offset,
                skipped,
                "offsets skipped: compaction or transaction markers, or records the broker did not deliver"
            );
        }
        let decoded = <pb::MessageEvent as prost::Message>::decode(m.payload.as_slice())
            .map_err(|e| {
                counters.decode_failures.increment(1);
                format!("not a satpam.v1.MessageEvent: {e}")
            })
            .and_then(|pbm| {
                Event::try_from(pbm).map_err(|e| {
                    counters.validation_failures.increment(1);
                    format!("invalid event: {e}")
                })
            });
        let refused = match decoded {
            Ok(event) => match shared.pipeline.handle(
                &part.engine,
                &event,
                Source::Kafka,
                state,
                dequeued,
                || Some(Delivery::Partition(part.effects.clone())),
            ) {
                // Outside the shard's event-time window: dead-lettered like a bad message.
                Handled::Refused(reason) => Some(format!("refused event: {reason}")),
                _ => None,
            },
            Err(reason) => Some(reason),
        };
        match refused {
            None => {}
            Some(reason) => {
                counters.dead_lettered.increment(1);
                let origin = DeadLetterOrigin {
                    source: "kafka",
                    topic: &shared.cfg.events_topic,
                    partition: m.partition,
                    offset: m.offset,
                };
                tracing::warn!(partition = m.partition, offset = m.offset, %reason, "dead-lettered");
                if let Err(e) = shared.sink.send_dead_letter(
                    m.key.as_deref(),
                    &m.payload,
                    &reason,
                    &origin,
                    Delivery::Partition(part.effects.clone()),
                ) {
                    shared.fail(format!(
                        "cannot dead-letter offset {} of partition {}: {e}",
                        m.offset, m.partition
                    ));
                }
            }
        }
        part.next_offset = m.offset + 1;
        part.dirty = true;
    }

    /// Waits for the partitions' effects, snapshots them, returns the offsets to commit.
    fn checkpoint(&mut self, parts: &[i32]) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for p in parts {
            let Some(st) = self.parts.get_mut(p) else {
                continue;
            };
            if !st.dirty {
                continue;
            }
            if !st.effects.wait_acked(ACK_TIMEOUT) {
                self.shared.fail(format!(
                    "partition {p}: a signal or dead letter was not acknowledged; offsets stay before it"
                ));
                continue;
            }
            if let Some(path) = self.shared.snapshot_path(*p) {
                let meta = match self.shared.sink.signals_watermarks(Duration::from_secs(10)) {
                    Ok(w) => SnapshotMeta {
                        topic: self.shared.cfg.events_topic.clone(),
                        partition: *p,
                        offset: st.next_offset,
                        signals_watermarks: w,
                    },
                    Err(e) => {
                        self.shared.telemetry.snapshot_failures.increment(1);
                        tracing::warn!(partition = p, error = %e, "no snapshot: cannot read signals watermarks");
                        continue;
                    }
                };
                let extra = serde_json::to_vec(&meta).unwrap_or_default();
                match crate::snapshot::save_to_file(&st.engine, &path, &extra) {
                    Ok(()) => self.shared.telemetry.snapshots.increment(1),
                    Err(e) => {
                        self.shared.telemetry.snapshot_failures.increment(1);
                        tracing::warn!(partition = p, error = %e, "snapshot not written; offset not committed");
                        continue;
                    }
                }
            }
            st.dirty = false;
            out.push((*p, st.next_offset));
        }
        out
    }
}

/// A running Kafka source.
pub struct KafkaSource {
    poll: Option<JoinHandle<Result<(), String>>>,
    stop: Arc<AtomicBool>,
}

impl KafkaSource {
    /// Subscribes and starts the poll thread and the workers.
    pub fn start(
        cfg: KafkaSection,
        shards: Arc<Shards>,
        pipeline: Arc<Pipeline>,
        sink: Arc<KafkaSink>,
    ) -> Result<KafkaSource, String> {
        if let Some(dir) = &cfg.state_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("kafka.state_dir {}: {e}", dir.display()))?;
        }
        let telemetry = pipeline.telemetry.clone();
        let per_worker = (cfg.queue_capacity / BATCH).max(1);
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        let budgets: Vec<Arc<ByteBudget>> = (0..cfg.workers)
            .map(|_| Arc::new(ByteBudget::new(cfg.queue_bytes)))
            .collect();
        for _ in 0..cfg.workers {
            let (tx, rx) = sync_channel(per_worker);
            senders.push(tx);
            receivers.push(rx);
        }
        let shared = Arc::new(Shared {
            batches: Mutex::new((0..cfg.workers).map(|_| Vec::new()).collect()),
            cfg,
            shards,
            pipeline,
            sink,
            telemetry,
            senders,
            budgets: budgets.clone(),
            ready: Mutex::new(HashMap::new()),
            starts: Mutex::new(HashMap::new()),
            fatal: Mutex::new(None),
            has_fatal: AtomicBool::new(false),
        });
        let mut workers = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let w = Worker {
                shared: shared.clone(),
                parts: HashMap::new(),
                state: shared.pipeline.worker(),
                budget: budgets[i].clone(),
            };
            workers.push(
                std::thread::Builder::new()
                    .name(format!("satpam-worker-{i}"))
                    .spawn(move || w.run(rx))
                    .map_err(|e| format!("cannot start a worker: {e}"))?,
            );
        }
        let c = &shared.cfg;
        let consumer: BaseConsumer<SourceContext> = consumer_config(c)
            .create_with_context(SourceContext {
                shared: shared.clone(),
            })
            .map_err(|e| format!("cannot create the Kafka consumer: {e}"))?;
        consumer
            .subscribe(&[&c.events_topic])
            .map_err(|e| format!("cannot subscribe to {}: {e}", c.events_topic))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let poll = std::thread::Builder::new()
            .name("satpam-kafka-poll".into())
            .spawn(move || poll_loop(consumer, shared, workers, stop2))
            .map_err(|e| format!("cannot start the poll thread: {e}"))?;
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
    pub fn stop(mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Release);
        match self.poll.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the Kafka poll thread panicked".into()),
            None => Ok(()),
        }
    }
}

/// How long librdkafka postpones the next fetch of a partition whose
/// prefetch queue is over its thresholds (`fetch.queue.backoff.ms`). The
/// library's default, 1,000 ms, starves a consumer that is slower than the
/// broker, i.e. any consumer working off a backlog: it empties its queue in
/// well under a second and then waits for the rest of it. Measured against
/// Tansu while catching up a backlog: with the default every thread of the
/// consumer sat idle ~0.7 s of every ~1.6 s, and 10 ms catches up 17% faster
/// (loadtest/results/2026-11-22-kafka-catch-up.md).
const FETCH_QUEUE_BACKOFF_MS: &str = "10";

/// The consumer's settings: satpam's own, then `[kafka.security]`'s, then
/// `[kafka.consumer]`, which wins.
fn consumer_config(c: &KafkaSection) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &c.brokers)
        .set("group.id", &c.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "5000")
        .set("partition.assignment.strategy", "range,roundrobin")
        .set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS);
    for (k, v) in c.consumer_properties() {
        cc.set(k, v);
    }
    cc
}

/// The first worker thread that has ended (workers only end when told to
/// stop, so before that an ended one died).
fn dead_worker(workers: &[JoinHandle<()>]) -> Option<usize> {
    workers.iter().position(JoinHandle::is_finished)
}

fn poll_loop(
    consumer: BaseConsumer<SourceContext>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let interval = Duration::from_millis(shared.cfg.commit_interval_ms);
    let mut last_commit = Instant::now();
    let mut polled: u32 = 0;
    let mut fatal = None;
    while !stop.load(Ordering::Acquire) {
        // Drain what is there without waiting, then flush and wait.
        let msg = match consumer.poll(Duration::ZERO) {
            Some(m) => Some(m),
            None => {
                shared.flush_batches();
                consumer.poll(Duration::from_millis(100))
            }
        };
        let msg_was_none = msg.is_none();
        match msg {
            Some(Ok(m)) => shared.push(Msg {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            }),
            Some(Err(e)) => tracing::warn!(error = %e, "kafka consumer error"),
            None => {}
        }
        // The clock is read once per 256 messages while busy (and after every idle poll).
        polled = polled.wrapping_add(1);
        if (msg_was_none || polled % 256 == 0) && last_commit.elapsed() >= interval {
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
        if (msg_was_none || polled % 256 == 0) && dead_worker(&workers).is_some() {
            // A panic killed a worker: its batches would be dropped while
            // health says SERVING. Stop instead (exit 1); its partitions'
            // offsets stay uncommitted, so nothing is lost.
            shared.fail(format!(
                "worker thread {} stopped unexpectedly (see the panic above); stopping the service",
                dead_worker(&workers).unwrap_or_default()
            ));
        }
        if shared.has_fatal.load(Ordering::Acquire) {
            fatal = shared.fatal.lock().ok().and_then(|f| f.clone());
            break;
        }
    }
    // Shutdown: stop fetching, drain every worker, flush, commit.
    shared.flush_batches();
    let mut offsets: Vec<(i32, i64)> = shared
        .ready
        .lock()
        .map(|mut r| r.drain().collect())
        .unwrap_or_default();
    for tx in &shared.senders {
        let (rtx, rrx) = sync_channel(1);
        if tx.send(Cmd::Stop(rtx)).is_ok() {
            if let Ok(o) = rrx.recv() {
                offsets.retain(|(p, _)| !o.iter().any(|(q, _)| q == p));
                offsets.extend(o);
            }
        }
    }
    for w in workers {
        let _ = w.join();
    }
    if let Err(e) = shared.sink.flush(Duration::from_secs(30)) {
        tracing::warn!(error = %e, "producer flush incomplete");
    }
    if fatal.is_none() {
        fatal = shared.fatal.lock().ok().and_then(|f| f.clone());
    }
    commit(&consumer, &shared, offsets, CommitMode::Sync);
    tracing::info!("kafka source stopped");
    match fatal {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_backs_off_briefly_and_kafka_consumer_settings_win() {
        let mut cfg = KafkaSection {
            brokers: "127.0.0.1:9092".into(),
            ..KafkaSection::default()
        };
        let cc = consumer_config(&cfg);
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("10"));
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("group.id"), Some("satpam"));
        cfg.consumer
            .insert("fetch.queue.backoff.ms".into(), "250".into());
        cfg.consumer
            .insert("security.protocol".into(), "ssl".into());
        let cc = consumer_config(&cfg);
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("250"));
        assert_eq!(cc.get("security.protocol"), Some("ssl"));
    }

    #[test]
    fn an_offset_gap_is_the_offsets_jumped_over() {
        for (expected, got, gap) in [
            (626, 626, None),
            (626, 632, Some(6)),
            (652, 646, None),
            (0, 1, Some(1)),
        ] {
            assert_eq!(offset_gap(expected, got), gap, "{expected} then {got}");
        }
    }

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
