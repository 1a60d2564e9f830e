//! The numbers of one WABA (or portfolio): which phone numbers carry its
//! traffic, when each was last active and its events over 24 hours, in a
//! bounded table that every event of the aggregate reads.

use std::mem::size_of;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::account::DAY_BUCKET_MS;
use crate::state::window::Ring;

/// Numbers one WABA entry tracks; beyond it the least recently active
/// number is replaced (so `waba.numbers_active_*` saturate here).
pub const MAX_NUMBERS_PER_WABA: usize = 128;

/// One number of a WABA as snapshots and state-topic chunks write it: its
/// id, when it was last active, its events over 24 hours. In memory the
/// fields live apart (see [`WabaNumbers`]); this is only the wire shape.
#[derive(Serialize, Deserialize)]
struct NumberStat {
    account_id: Box<str>,
    hash: u64,
    last_ms: i64,
    day: Ring<[u32; 1], 8>,
}

/// [`NumberStat`] borrowed from a [`WabaNumbers`], to write the same
/// bytes without copying an id.
#[derive(Serialize)]
#[serde(rename = "NumberStat")]
struct NumberStatRef<'a> {
    account_id: &'a str,
    hash: u64,
    last_ms: i64,
    day: &'a Ring<[u32; 1], 8>,
}

/// The wire shape of [`WabaNumbers`], written from borrowed numbers.
#[derive(Serialize)]
#[serde(rename = "WabaNumbers")]
struct WabaNumbersRef<'a> {
    numbers: Vec<NumberStatRef<'a>>,
}

/// The wire shape of [`WabaNumbers`], read back.
#[derive(Deserialize)]
#[serde(rename = "WabaNumbers")]
struct WabaNumbersWire {
    numbers: Vec<NumberStat>,
}

/// The numbers of one WABA, at most [`MAX_NUMBERS_PER_WABA`].
///
/// Every event of the WABA looks its number up by hash and counts the
/// numbers active in the last hour and day, so the hashes and last-active
/// times are kept in arrays of their own: 16 bytes a number to scan, where
/// one record of every field was 72 (a portfolio of 128 numbers read 144
/// cache lines per event; now 32). The id and the 24-hour counts, read on
/// a hash match or when a signal is written, sit in a third array, in the
/// same order. Written and read as one record per number, as before.
#[derive(Clone, Default)]
pub struct WabaNumbers {
    hashes: Vec<u64>,
    last_ms: Vec<i64>,
    detail: Vec<NumberDetail>,
}

/// What is read of a number only on a hash match or for a signal.
#[derive(Clone)]
struct NumberDetail {
    account_id: Box<str>,
    day: Ring<[u32; 1], 8>,
}

impl WabaNumbers {
    /// Counts an event of number `account_id` (`hash`: its xxh3-64) at
    /// `ts`. Allocates only for a number new to the WABA.
    pub fn observe(&mut self, account_id: &str, hash: u64, ts: i64) {
        let found = self
            .hashes
            .iter()
            .zip(&self.detail)
            .position(|(h, d)| *h == hash && &*d.account_id == account_id);
        let i = match found {
            Some(i) => i,
            None => {
                let fresh = NumberDetail {
                    account_id: account_id.into(),
                    day: Ring::default(),
                };
                if self.hashes.len() < MAX_NUMBERS_PER_WABA {
                    self.hashes.push(hash);
                    self.last_ms.push(ts);
                    self.detail.push(fresh);
                    self.hashes.len() - 1
                } else {
                    // The least recently active number (then the smaller
                    // hash) makes room: deterministic on event time.
                    let Some(i) = self
                        .last_ms
                        .iter()
                        .zip(&self.hashes)
                        .enumerate()
                        .min_by_key(|(_, (last, hash))| (**last, **hash))
                        .map(|(i, _)| i)
                    else {
                        return;
                    };
                    self.hashes[i] = hash;
                    self.last_ms[i] = ts;
                    self.detail[i] = fresh;
                    i
                }
            }
        };
        if let Some(last) = self.last_ms.get_mut(i) {
            *last = (*last).max(ts);
        }
        if let Some(d) = self.detail.get_mut(i) {
            d.day.add(ts, DAY_BUCKET_MS, 0, 1);
        }
    }

