//! Scenario traffic as a pool of pre-encoded events, replayed in loops.
//!
//! The scenario is generated once in memory and every event is encoded once
//! as protobuf without its three per-send fields (`event_id`,
//! `timestamp_ms`, `reply_to`). Sending event number `seq` (global over the
//! run) writes those three fields and copies the rest: protobuf fields may
//! come in any order, so the result decodes as the whole `MessageEvent`.
//!
//! * Pool entry `seq % len` is sent in loop `seq / len`. Each loop starts
//!   the loop gap (event time) after the previous one ends, so time never
//!   goes backwards for an account and nothing is late. The default gap,
//!   15 days, is longer than satpam's default idle limits (conversations
//!   26 h, accounts 48 h, accounts with an action in force 14 days): the
//!   first event of a loop makes satpam drop the previous loop's state, so
//!   every loop meets new accounts, the violating ones are detected again
//!   (signals, hence end-to-end latency samples, keep coming) and satpam's
//!   state stays about one loop's worth. A short gap (`--loop-gap 1m`)
//!   continues the accounts instead; once they are acted on, signals are rare.
//! * `event_id` is `wamid.` + 8 hex digits of the run id + 16 hex digits of
//!   `seq`: unique over the run and across runs, the same length as the
//!   scenario's own ids, and a signal's `trigger_event_id` gives back the
//!   sequence number and so the intended send time without any lookup table.
//! * `account_id` carries the run id (`acc-000123-1a2b3c4d`), so a run never
//!   meets the state an earlier run left in a long-running satpam (whose
//!   later event times would make this run's events late). It is the Kafka key.
//! * `reply_to` points at the same loop's copy of the answered event.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::BufMut;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use prost::Message;
use satpam_scenario::Scenario;

/// Length of a generated event id.
const ID_LEN: usize = 30;
const ID_PREFIX: &[u8] = b"wamid.";
/// No reply target.
const NO_REPLY: u32 = u32::MAX;
/// Events per account per hour in the scenario's default mix (measured:
/// 11.5 M events for 2,000 accounts over 24 h).
pub const EVENTS_PER_ACCOUNT_HOUR: f64 = 240.0;

/// The scenario size for a run that plans to send `planned` events: enough
/// accounts to spread over partitions and streams, and at least two hours
/// of event time per loop so accounts get flagged (detection takes ~10 min
/// of event time) even in a short run; the pool is capped at about 1.5 M
/// events (~900 MB with corpus texts) and looped beyond that.
pub fn auto_size(planned: Option<u64>) -> (usize, f64) {
    let target = planned.unwrap_or(u64::MAX).clamp(20_000, 1_500_000) as f64;
    let accounts = (target / 1_000.0).clamp(50.0, 5_000.0);
    let hours = (target / (accounts * EVENTS_PER_ACCOUNT_HOUR)).clamp(2.0, 24.0);
    (accounts.round() as usize, (hours * 100.0).round() / 100.0)
}

/// A random-enough run id: wall clock and process id, mixed.
pub fn new_run_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = DefaultHasher::new();
    (nanos, std::process::id()).hash(&mut h);
    h.finish() as u32
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    body: usize,
    len: u32,
    account: u32,
    ts: i64,
    reply: u32,
}

/// Counts over the pool, for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PoolStats {
    /// Events in one loop.
    pub events: u64,
    /// Accounts.
    pub accounts: u64,
    /// Accounts of a violating archetype (the ones that get signals).
    pub violating_accounts: u64,
    /// Event time one loop covers, hours.
    pub span_hours: f64,
    /// Mean encoded event size, bytes.
    pub mean_event_bytes: f64,
}

/// Pre-encoded scenario events; see the module docs.
pub struct Pool {
    run: u32,
    bodies: Vec<u8>,
    entries: Vec<Entry>,
    /// Account ids with the run id (the Kafka keys).
    accounts: Vec<Vec<u8>>,
    shift_ms: i64,
    stats: PoolStats,
}

