//! Per-account behaviour counters over event-time windows.
//!
//! Three windows: a 1-minute rate window (6 x 10 s), the main 1-hour window
//! (6 x 10 min) that most features read, and a 24-hour window (8 x 3 h) for
//! users, sessions and returning users. Distinct users are linear-counting
//! bitmaps per bucket; topics are a 64-bit mask per bucket. Counts are kept
//! in 16 bits until one passes 65,535 (see [`super::counts`]).

use serde::{Deserialize, Serialize};

use super::conversation::ConversationUpdate;
use super::counts::CountRing;
use super::sketch;
use super::summed::SummedRing;
use super::united::UnitedRing;
use crate::event::{Country, Direction, Event, MessageKind, Sender, TemplateCategory};
use crate::scan::{ScanFacts, MAX_PATTERN_SETS};

/// Bucket width of the 1-minute rate window.
pub const MINUTE_BUCKET_MS: i64 = 10_000;
/// Bucket width of the 1-hour window.
pub const HOUR_BUCKET_MS: i64 = 10 * 60_000;
/// Bucket width of the 24-hour window.
pub const DAY_BUCKET_MS: i64 = 3 * 3_600_000;

/// Upper bounds (ms) of the reply-latency histogram buckets; one more bucket above.
pub const LATENCY_BOUNDS_MS: [u32; 6] = [2_000, 5_000, 10_000, 30_000, 60_000, 300_000];
/// Upper bounds (chars) of the outbound-length histogram buckets.
pub const OUT_LEN_BOUNDS: [u32; 6] = [40, 100, 200, 400, 800, 1_600];
/// Upper bounds (chars) of the inbound-length histogram buckets.
pub const IN_LEN_BOUNDS: [u32; 6] = [20, 50, 100, 200, 400, 800];

/// Counter indexes of the 1-hour window.
pub mod hour {
    /// Inbound messages.
    pub const IN: usize = 0;
    /// Outbound messages.
    pub const OUT: usize = 1;
    /// Outbound messages by a bot.
    pub const OUT_BOT: usize = 2;
    /// Outbound messages by a human agent.
    pub const OUT_HUMAN: usize = 3;
    /// Inbound messages with a length (text or reported).
    pub const IN_TEXT: usize = 4;
    /// Outbound free-form messages with a length.
    pub const OUT_TEXT: usize = 5;
    /// Templates.
    pub const TEMPLATE: usize = 6;
    /// Marketing templates.
    pub const TPL_MARKETING: usize = 7;
    /// Utility templates.
    pub const TPL_UTILITY: usize = 8;
    /// Authentication templates.
    pub const TPL_AUTH: usize = 9;
    /// Interactive messages (buttons, lists).
    pub const INTERACTIVE: usize = 10;
    /// Button replies from users.
    pub const BUTTON_REPLY: usize = 11;
    /// Media messages.
    pub const MEDIA: usize = 12;
    /// Hand-offs to a human.
    pub const HANDOFF: usize = 13;
    /// Outbound messages answering a pending inbound one.
    pub const REPLIES: usize = 14;
    /// First of 7 reply-latency histogram buckets.
    pub const LATENCY: usize = 15;
    /// First of 7 outbound-length histogram buckets.
    pub const OUT_LEN: usize = 22;
    /// First of 7 inbound-length histogram buckets.
    pub const IN_LEN: usize = 29;
    /// Outbound texts with list, heading or code structure.
    pub const OUT_STRUCTURED: usize = 36;
    /// Outbound messages whose text was scanned.
    pub const OUT_SCANNED: usize = 37;
    /// Inbound text messages whose text was scanned (button replies excluded).
    pub const IN_SCANNED: usize = 38;
    /// Sessions started.
    pub const SESSIONS: usize = 39;
    /// Sessions started by returning users.
    pub const RETURNING: usize = 40;
    /// New conversations.
    pub const NEW_CONV: usize = 41;
    /// Scanned inbound texts that raised at least one topic.
    pub const TOPICAL_IN: usize = 42;
    /// First of [`crate::scan::MAX_PATTERN_SETS`] pattern-set hit counters.
    pub const PATTERN: usize = 43;
    /// Number of counters.
    pub const COUNT: usize = PATTERN + crate::scan::MAX_PATTERN_SETS;
}

/// Counter indexes of the 24-hour window.
pub mod day {
    /// Inbound messages.
    pub const IN: usize = 0;
    /// Outbound messages.
    pub const OUT: usize = 1;
    /// Sessions started.
    pub const SESSIONS: usize = 2;
    /// Sessions started by returning users.
    pub const RETURNING: usize = 3;
    /// Hand-offs to a human.
    pub const HANDOFF: usize = 4;
    /// New conversations.
    pub const NEW_CONV: usize = 5;
    /// Templates.
    pub const TEMPLATE: usize = 6;
    /// Number of counters.
    pub const COUNT: usize = 7;
}

