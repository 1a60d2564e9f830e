//! Fills a [`FeatureVector`] from one event and the state it updated.

use super::catalog::{pattern_msg_slot, pattern_share_slot, F, MAX_FEATURES};
use crate::event::{Direction, Event, MessageKind, Sender};
use crate::scan::ScanFacts;
use crate::state::account::{hour, IN_LEN_BOUNDS, LATENCY_BOUNDS_MS, OUT_LEN_BOUNDS};
use crate::state::{AccountTotals, ConversationUpdate, ConversationView};

/// Which side of the conversation a pattern set is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// User messages.
    Inbound,
    /// Business messages.
    Outbound,
}

/// The features of one event, by slot. Lives in per-thread scratch.
#[derive(Clone)]
pub struct FeatureVector {
    values: [f64; MAX_FEATURES],
}

impl Default for FeatureVector {
    fn default() -> Self {
        FeatureVector {
            values: [0.0; MAX_FEATURES],
        }
    }
}

impl FeatureVector {
    /// All slots.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// One slot's value (0 for an unknown slot).
    pub fn get(&self, slot: u16) -> f64 {
        self.values.get(usize::from(slot)).copied().unwrap_or(0.0)
    }

    pub(super) fn set(&mut self, f: F, v: f64) {
        self.values[f as usize] = v;
    }

    pub(super) fn set_slot(&mut self, slot: usize, v: f64) {
        if let Some(x) = self.values.get_mut(slot) {
            *x = v;
        }
    }
}

pub(super) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn b(v: bool) -> f64 {
    f64::from(u8::from(v))
}

/// The `q` quantile of a 7-bucket histogram with the given upper bounds,
/// interpolated linearly inside the bucket; the last bucket ends at `top`.
pub fn histogram_quantile(hist: &[u64], bounds: &[u32; 6], top: f64, q: f64) -> f64 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let target = q * total as f64;
    // Counts are summed as integers: below 2^53 every partial sum is exact
    // in f64 too, so this finds the bucket (and the value) a sum in f64
    // would, with one conversion per bucket passed instead of two.
    let mut cum = 0u64;
    for (i, &n) in hist.iter().enumerate() {
        let next = cum + n;
        if n > 0 && next as f64 >= target {
            let lo = if i == 0 {
                0.0
            } else {
                f64::from(bounds[i - 1])
            };
            let hi = bounds.get(i).map_or(top, |v| f64::from(*v));
            return lo + (target - cum as f64) / n as f64 * (hi - lo);
        }
        cum = next;
    }
    top
}

/// The pace of the answers: the median reply length (characters) over the
/// median reply latency (seconds), 0 without replies, at most
/// [`MAX_REPLY_CHARS_PER_S`]. WhatsApp cannot stream, so a model's whole
/// answer arrives at once, at 50-400 characters per second of latency; a
/// person types under 10. A latency under half a second counts as half a
/// second (the histogram's first bucket spans 0-2 s).
pub fn reply_chars_per_s(out_len_p50: f64, latency_p50_s: f64, replies: u64) -> f64 {
    if replies == 0 || out_len_p50 <= 0.0 {
        return 0.0;
    }
    (out_len_p50 / latency_p50_s.max(0.5)).min(MAX_REPLY_CHARS_PER_S)
}

/// The cap of `account.reply_chars_per_s`.
pub const MAX_REPLY_CHARS_PER_S: f64 = 1_000.0;

/// Everything feature extraction reads.
pub struct ExtractInput<'a> {
    /// The event.
    pub event: &'a Event,
    /// What the event changed in its conversation.
    pub conv_update: &'a ConversationUpdate,
    /// The conversation after the event.
    pub conv: &'a ConversationView,
    /// The account's window totals after the event.
    pub totals: &'a AccountTotals,
    /// What the text scan found.
    pub scan: &'a ScanFacts,
    /// The side of each pattern set of the rule set, in slot order.
    pub pattern_sides: &'a [Side],
}