    /// Numbers with an event after `since_ms`.
    pub fn active_since(&self, since_ms: i64) -> u32 {
        // A sum of 0s and 1s over one array: the compiler vectorises it
        // (a filtered count it did not).
        self.last_ms.iter().map(|&t| u32::from(t > since_ms)).sum()
    }

    /// Every tracked number.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether no number is tracked.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The ids of the numbers kept (at most [`MAX_NUMBERS_PER_WABA`]).
    pub fn account_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.detail.iter().map(|n| &*n.account_id)
    }

    /// The `n` busiest numbers over the 24 hours before `now_ms`, with
    /// their events, busiest first (ties: by id). Allocates: read it when
    /// a signal is written, not per event.
    pub fn top(&self, now_ms: i64, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .detail
            .iter()
            .map(|s| {
                let mut day = s.day.clone();
                day.advance(now_ms, DAY_BUCKET_MS);
                (s.account_id.to_string(), day.total(0))
            })
            .filter(|(_, events)| *events > 0)
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// Heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * size_of::<u64>()
            + self.last_ms.capacity() * size_of::<i64>()
            + self.detail.capacity() * size_of::<NumberDetail>()
            + self
                .detail
                .iter()
                .map(|n| n.account_id.len())
                .sum::<usize>()
    }
}

/// Written as one record per number, in order (the bytes of the
/// record-per-number layout it replaced).
impl Serialize for WabaNumbers {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        WabaNumbersRef {
            numbers: self
                .hashes
                .iter()
                .zip(&self.last_ms)
                .zip(&self.detail)
                .map(|((&hash, &last_ms), d)| NumberStatRef {
                    account_id: &d.account_id,
                    hash,
                    last_ms,
                    day: &d.day,
                })
                .collect(),
        }
        .serialize(s)
    }
}

