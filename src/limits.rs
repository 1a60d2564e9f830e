//! Event-time sanity: how far an event may lie ahead of the time a shard
//! knows, or behind its watermark, before it is refused.
//!
//! One event dated far ahead would move a shard's event-time watermark, and
//! every idle-state sweep after it would judge the whole shard by that time
//! (dropping the state of every other account). One dated far behind counts
//! in no window. Both are refused with a reason instead: the service
//! dead-letters them, `satpam replay` lists them with the malformed records.
//! See `docs/security.md` (Limits).

/// Default of [`EventTimeLimits::max_future_ms`]: one day.
pub const DEFAULT_MAX_FUTURE_MS: i64 = 24 * 3_600_000;
/// Default of [`EventTimeLimits::max_past_ms`]: one day (the longest window).
pub const DEFAULT_MAX_PAST_MS: i64 = 24 * 3_600_000;

/// The window of event time a shard accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTimeLimits {
    /// An event more than this ahead of the later of the shard's watermark
    /// and the injected clock is refused; 0: no limit.
    pub max_future_ms: i64,
    /// An event more than this behind the shard's watermark is refused; 0:
    /// no limit. The clock is not used here, so that a backlog older than
    /// this (a restart after an outage) is still processed.
    pub max_past_ms: i64,
}

impl Default for EventTimeLimits {
    fn default() -> Self {
        EventTimeLimits {
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
            max_past_ms: DEFAULT_MAX_PAST_MS,
        }
    }
}

/// Why an event's time was refused. Never quotes anything but times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventTimeError {
    /// Too far ahead of the shard's time.
    #[error("event time {ts_ms} is {ahead_ms} ms ahead of the shard's time {reference_ms}; at most {limit_ms} ms is accepted (limits.max_future_ms)")]
    TooFarAhead {
        /// The event's time.
        ts_ms: i64,
        /// The later of the watermark and the clock.
        reference_ms: i64,
        /// How far ahead (saturating).
        ahead_ms: i64,
        /// The limit.
        limit_ms: i64,
    },
    /// Too far behind the shard's watermark.
    #[error("event time {ts_ms} is {behind_ms} ms behind the shard's watermark {watermark_ms}; at most {limit_ms} ms is accepted (limits.max_past_ms)")]
    TooFarBehind {
        /// The event's time.
        ts_ms: i64,
        /// The shard's watermark.
        watermark_ms: i64,
        /// How far behind (saturating).
        behind_ms: i64,
        /// The limit.
        limit_ms: i64,
    },
}

impl EventTimeLimits {
    /// Checks `ts_ms` against a shard whose watermark is `watermark_ms`
    /// (`i64::MIN`: no event yet) and whose clock reads `now_ms`. A clock
    /// at or before the Unix epoch is taken as not set (a manual clock
    /// nobody moved): with no watermark either, the first event is the
    /// reference.
    pub fn check(&self, ts_ms: i64, watermark_ms: i64, now_ms: i64) -> Result<(), EventTimeError> {
        let clock_ms = if now_ms > 0 { now_ms } else { i64::MIN };
        let reference_ms = watermark_ms.max(clock_ms);
        if self.max_future_ms > 0
            && reference_ms != i64::MIN
            && ts_ms > reference_ms.saturating_add(self.max_future_ms)
        {
            return Err(EventTimeError::TooFarAhead {
                ts_ms,
                reference_ms,
                ahead_ms: ts_ms.saturating_sub(reference_ms),
                limit_ms: self.max_future_ms,
            });
        }
        if self.max_past_ms > 0
            && watermark_ms != i64::MIN
            && ts_ms < watermark_ms.saturating_sub(self.max_past_ms)
        {
            return Err(EventTimeError::TooFarBehind {
                ts_ms,
                watermark_ms,
                behind_ms: watermark_ms.saturating_sub(ts_ms),
                limit_ms: self.max_past_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_769_990_400_000;
    const H: i64 = 3_600_000;

    #[test]
    fn the_window_is_around_the_later_of_watermark_and_clock() {
        let l = EventTimeLimits {
            max_future_ms: H,
            max_past_ms: 2 * H,
        };
        // No watermark yet: only the clock bounds the future.
        assert!(l.check(T + H, i64::MIN, T).is_ok());
        assert!(matches!(
            l.check(T + H + 1, i64::MIN, T),
            Err(EventTimeError::TooFarAhead { ahead_ms, .. }) if ahead_ms == H + 1
        ));
        assert!(
            l.check(1, i64::MIN, T).is_ok(),
            "no watermark: no past bound"
        );
        // An unset clock (at the epoch) and no watermark: the first event sets the time.
        assert!(l.check(T + 100 * H, i64::MIN, 0).is_ok());
        assert!(
            l.check(T + 2 * H, T, 0).is_err(),
            "then the watermark bounds it"
        );
        // The watermark ahead of the clock moves the future bound.
        assert!(l.check(T + 2 * H, T + H, T).is_ok());
        // The past is judged against the watermark only.
        assert!(l.check(T - 2 * H, T, T + 100 * H).is_ok());
        let e = l.check(T - 2 * H - 1, T, 0).expect_err("too old");
        assert!(e.to_string().contains("limits.max_past_ms"), "{e}");
        // Extremes never overflow.
        for ts in [i64::MAX, i64::MIN, 0] {
            for wm in [i64::MAX, i64::MIN, T] {
                let _ = l.check(ts, wm, T);
            }
        }
        assert!(l.check(i64::MAX, T, T).is_err());
        assert!(l.check(i64::MIN + 1, T, T).is_err());
        // Zero turns a bound off.
        let off = EventTimeLimits {
            max_future_ms: 0,
            max_past_ms: 0,
        };
        assert!(off.check(i64::MAX, T, T).is_ok() && off.check(1, T, T).is_ok());
    }
}