/// Behaviour counters of one account.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AccountBehaviour {
    first_ms: i64,
    last_ms: i64,
    minute: CountRing<2, 6>,
    hour: SummedRing<{ hour::COUNT }, 6>,
    day: SummedRing<{ day::COUNT }, 8>,
    users_hour: UnitedRing<2, 6>,
    users_day: UnitedRing<4, 8>,
    topics_hour: UnitedRing<1, 6>,
    countries: [(Country, u32); 4],
}

fn bucket_of(value: u32, bounds: &[u32; 6]) -> usize {
    bounds
        .iter()
        .position(|b| value < *b)
        .unwrap_or(bounds.len())
}

/// Totals of the account's windows at one moment, for feature extraction.
#[derive(Debug, Clone)]
pub struct AccountTotals {
    /// 1-minute window: inbound, outbound.
    pub minute: [u64; 2],
    /// 1-hour window counters, indexed by [`hour`].
    pub hour: [u64; hour::COUNT],
    /// 24-hour window counters, indexed by [`day`].
    pub day: [u64; day::COUNT],
    /// Estimated distinct users, 1 hour.
    pub users_hour: f64,
    /// Estimated distinct users, 24 hours.
    pub users_day: f64,
    /// Distinct topics raised, 1 hour.
    pub topics_hour: u32,
    /// Minutes since the account's first event.
    pub age_min: f64,
}

impl AccountTotals {
    /// Conversation sessions in the 24-hour window.
    pub fn sessions_day(&self) -> u64 {
        self.day[day::SESSIONS]
    }

    /// Estimated distinct users in the 24-hour window, rounded.
    pub fn users_day_rounded(&self) -> u64 {
        self.users_day.round() as u64
    }

    /// Events (both directions) in the 1-hour window.
    pub fn events_hour(&self) -> u64 {
        self.hour[hour::IN] + self.hour[hour::OUT]
    }
}

impl AccountBehaviour {
    // Long because it is one event's effect on every window and counter of
    // the account, in one place (the hot path: no call per counter).
    /// Adds one event. Returns false when the event is older than the
    /// 1-hour window (it is then not counted there).
    pub fn observe(
        &mut self,
        e: &Event,
        conv: &ConversationUpdate,
        scan: &ScanFacts,
        user_hash: u64,
    ) -> bool {
        let ts = e.timestamp_ms;
        if self.first_ms == 0 || ts < self.first_ms {
            self.first_ms = ts;
        }
        self.last_ms = self.last_ms.max(ts);
        let dir_idx = usize::from(e.direction == Direction::Outbound);
        self.minute.add(ts, MINUTE_BUCKET_MS, dir_idx, 1);
        let mut user = [0u64; 2];
        sketch::insert(&mut user, user_hash);
        self.users_hour.set(ts, HOUR_BUCKET_MS, &user);
        let mut user = [0u64; 4];
        sketch::insert(&mut user, user_hash);
        self.users_day.set(ts, DAY_BUCKET_MS, &user);
        if scan.topics != 0 {
            self.topics_hour.set(ts, HOUR_BUCKET_MS, &[scan.topics]);
        }
        if e.direction == Direction::Inbound && e.user_country.is_known() {
            self.count_country(e.user_country);
        }
        if let Some(mut d) = self.day.bucket_mut(ts, DAY_BUCKET_MS) {
            d.add(if dir_idx == 0 { day::IN } else { day::OUT }, 1);
            d.add(day::SESSIONS, u32::from(conv.new_session));
            d.add(day::RETURNING, u32::from(conv.returning));
            d.add(day::HANDOFF, u32::from(e.handoff));
            d.add(day::NEW_CONV, u32::from(conv.new_conversation));
            d.add(day::TEMPLATE, u32::from(e.kind == MessageKind::Template));
        }
        let Some(mut h) = self.hour.bucket_mut(ts, HOUR_BUCKET_MS) else {
            return false;
        };
        let mut inc = |i: usize, yes: bool| h.add(i, u32::from(yes));
        inc(hour::SESSIONS, conv.new_session);
        inc(hour::RETURNING, conv.returning);
        inc(hour::NEW_CONV, conv.new_conversation);
        inc(hour::HANDOFF, e.handoff);
        inc(hour::MEDIA, e.kind == MessageKind::Media);
        match e.direction {
            Direction::Inbound => {
                inc(hour::IN, true);
                inc(hour::BUTTON_REPLY, e.kind == MessageKind::ButtonReply);
                if e.text_len > 0 && e.kind == MessageKind::Text {
                    inc(hour::IN_TEXT, true);
                    inc(hour::IN_LEN + bucket_of(e.text_len, &IN_LEN_BOUNDS), true);
                    inc(hour::IN_SCANNED, scan.scanned);
                    inc(hour::TOPICAL_IN, scan.topics != 0);
                }
            }
            Direction::Outbound => {
                inc(hour::OUT, true);
                inc(
                    hour::OUT_BOT,
                    matches!(e.sender, Sender::Bot | Sender::MetaBusinessAgent),
                );
                inc(hour::OUT_HUMAN, e.sender == Sender::HumanAgent);
                inc(hour::INTERACTIVE, e.kind == MessageKind::Interactive);
                if e.kind == MessageKind::Template {
                    inc(hour::TEMPLATE, true);
                    inc(
                        hour::TPL_MARKETING,
                        e.template_category == Some(TemplateCategory::Marketing),
                    );
                    inc(
                        hour::TPL_UTILITY,
                        e.template_category == Some(TemplateCategory::Utility),
                    );
                    inc(
                        hour::TPL_AUTH,
                        e.template_category == Some(TemplateCategory::Authentication),
                    );
                } else if e.text_len > 0 {
                    inc(hour::OUT_TEXT, true);
                    inc(hour::OUT_LEN + bucket_of(e.text_len, &OUT_LEN_BOUNDS), true);
                    inc(hour::OUT_SCANNED, scan.scanned);
                    inc(hour::OUT_STRUCTURED, scan.structured);
                }
                if let Some(lat) = conv.reply_latency_ms {
                    inc(hour::REPLIES, true);
                    let lat = u32::try_from(lat).unwrap_or(u32::MAX);
                    inc(hour::LATENCY + bucket_of(lat, &LATENCY_BOUNDS_MS), true);
                }
            }
        }
        let mut hits = scan.pattern_hits;
        while hits != 0 {
            let i = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            if i < MAX_PATTERN_SETS {
                inc(hour::PATTERN + i, true);
            }
        }
        true
    }

