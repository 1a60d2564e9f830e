//! When each event should have been sent.
//!
//! Open loop: event k of a phase is due at `start + k / rate`, whatever
//! happened to the events before it. Latencies are measured from this
//! intended time, so a stall in the generator, the client or the target
//! shows up in the latency of every event it delayed (no coordinated
//! omission). In a max-rate phase there is no schedule: the intended time of
//! an event is when its chunk was actually sent.

use std::time::{Duration, Instant};

/// An open-loop schedule: event k (from 0) is due at `start + k / rate`.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    /// When event 0 is due.
    pub start: Instant,
    /// Events per second.
    pub rate: f64,
}

impl OpenLoop {
    /// Offset of event `k` from the start.
    pub fn offset(&self, k: u64) -> Duration {
        Duration::from_nanos((k as f64 * 1e9 / self.rate) as u64)
    }

    /// When event `k` is due.
    pub fn due(&self, k: u64) -> Instant {
        self.start + self.offset(k)
    }

    /// How many events are due at `now`: the number of k with `due(k) <= now`.
    pub fn due_by(&self, now: Instant) -> u64 {
        let Some(elapsed) = now.checked_duration_since(self.start) else {
            return 0;
        };
        let mut n = (elapsed.as_secs_f64() * self.rate).floor() as u64 + 1;
        // The float estimate can be off by one either way; settle it against `offset`.
        while self.offset(n) <= elapsed {
            n += 1;
        }
        while n > 0 && self.offset(n - 1) > elapsed {
            n -= 1;
        }
        n
    }
}

/// How the events of one phase were timed.
#[derive(Debug, Clone)]
pub enum PhaseClock {
    /// On a schedule.
    Open(OpenLoop),
    /// As fast as possible: (first sequence number of a chunk, when it was sent).
    Sent(Vec<(u64, Instant)>),
}

/// The phases of a run with the global sequence numbers they start at, so
/// the intended send time of any event can be found from its sequence number.
#[derive(Debug, Default)]
pub struct Timeline {
    phases: Vec<(u64, PhaseClock)>,
}

impl Timeline {
    /// Starts an open-loop phase at sequence number `first_seq`; returns its index.
    pub fn begin_open(&mut self, first_seq: u64, schedule: OpenLoop) -> usize {
        self.phases.push((first_seq, PhaseClock::Open(schedule)));
        self.phases.len() - 1
    }

    /// Starts a max-rate phase at `first_seq`; returns its index.
    pub fn begin_max(&mut self, first_seq: u64) -> usize {
        self.phases.push((first_seq, PhaseClock::Sent(Vec::new())));
        self.phases.len() - 1
    }

    /// In a max-rate phase: events from `seq` on were sent at `at`.
    pub fn mark_sent(&mut self, seq: u64, at: Instant) {
        if let Some((_, PhaseClock::Sent(marks))) = self.phases.last_mut() {
            marks.push((seq, at));
        }
    }

    /// The phase of event `seq` and when it was meant to be sent.
    pub fn intended(&self, seq: u64) -> Option<(usize, Instant)> {
        let i = self.phases.partition_point(|(first, _)| *first <= seq);
        let idx = i.checked_sub(1)?;
        let (first, clock) = &self.phases[idx];
        let at = match clock {
            PhaseClock::Open(s) => s.due(seq - first),
            PhaseClock::Sent(marks) => {
                let j = marks.partition_point(|(s, _)| *s <= seq);
                marks.get(j.checked_sub(1)?)?.1
            }
        };
        Some((idx, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_due_times_are_i_over_r_whatever_happened_before() {
        let t0 = Instant::now();
        let s = OpenLoop {
            start: t0,
            rate: 2_000.0,
        };
        assert_eq!(s.due(0), t0);
        assert_eq!(s.offset(1), Duration::from_micros(500));
        assert_eq!(s.offset(2_000), Duration::from_secs(1));
        assert_eq!(s.offset(3_000_000), Duration::from_secs(1_500));
        // Nothing is due before the start; event 0 is due at it.
        assert_eq!(s.due_by(t0), 1);
        assert_eq!(s.due_by(t0 + Duration::from_micros(499)), 1);
        assert_eq!(s.due_by(t0 + Duration::from_micros(500)), 2);
        // A sender that stalled for a second finds 2,000 more events due at
        // once: the schedule does not wait for it.
        assert_eq!(s.due_by(t0 + Duration::from_millis(1_000)), 2_001);
    }

    #[test]
    fn due_by_agrees_with_due_for_awkward_rates() {
        let t0 = Instant::now();
        for rate in [1.0, 3.0, 7_777.7, 20_000.0, 333_333.3] {
            let s = OpenLoop { start: t0, rate };
            for k in (0..200_000u64).step_by(997) {
                let due = s.due(k);
                assert!(s.due_by(due) > k, "rate {rate} k {k}");
                if k > 0 {
                    assert!(
                        s.due_by(due - Duration::from_nanos(1)) <= k,
                        "rate {rate} k {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn timeline_finds_the_phase_and_intended_time_of_any_event() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        assert_eq!(tl.intended(0), None);
        tl.begin_open(
            0,
            OpenLoop {
                start: t0,
                rate: 1_000.0,
            },
        );
        let t1 = t0 + Duration::from_secs(10);
        tl.begin_open(
            5_000,
            OpenLoop {
                start: t1,
                rate: 2_000.0,
            },
        );
        let t2 = t1 + Duration::from_secs(10);
        tl.begin_max(9_000);
        tl.mark_sent(9_000, t2);
        tl.mark_sent(9_064, t2 + Duration::from_millis(3));
        assert_eq!(tl.intended(0), Some((0, t0)));
        assert_eq!(
            tl.intended(4_999),
            Some((0, t0 + Duration::from_millis(4_999)))
        );
        assert_eq!(tl.intended(5_010), Some((1, t1 + Duration::from_millis(5))));
        assert_eq!(tl.intended(9_063), Some((2, t2)));
        assert_eq!(tl.intended(9_100), Some((2, t2 + Duration::from_millis(3))));
    }
}
