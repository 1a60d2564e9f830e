//! A worker thread: the partitions p mod `workers`, each read from its own
//! queue (split off the consumer's) and processed in order, dead-lettered
//! when refused, checkpointed every `commit_interval_ms`.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::message::BorrowedMessage;

use super::shared::{Cmd, Queue, Record, Shared, SnapshotMeta, BATCH};
use super::webhook::{RecordFormat, WebhookRecords};
use crate::convert::{DecodeError, EventDecoder};
use crate::pipeline::{Handled, WorkerState};
use crate::sink::kafka::{DeadLetterOrigin, Delivery, PartitionEffects};
use crate::telemetry::spans::{self, Tenants};
use crate::telemetry::Source;
use crate::Engine;

/// How long a checkpoint waits for the broker to acknowledge a partition's effects.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a worker sleeps with nothing to do: a queue wakes it when a
/// record arrives and a command wakes it when it is sent, so this only
/// bounds a wake-up that went missing.
const IDLE: Duration = Duration::from_millis(100);

/// How many offsets were jumped over when `got` follows a partition whose
/// next offset was `expected`; `None` when nothing was (a record delivered
/// again, below `expected`, is the engine's duplicate to drop).
pub(super) fn offset_gap(expected: i64, got: i64) -> Option<i64> {
    (got > expected).then(|| got - expected)
}

/// One partition as a worker sees it.
pub(super) struct PartState {
    pub(super) engine: Arc<Engine>,
    pub(super) effects: Arc<PartitionEffects>,
    /// The next offset to process (what a checkpoint commits).
    pub(super) next_offset: i64,
    pub(super) dirty: bool,
    /// When its state was last written (the state topic's interval).
    pub(super) written_at: Instant,
    /// The rebalance epoch it was taken at (a loss at or after it drops
    /// its writes: see [`super::lease`]).
    pub(super) epoch: u64,
}

pub(super) struct Worker {
    /// Which of `shared.workers` this is.
    pub(super) index: usize,
    pub(super) shared: Arc<Shared>,
    pub(super) parts: HashMap<i32, PartState>,
    pub(super) state: WorkerState,
    /// Reused buffers for the records' events.
    pub(super) decoder: EventDecoder,
    /// The queues of the partitions this worker owns, read in turn.
    pub(super) queues: Vec<(i32, Box<Queue>)>,
}

impl Worker {
    pub(super) fn run(mut self, rx: Receiver<Cmd>) {
        let interval = self.shared.cfg.commit_interval;
        let mut next_checkpoint = Instant::now() + interval;
        'work: loop {
            // Commands first: a revocation is answered before more of the
            // partition is read (what is still queued is the next owner's).
            loop {
                match rx.try_recv() {
                    Ok(cmd) => {
                        if !self.command(cmd) {
                            break 'work;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => break 'work,
                }
            }
            let worked = self.read_queues();
            let now = Instant::now();
            if let Some(link) = self.shared.workers.get(self.index) {
                link.heartbeat.beat(now);
            }
            if now >= next_checkpoint {
                // Latency counts and rule hits reach /metrics at least once
                // per commit interval, however slow the traffic.
                self.state.flush(&self.shared.telemetry);
                let all: Vec<i32> = self.parts.keys().copied().collect();
                let offsets = self.checkpoint(&all, false);
                if let Ok(mut ready) = self.shared.ready.lock() {
                    ready.extend(offsets);
                }
                next_checkpoint = Instant::now() + interval;
            }
            if !worked {
                let wait = next_checkpoint.saturating_duration_since(Instant::now());
                std::thread::park_timeout(wait.min(IDLE));
            }
        }
        self.state.flush(&self.shared.telemetry);
    }

    /// Carries out `cmd`; false when the worker is to stop.
    fn command(&mut self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Assign(p, queue) => {
                self.queues.retain(|(q, _)| *q != p);
                self.queues.push((p, queue));
            }
            Cmd::Revoke(ps, reply) => {
                let offsets = self.checkpoint(&ps, true);
                self.forget(&ps);
                let _ = reply.send(offsets);
            }
            Cmd::Drop(ps, reply) => {
                self.forget(&ps);
                let _ = reply.send(());
            }
            Cmd::Stop(reply) => {
                let all: Vec<i32> = self.parts.keys().copied().collect();
                let _ = reply.send(self.checkpoint(&all, true));
                return false;
            }
        }
        true
    }