/// Read as one record per number.
impl<'de> Deserialize<'de> for WabaNumbers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WabaNumbersWire::deserialize(d)?;
        let mut out = WabaNumbers {
            hashes: Vec::with_capacity(wire.numbers.len()),
            last_ms: Vec::with_capacity(wire.numbers.len()),
            detail: Vec::with_capacity(wire.numbers.len()),
        };
        for n in wire.numbers {
            out.hashes.push(n.hash);
            out.last_ms.push(n.last_ms);
            out.detail.push(NumberDetail {
                account_id: n.account_id,
                day: n.day,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The record-per-number table this one replaced, kept as the
    /// reference: same answers, same bytes.
    #[derive(Clone, Default, Serialize)]
    #[serde(rename = "WabaNumbers")]
    struct Records {
        numbers: Vec<NumberStat>,
    }

    impl Clone for NumberStat {
        fn clone(&self) -> Self {
            NumberStat {
                account_id: self.account_id.clone(),
                hash: self.hash,
                last_ms: self.last_ms,
                day: self.day.clone(),
            }
        }
    }

    impl Records {
        fn observe(&mut self, account_id: &str, hash: u64, ts: i64) {
            let found = self
                .numbers
                .iter()
                .position(|n| n.hash == hash && &*n.account_id == account_id);
            let i = match found {
                Some(i) => i,
                None => {
                    let fresh = NumberStat {
                        account_id: account_id.into(),
                        hash,
                        last_ms: ts,
                        day: Ring::default(),
                    };
                    if self.numbers.len() < MAX_NUMBERS_PER_WABA {
                        self.numbers.push(fresh);
                        self.numbers.len() - 1
                    } else {
                        let i = self
                            .numbers
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, n)| (n.last_ms, n.hash))
                            .map(|(i, _)| i)
                            .expect("full");
                        self.numbers[i] = fresh;
                        i
                    }
                }
            };
            let n = &mut self.numbers[i];
            n.last_ms = n.last_ms.max(ts);
            n.day.add(ts, DAY_BUCKET_MS, 0, 1);
        }

        fn active_since(&self, since_ms: i64) -> u32 {
            self.numbers.iter().filter(|n| n.last_ms > since_ms).count() as u32
        }
    }

    /// A number id and a hash for it; `collide` gives two ids one hash.
    fn number(i: u16, collide: bool) -> (String, u64) {
        let hash = if collide {
            u64::from(i / 2)
        } else {
            xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes())
        };
        (format!("628{i:09}"), hash)
    }

    const HOUR: i64 = 3_600_000;

    proptest! {
        /// Any events of up to 160 numbers (past the cap of 128, so the
        /// least recently active ones make room), at times going back and
        /// forth over two days, with hashes that collide or not: the
        /// split table answers as the records did after every event and
        /// writes their bytes (postcard, the snapshot codec, and JSON),
        /// and reads them back to the same table.
        #[test]
        fn the_split_table_is_the_record_table(
            // Whole minutes, so that last-active times tie often.
            events in proptest::collection::vec((0u16..160, (-60i64..2_880).prop_map(|m| m * 60_000)), 0..400),
            collide in any::<bool>(),
        ) {
            let mut split = WabaNumbers::default();
            let mut records = Records::default();
            for (n, ts) in events {
                let (id, hash) = number(n, collide);
                split.observe(&id, hash, ts);
                records.observe(&id, hash, ts);
                for since in [ts - HOUR, ts - 24 * HOUR] {
                    prop_assert_eq!(split.active_since(since), records.active_since(since));
                }
                prop_assert_eq!(split.len(), records.numbers.len());
            }
            let now = 48 * HOUR;
            let ids: Vec<&str> = records.numbers.iter().map(|n| &*n.account_id).collect();
            prop_assert_eq!(split.account_ids().collect::<Vec<_>>(), ids);
            let top: Vec<(String, u64)> = {
                let mut all: Vec<(String, u64)> = records
                    .numbers
                    .iter()
                    .map(|s| {
                        let mut day = s.day.clone();
                        day.advance(now, DAY_BUCKET_MS);
                        (s.account_id.to_string(), day.total(0))
                    })
                    .filter(|(_, e)| *e > 0)
                    .collect();
                all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                all.truncate(20);
                all
            };
            prop_assert_eq!(split.top(now, 20), top);
            let bytes = postcard::to_stdvec(&split).expect("encode");
            prop_assert_eq!(&bytes, &postcard::to_stdvec(&records).expect("encode"));
            prop_assert_eq!(
                serde_json::to_string(&split).expect("json"),
                serde_json::to_string(&records).expect("json")
            );
            let back: WabaNumbers = postcard::from_bytes(&bytes).expect("decode");
            prop_assert_eq!(postcard::to_stdvec(&back).expect("encode"), bytes);
            prop_assert_eq!(back.active_since(now - HOUR), split.active_since(now - HOUR));
        }
    }

    #[test]
    fn a_full_table_replaces_the_least_recently_active_number_then_the_smaller_hash() {
        let mut t = WabaNumbers::default();
        for i in 0..MAX_NUMBERS_PER_WABA {
            // Two numbers share the oldest time; the one of smaller hash goes.
            let ts = if i < 2 { 1_000 } else { 2_000 + i as i64 };
            t.observe(&format!("n{i}"), 1_000 - i as u64, ts);
        }
        assert_eq!(t.len(), MAX_NUMBERS_PER_WABA);
        t.observe("new", 7, 10_000);
        assert_eq!(t.len(), MAX_NUMBERS_PER_WABA);
        let ids: Vec<&str> = t.account_ids().collect();
        assert!(
            ids.contains(&"n0"),
            "n0 has the larger hash of the two oldest"
        );
        assert!(!ids.contains(&"n1"));
        assert_eq!(ids[1], "new");
        assert_eq!(t.active_since(9_999), 1);
        assert_eq!(t.active_since(0), MAX_NUMBERS_PER_WABA as u32);
    }
}