/// Fills `v` from `input`.
pub fn extract(input: &ExtractInput<'_>, v: &mut FeatureVector) {
    let e = input.event;
    let inbound = e.direction == Direction::Inbound;
    v.set(F::MsgInbound, b(inbound));
    v.set(F::MsgOutbound, b(!inbound));
    v.set(F::MsgTextLen, f64::from(e.text_len));
    v.set(F::MsgHasText, b(input.scan.scanned));
    v.set(F::MsgTemplate, b(e.kind == MessageKind::Template));
    v.set(F::MsgInteractive, b(e.kind == MessageKind::Interactive));
    v.set(
        F::MsgBot,
        b(!inbound && matches!(e.sender, Sender::Bot | Sender::MetaBusinessAgent)),
    );
    v.set(F::MsgHuman, b(!inbound && e.sender == Sender::HumanAgent));
    v.set(F::MsgStructured, b(input.scan.structured));
    v.set(F::MsgTopics, f64::from(input.scan.topics.count_ones()));
    v.set(
        F::MsgReplyLatencyS,
        input
            .conv_update
            .reply_latency_ms
            .map_or(0.0, |ms| ms as f64 / 1_000.0),
    );

    let c = input.conv;
    v.set(F::ConvTurns, f64::from(c.turns));
    v.set(F::ConvInbound, f64::from(c.inbound));
    v.set(F::ConvOutbound, f64::from(c.outbound));
    v.set(F::ConvTopics, f64::from(c.topics));
    v.set(F::ConvAgeMin, c.age_min);
    v.set(F::ConvHandedOff, b(c.handed_off));

    for i in 0..input.pattern_sides.len() {
        v.values[pattern_msg_slot(i)] = b(input.scan.pattern_hits & (1 << i) != 0);
    }
    extract_account(input.totals, input.pattern_sides, v);
}