    /// Drops partitions: their state, their queues, their shards.
    fn forget(&mut self, ps: &[i32]) {
        for p in ps {
            self.parts.remove(p);
            self.shared.shards.remove_partition(*p);
        }
        self.queues.retain(|(q, _)| !ps.contains(q));
    }

    /// Reads up to [`BATCH`] records of each queue in turn and processes
    /// them; false when every queue was empty.
    fn read_queues(&mut self) -> bool {
        let Worker {
            shared,
            parts,
            state,
            decoder,
            queues,
            ..
        } = self;
        let webhook = matches!(shared.format, RecordFormat::Webhook(_));
        let mut worked = false;
        for (_, queue) in queues.iter() {
            let mut batch: Vec<BorrowedMessage<'_>> = Vec::new();
            while batch.len() < BATCH {
                match queue.poll(Duration::ZERO) {
                    Some(Ok(m)) => batch.push(m),
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "kafka consumer error");
                        break;
                    }
                    None => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            worked = true;
            let span_batch = spans::kafka_batch(batch.len());
            let _in_batch = span_batch.enter();
            let span = spans::engine_batch(batch.len());
            let _in_span = span.enter();
            let mut tenants = Tenants::new(&span);
            if !webhook {
                // Once per batch: the counter is shared by every worker.
                shared
                    .telemetry
                    .source(Source::Kafka)
                    .events
                    .increment(batch.len() as u64);
            }
            // The batch left its queue now; each record after the first
            // counts as dequeued when the one before it was decided.
            let mut dequeued = Instant::now();
            for m in &batch {
                let record = Record::of(m, webhook);
                dequeued = process(
                    shared,
                    parts,
                    state,
                    decoder,
                    &record,
                    &mut tenants,
                    dequeued,
                );
            }
            tenants.finish(&span);
        }
        worked
    }

