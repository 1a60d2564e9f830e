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

/// Runs one phase starting at sequence number `first_seq`.
pub fn run_phase(
    shared: &Shared,
    sink: &mut dyn EventSink,
    plan: PhasePlan,
    first_seq: u64,
) -> anyhow::Result<PhaseRun> {
    let started = Instant::now();
    let mut k = 0u64;
    let phase = match plan.pace {
        Pace::Open(rate) => {
            let schedule = OpenLoop {
                start: started,
                rate,
            };
            let phase = shared.begin_open(first_seq, schedule);
            while k < plan.events {
                let now = Instant::now();
                let due = schedule.due_by(now).min(plan.events);
                while k < due {
                    sink.send(first_seq + k, schedule.due(k), phase)?;
                    k += 1;
                    shared.sent.fetch_add(1, Ordering::Relaxed);
                }
                if k >= plan.events {
                    break;
                }
                let now = Instant::now();
                sink.idle(now)?;
                let next = schedule.due(k);
                if next > now {
                    // Sleep until the next event is due, but at least
                    // MIN_SLEEP: at high rates the events that fall due
                    // meanwhile go out in one burst (their lateness counts in
                    // their latency) instead of the generator spinning on a
                    // core the target needs.
                    std::thread::sleep((next - now).clamp(MIN_SLEEP, MAX_SLEEP));
                }
            }
            phase
        }
        Pace::Max => {
            let phase = shared.begin_max(first_seq);
            let deadline = plan.deadline.map(|d| started + d);
            while k < plan.events {
                let now = Instant::now();
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
    let last_sent = Instant::now();
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
    use std::sync::Arc;

    use satpam::scenario::{Scenario, ScenarioConfig, TextBank};

    use super::super::traffic::Pool;
    use super::*;

    /// Records what it is given.
    #[derive(Default)]
    struct Recorder {
        sent: Vec<(u64, Instant, Instant)>,
        finished: bool,
    }

    impl EventSink for Recorder {
        fn send(&mut self, seq: u64, intended: Instant, _: usize) -> anyhow::Result<()> {
            self.sent.push((seq, intended, Instant::now()));
            if seq == 1_050 {
                // A stall in the client.
                std::thread::sleep(Duration::from_millis(30));
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

    #[test]
    fn open_loop_keeps_its_schedule_through_a_stall() {
        let shared = shared();
        let mut sink = Recorder::default();
        let plan = PhasePlan {
            pace: Pace::Open(2_000.0),
            events: 200,
            deadline: None,
        };
        let run = run_phase(&shared, &mut sink, plan, 1_000).expect("phase");
        assert!(sink.finished);
        assert_eq!(run.events, 200);
        assert_eq!(shared.sent.load(Ordering::Relaxed), 200);
        let seqs: Vec<u64> = sink.sent.iter().map(|s| s.0).collect();
        assert_eq!(seqs, (1_000..1_200).collect::<Vec<_>>());
        for (i, (_, intended, actual)) in sink.sent.iter().enumerate() {
            // Intended times are i/R from the start, whatever happened.
            let want = run.started + Duration::from_micros(500 * i as u64);
            assert_eq!(*intended, want, "event {i}");
            assert!(*actual >= *intended, "never early");
        }
        // The events held up by the stall went late, then the schedule caught up.
        let late = sink.sent[51].2 - sink.sent[51].1;
        assert!(late >= Duration::from_millis(25), "{late:?}");
        // ~100 ms of schedule for 200 events at 2,000/s; the stall does not stretch it by 30 ms.
        let took = run.last_sent - run.started;
        assert!(took < Duration::from_millis(125), "{took:?}");
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