    /// Misra-Gries heavy hitters over four slots.
    fn count_country(&mut self, c: Country) {
        if let Some(slot) = self.countries.iter_mut().find(|(k, n)| *k == c && *n > 0) {
            slot.1 += 1;
            return;
        }
        if let Some(slot) = self.countries.iter_mut().find(|(_, n)| *n == 0) {
            *slot = (c, 1);
            return;
        }
        for slot in &mut self.countries {
            slot.1 -= 1;
        }
    }

    /// The country most of the account's users are in, if any stands out.
    pub fn main_country(&self) -> Option<Country> {
        self.countries
            .iter()
            .filter(|(_, n)| *n > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(c, _)| *c)
    }

    /// Heap bytes held beyond the inline size: the 32-bit counts of a
    /// window some count of which passed 65,535.
    pub fn heap_bytes(&self) -> usize {
        self.minute.heap_bytes() + self.hour.heap_bytes() + self.day.heap_bytes()
    }

    /// Event time of the latest event.
    pub fn last_ms(&self) -> i64 {
        self.last_ms
    }

    /// Estimated distinct users of the 24-hour window as of the latest
    /// event, rounded: what `totals(last_ms()).users_day_rounded()` gives,
    /// read in place. Every event advances the window to its own time, so
    /// at the latest event's time it is already there: nothing is copied or
    /// advanced (the console sorts 100,000 accounts by it).
    pub fn users_day_at_last(&self) -> u64 {
        sketch::estimate(self.users_day.union()).round() as u64
    }

