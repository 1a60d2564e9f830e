//! The aggregate features, `waba.*` and `portfolio.*`: the account windows
//! summed over every number of the event's WABA (or business portfolio),
//! and how many numbers carry the traffic. Filled before the rules run; all
//! zero for an event without one. Both levels are the same block of
//! features ([`Group::slot`]).

use super::catalog::{Group, F, GROUP_FEATURES};
use super::extract::{ratio, FeatureVector, Side};
use crate::state::account::{day, hour};
use crate::state::AccountTotals;

/// What one level's features read.
pub struct GroupInput<'a> {
    /// The aggregate's window totals after the event.
    pub totals: &'a AccountTotals,
    /// Numbers of the aggregate with an event in the last hour.
    pub numbers_active_1h: u32,
    /// Numbers of the aggregate with an event in the last 24 hours.
    pub numbers_active_24h: u32,
}

/// Sets every feature of level `g` in `v` to 0 (an event without one).
pub fn clear_group(g: Group, pattern_sides: &[Side], v: &mut FeatureVector) {
    let first = g.first_slot();
    for slot in first..first + GROUP_FEATURES {
        v.set_slot(slot, 0.0);
    }
    for i in 0..pattern_sides.len() {
        v.set_slot(g.pattern_share_slot(i), 0.0);
    }
}

/// Fills the features of level `g` in `v` from `input`.
pub fn extract_group(
    g: Group,
    input: &GroupInput<'_>,
    pattern_sides: &[Side],
    v: &mut FeatureVector,
) {
    let t = input.totals;
    let mut v = GroupSlots { g, v };
    let h = &t.hour;
    let d = &t.day;
    v.set(F::WabaNumbersActive1h, f64::from(input.numbers_active_1h));
    v.set(F::WabaNumbersActive24h, f64::from(input.numbers_active_24h));
    v.set(F::WabaInbound1h, h[hour::IN] as f64);
    v.set(F::WabaOutbound1h, h[hour::OUT] as f64);
    v.set(F::WabaScannedIn1h, h[hour::IN_SCANNED] as f64);
    v.set(F::WabaScannedOut1h, h[hour::OUT_SCANNED] as f64);
    v.set(F::WabaUsers1h, t.users_hour);
    v.set(F::WabaUsers24h, t.users_day);
    v.set(F::WabaSessions24h, d[day::SESSIONS] as f64);
    v.set(F::WabaTopics1h, f64::from(t.topics_hour));
    v.set(
        F::WabaTopicalShare,
        ratio(h[hour::TOPICAL_IN], h[hour::IN_SCANNED]),
    );
    v.set(
        F::WabaTurnsPerSession,
        ratio(h[hour::IN], h[hour::SESSIONS]),
    );
    v.set(F::WabaBotShare, ratio(h[hour::OUT_BOT], h[hour::OUT]));
    v.set(F::WabaHandoffRate, ratio(d[day::HANDOFF], d[day::SESSIONS]));
    v.set(
        F::WabaReturningShare24h,
        ratio(d[day::RETURNING], d[day::SESSIONS]),
    );
    v.set(
        F::WabaTextShare,
        ratio(h[hour::IN_SCANNED], h[hour::IN_TEXT]),
    );
    // Buckets 4.. of the length histogram: 400+ characters, as for the account.
    let long: u64 = h[hour::OUT_LEN + 4..hour::OUT_LEN + 7].iter().sum();
    v.set(F::WabaLongReplyShare, ratio(long, h[hour::OUT_TEXT]));
    v.set(
        F::WabaEventsPerNumber1h,
        ratio(
            h[hour::IN] + h[hour::OUT],
            u64::from(input.numbers_active_1h),
        ),
    );
    v.set(F::WabaTemplateShare, ratio(h[hour::TEMPLATE], h[hour::OUT]));
    v.set(
        F::WabaMarketingShare,
        ratio(h[hour::TPL_MARKETING], h[hour::TEMPLATE]),
    );
    v.set(
        F::WabaUtilityShare,
        ratio(h[hour::TPL_UTILITY], h[hour::TEMPLATE]),
    );
    v.set(
        F::WabaAuthShare,
        ratio(h[hour::TPL_AUTH], h[hour::TEMPLATE]),
    );
    for (i, side) in pattern_sides.iter().enumerate() {
        let den = match side {
            Side::Inbound => h[hour::IN_SCANNED],
            Side::Outbound => h[hour::OUT_SCANNED],
        };
        v.v.set_slot(g.pattern_share_slot(i), ratio(h[hour::PATTERN + i], den));
    }
}

/// A feature vector written through level `g`'s block: `set(F::Waba*, x)`
/// writes the level's twin of the `waba.*` feature.
struct GroupSlots<'a> {
    g: Group,
    v: &'a mut FeatureVector,
}

impl GroupSlots<'_> {
    fn set(&mut self, f: F, x: f64) {
        self.v.set_slot(self.g.slot(f), x);
    }
}
