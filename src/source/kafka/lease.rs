//! The zombie fence: an instance that lost its partitions while it was not
//! running (paused with SIGSTOP, a frozen VM, a host starved of CPU) writes
//! nothing for them once it runs again.
//!
//! Such an instance has been expelled from the group (no heartbeat for
//! `session.timeout.ms`) and another instance owns its partitions by the
//! time it resumes, but its workers do not know yet: left alone they would
//! finish their queued batches, produce signals the new owner produces
//! too, and write their stale state over the new owner's. Two guards, both
//! local (Tansu 0.6 does not check the generation of an offset commit, so
//! the broker cannot be the judge here; see the README, The service):
//!
//! - **Lost assignments.** librdkafka notices an expired session by itself
//!   (no successful heartbeat answer for `session.timeout.ms`, checked at
//!   least once a second by its main thread) and marks the assignment lost.
//!   The ticker thread mirrors that mark every [`TICK`]; every signal, dead
//!   letter, state write and offset of a partition taken before the loss is
//!   then dropped ([`Lease::admit`]), and the revocation that follows drops
//!   the partitions without a checkpoint or a commit.
//! - **Pauses.** Between the resumption and librdkafka's next check the
//!   mark is not set yet. So the ticker also watches itself: a tick later
//!   than [`GAP`] means the process did not run, and every write is held
//!   for [`SETTLE`] (longer than librdkafka's check interval), then goes on,
//!   or is dropped if the assignment turned out lost.
//!
//! Not closed: a pause that falls between a worker's check and its hand-off
//! of that one record to the producer. Kafka transactions would close it
//! (the broker refuses an older producer epoch), at the price of holding
//! every signal until its transaction commits.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the ticker ticks.
pub(super) const TICK: Duration = Duration::from_millis(100);
/// A tick this much later than the last means the process did not run.
pub(super) const GAP: Duration = Duration::from_millis(1_000);
/// How long writes are held after a pause: two of librdkafka's session
/// checks (its main thread serves the group at least once a second).
pub(super) const SETTLE: Duration = Duration::from_millis(2_500);
/// How often a held write looks again.
const RECHECK: Duration = Duration::from_millis(20);

/// What becomes of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// The partition is still this instance's: write.
    Write,
    /// The partition was lost: drop the write.
    Drop,
}

/// The pause and loss marks the workers consult before they write.
#[derive(Debug)]
pub(super) struct Lease {
    base: Instant,
    /// When the ticker last ticked (ms since `base`).
    last_tick_ms: AtomicU64,
    /// Writes are held until then (ms since `base`).
    hold_until_ms: AtomicU64,
    /// Partitions taken at or before this rebalance epoch are lost
    /// (0: none; epochs start at 1 with the first assignment).
    lost_epoch: AtomicU64,
    /// Set at shutdown, after the workers ended: the ticker stops.
    stopped: AtomicBool,
}

impl Default for Lease {
    fn default() -> Self {
        Lease {
            base: Instant::now(),
            last_tick_ms: AtomicU64::new(0),
            hold_until_ms: AtomicU64::new(0),
            lost_epoch: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }
}

impl Lease {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// One tick at `now_ms`: returns how long the process did not run
    /// when that was longer than [`GAP`] (writes are then held for
    /// [`SETTLE`]).
    fn tick_at(&self, now_ms: u64) -> Option<Duration> {
        let last = self.last_tick_ms.swap(now_ms, Ordering::AcqRel);
        let gap = now_ms.saturating_sub(last);
        if last > 0 && gap > millis(GAP) {
            self.hold_until_ms
                .fetch_max(now_ms + millis(SETTLE), Ordering::AcqRel);
            return Some(Duration::from_millis(gap));
        }
        None
    }

    /// One tick of the ticker thread (see [`Lease::tick_at`]).
    pub(super) fn tick(&self) -> Option<Duration> {
        self.tick_at(self.now_ms())
    }

    /// Marks every partition taken at or before `epoch` as lost.
    pub(super) fn lose_up_to(&self, epoch: u64) {
        self.lost_epoch.fetch_max(epoch, Ordering::AcqRel);
    }

    /// Whether a partition taken at `epoch` was lost.
    pub(super) fn is_lost(&self, epoch: u64) -> bool {
        epoch <= self.lost_epoch.load(Ordering::Acquire)
    }

    /// Whether writes are held now (a pause was just seen, or the ticker
    /// has not ticked for longer than [`GAP`]).
    pub(super) fn holding(&self) -> bool {
        self.holding_at(self.now_ms())
    }

    fn holding_at(&self, now_ms: u64) -> bool {
        let last = self.last_tick_ms.load(Ordering::Acquire);
        (last > 0 && now_ms.saturating_sub(last) > millis(GAP))
            || now_ms < self.hold_until_ms.load(Ordering::Acquire)
    }

    /// Whether a write for a partition taken at `epoch` may go: at once
    /// when nothing is held; after a pause, once the hold is over (or at
    /// once [`Admit::Drop`] when the partition turns out lost).
    pub(super) fn admit(&self, epoch: u64) -> Admit {
        loop {
            if self.is_lost(epoch) {
                return Admit::Drop;
            }
            if !self.holding() || self.stopped.load(Ordering::Acquire) {
                return Admit::Write;
            }
            std::thread::sleep(RECHECK);
        }
    }

    /// Stops the ticker (at shutdown, once the workers have ended).
    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Whether the ticker should stop.
    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_on_time_hold_nothing_and_a_late_tick_holds_for_settle() {
        let l = Lease::default();
        // (tick at ms, pause reported, holding just after the tick)
        let table = [
            (1_000, None, false),
            (1_100, None, false),
            (2_000, None, false),         // 900 ms: within GAP
            (3_000, None, false),         // 1000 ms: GAP is exceeded only strictly
            (13_000, Some(10_000), true), // a 10 s pause
        ];
        for (at, pause, held) in table {
            assert_eq!(
                l.tick_at(at).map(|d| d.as_millis() as u64),
                pause,
                "tick at {at}"
            );
            assert_eq!(l.holding_at(at + 1), held, "holding after the tick at {at}");
        }
        assert!(l.holding_at(13_000 + millis(SETTLE) - 1));
        // Ticking on time again, the hold ends SETTLE after the late tick.
        assert_eq!(l.tick_at(14_000), None);
        assert_eq!(l.tick_at(15_000), None);
        assert!(!l.holding_at(13_000 + millis(SETTLE)));
        // A ticker that stopped ticking holds too.
        assert!(l.holding_at(15_000 + millis(GAP) + 1));
    }

    #[test]
    fn a_loss_drops_the_partitions_taken_at_or_before_its_epoch_only() {
        let l = Lease::default();
        assert!(!l.is_lost(1), "nothing is lost at first");
        l.lose_up_to(3);
        for (epoch, lost) in [(1, true), (3, true), (4, false), (9, false)] {
            assert_eq!(l.is_lost(epoch), lost, "epoch {epoch}");
            assert_eq!(
                l.admit(epoch) == Admit::Drop,
                lost,
                "admit for epoch {epoch}"
            );
        }
        l.lose_up_to(2);
        assert!(l.is_lost(3), "a later, older loss does not undo one");
    }
}
