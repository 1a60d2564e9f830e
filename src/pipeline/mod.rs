//! One event through a shard, with telemetry and the signal sinks: the part
//! every input (the Kafka workers, gRPC Ingest, the webhook receiver) shares.
//! It sits between the engine and the sources: sources import it, never the
//! other way round.

pub mod fence;
pub mod shards;

use std::sync::Arc;
use std::time::Instant;

use crate::engine::Outcome;
use crate::event::Event;
use crate::sink::kafka::{Delivery, KafkaSink};
use crate::sink::{SignalHub, WireSignal};
use crate::telemetry::{spans, RuleHitTally, Source, Stage, StageRecorder, Telemetry};
use crate::{Engine, Scratch};

pub use fence::Fence;
pub use shards::Shards;

/// What became of one event in the pipeline: the engine's [`Outcome`]
/// with the signal in the wire form the sinks received (a refused event's
/// [`crate::limits::EventTimeError`] tells the caller why it dead-letters it).
pub type Handled = Outcome<WireSignal>;

/// The shared parts every worker uses.
pub struct Pipeline {
    /// Watch and JSONL sinks.
    pub hub: Arc<SignalHub>,
    /// The signals topic, when Kafka is configured.
    pub kafka: Option<Arc<KafkaSink>>,
    /// Metrics.
    pub telemetry: Arc<Telemetry>,
    /// Signals already produced before a restart: not produced again.
    pub fence: Fence,
}

/// A worker's own mutable state: engine scratch, and the telemetry it
/// counts on its own until [`WorkerState::flush`] (or every
/// [`StageRecorder::FLUSH_EVERY`] events) folds it into the shared metrics.
pub struct WorkerState {
    /// Engine scratch.
    pub scratch: Scratch,
    /// Stage latency recorder.
    pub latency: StageRecorder,
    /// Rule hits not yet credited to `satpam_rule_hits_total`.
    pub rule_hits: RuleHitTally,
    /// When the last event this worker handled was decided (the clock read
    /// that ended it): a source that hands the worker records one after
    /// another passes it as the next one's `dequeued`, one clock read fewer.
    pub decided: Instant,
}

impl WorkerState {
    /// Folds the latencies and rule hits counted so far into `telemetry`.
    pub fn flush(&mut self, telemetry: &Telemetry) {
        self.latency.flush(&telemetry.latency);
        telemetry.absorb_rule_hits(&mut self.rule_hits);
    }
}

impl Pipeline {
    /// A fresh worker state.
    pub fn worker(&self) -> WorkerState {
        WorkerState {
            scratch: Scratch::default(),
            latency: self.telemetry.latency.recorder(),
            rule_hits: RuleHitTally::default(),
            decided: Instant::now(),
        }
    }

    /// Runs a validated event through `engine`; a signal goes to the in-process
    /// sinks and, with Kafka, to the signals topic with `delivery` tracking its
    /// acknowledgement. `dequeued` is when the event left its source queue
    /// (decoding it is recorded as the time from then to now). A signal in
    /// the fence (produced before a restart) is not produced again. Two
    /// clock reads per event, three with a signal; the last is kept in
    /// [`WorkerState::decided`].
    pub fn handle(
        &self,
        engine: &Engine,
        event: &Event,
        source: Source,
        w: &mut WorkerState,
        dequeued: Instant,
        delivery: impl FnOnce() -> Option<Delivery>,
    ) -> Handled {
        let t0 = Instant::now();
        w.latency.record(Stage::Decode, t0 - dequeued);
        let outcome = engine.process(event, &mut w.scratch);
        let t1 = Instant::now();
        w.latency.record(Stage::Process, t1 - t0);
        let mut done = t1;
        let handled = match outcome {
            Outcome::Processed(None) => Handled::Processed(None),
            Outcome::Processed(Some(signal)) if self.fence.take(&signal.signal_id) => {
                self.telemetry.signals_fenced.increment(1);
                Handled::Processed(None)
            }
            Outcome::Processed(Some(signal)) => {
                let span = spans::signal_produce(
                    &signal.tenant_id,
                    &signal.account_id,
                    signal.action.name(),
                );
                let _in_span = span.enter();
                tracing::debug!(
                    tenant_id = %signal.tenant_id,
                    account_id = %signal.account_id,
                    action = signal.action.name(),
                    "signal produced"
                );
                let wire = self.hub.publish(&signal);
                if let Some((k, d)) = self.kafka.as_ref().and_then(|k| delivery().map(|d| (k, d))) {
                    let bytes = prost::Message::encode_to_vec(&*wire);
                    if let Err(e) = k.send_signal(&signal, &bytes, d) {
                        tracing::error!(error = %e, "signal not produced");
                    }
                }
                done = Instant::now();
                w.latency.record(Stage::Emit, done - t1);
                Handled::Processed(Some(wire))
            }
            Outcome::Duplicate => {
                self.telemetry.source(source).duplicates.increment(1);
                Handled::Duplicate
            }
            Outcome::Late => {
                self.telemetry.source(source).late.increment(1);
                Handled::Late
            }
            Outcome::Refused(why) => {
                self.telemetry
                    .source(source)
                    .event_time_refused
                    .increment(1);
                Handled::Refused(why)
            }
        };
        self.telemetry
            .tally_rule_hits(&mut w.rule_hits, w.scratch.rule_set(), w.scratch.fired());
        if w.scratch.charged() {
            self.telemetry.charged_messages.increment(1);
        }
        w.latency.record(Stage::InService, done - dequeued);
        w.decided = done;
        if w.latency.tick(&self.telemetry.latency) {
            self.telemetry.absorb_rule_hits(&mut w.rule_hits);
        }
        handled
    }
}
