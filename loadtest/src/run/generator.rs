//! The generator: drives one phase through an [`EventSink`], on the
//! open-loop schedule or as fast as the sink takes events.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::schedule::OpenLoop;
use super::shared::Shared;

/// Where the generator hands events: a Kafka producer or gRPC streams.
pub trait EventSink: Send {
    /// Sends event `seq` (encoded from the pool), meant to go at `intended`, of `phase`.
    /// May block when the client's queues are full: the schedule does not wait,
    /// and the latencies of the delayed events show it.
    fn send(&mut self, seq: u64, intended: Instant, phase: usize) -> anyhow::Result<()>;
    /// Nothing is due right now: a chance to send batches that waited long enough.
    fn idle(&mut self, now: Instant) -> anyhow::Result<()>;
    /// End of a phase: everything buffered goes out (Kafka: and is acknowledged by the broker).
    fn finish(&mut self) -> anyhow::Result<()>;
    /// Time spent so far waiting for the client to take events (the gRPC
    /// window or librdkafka's queue full): the target pushing back.
    fn blocked(&self) -> Duration;
}

/// How a phase offers its events.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// `rate` events per second on the open-loop schedule.
    Open(f64),
    /// As fast as the sink takes them.
    Max,
}

/// What one phase should do.
#[derive(Debug, Clone, Copy)]
pub struct PhasePlan {
    /// Open loop or max.
    pub pace: Pace,
    /// Events to send.
    pub events: u64,
    /// Stop a max-rate phase after this long even if events remain.
    pub deadline: Option<Duration>,
}

/// What one phase did.
#[derive(Debug, Clone, Copy)]
pub struct PhaseRun {
    /// Index of the phase (for the histograms).
    pub phase: usize,
    /// Events sent.
    pub events: u64,
    /// When it started (event 0 due).
    pub started: Instant,
    /// When the last event had been handed to the sink (before the sink's
    /// final flush).
    pub last_sent: Instant,
}

/// Shortest sleep of the open-loop generator (the kernel adds its timer
/// slack, ~50 us, on top).
const MIN_SLEEP: Duration = Duration::from_micros(100);
/// Longest sleep, so linger-expired batches still go out on time.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// Max-rate phases note the send time once per this many events.
const MARK_EVERY: u64 = 64;

/// Where the generator reads the time and waits: the system's in a run, a
/// manual one in tests (so that the schedule is checked without timing).
pub trait Pacer {
    /// Now.
    fn now(&self) -> Instant;
    /// Waits `d`.
    fn sleep(&self, d: Duration);
}

/// The system clock and `thread::sleep`.
pub struct SystemPacer;

