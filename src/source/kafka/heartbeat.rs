//! Each worker's last sign of life, read by the poll thread.
//!
//! Since the workers read their partitions' queues themselves, the poll
//! thread keeps polling whatever a worker does, so librdkafka's
//! `max.poll.interval.ms` no longer notices a worker that is stuck: its
//! partitions would stay assigned and unread while the instance looks
//! healthy. Each worker beats once per turn of its loop (a turn reads at
//! most one batch per queue, and an idle worker wakes at least every
//! 100 ms); the poll thread stops the service when one's beat has stood
//! still for longer than `max.poll.interval.ms` of the poll thread's own
//! running time, so its partitions move to the rest of the group, as they
//! did when the poll thread itself was held up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// librdkafka's default `max.poll.interval.ms`.
pub(super) const DEFAULT_STALL_LIMIT: Duration = Duration::from_millis(300_000);

/// One worker's last beat, as milliseconds since an origin all beats share.
#[derive(Debug)]
pub(super) struct Heartbeat {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Heartbeat {
    /// A heartbeat that beat at `origin`.
    pub(super) fn new(origin: Instant) -> Self {
        Heartbeat {
            origin,
            last_ms: AtomicU64::new(0),
        }
    }

    /// The worker is alive at `now`.
    pub(super) fn beat(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.origin).as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

/// Longest stretch one look counts: a process that was paused (SIGSTOP, a
/// VM migration) did not run its workers, so the pause is not theirs.
const MAX_STEP: Duration = Duration::from_secs(1);

/// The poll thread's view of the heartbeats: how long each worker's beat
/// has stood still, counted in the poll thread's own running time (each
/// look adds at most [`MAX_STEP`]), so that a pause of the whole process
/// does not make every worker look stuck when it resumes.
#[derive(Debug)]
pub(super) struct StallWatch {
    /// Per worker: the beat last seen and how long it has stood still.
    seen: Vec<(u64, Duration)>,
    last_look: Instant,
}

impl StallWatch {
    /// A watch over `workers` heartbeats, first looking at `now`.
    pub(super) fn new(workers: usize, now: Instant) -> Self {
        StallWatch {
            seen: vec![(0, Duration::ZERO); workers],
            last_look: now,
        }
    }

    /// Looks at the beats at `now`: the first worker whose beat has stood
    /// still for longer than `limit`, and for how long.
    pub(super) fn look<'a>(
        &mut self,
        beats: impl IntoIterator<Item = &'a Heartbeat>,
        now: Instant,
        limit: Duration,
    ) -> Option<(usize, Duration)> {
        let step = now.saturating_duration_since(self.last_look).min(MAX_STEP);
        self.last_look = now;
        let mut found = None;
        for (i, (b, seen)) in beats.into_iter().zip(self.seen.iter_mut()).enumerate() {
            let last = b.last_ms.load(Ordering::Relaxed);
            if last != seen.0 {
                *seen = (last, Duration::ZERO);
            } else {
                seen.1 += step;
            }
            if found.is_none() && seen.1 > limit {
                found = Some((i, seen.1));
            }
        }
        found
    }
}

/// The stall limit the consumer's settings give: its `max.poll.interval.ms`
/// when set and valid, librdkafka's default otherwise.
pub(super) fn stall_limit(max_poll_interval_ms: Option<&str>) -> Duration {
    max_poll_interval_ms
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_STALL_LIMIT, Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// A worker's beats and the poll thread's looks, in seconds after the
    /// origin, in time order: `Beat` moves the heartbeat, `Look` asks.
    #[derive(Clone, Copy)]
    enum Step {
        Beat(usize, u64),
        Look(u64),
    }
    use Step::{Beat, Look};

    /// Runs `steps` over two workers with a limit of 5 s; what each look found.
    fn run(steps: &[Step]) -> Vec<Option<(usize, u64)>> {
        let origin = Instant::now();
        let beats = [Heartbeat::new(origin), Heartbeat::new(origin)];
        let mut watch = StallWatch::new(beats.len(), origin);
        let mut found = Vec::new();
        for s in steps {
            match *s {
                Beat(w, at) => beats[w].beat(origin + Duration::from_secs(at)),
                Look(at) => found.push(
                    watch
                        .look(&beats, origin + Duration::from_secs(at), 5 * S)
                        .map(|(w, d)| (w, d.as_secs())),
                ),
            }
        }
        found
    }

    #[test]
    fn a_worker_whose_beat_stands_still_past_the_limit_is_found() {
        let looks = (1..=7).map(Look);
        let mut steps: Vec<Step> = Vec::new();
        for (t, look) in looks.enumerate() {
            // Worker 0 beats every second; worker 1 stops after second 1.
            steps.push(Beat(0, t as u64 + 1));
            if t == 0 {
                steps.push(Beat(1, 1));
            }
            steps.push(look);
        }
        let found = run(&steps);
        // Worker 1's beat stands still from the look at 1 s: 5 s at the
        // look at 6 s is the limit (not over it), 6 s at 7 s is over.
        assert_eq!(found[..6], [None; 6]);
        assert_eq!(found[6], Some((1, 6)));
    }

    #[test]
    fn a_pause_of_the_whole_process_is_not_a_stuck_worker() {
        // Both beat at 1 s, then the process is paused until 600 s: the
        // first look after it counts 1 s of it, and the workers beat again.
        let found = run(&[
            Beat(0, 1),
            Beat(1, 1),
            Look(1),
            Look(600),
            Beat(0, 600),
            Beat(1, 600),
            Look(601),
        ]);
        assert_eq!(found, [None, None, None]);
    }

    #[test]
    fn a_worker_that_beats_again_starts_over() {
        let mut steps: Vec<Step> = (1..=5).map(Look).collect();
        steps.push(Beat(0, 5));
        steps.push(Beat(1, 5));
        steps.extend((6..=10).map(Look));
        let found = run(&steps);
        assert!(found.iter().all(Option::is_none), "{found:?}");
    }

    #[test]
    fn a_late_beat_never_moves_the_heartbeat_back() {
        let origin = Instant::now();
        let b = Heartbeat::new(origin);
        b.beat(origin + 20 * S);
        b.beat(origin + 5 * S);
        assert_eq!(b.last_ms.load(Ordering::Relaxed), 20_000);
    }

    #[test]
    fn the_limit_is_the_consumers_max_poll_interval() {
        assert_eq!(stall_limit(Some("600000")), Duration::from_secs(600));
        assert_eq!(stall_limit(Some(" 45000 ")), Duration::from_secs(45));
        assert_eq!(stall_limit(None), DEFAULT_STALL_LIMIT);
        assert_eq!(stall_limit(Some("0")), DEFAULT_STALL_LIMIT);
        assert_eq!(stall_limit(Some("soon")), DEFAULT_STALL_LIMIT);
    }
}
