//! Clocks. The engine never reads the system time itself: it is handed a
//! [`Clock`], so replaying the same events gives the same signals.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current time in ms.
    fn now_ms(&self) -> i64;
}

/// Wall-clock time, for the live service.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told: event time in replay, fake time in tests.
///
/// [`ManualClock::advance_to`] never moves it backwards, so it acts as an
/// event-time watermark when fed every event's timestamp.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `ms`.
    pub fn new(ms: i64) -> Self {
        ManualClock(AtomicI64::new(ms))
    }

    /// Sets the time, forwards or backwards.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::Relaxed);
    }

    /// Moves the time forward to `ms` if it is later than now.
    pub fn advance_to(&self, ms: i64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_a_watermark() {
        let c = ManualClock::new(10);
        c.advance_to(50);
        c.advance_to(20);
        assert_eq!(c.now_ms(), 50);
        c.set(5);
        assert_eq!(c.now_ms(), 5);
    }

    /// The system clock reads milliseconds since the epoch: bracketed by
    /// the standard library's own reading before and after (a clock in
    /// seconds or microseconds, or a constant, falls outside).
    #[test]
    fn system_clock_reads_unix_milliseconds() {
        let ms = |t: SystemTime| {
            i64::try_from(
                t.duration_since(UNIX_EPOCH)
                    .expect("after 1970")
                    .as_millis(),
            )
            .expect("fits")
        };
        let before = ms(SystemTime::now());
        let got = SystemClock.now_ms();
        let after = ms(SystemTime::now());
        assert!(
            before <= got && got <= after,
            "{before} <= {got} <= {after}"
        );
    }
}