impl Pacer for SystemPacer {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Runs one phase starting at sequence number `first_seq`.
pub fn run_phase(
    shared: &Shared,
    sink: &mut dyn EventSink,
    plan: PhasePlan,
    first_seq: u64,
) -> anyhow::Result<PhaseRun> {
    run_phase_paced(&SystemPacer, shared, sink, plan, first_seq)
}

/// [`run_phase`] on the time of `pacer`.
pub fn run_phase_paced(
    pacer: &dyn Pacer,
    shared: &Shared,
    sink: &mut dyn EventSink,
    plan: PhasePlan,
    first_seq: u64,
) -> anyhow::Result<PhaseRun> {
    let started = pacer.now();
    let mut k = 0u64;
    let phase = match plan.pace {
        Pace::Open(rate) => {
            let schedule = OpenLoop {
                start: started,
                rate,
            };
            let phase = shared.begin_open(first_seq, schedule);
            while k < plan.events {
                let now = pacer.now();
                let due = schedule.due_by(now).min(plan.events);
                while k < due {
                    sink.send(first_seq + k, schedule.due(k), phase)?;
                    k += 1;
                    shared.sent.fetch_add(1, Ordering::Relaxed);
                }
                if k >= plan.events {
                    break;
                }
                let now = pacer.now();
                sink.idle(now)?;
                let next = schedule.due(k);
                if next > now {
                    // Sleep until the next event is due, but at least
                    // MIN_SLEEP: at high rates the events that fall due
                    // meanwhile go out in one burst (their lateness counts in
                    // their latency) instead of the generator spinning on a
                    // core the target needs.
                    pacer.sleep((next - now).clamp(MIN_SLEEP, MAX_SLEEP));
                }
            }
            phase
        }
        Pace::Max => {
            let phase = shared.begin_max(first_seq);
            let deadline = plan.deadline.map(|d| started + d);
            while k < plan.events {
                let now = pacer.now();
                if k % MARK_EVERY == 0 {
                    if deadline.is_some_and(|d| now >= d) {
                        break;
                    }
                    shared.mark_sent(first_seq + k, now);
                    sink.idle(now)?;
                }
                sink.send(first_seq + k, now, phase)?;
                k += 1;
                shared.sent.fetch_add(1, Ordering::Relaxed);
            }
            phase
        }
    };
    let last_sent = pacer.now();
    sink.finish()?;
    Ok(PhaseRun {
        phase,
        events: k,
        started,
        last_sent,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

    use super::super::traffic::Pool;
    use super::*;

    /// A manual clock: time moves only when the generator sleeps or a
    /// sink stalls.
    #[derive(Clone)]
    struct ManualPacer {
        start: Instant,
        elapsed_ns: Arc<AtomicU64>,
    }

    impl ManualPacer {
        fn new() -> Self {
            ManualPacer {
                start: Instant::now(),
                elapsed_ns: Arc::new(AtomicU64::new(0)),
            }
        }
        fn advance(&self, d: Duration) {
            self.elapsed_ns
                .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
        }
    }

    impl Pacer for ManualPacer {
        fn now(&self) -> Instant {
            self.start + Duration::from_nanos(self.elapsed_ns.load(Ordering::Relaxed))
        }
        fn sleep(&self, d: Duration) {
            self.advance(d);
        }
    }

    /// Records what it is given, at the pacer's time (the real clock when
    /// it has none); the send of `stall_at` takes 30 ms.
    #[derive(Default)]
    struct Recorder {
        sent: Vec<(u64, Instant, Instant)>,
        finished: bool,
        pacer: Option<ManualPacer>,
        stall_at: Option<u64>,
    }

    impl EventSink for Recorder {
        fn send(&mut self, seq: u64, intended: Instant, _: usize) -> anyhow::Result<()> {
            let now = self.pacer.as_ref().map_or_else(Instant::now, |p| p.now());
            self.sent.push((seq, intended, now));
            if self.stall_at == Some(seq) {
                // A stall in the client.
                if let Some(p) = &self.pacer {
                    p.advance(Duration::from_millis(30));
                }
            }
            Ok(())
        }
        fn idle(&mut self, _: Instant) -> anyhow::Result<()> {
            Ok(())
        }
        fn finish(&mut self) -> anyhow::Result<()> {
            self.finished = true;
            Ok(())
        }
        fn blocked(&self) -> Duration {
            Duration::ZERO
        }
    }

    fn shared() -> Shared {
        let (bank, _) = TextBank::load_or_builtin(None).expect("texts");
        let sc = Scenario::generate(
            &ScenarioConfig {
                accounts: 3,
                hours: 0.5,
                ..ScenarioConfig::default()
            },
            Arc::new(bank),
        );
        Shared::new(Arc::new(Pool::build(&sc, 1, 60_000).expect("pool")))
    }

    /// On a manual clock: every event goes at its intended time until a 30 ms
    /// stall in the client; the events that fell due meanwhile go at once
    /// when it ends, and the schedule goes on as planned, so the phase ends
    /// when its last event is due, not 30 ms later.
    #[test]
    fn open_loop_keeps_its_schedule_through_a_stall() {
        let shared = shared();
        let pacer = ManualPacer::new();
        let mut sink = Recorder {
            pacer: Some(pacer.clone()),
            stall_at: Some(1_050),
            ..Recorder::default()
        };
        let plan = PhasePlan {
            pace: Pace::Open(2_000.0),
            events: 200,
            deadline: None,
        };
        let run = run_phase_paced(&pacer, &shared, &mut sink, plan, 1_000).expect("phase");
        assert!(sink.finished);
        assert_eq!(run.events, 200);
        assert_eq!(shared.sent.load(Ordering::Relaxed), 200);
        assert_eq!(run.started, pacer.start);
        let seqs: Vec<u64> = sink.sent.iter().map(|s| s.0).collect();
        assert_eq!(seqs, (1_000..1_200).collect::<Vec<_>>());
        let at = |ms: f64| run.started + Duration::from_secs_f64(ms / 1e3);
        for (i, (_, intended, actual)) in sink.sent.iter().enumerate() {
            // Intended times are i/R from the start, whatever happened.
            let due = run.started + Duration::from_micros(500 * i as u64);
            assert_eq!(*intended, due, "event {i}: intended");
            // Sent when due, except the ones due during the stall (25 ms to
            // 55 ms), which go together when it ends.
            let want = if (51..=110).contains(&i) {
                at(55.0)
            } else {
                due
            };
            assert_eq!(*actual, want, "event {i}: sent");
        }
        assert_eq!(run.last_sent - run.started, Duration::from_micros(99_500));
        assert_eq!(shared.begin_max(0), run.phase + 1);
    }

    #[test]
    fn max_phase_sends_everything_and_marks_send_times() {
        let shared = shared();
        let mut sink = Recorder::default();
        let plan = PhasePlan {
            pace: Pace::Max,
            events: 300,
            deadline: None,
        };
        let run = run_phase(&shared, &mut sink, plan, 0).expect("phase");
        assert_eq!(run.events, 300);
        for (_, intended, actual) in &sink.sent {
            assert!(actual >= intended);
        }
    }
}