impl Pool {
    /// Encodes every event of `scenario` for run `run`; each loop starts
    /// `loop_gap_ms` of event time after the previous one ends.
    pub fn build(scenario: &Scenario, run: u32, loop_gap_ms: i64) -> anyhow::Result<Pool> {
        anyhow::ensure!(
            !scenario.is_empty(),
            "the scenario has no events; give it more accounts or hours"
        );
        let n = scenario.len();
        let mut bodies = Vec::with_capacity(n * 160);
        let mut entries = Vec::with_capacity(n);
        let mut accounts: HashMap<String, u32> = HashMap::new();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        // Event id (hashed) -> pool index, for reply_to.
        let mut index: HashMap<u64, u32> = HashMap::with_capacity(n);
        let hash = |s: &str| {
            let mut h = DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        for (i, mut m) in scenario.events().enumerate() {
            let i = u32::try_from(i).map_err(|_| anyhow::anyhow!("too many events for a pool"))?;
            index.insert(hash(&m.event_id), i);
            let reply = if m.reply_to.is_empty() {
                NO_REPLY
            } else {
                index.get(&hash(&m.reply_to)).copied().unwrap_or(NO_REPLY)
            };
            m.account_id = format!("{}-{run:08x}", m.account_id);
            let next = keys.len() as u32;
            let account = *accounts
                .entry(m.account_id.clone())
                .or_insert_with_key(|id| {
                    keys.push(id.clone().into_bytes());
                    next
                });
            let ts = m.timestamp_ms;
            m.event_id.clear();
            m.reply_to.clear();
            m.timestamp_ms = 0;
            let start = bodies.len();
            m.encode(&mut bodies)?;
            entries.push(Entry {
                body: start,
                len: (bodies.len() - start) as u32,
                account,
                ts,
                reply,
            });
        }
        let first = entries.first().map_or(0, |e| e.ts);
        let last = entries.iter().map(|e| e.ts).max().unwrap_or(first);
        let span = last - first;
        let violating = scenario.labels().iter().filter(|l| l.violating).count();
        let mut pool = Pool {
            run,
            bodies,
            entries,
            accounts: keys,
            shift_ms: span + loop_gap_ms.max(1),
            stats: PoolStats::default(),
        };
        let total: usize = (0..pool.len()).map(|s| pool.encoded_len(s)).sum();
        pool.stats = PoolStats {
            events: pool.len(),
            accounts: pool.accounts.len() as u64,
            violating_accounts: violating as u64,
            span_hours: span as f64 / 3_600_000.0,
            mean_event_bytes: total as f64 / pool.len() as f64,
        };
        Ok(pool)
    }

    /// The run id carried in every event id and account id.
    pub fn run(&self) -> u32 {
        self.run
    }

    /// Events in one loop.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Counts for the report.
    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Number of distinct accounts in one loop.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    fn entry(&self, seq: u64) -> (u64, &Entry) {
        let len = self.len();
        (seq / len, &self.entries[(seq % len) as usize])
    }

    /// Index of the account of event `seq` in its loop (in `0..accounts()`).
    pub fn account_of(&self, seq: u64) -> u32 {
        self.entry(seq).1.account
    }

    /// The Kafka key of event `seq`: its account id.
    pub fn key(&self, seq: u64) -> &[u8] {
        &self.accounts[self.entry(seq).1.account as usize]
    }

    /// Event time of event `seq`, with its loop's shift.
    pub fn timestamp_ms(&self, seq: u64) -> i64 {
        let (lp, e) = self.entry(seq);
        e.ts + lp as i64 * self.shift_ms
    }

    fn reply_seq(&self, seq: u64) -> Option<u64> {
        let (lp, e) = self.entry(seq);
        (e.reply != NO_REPLY).then(|| lp * self.len() + u64::from(e.reply))
    }

    /// Length of the encoding of event `seq`.
    pub fn encoded_len(&self, seq: u64) -> usize {
        let (_, e) = self.entry(seq);
        let id_field = 1 + 1 + ID_LEN;
        let ts = self.timestamp_ms(seq);
        let ts_field = 1 + encoded_len_varint(ts as u64);
        let reply_field = if e.reply == NO_REPLY {
            0
        } else {
            2 + 1 + ID_LEN
        };
        id_field + ts_field + reply_field + e.len as usize
    }

    /// Appends the `satpam.v1.MessageEvent` encoding of event `seq` to `out`.
    pub fn encode(&self, seq: u64, out: &mut impl BufMut) {
        let (_, e) = self.entry(seq);
        encode_key(1, WireType::LengthDelimited, out);
        encode_varint(ID_LEN as u64, out);
        out.put_slice(&event_id_bytes(self.run, seq));
        encode_key(11, WireType::Varint, out);
        encode_varint(self.timestamp_ms(seq) as u64, out);
        if let Some(r) = self.reply_seq(seq) {
            encode_key(16, WireType::LengthDelimited, out);
            encode_varint(ID_LEN as u64, out);
            out.put_slice(&event_id_bytes(self.run, r));
        }
        out.put_slice(&self.bodies[e.body..e.body + e.len as usize]);
    }
}

fn hex(out: &mut [u8], mut v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in out.iter_mut().rev() {
        *b = DIGITS[(v & 0xf) as usize];
        v >>= 4;
    }
}

/// The event id of event `seq` of run `run`.
pub fn event_id_bytes(run: u32, seq: u64) -> [u8; ID_LEN] {
    let mut id = [0u8; ID_LEN];
    id[..ID_PREFIX.len()].copy_from_slice(ID_PREFIX);
    hex(&mut id[6..14], u64::from(run));
    hex(&mut id[14..30], seq);
    id
}

/// The (run, sequence number) an event id was made from, if it is one of ours.
pub fn parse_event_id(id: &str) -> Option<(u32, u64)> {
    let b = id.as_bytes();
    if b.len() != ID_LEN || !b.starts_with(ID_PREFIX) {
        return None;
    }
    let run = u32::from_str_radix(id.get(6..14)?, 16).ok()?;
    let seq = u64::from_str_radix(id.get(14..30)?, 16).ok()?;
    Some((run, seq))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use satpam::pb::v1::MessageEvent;
    use satpam_scenario::{ScenarioConfig, TextBank};

    use super::*;

    fn scenario() -> Scenario {
        let (bank, _) = TextBank::load_or_builtin(None).expect("built-in texts");
        Scenario::generate(
            &ScenarioConfig {
                accounts: 12,
                hours: 1.0,
                ..ScenarioConfig::default()
            },
            Arc::new(bank),
        )
    }

    fn decode(pool: &Pool, seq: u64) -> MessageEvent {
        let mut buf = Vec::new();
        pool.encode(seq, &mut buf);
        assert_eq!(buf.len(), pool.encoded_len(seq), "encoded_len of {seq}");
        MessageEvent::decode(buf.as_slice()).expect("decodes")
    }

    #[test]
    fn ids_round_trip_and_are_scenario_length() {
        let id = event_id_bytes(0x1a2b_3c4d, 0xdead_beef);
        let s = std::str::from_utf8(&id).expect("ascii");
        assert_eq!(s, "wamid.1a2b3c4d00000000deadbeef");
        assert_eq!(parse_event_id(s), Some((0x1a2b_3c4d, 0xdead_beef)));
        // The scenario's own ids have the same shape; the run id tells them
        // apart (a 1 in 2^32 chance of a clash).
        assert_eq!(
            parse_event_id("wamid.0123456789abcdef01234567"),
            Some((0x0123_4567, 0x89ab_cdef_0123_4567))
        );
        assert_eq!(parse_event_id("wamid.1a2b3c4d00000000deadbee"), None);
        assert_eq!(parse_event_id("wamid.zz2b3c4d00000000deadbeef"), None);
    }

    #[test]
    fn encoded_events_are_the_scenario_events_with_run_ids() {
        let sc = scenario();
        let pool = Pool::build(&sc, 7, 60_000).expect("pool");
        assert_eq!(pool.len(), sc.len() as u64);
        assert!(pool.accounts() <= 12);
        let originals: Vec<MessageEvent> = sc.events().collect();
        for (seq, orig) in originals.iter().enumerate().step_by(7) {
            let got = decode(&pool, seq as u64);
            assert_eq!(parse_event_id(&got.event_id), Some((7, seq as u64)));
            assert_eq!(got.account_id, format!("{}-00000007", orig.account_id));
            assert_eq!(pool.key(seq as u64), got.account_id.as_bytes());
            assert_eq!(got.timestamp_ms, orig.timestamp_ms);
            assert_eq!(got.text, orig.text);
            assert_eq!(got.user_id, orig.user_id);
            assert_eq!(got.direction, orig.direction);
            assert_eq!(got.reply_to.is_empty(), orig.reply_to.is_empty());
            if !orig.reply_to.is_empty() {
                // Points at the same loop's copy of the answered event.
                let (_, target) = parse_event_id(&got.reply_to).expect("our id");
                assert_eq!(originals[target as usize].event_id, orig.reply_to);
            }
        }
    }

    #[test]
    fn loops_keep_ids_unique_and_time_moving_forward_per_account() {
        let sc = scenario();
        let day = 86_400_000;
        for gap in [60_000, 15 * day] {
            let pool = Pool::build(&sc, 1, gap).expect("pool");
            let n = pool.len();
            let mut ids = std::collections::HashSet::new();
            let mut last_ts: HashMap<String, i64> = HashMap::new();
            for seq in 0..3 * n {
                let e = decode(&pool, seq);
                assert!(ids.insert(e.event_id.clone()), "id {} repeated", e.event_id);
                assert_eq!(pool.key(seq), e.account_id.as_bytes(), "keyed by account");
                let prev = last_ts.insert(e.account_id.clone(), e.timestamp_ms);
                assert!(
                    prev.is_none_or(|p| p <= e.timestamp_ms),
                    "time went back for {} at {seq}",
                    e.account_id
                );
                if seq >= n && !e.reply_to.is_empty() {
                    let (_, target) = parse_event_id(&e.reply_to).expect("ours");
                    assert_eq!(target / n, seq / n, "reply in the same loop");
                    assert!(target < seq);
                }
            }
            assert_eq!(
                last_ts.len(),
                pool.accounts(),
                "the same accounts every loop"
            );
            // Loop 1 starts the gap after loop 0 ends.
            let end0 = (0..n).map(|s| pool.timestamp_ms(s)).max().expect("events");
            let start1 = (n..2 * n)
                .map(|s| pool.timestamp_ms(s))
                .min()
                .expect("events");
            assert_eq!(start1 - end0, gap);
        }
    }

    #[test]
    fn auto_size_scales_accounts_and_hours_with_the_plan() {
        let (a, h) = auto_size(Some(10_000));
        assert_eq!((a, h), (50, 2.0));
        let (a, h) = auto_size(Some(12_000_000));
        assert_eq!(a, 1_500);
        assert!((4.0..=4.5).contains(&h), "{h}");
        assert_eq!(auto_size(None), auto_size(Some(u64::MAX)));
    }
}