    /// Advances every window to `now_ms` and reads their totals.
    pub fn totals(&mut self, now_ms: i64) -> AccountTotals {
        self.minute.advance(now_ms, MINUTE_BUCKET_MS);
        self.hour.advance(now_ms, HOUR_BUCKET_MS);
        self.day.advance(now_ms, DAY_BUCKET_MS);
        self.users_hour.advance(now_ms, HOUR_BUCKET_MS);
        self.users_day.advance(now_ms, DAY_BUCKET_MS);
        self.topics_hour.advance(now_ms, HOUR_BUCKET_MS);
        AccountTotals {
            minute: self.minute.totals(),
            hour: self.hour.totals(),
            day: self.day.totals(),
            users_hour: sketch::estimate(self.users_hour.union()),
            users_day: sketch::estimate(self.users_day.union()),
            topics_hour: sketch::popcount(self.topics_hour.union()),
            age_min: now_ms.saturating_sub(self.first_ms).max(0) as f64 / 60_000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bucketing() {
        assert_eq!(bucket_of(0, &OUT_LEN_BOUNDS), 0);
        assert_eq!(bucket_of(39, &OUT_LEN_BOUNDS), 0);
        assert_eq!(bucket_of(40, &OUT_LEN_BOUNDS), 1);
        assert_eq!(bucket_of(5_000, &OUT_LEN_BOUNDS), 6);
    }

    #[test]
    fn main_country_is_the_heavy_hitter() {
        let mut a = AccountBehaviour::default();
        let it = Country::parse("IT").unwrap_or(Country::UNKNOWN);
        for code in ["IT", "ID", "IT", "BR", "IT", "MX", "DE", "IT", "IT"] {
            a.count_country(Country::parse(code).unwrap_or(Country::UNKNOWN));
        }
        assert_eq!(a.main_country(), Some(it));
    }

    fn event(user: u32, ts: i64) -> Event {
        Event {
            event_id: format!("e{user}-{ts}"),
            user_id: format!("u{user}"),
            conversation_id: format!("a:u{user}"),
            ..crate::state::test_event::inbound_text(ts)
        }
    }

    #[test]
    fn users_of_the_day_read_in_place_match_the_advanced_copy() {
        const HOUR: i64 = 3_600_000;
        // (user, event time): in order, a late one, a gap of more than a
        // day that empties the window, one event only.
        let cases: &[&[(u32, i64)]] = &[
            &[(1, 0)],
            &[(1, 0), (2, HOUR), (3, 2 * HOUR), (2, 3 * HOUR)],
            &[(1, 5 * HOUR), (2, 6 * HOUR), (3, HOUR), (4, 6 * HOUR + 1)],
            &[(1, 0), (2, HOUR), (3, 30 * HOUR), (4, 31 * HOUR)],
            &[(1, 0), (2, 23 * HOUR), (3, 25 * HOUR), (5, 47 * HOUR)],
        ];
        for events in cases {
            let mut a = AccountBehaviour::default();
            for &(user, ts) in *events {
                let _ = a.observe(
                    &event(user, ts),
                    &ConversationUpdate::default(),
                    &ScanFacts::default(),
                    0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(u64::from(user) + 1),
                );
            }
            let want = a.clone().totals(a.last_ms()).users_day_rounded();
            assert_eq!(a.users_day_at_last(), want, "{events:?}");
        }
        // The gap case counts only the users of the last day.
        let mut a = AccountBehaviour::default();
        for &(user, ts) in &[(1, 0), (2, HOUR), (3, 30 * HOUR), (4, 31 * HOUR)] {
            let _ = a.observe(
                &event(user, ts),
                &ConversationUpdate::default(),
                &ScanFacts::default(),
                0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(u64::from(user) + 1),
            );
        }
        assert_eq!(a.users_day_at_last(), 2);
    }

    #[test]
    fn account_stays_within_its_memory_budget() {
        // Issue 16's budget is 2 KiB per account, everything included
        // (`cargo bench --bench memory` measures it); the counters are
        // 16-bit until one passes 65,535. 1,568 B: 1,480, plus the 56 B of
        // the three windows' kept unions, plus the 24-hour window's sum
        // (28 B, padded to 32).
        assert!(
            std::mem::size_of::<AccountBehaviour>() <= 1_568,
            "{}",
            std::mem::size_of::<AccountBehaviour>()
        );
        assert_eq!(AccountBehaviour::default().heap_bytes(), 0);
    }

    /// A busy account: 70,000 inbound messages in one 10-second bucket.
    /// Every window counts them all (its counts move to 32 bits on the
    /// way, which is heap the account then holds), and a snapshot of it
    /// reads back the same.
    #[test]
    fn counts_past_16_bits_are_exact() {
        const N: u64 = 70_000;
        let mut a = AccountBehaviour::default();
        let e = event(1, 0);
        let conv = ConversationUpdate {
            new_session: true,
            ..ConversationUpdate::default()
        };
        for _ in 0..N {
            assert!(a.observe(&e, &conv, &ScanFacts::default(), 7));
        }
        assert!(a.heap_bytes() > 0, "the counts widened");
        let t = a.totals(0);
        assert_eq!(t.minute, [N, 0]);
        assert_eq!((t.hour[hour::IN], t.hour[hour::SESSIONS]), (N, N));
        assert_eq!((t.day[day::IN], t.day[day::SESSIONS]), (N, N));
        let bytes = postcard::to_stdvec(&a).expect("encodes");
        let mut back: AccountBehaviour = postcard::from_bytes(&bytes).expect("reads");
        assert_eq!(back.heap_bytes(), a.heap_bytes());
        let u = back.totals(0);
        assert_eq!((u.minute, u.hour, u.day), (t.minute, t.hour, t.day));
    }
}
