//! Runs events through an engine on event time, at full speed: the driver
//! behind `satpam replay`, `satpam eval` and `satpam demo`.
//!
//! The engine's clock is a [`ManualClock`] moved to each event's time before
//! it is processed, so `decided_at_ms` is event time and replaying the same
//! events always gives byte-identical signals.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::ManualClock;
use crate::decide::{Action, CountryPolicy, Overrides, Signal};
use crate::engine::{Engine, EngineConfig, EngineStats, Outcome, Scratch};
use crate::event::Event;
use crate::io::RecordError;
use crate::limits::EventTimeError;
use crate::pb::v1::MessageEvent;
use crate::rules::RuleSet;
use crate::state::StoreStats;

/// Malformed records kept with their reasons in a summary (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 20;

/// One rule's hits during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHits {
    /// Rule id.
    pub id: String,
    /// Rule version.
    pub version: u32,
    /// Whether it ran in shadow mode.
    pub shadow: bool,
    /// Events it fired on.
    pub hits: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    /// Records read (valid or not).
    pub records: u64,
    /// Records that did not decode or validate, or whose time the engine refused.
    pub malformed: u64,
    /// The first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<RecordError>,
    /// Engine counters.
    pub engine: EngineStats,
    /// State sizes at the end.
    pub store: StoreStats,
    /// Per-rule hits, in rule order.
    pub rule_hits: Vec<RuleHits>,
    /// The rule set's version.
    pub rule_set_version: String,
    /// Wall time, seconds.
    pub elapsed_s: f64,
}

impl ReplaySummary {
    /// Valid events processed per wall-clock second.
    pub fn events_per_sec(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.engine.events as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Signals of one action.
    pub fn signals(&self, action: Action) -> u64 {
        Action::SIGNALLED
            .iter()
            .position(|a| *a == action)
            .map_or(0, |i| self.engine.signals[i])
    }
}

/// Feeds records to an engine on event time.
pub struct Replayer {
    engine: Engine,
    clock: Arc<ManualClock>,
    scratch: Scratch,
    records: u64,
    malformed: u64,
    errors: Vec<RecordError>,
    started: Instant,
    /// Whether an event was accepted yet: the first one sets the clock.
    clock_set: bool,
    /// Events refused for their time before they reached the engine.
    refused: u64,
    /// Hits per rule of the set the run started with, by rule index.
    hits: Vec<u64>,
    /// [`RuleSet::serial`] of that set.
    rule_set: u64,
}

impl Replayer {
    /// A replayer over a fresh engine.
    pub fn new(
        rules: Arc<RuleSet>,
        policy: CountryPolicy,
        overrides: Overrides,
        config: EngineConfig,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(0));
        let hits = vec![0; rules.rules().len()];
        let rule_set = rules.serial();
        let engine = Engine::new(rules, policy, clock.clone(), config);
        engine.swap_overrides(overrides);
        Replayer {
            engine,
            clock,
            scratch: Scratch::default(),
            records: 0,
            malformed: 0,
            errors: Vec::new(),
            started: Instant::now(),
            clock_set: false,
            refused: 0,
            hits,
            rule_set,
        }
    }

    fn reject(&mut self, e: RecordError) {
        self.malformed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(e);
        }
    }

    /// Feeds one record (`line` numbers it in error reports); returns the
    /// signal it caused, if any.
    pub fn feed(&mut self, line: u64, record: Result<MessageEvent, RecordError>) -> Option<Signal> {
        self.records += 1;
        let event = match record.and_then(|m| {
            Event::try_from(m).map_err(|e| RecordError {
                line,
                reason: format!("invalid event: {e}"),
            })
        }) {
            Ok(e) => e,
            Err(e) => {
                self.reject(e);
                return None;
            }
        };
        match self.feed_event(&event) {
            Ok(signal) => signal,
            Err(e) => {
                self.reject(RecordError {
                    line,
                    reason: format!("refused event: {e}"),
                });
                None
            }
        }
    }

    /// Feeds one validated event. The clock is event time: the first event
    /// sets it, and an event is judged against the shard's event-time
    /// window ([`EngineConfig::event_time`]) before the clock moves to it,
    /// so one far-off event is refused and changes nothing.
    pub fn feed_event(&mut self, event: &Event) -> Result<Option<Signal>, EventTimeError> {
        if !self.clock_set {
            self.clock.set(event.timestamp_ms);
        }
        if let Err(e) = self.engine.check_event_time(event.timestamp_ms) {
            self.refused += 1;
            return Err(e);
        }
        self.clock_set = true;
        self.clock.advance_to(event.timestamp_ms);
        let outcome = self.engine.process(event, &mut self.scratch);
        if self.scratch.rule_set() == self.rule_set {
            for &i in self.scratch.fired() {
                if let Some(h) = self.hits.get_mut(usize::from(i)) {
                    *h += 1;
                }
            }
        }
        match outcome {
            Outcome::Processed(signal) => Ok(signal.map(|s| *s)),
            Outcome::Duplicate | Outcome::Late => Ok(None),
            Outcome::Refused(e) => Err(e),
        }
    }

    /// The features of the last event fed (for profiling).
    pub fn last_features(&self) -> &crate::features::FeatureVector {
        self.scratch.features()
    }

    /// The engine (for reports during a run).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Ends the run.
    pub fn finish(self) -> (ReplaySummary, Engine) {
        let rules = self.engine.rules();
        // Counted against the set the run started with (a replay does not reload).
        let hits = if rules.serial() == self.rule_set {
            self.hits
        } else {
            vec![0; rules.rules().len()]
        };
        let summary = ReplaySummary {
            records: self.records,
            malformed: self.malformed,
            errors: self.errors,
            engine: {
                // Refused before the engine saw them (the clock had not moved yet).
                let mut stats = self.engine.stats();
                stats.refused += self.refused;
                stats
            },
            store: self.engine.store_stats(),
            rule_hits: rules
                .rules()
                .iter()
                .zip(hits)
                .map(|(r, hits)| RuleHits {
                    id: r.id.clone(),
                    version: r.version,
                    shadow: r.shadow,
                    hits,
                })
                .collect(),
            rule_set_version: rules.version().to_string(),
            elapsed_s: self.started.elapsed().as_secs_f64(),
        };
        (summary, self.engine)
    }
}
