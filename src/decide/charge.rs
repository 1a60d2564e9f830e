//! What the policy needs to remember of one account: when it last sent a
//! message through Meta's Business Agent, and the charge ledger of a
//! charging market (delivered non-template outbound messages per UTC day).

use serde::{Deserialize, Serialize};

use super::policy::{day_of, day_start_ms};

/// Days of charge history kept per account (today and the 7 before).
pub const LEDGER_DAYS: usize = 8;

/// How long after its last Business Agent message an account is still
/// judged as a business using Meta's own agent (event time): 7 days.
pub const BUSINESS_AGENT_HOLD_MS: i64 = 7 * 86_400_000;

/// Charged messages per UTC day, the last [`LEDGER_DAYS`] days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeLedger {
    /// `(day, messages)` by `day % LEDGER_DAYS`; day = days since 1970-01-01.
    days: [(i32, u32); LEDGER_DAYS],
    /// Every charged message counted, all days.
    total: u64,
}

impl ChargeLedger {
    /// Counts one charged message at `at_ms`. A message older than the
    /// ledger's oldest day is counted in the total only.
    pub fn add(&mut self, at_ms: i64) {
        let day = day_of(at_ms);
        let slot = &mut self.days[day.rem_euclid(LEDGER_DAYS as i32) as usize];
        self.total = self.total.saturating_add(1);
        if slot.0 == day && slot.1 > 0 {
            slot.1 = slot.1.saturating_add(1);
        } else if slot.1 == 0 || slot.0 < day {
            *slot = (day, 1);
        }
    }

    /// `(UTC day start in ms, messages)` for the days with charges, oldest first.
    pub fn days(&self) -> Vec<(i64, u32)> {
        let mut out: Vec<(i64, u32)> = self
            .days
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|&(d, n)| (day_start_ms(d), n))
            .collect();
        out.sort_unstable();
        out
    }

    /// Every charged message counted.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// The policy's memory of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    /// Event time of the last outbound message sent by Meta's Business
    /// Agent; `None` when none.
    business_agent_ms: Option<i64>,
    /// Charged messages, once the account was charged at all.
    charges: Option<Box<ChargeLedger>>,
}

impl PolicyState {
    /// Notes an outbound message sent by Meta's Business Agent at `at_ms`.
    pub fn saw_business_agent(&mut self, at_ms: i64) {
        self.business_agent_ms = Some(self.business_agent_ms.map_or(at_ms, |t| t.max(at_ms)));
    }

    /// Whether the account used Meta's Business Agent within
    /// [`BUSINESS_AGENT_HOLD_MS`] before `at_ms`.
    pub fn uses_business_agent(&self, at_ms: i64) -> bool {
        self.business_agent_ms
            .is_some_and(|t| at_ms.saturating_sub(t) <= BUSINESS_AGENT_HOLD_MS)
    }

    /// Counts one charged message.
    pub fn charge(&mut self, at_ms: i64) {
        self.charges.get_or_insert_with(Box::default).add(at_ms);
    }

    /// The charge ledger, when the account was ever charged.
    pub fn charges(&self) -> Option<&ChargeLedger> {
        self.charges.as_deref()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.charges
            .as_ref()
            .map_or(0, |_| std::mem::size_of::<ChargeLedger>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2026-02-16T00:00:00Z.
    const FEB16: i64 = 1_771_200_000_000;

    #[test]
    fn the_ledger_counts_per_utc_day_and_keeps_eight_days() {
        let mut l = ChargeLedger::default();
        for (at, n) in [(FEB16, 3), (FEB16 + DAY - 1, 2), (FEB16 + DAY, 4)] {
            for _ in 0..n {
                l.add(at);
            }
        }
        assert_eq!(l.days(), vec![(FEB16, 5), (FEB16 + DAY, 4)]);
        // Eight days on, the slot of 16 Feb is reused for 24 Feb.
        l.add(FEB16 + 8 * DAY);
        assert_eq!(l.days(), vec![(FEB16 + DAY, 4), (FEB16 + 8 * DAY, 1)]);
        // A late message for a day no longer kept counts in the total only.
        l.add(FEB16);
        assert_eq!(l.days(), vec![(FEB16 + DAY, 4), (FEB16 + 8 * DAY, 1)]);
        assert_eq!(l.total(), 11);
    }

    #[test]
    fn business_agent_use_holds_for_seven_days_of_event_time() {
        let mut p = PolicyState::default();
        assert!(!p.uses_business_agent(FEB16));
        p.saw_business_agent(FEB16);
        p.saw_business_agent(FEB16 - DAY); // an older one does not move it back
        assert!(p.uses_business_agent(FEB16 + 7 * DAY));
        assert!(!p.uses_business_agent(FEB16 + 7 * DAY + 1));
        assert!(p.uses_business_agent(i64::MIN), "saturating: no overflow");
    }
}
