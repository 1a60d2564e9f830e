//! Per-account delivery windows: what the Cloud API's `statuses[]` said
//! about the messages the account sent, over 24 hours (8 x 3 h), by state
//! and by pricing category. Kept apart from [`super::AccountBehaviour`]
//! (boxed, only for accounts that get statuses), with a small ring of
//! recent report ids so that a webhook Meta retries is counted once.

use serde::{Deserialize, Serialize};

use super::account::DAY_BUCKET_MS;
use super::window::Ring;
use crate::event::{Delivery, DeliveryState, PricingCategory};

/// Counter indexes of the delivery window.
pub mod counter {
    /// Reported sent.
    pub const SENT: usize = 0;
    /// Reported delivered.
    pub const DELIVERED: usize = 1;
    /// Reported read (or played).
    pub const READ: usize = 2;
    /// Reported failed.
    pub const FAILED: usize = 3;
    /// Delivered, priced `service`.
    pub const SERVICE: usize = 4;
    /// Delivered, priced `utility`.
    pub const UTILITY: usize = 5;
    /// Delivered, priced `marketing`.
    pub const MARKETING: usize = 6;
    /// Delivered, priced `authentication`.
    pub const AUTHENTICATION: usize = 7;
    /// Delivered, priced in any other named category.
    pub const OTHER_CATEGORY: usize = 8;
    /// Delivered and billable.
    pub const BILLABLE: usize = 9;
    /// Number of counters.
    pub const COUNT: usize = 10;
}

/// Report ids remembered per account to drop retried reports.
pub const RECENT_REPORTS: usize = 64;

/// The delivery windows of one account.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct DeliveryWindows {
    day: Ring<[u32; counter::COUNT], 8>,
    /// 32-bit hashes of the latest report ids, a ring.
    recent: Vec<u32>,
    next: u8,
}

/// The delivery window's totals at one moment.
pub type DeliveryTotals = [u64; counter::COUNT];

impl DeliveryWindows {
    /// Counts one report (`id_hash`: the report's event-id hash) at `ts`.
    /// Returns false, counting nothing, for a report id seen among the
    /// latest [`RECENT_REPORTS`] of the account.
    pub fn observe(&mut self, id_hash: u64, d: Delivery, ts: i64) -> bool {
        // The high half: the low bits also pick the store's shard.
        let short = (id_hash >> 32) as u32;
        if self.recent.contains(&short) {
            return false;
        }
        if self.recent.len() < RECENT_REPORTS {
            self.recent.push(short);
        } else {
            self.recent[usize::from(self.next)] = short;
            self.next = ((usize::from(self.next) + 1) % RECENT_REPORTS) as u8;
        }
        let Some(b) = self.day.bucket_mut(ts, DAY_BUCKET_MS) else {
            // Older than the window: remembered, not counted.
            return true;
        };
        let state = match d.state {
            DeliveryState::Sent => counter::SENT,
            DeliveryState::Delivered => counter::DELIVERED,
            DeliveryState::Read => counter::READ,
            DeliveryState::Failed => counter::FAILED,
        };
        b[state] = b[state].saturating_add(1);
        if d.state == DeliveryState::Delivered {
            let category = match d.category {
                PricingCategory::Unknown => None,
                PricingCategory::Service => Some(counter::SERVICE),
                PricingCategory::Utility => Some(counter::UTILITY),
                PricingCategory::Marketing => Some(counter::MARKETING),
                PricingCategory::Authentication => Some(counter::AUTHENTICATION),
                PricingCategory::Other => Some(counter::OTHER_CATEGORY),
            };
            if let Some(i) = category {
                b[i] = b[i].saturating_add(1);
            }
            if d.billable {
                b[counter::BILLABLE] = b[counter::BILLABLE].saturating_add(1);
            }
        }
        true
    }

    /// Advances the window to `now_ms` and reads its totals.
    pub fn totals(&mut self, now_ms: i64) -> DeliveryTotals {
        self.day.advance(now_ms, DAY_BUCKET_MS);
        self.day.totals()
    }

    /// Heap bytes held beyond the inline size.
    pub fn heap_bytes(&self) -> usize {
        self.recent.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn d(state: DeliveryState, category: PricingCategory, billable: bool) -> Delivery {
        Delivery {
            state,
            category,
            billable,
        }
    }

    #[test]
    fn reports_count_by_state_and_delivered_ones_by_category() {
        use DeliveryState::*;
        use PricingCategory::*;
        let mut w = DeliveryWindows::default();
        let reports = [
            d(Sent, Service, true),
            d(Delivered, Service, true),
            d(Read, Service, true),
            d(Delivered, Marketing, true),
            d(Delivered, Utility, false),
            d(Delivered, Authentication, true),
            d(Delivered, Other, false),
            d(Delivered, Unknown, false),
            d(Failed, Unknown, false),
        ];
        for (i, r) in reports.into_iter().enumerate() {
            assert!(w.observe(i as u64 * 0x1_0000_0001 + (1 << 40), r, HOUR));
        }
        let t = w.totals(HOUR);
        let want: DeliveryTotals = [1, 6, 1, 1, 1, 1, 1, 1, 1, 3];
        assert_eq!(t, want);
    }

    #[test]
    fn a_retried_report_counts_once_and_an_old_one_leaves_the_window() {
        let mut w = DeliveryWindows::default();
        let r = d(DeliveryState::Delivered, PricingCategory::Service, true);
        assert!(w.observe(7 << 32, r, HOUR));
        assert!(!w.observe(7 << 32, r, HOUR), "same id: dropped");
        // 64 newer reports push it out of the ring: a very late retry counts again.
        for i in 0..RECENT_REPORTS as u64 {
            assert!(w.observe((100 + i) << 32, r, HOUR));
        }
        assert!(w.observe(7 << 32, r, HOUR));
        assert_eq!(w.totals(HOUR)[counter::DELIVERED], 66);
        // A day and more later, the window is empty.
        assert_eq!(w.totals(HOUR + 25 * HOUR)[counter::DELIVERED], 0);
    }
}