    /// Waits for the partitions' effects, snapshots them, returns the offsets to commit.
    /// `force`: revoked or stopping, so the state is written whatever the
    /// state topic's interval; otherwise a partition whose state is not due
    /// is left for a later checkpoint (and its offset not committed yet).
    fn checkpoint(&mut self, parts: &[i32], force: bool) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for p in parts {
            let Some(st) = self.parts.get_mut(p) else {
                continue;
            };
            if !st.dirty {
                continue;
            }
            let store = &self.shared.store;
            if !force
                && store.is_topic()
                && st.written_at.elapsed() < self.shared.cfg.state_interval
            {
                continue;
            }
            // A lost partition's state and offset are the new owner's to write.
            if !self.shared.admit(st.epoch) {
                continue;
            }
            if !st.effects.wait_acked(ACK_TIMEOUT) {
                self.shared.fail(format!(
                    "partition {p}: a signal or dead letter was not acknowledged; offsets stay before it"
                ));
                continue;
            }
            if self.shared.store.enabled() {
                let meta = match self.shared.sink.signals_watermarks(Duration::from_secs(10)) {
                    Ok(w) => SnapshotMeta {
                        topic: self.shared.cfg.events_topic.clone(),
                        partition: *p,
                        offset: st.next_offset,
                        signals_watermarks: w,
                    },
                    Err(e) => {
                        self.shared.telemetry.snapshot_failures.increment(1);
                        tracing::warn!(partition = p, error = %e, "no checkpoint: cannot read signals watermarks");
                        continue;
                    }
                };
                let extra = serde_json::to_vec(&meta).unwrap_or_default();
                let still_ours = || self.shared.admit(st.epoch);
                match self.shared.store.save(*p, &st.engine, &extra, &still_ours) {
                    Ok(()) => {
                        st.written_at = Instant::now();
                        self.shared.telemetry.snapshots.increment(1)
                    }
                    Err(e) => {
                        self.shared.telemetry.snapshot_failures.increment(1);
                        tracing::warn!(partition = p, error = %e, "checkpoint not kept; offset not committed");
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

/// Processes one record of a partition this worker owns, taken off its
/// queue at `dequeued`; returns when it was done with (the next record's
/// `dequeued`).
fn process(
    shared: &Shared,
    parts: &mut HashMap<i32, PartState>,
    state: &mut WorkerState,
    decoder: &mut EventDecoder,
    m: &Record<'_>,
    tenants: &mut Tenants,
    dequeued: Instant,
) -> Instant {
    let counters = shared.telemetry.source(Source::Kafka);
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
        written_at: Instant::now(),
        epoch: shared.sink.writer().epoch(),
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
    if let RecordFormat::Webhook(records) = &shared.format {
        process_webhook(shared, part, state, records, m, dequeued);
        part.next_offset = m.offset + 1;
        part.dirty = true;
        return Instant::now();
    }
    let mut done = None;
    let refused = match decoder.decode(m.payload) {
        Ok(event) => {
            tenants.add(&event.tenant_id);
            match shared.pipeline.handle(
                &part.engine,
                event,
                Source::Kafka,
                state,
                dequeued,
                || delivery(shared, part),
            ) {
                // Outside the shard's event-time window: dead-lettered like a bad message.
                Handled::Refused(reason) => Some(format!("refused event: {reason}")),
                handled => {
                    if matches!(handled, Handled::Processed(Some(_))) {
                        tenants.signal();
                    }
                    done = Some(state.decided);
                    None
                }
            }
        }
        Err(e) => {
            match &e {
                DecodeError::Wire(_) => counters.decode_failures.increment(1),
                DecodeError::Invalid(_) => counters.validation_failures.increment(1),
            }
            Some(e.to_string())
        }
    };
    match refused {
        None => {}
        Some(reason) => {
            counters.dead_lettered.increment(1);
            dead_letter(shared, part, m, m.payload, &reason);
        }
    }
    part.next_offset = m.offset + 1;
    part.dirty = true;
    done.unwrap_or_else(Instant::now)
}

/// How a signal of `part` is delivered: tracked by the partition's
/// effects, or not at all once the partition is lost (the zombie fence).
fn delivery(shared: &Shared, part: &PartState) -> Option<Delivery> {
    shared
        .admit(part.epoch)
        .then(|| Delivery::Partition(part.effects.clone()))
}

/// Sends `payload` (the record's, or one event of it) to the dead-letter
/// topic with `reason`; a refusal by the producer stops the service.
fn dead_letter(shared: &Shared, part: &PartState, m: &Record<'_>, payload: &[u8], reason: &str) {
    let Some(delivery) = delivery(shared, part) else {
        return;
    };
    let origin = DeadLetterOrigin {
        source: "kafka",
        topic: &shared.cfg.events_topic,
        partition: m.partition,
        offset: m.offset,
    };
    tracing::warn!(partition = m.partition, offset = m.offset, %reason, "dead-lettered");
    if let Err(e) = shared
        .sink
        .send_dead_letter(m.key, payload, reason, &origin, delivery)
    {
        shared.fail(format!(
            "cannot dead-letter offset {} of partition {}: {e}",
            m.offset, m.partition
        ));
    }
}

/// One raw webhook record: verified and mapped, each event judged against
/// the partition's event-time window and processed in order. A record that
/// cannot be read is dead-lettered whole; an event that is refused is
/// dead-lettered alone, as a `satpam.v1.MessageEvent` (like over HTTP).
fn process_webhook(
    shared: &Shared,
    part: &PartState,
    state: &mut WorkerState,
    records: &WebhookRecords,
    m: &Record<'_>,
    dequeued: Instant,
) {
    let counters = shared.telemetry.source(Source::Webhook);
    let events = match records.decode(m.payload, &m.headers, &shared.telemetry) {
        Ok(events) => events,
        Err(refused) => {
            counters.dead_lettered.increment(1);
            dead_letter(shared, part, m, m.payload, &refused.to_string());
            return;
        }
    };
    counters.events.increment(events.len() as u64);
    for pbm in events {
        let event = match crate::convert::event_or_refusal_with(pbm, |e| {
            part.engine.check_event_time(e.timestamp_ms).map_err(|e| {
                counters.event_time_refused.increment(1);
                crate::convert::ValidationError::EventTime(e)
            })
        }) {
            Ok(e) => e,
            Err(crate::convert::Refusal { reason, message }) => {
                if !matches!(reason, crate::convert::ValidationError::EventTime(_)) {
                    counters.validation_failures.increment(1);
                }
                counters.dead_lettered.increment(1);
                let bytes = prost::Message::encode_to_vec(&*message);
                dead_letter(shared, part, m, &bytes, &format!("invalid event: {reason}"));
                continue;
            }
        };
        // One worker owns the partition: the window checked above holds.
        shared.pipeline.handle(
            &part.engine,
            &event,
            Source::Webhook,
            state,
            dequeued,
            || delivery(shared, part),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