// Long because it is a table: one line per account feature of the catalog.
/// Fills the `account.*` features of `v` (the windows, and each pattern
/// set's share) from the account's window `totals` alone: what
/// `Admin.GetAccount` and the compliance report show, with no event.
pub fn extract_account(t: &AccountTotals, pattern_sides: &[Side], v: &mut FeatureVector) {
    let h = &t.hour;
    let d = &t.day;
    v.set(F::AccInbound1h, h[hour::IN] as f64);
    v.set(F::AccOutbound1h, h[hour::OUT] as f64);
    v.set(F::AccInboundText1h, h[hour::IN_TEXT] as f64);
    v.set(F::AccOutboundText1h, h[hour::OUT_TEXT] as f64);
    v.set(F::AccScannedIn1h, h[hour::IN_SCANNED] as f64);
    v.set(F::AccScannedOut1h, h[hour::OUT_SCANNED] as f64);
    v.set(F::AccInboundPerMin, t.minute[0] as f64);
    v.set(F::AccOutboundPerMin, t.minute[1] as f64);
    v.set(F::AccUsers1h, t.users_hour);
    v.set(F::AccUsers24h, t.users_day);
    v.set(
        F::AccSessions24h,
        d[crate::state::account::day::SESSIONS] as f64,
    );
    v.set(
        F::AccNewConversations24h,
        d[crate::state::account::day::NEW_CONV] as f64,
    );
    v.set(
        F::AccReturningShare24h,
        ratio(
            d[crate::state::account::day::RETURNING],
            d[crate::state::account::day::SESSIONS],
        ),
    );
    v.set(
        F::AccRepliesPerInbound,
        ratio(h[hour::REPLIES], h[hour::IN]),
    );
    v.set(F::AccBotShare, ratio(h[hour::OUT_BOT], h[hour::OUT]));
    v.set(F::AccHumanShare, ratio(h[hour::OUT_HUMAN], h[hour::OUT]));
    let lat = &h[hour::LATENCY..hour::LATENCY + 7];
    let latency_p50_s = histogram_quantile(lat, &LATENCY_BOUNDS_MS, 1_800_000.0, 0.5) / 1_000.0;
    v.set(F::AccReplyLatencyP50S, latency_p50_s);
    v.set(
        F::AccFastReplyShare,
        ratio(lat[0] + lat[1] + lat[2], h[hour::REPLIES]),
    );
    let out_len = &h[hour::OUT_LEN..hour::OUT_LEN + 7];
    let out_len_p50 = histogram_quantile(out_len, &OUT_LEN_BOUNDS, 4_096.0, 0.5);
    v.set(F::AccOutLenP50, out_len_p50);
    v.set(
        F::AccReplyCharsPerS,
        reply_chars_per_s(out_len_p50, latency_p50_s, h[hour::REPLIES]),
    );
    v.set(
        F::AccOutLenP90,
        histogram_quantile(out_len, &OUT_LEN_BOUNDS, 4_096.0, 0.9),
    );
    v.set(
        F::AccLongReplyShare,
        ratio(out_len[4] + out_len[5] + out_len[6], h[hour::OUT_TEXT]),
    );
    v.set(
        F::AccVeryLongReplyShare,
        ratio(out_len[5] + out_len[6], h[hour::OUT_TEXT]),
    );
    let in_len = &h[hour::IN_LEN..hour::IN_LEN + 7];
    v.set(
        F::AccInLenP50,
        histogram_quantile(in_len, &IN_LEN_BOUNDS, 4_096.0, 0.5),
    );
    v.set(
        F::AccLongPromptShare,
        ratio(in_len[3..].iter().sum(), h[hour::IN_TEXT]),
    );
    v.set(
        F::AccStructuredShare,
        ratio(h[hour::OUT_STRUCTURED], h[hour::OUT_SCANNED]),
    );
    v.set(F::AccTemplateShare, ratio(h[hour::TEMPLATE], h[hour::OUT]));
    v.set(
        F::AccMarketingShare,
        ratio(h[hour::TPL_MARKETING], h[hour::TEMPLATE]),
    );
    v.set(
        F::AccUtilityShare,
        ratio(h[hour::TPL_UTILITY], h[hour::TEMPLATE]),
    );
    v.set(F::AccAuthShare, ratio(h[hour::TPL_AUTH], h[hour::TEMPLATE]));
    v.set(
        F::AccInteractiveShare,
        ratio(h[hour::INTERACTIVE], h[hour::OUT]),
    );
    v.set(
        F::AccButtonReplyShare,
        ratio(h[hour::BUTTON_REPLY], h[hour::IN]),
    );
    v.set(
        F::AccMediaShare,
        ratio(h[hour::MEDIA], h[hour::IN] + h[hour::OUT]),
    );
    v.set(
        F::AccHandoffRate,
        ratio(
            d[crate::state::account::day::HANDOFF],
            d[crate::state::account::day::SESSIONS],
        ),
    );
    v.set(
        F::AccHandoffs24h,
        d[crate::state::account::day::HANDOFF] as f64,
    );
    v.set(F::AccTurnsPerSession, ratio(h[hour::IN], h[hour::SESSIONS]));
    v.set(F::AccTopics1h, f64::from(t.topics_hour));
    v.set(
        F::AccTopicalShare,
        ratio(h[hour::TOPICAL_IN], h[hour::IN_SCANNED]),
    );
    v.set(
        F::AccTextShare,
        ratio(h[hour::IN_SCANNED], h[hour::IN_TEXT]),
    );
    v.set(F::AccAgeMin, t.age_min);

    for (i, side) in pattern_sides.iter().enumerate() {
        let den = match side {
            Side::Inbound => h[hour::IN_SCANNED],
            Side::Outbound => h[hour::OUT_SCANNED],
        };
        v.values[pattern_share_slot(i)] = ratio(h[hour::PATTERN + i], den);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let bounds = [10, 20, 30, 40, 50, 60];
        let hist = [0, 10, 0, 0, 0, 0, 0];
        assert_eq!(histogram_quantile(&hist, &bounds, 100.0, 0.5), 15.0);
        let hist = [5, 0, 0, 0, 0, 0, 5];
        assert_eq!(histogram_quantile(&hist, &bounds, 100.0, 0.5), 10.0);
        assert_eq!(
            histogram_quantile(&hist, &bounds, 100.0, 0.9),
            60.0 + 0.8 * 40.0
        );
        assert_eq!(histogram_quantile(&[0; 7], &bounds, 100.0, 0.5), 0.0);
    }

    /// The quantile as it was first written, summing in f64: the
    /// reference the integer sums must equal to the bit.
    fn quantile_summed_in_f64(hist: &[u64], bounds: &[u32; 6], top: f64, q: f64) -> f64 {
        let total: u64 = hist.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = q * total as f64;
        let mut cum = 0.0;
        for (i, &n) in hist.iter().enumerate() {
            let lo = if i == 0 {
                0.0
            } else {
                f64::from(bounds[i - 1])
            };
            let hi = bounds.get(i).map_or(top, |v| f64::from(*v));
            let n = n as f64;
            if n > 0.0 && cum + n >= target {
                return lo + (target - cum) / n * (hi - lo);
            }
            cum += n;
        }
        top
    }

    proptest::proptest! {
        /// Every quantile the features read, of any histogram (sparse ones
        /// and counts past 32 bits included), equals the f64-summed
        /// reference to the bit.
        #[test]
        fn integer_sums_give_the_f64_sums_quantile(
            hist in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(0u64),
                    0u64..20,
                    0u64..70_000,
                    0u64..(1 << 40),
                ],
                7,
            ),
            q in proptest::prop_oneof![
                proptest::prelude::Just(0.5),
                proptest::prelude::Just(0.9),
                0.0f64..=1.0,
            ],
        ) {
            for (bounds, top) in [
                (&LATENCY_BOUNDS_MS, 1_800_000.0),
                (&OUT_LEN_BOUNDS, 4_096.0),
                (&IN_LEN_BOUNDS, 4_096.0),
            ] {
                let got = histogram_quantile(&hist, bounds, top, q);
                let want = quantile_summed_in_f64(&hist, bounds, top, q);
                proptest::prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?} q={}", hist, q);
            }
        }
    }

    #[test]
    fn reply_pace_separates_typing_from_writing_a_whole_answer() {
        // (median reply length, median latency s, replies, pace)
        let table: &[(f64, f64, u64, f64)] = &[
            (0.0, 0.0, 0, 0.0),                      // no replies
            (900.0, 20.0, 0, 0.0),                   // no replies counted: nothing to pace
            (0.0, 12.0, 5, 0.0),                     // replies without text (media)
            (150.0, 200.0, 10, 0.75),                // a person at a desk
            (300.0, 60.0, 10, 5.0),                  // a fast typist
            (1_200.0, 24.0, 10, 50.0),               // a model writing the whole answer
            (800.0, 0.2, 10, MAX_REPLY_CHARS_PER_S), // sub-second: 0.5 s, 1,600/s, capped
            (400.0, 0.2, 10, 800.0),                 // sub-second counts as 0.5 s
            (100_000.0, 1.0, 10, MAX_REPLY_CHARS_PER_S),
        ];
        for &(len, lat, n, want) in table {
            assert_eq!(
                reply_chars_per_s(len, lat, n),
                want,
                "{len} chars in {lat} s over {n}"
            );
        }
    }

    #[test]
    fn the_pace_feature_reads_the_windows() {
        let mut t = AccountTotals {
            minute: [0; 2],
            hour: [0; crate::state::account::hour::COUNT],
            day: [0; crate::state::account::day::COUNT],
            users_hour: 0.0,
            users_day: 0.0,
            topics_hour: 0,
            age_min: 0.0,
        };
        let mut v = FeatureVector::default();
        extract_account(&t, &[], &mut v);
        assert_eq!(v.get(F::AccReplyCharsPerS as u16), 0.0);
        // Ten replies of 800-1,600 chars (median 1,200), each 10-30 s late (median 20 s).
        t.hour[hour::OUT] = 10;
        t.hour[hour::OUT_TEXT] = 10;
        t.hour[hour::REPLIES] = 10;
        t.hour[hour::OUT_LEN + 5] = 10;
        t.hour[hour::LATENCY + 3] = 10;
        extract_account(&t, &[], &mut v);
        assert_eq!(v.get(F::AccOutLenP50 as u16), 1_200.0);
        assert_eq!(v.get(F::AccReplyLatencyP50S as u16), 20.0);
        assert_eq!(v.get(F::AccReplyCharsPerS as u16), 60.0);
        // The same replies, 5-30 min late: a person's pace.
        t.hour[hour::LATENCY + 3] = 0;
        t.hour[hour::LATENCY + 6] = 10;
        extract_account(&t, &[], &mut v);
        assert!(v.get(F::AccReplyCharsPerS as u16) < 2.0);
    }
}
