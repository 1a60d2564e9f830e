//! What the generator, the clients and the signal readers share: the
//! traffic pool, the timeline of intended send times, and the latency
//! histograms per phase.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use satpam::pb::v1 as pb;

use super::latency::LatencyHistogram;
use super::schedule::{OpenLoop, Timeline};
use super::traffic::{parse_event_id, Pool};

/// State shared by every thread of a run.
pub struct Shared {
    /// The traffic.
    pub pool: Arc<Pool>,
    timeline: Mutex<Timeline>,
    e2e: Mutex<Vec<LatencyHistogram>>,
    to_decision: Mutex<Vec<LatencyHistogram>>,
    from_decision: Mutex<Vec<LatencyHistogram>>,
    acks: Mutex<Vec<LatencyHistogram>>,
    /// The same moment on both clocks, to put signals' `decided_at_ms`
    /// (satpam's wall clock) on the monotonic timeline.
    anchor: (Instant, SystemTime),
    by_action: Mutex<BTreeMap<String, u64>>,
    /// Events handed to the client so far (all phases).
    pub sent: AtomicU64,
    /// Signals of this run seen.
    pub signals: AtomicU64,
    /// Signals of other runs (or other producers) seen and ignored.
    pub foreign_signals: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked holder leaves plain data behind; keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// State for a run over `pool`.
    pub fn new(pool: Arc<Pool>) -> Shared {
        Shared {
            pool,
            timeline: Mutex::new(Timeline::default()),
            e2e: Mutex::new(Vec::new()),
            to_decision: Mutex::new(Vec::new()),
            from_decision: Mutex::new(Vec::new()),
            acks: Mutex::new(Vec::new()),
            anchor: (Instant::now(), SystemTime::now()),
            by_action: Mutex::new(BTreeMap::new()),
            sent: AtomicU64::new(0),
            signals: AtomicU64::new(0),
            foreign_signals: AtomicU64::new(0),
        }
    }

    fn add_phase(&self) {
        for h in [
            &self.e2e,
            &self.to_decision,
            &self.from_decision,
            &self.acks,
        ] {
            lock(h).push(LatencyHistogram::default());
        }
    }

    /// Starts an open-loop phase at `first_seq`; returns its index.
    pub fn begin_open(&self, first_seq: u64, schedule: OpenLoop) -> usize {
        self.add_phase();
        lock(&self.timeline).begin_open(first_seq, schedule)
    }

    /// Starts a max-rate phase at `first_seq`; returns its index.
    pub fn begin_max(&self, first_seq: u64) -> usize {
        self.add_phase();
        lock(&self.timeline).begin_max(first_seq)
    }

    /// Max-rate phases: events from `seq` on were sent at `at`.
    pub fn mark_sent(&self, seq: u64, at: Instant) {
        lock(&self.timeline).mark_sent(seq, at);
    }

    /// A signal arrived at `arrived`: counts it and, when it is this run's,
    /// records its latency from the triggering event's intended send time.
    pub fn on_signal(&self, s: &pb::EnforcementSignal, arrived: Instant) {
        let ours = parse_event_id(&s.trigger_event_id)
            .filter(|(run, _)| *run == self.pool.run())
            .map(|(_, seq)| seq);
        let Some(seq) = ours else {
            self.foreign_signals.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.signals.fetch_add(1, Ordering::Relaxed);
        let action = pb::Action::try_from(s.action)
            .map(|a| {
                a.as_str_name()
                    .trim_start_matches("ACTION_")
                    .to_ascii_lowercase()
            })
            .unwrap_or_else(|_| format!("action-{}", s.action));
        *lock(&self.by_action).entry(action).or_default() += 1;
        let intended = lock(&self.timeline).intended(seq);
        if let Some((phase, at)) = intended {
            if let Some(h) = lock(&self.e2e).get_mut(phase) {
                h.record(arrived.saturating_duration_since(at));
            }
            // The split at satpam's decision (wall clock, ms resolution).
            let (at_ms, arrived_ms) = (self.wall_ms(at), self.wall_ms(arrived));
            let ms = |d: i64| Duration::from_millis(d.max(0) as u64);
            if let Some(h) = lock(&self.to_decision).get_mut(phase) {
                h.record(ms(s.decided_at_ms - at_ms));
            }
            if let Some(h) = lock(&self.from_decision).get_mut(phase) {
                h.record(ms(arrived_ms - s.decided_at_ms));
            }
        }
    }

    /// `at` as milliseconds since the Unix epoch.
    fn wall_ms(&self, at: Instant) -> i64 {
        let (i0, s0) = self.anchor;
        let wall = if at >= i0 {
            s0 + (at - i0)
        } else {
            s0 - (i0 - at)
        };
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// The phase of event `seq` and when it was meant to be sent.
    pub fn intended(&self, seq: u64) -> Option<(usize, Instant)> {
        lock(&self.timeline).intended(seq)
    }

    /// An ack (a gRPC batch's, or the broker's for a produced event) of
    /// something meant to be sent at `intended` in `phase`.
    pub fn on_ack(&self, phase: usize, intended: Instant, arrived: Instant) {
        if let Some(h) = lock(&self.acks).get_mut(phase) {
            h.record(arrived.saturating_duration_since(intended));
        }
    }

    /// The end-to-end histogram of `phase` so far.
    pub fn e2e(&self, phase: usize) -> LatencyHistogram {
        lock(&self.e2e).get(phase).cloned().unwrap_or_default()
    }

    /// The end-to-end latency of `phase` split at satpam's decision: (intended
    /// send -> decided_at_ms, decided_at_ms -> seen).
    pub fn split(&self, phase: usize) -> (LatencyHistogram, LatencyHistogram) {
        let get =
            |m: &Mutex<Vec<LatencyHistogram>>| lock(m).get(phase).cloned().unwrap_or_default();
        (get(&self.to_decision), get(&self.from_decision))
    }

    /// The ack histogram of `phase` so far.
    pub fn acks(&self, phase: usize) -> LatencyHistogram {
        lock(&self.acks).get(phase).cloned().unwrap_or_default()
    }

    /// Signals seen by action.
    pub fn by_action(&self) -> BTreeMap<String, u64> {
        lock(&self.by_action).clone()
    }
}
