//! A ring of counters kept in 16 bits while every count fits, and in 32
//! bits once one does not: the same counts as a [`Ring`] of `u32`, in half
//! the memory for all but the busiest accounts.
//!
//! An account's windows hold counts per bucket (10 s, 10 min, 3 h). Almost
//! every count stays far below 65,536: an account reaches it in a
//! 10-minute bucket at 109 events a second, for one counter. A
//! [`CountRing`] starts narrow (`u16`) and, the first time a count would
//! pass `u16::MAX`, copies itself into a boxed ring of `u32` (1.2 KiB more
//! for the account's 1-hour window) and counts there from then on. Every
//! count, every total and every serialized byte is what a `u32` ring fed
//! the same events gives: the narrow form is a storage detail.
//!
//! A `CountRing` serializes as the `u32` ring it stands for, so snapshots
//! and state-topic chunks are the bytes a [`Ring`] of `u32` writes; it is
//! read back narrow when every count fits.

use std::mem::size_of;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::window::Ring;

/// `N` counters in `B` buckets, `u16` while they fit (see the module).
#[derive(Clone)]
pub struct CountRing<const N: usize, const B: usize> {
    /// The ring while every count fits in 16 bits; stale once `wide` is set.
    narrow: Ring<[u16; N], B>,
    /// The ring once a count passed `u16::MAX`.
    wide: Option<Box<Ring<[u32; N], B>>>,
}

impl<const N: usize, const B: usize> Default for CountRing<N, B> {
    fn default() -> Self {
        CountRing {
            narrow: Ring::default(),
            wide: None,
        }
    }
}

/// One bucket of a [`CountRing`], open for counting.
pub struct CountBucket<'a, const N: usize, const B: usize> {
    ring: &'a mut CountRing<N, B>,
    slot: usize,
}

impl<const N: usize, const B: usize> CountBucket<'_, N, B> {
    /// Adds `by` to counter `i`, saturating at `u32::MAX` as a `u32` ring
    /// does; returns what the counter gained (`by`, less what saturation
    /// kept out).
    #[inline(always)]
    pub fn add(&mut self, i: usize, by: u32) -> u32 {
        if self.ring.wide.is_none() {
            let c = &mut self.ring.narrow.buckets_mut()[self.slot][i];
            if let Ok(v) = u16::try_from(u32::from(*c).saturating_add(by)) {
                *c = v;
                return by;
            }
        }
        self.add_wide(i, by)
    }

    /// [`CountBucket::add`] on the `u32` ring, made first if need be: the
    /// busiest accounts only.
    #[cold]
    #[inline(never)]
    fn add_wide(&mut self, i: usize, by: u32) -> u32 {
        let wide = self.ring.widened();
        let c = &mut wide.buckets_mut()[self.slot][i];
        let before = *c;
        *c = before.saturating_add(by);
        *c - before
    }
}

impl<const N: usize, const B: usize> CountRing<N, B> {
    /// The `u32` ring, made from the narrow one the first time.
    fn widened(&mut self) -> &mut Ring<[u32; N], B> {
        let narrow = &self.narrow;
        self.wide
            .get_or_insert_with(|| Box::new(narrow.map(|b| b.map(u32::from))))
    }

    /// Whether the counts moved to 32 bits.
    pub fn is_wide(&self) -> bool {
        self.wide.is_some()
    }

    /// Heap bytes held beyond the inline size: the `u32` ring once wide.
    pub fn heap_bytes(&self) -> usize {
        self.wide
            .as_ref()
            .map_or(0, |_| size_of::<Ring<[u32; N], B>>())
    }

    /// Moves the window to `time_ms` (see [`Ring::advance`]).
    #[inline]
    pub fn advance(&mut self, time_ms: i64, width_ms: i64) {
        self.advance_clearing(time_ms, width_ms, |_| {});
    }

    /// [`CountRing::advance`], showing `on_clear` each bucket (as `u32`
    /// counts) just before it is cleared.
    #[inline]
    pub fn advance_clearing(
        &mut self,
        time_ms: i64,
        width_ms: i64,
        mut on_clear: impl FnMut(&[u32; N]),
    ) {
        match &mut self.wide {
            Some(w) => w.advance_clearing(time_ms, width_ms, on_clear),
            None => self
                .narrow
                .advance_clearing(time_ms, width_ms, |b| on_clear(&b.map(u32::from))),
        }
    }

    /// The bucket for `time_ms`, the window advanced first; `None` when the
    /// time is older than the window.
    #[inline]
    pub fn bucket_mut(&mut self, time_ms: i64, width_ms: i64) -> Option<CountBucket<'_, N, B>> {
        let slot = match &mut self.wide {
            Some(w) => w.window_slot(time_ms, width_ms),
            None => self.narrow.window_slot(time_ms, width_ms),
        }?;
        Some(CountBucket { ring: self, slot })
    }

    /// Adds `by` to counter `i` at `time_ms`; returns false when too late.
    #[inline]
    pub fn add(&mut self, time_ms: i64, width_ms: i64, i: usize, by: u32) -> bool {
        match self.bucket_mut(time_ms, width_ms) {
            Some(mut b) => {
                b.add(i, by);
                true
            }
            None => false,
        }
    }

    /// The window's totals, counter by counter.
    #[inline]
    pub fn totals(&self) -> [u64; N] {
        match &self.wide {
            Some(w) => w.totals(),
            None => self.narrow.totals(),
        }
    }

    /// The window's total of counter `i`.
    #[inline]
    pub fn total(&self, i: usize) -> u64 {
        match &self.wide {
            Some(w) => w.total(i),
            None => self.narrow.total(i),
        }
    }

    /// The newest bucket's epoch, if any count was added.
    pub fn head_epoch(&self) -> Option<i64> {
        match &self.wide {
            Some(w) => w.head_epoch(),
            None => self.narrow.head_epoch(),
        }
    }

    /// The counts as a `u32` ring (a copy): what is serialized.
    pub fn to_wide(&self) -> Ring<[u32; N], B> {
        match &self.wide {
            Some(w) => Ring::clone(w),
            None => self.narrow.map(|b| b.map(u32::from)),
        }
    }

    /// The ring of these `u32` counts: narrow when every count fits.
    pub fn from_wide(wide: Ring<[u32; N], B>) -> Self {
        let fits = wide
            .buckets()
            .iter()
            .flatten()
            .all(|v| *v <= u32::from(u16::MAX));
        if fits {
            CountRing {
                narrow: wide.map(|b| b.map(|v| u16::try_from(v).unwrap_or(u16::MAX))),
                wide: None,
            }
        } else {
            CountRing {
                narrow: Ring::default(),
                wide: Some(Box::new(wide)),
            }
        }
    }
}

/// Written as the `u32` ring it stands for (see the module).
impl<const N: usize, const B: usize> Serialize for CountRing<N, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.wide {
            Some(w) => w.serialize(s),
            None => self.to_wide().serialize(s),
        }
    }
}

/// Read as a `u32` ring, kept narrow when every count fits.
impl<'de, const N: usize, const B: usize> Deserialize<'de> for CountRing<N, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ring::deserialize(d).map(Self::from_wide)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 1_000;
    const MAX16: u32 = u16::MAX as u32;

    /// Operations: (event time, counter, by).
    type Ops = &'static [(i64, usize, u32)];

    /// A `u32` ring fed the same operations is the reference: the same
    /// answers, totals and bytes after each step, and after a round trip.
    fn check(ops: Ops, now: i64, wide_at_end: bool) {
        let mut counts: CountRing<3, 4> = CountRing::default();
        let mut plain: Ring<[u32; 3], 4> = Ring::default();
        for &(t, i, by) in ops {
            let took = counts.bucket_mut(t, W).map(|mut b| b.add(i, by));
            // The totals once the window moved to `t`: what the add changes.
            let mut before = plain.clone();
            before.advance(t, W);
            let plain_took = plain.add(t, W, i, by);
            assert_eq!(took.is_some(), plain_took, "op at {t}");
            if let Some(gained) = took {
                assert_eq!(
                    u64::from(gained),
                    plain.totals()[i] - before.totals()[i],
                    "gain at {t}"
                );
            }
            assert_eq!(counts.totals(), plain.totals(), "after op at {t}");
            assert_eq!(counts.head_epoch(), plain.head_epoch());
        }
        let mut cleared = [0u64; 3];
        counts.advance_clearing(now, W, |b| {
            for (c, v) in cleared.iter_mut().zip(b) {
                *c += u64::from(*v);
            }
        });
        let before = plain.totals();
        plain.advance(now, W);
        assert_eq!(counts.totals(), plain.totals(), "advanced to {now}");
        for (i, c) in cleared.iter().enumerate() {
            assert_eq!(before[i] - plain.totals()[i], *c, "cleared counter {i}");
            assert_eq!(counts.total(i), plain.total(i));
        }
        assert_eq!(counts.is_wide(), wide_at_end, "{ops:?}");
        assert_eq!(
            postcard::to_stdvec(&counts).expect("encodes"),
            postcard::to_stdvec(&plain).expect("encodes"),
            "the postcard bytes of a u32 ring"
        );
        assert_eq!(
            serde_json::to_string(&counts).expect("encodes"),
            serde_json::to_string(&plain).expect("encodes"),
            "the JSON of a u32 ring"
        );
        let bytes = postcard::to_stdvec(&plain).expect("encodes");
        let back: CountRing<3, 4> = postcard::from_bytes(&bytes).expect("reads");
        assert_eq!(back.totals(), plain.totals());
        assert_eq!(back.head_epoch(), plain.head_epoch());
        let fits = plain.buckets().iter().flatten().all(|v| *v <= MAX16);
        assert_eq!(back.is_wide(), !fits, "read back narrow when it fits");
        assert_eq!(back.heap_bytes() > 0, !fits);
    }

    #[test]
    fn counts_as_a_u32_ring_does_at_the_edges_of_16_bits() {
        let cases: &[(Ops, i64, bool)] = &[
            (&[], 0, false),
            (&[(0, 0, 1), (1_500, 0, 1), (3_999, 1, 5)], 3_999, false),
            // The largest narrow count, then one more: widens.
            (&[(0, 0, MAX16)], 0, false),
            (&[(0, 0, MAX16 - 1), (0, 0, 1)], 0, false),
            (&[(0, 0, MAX16), (0, 0, 1)], 0, true),
            (&[(0, 1, MAX16), (1_000, 1, MAX16)], 1_000, false),
            // One add past 16 bits at once; other counters keep theirs.
            (&[(0, 2, 7), (2_000, 0, 3), (2_000, 1, 70_000)], 2_000, true),
            // Wide, then the wide bucket leaves the window: still wide.
            (&[(0, 0, 100_000), (5_000, 0, 1)], 9_000, true),
            // u32 saturation: the gain is what the counter took.
            (&[(0, 0, u32::MAX - 1), (0, 0, 5)], 1_000, true),
            (
                &[(0, 0, u32::MAX), (0, 0, 1), (0, 1, u32::MAX)],
                4_000,
                true,
            ),
            // Late inside the window, late outside it (refused), far jump.
            (&[(5_000, 2, 1), (2_500, 2, 7), (500, 2, 9)], 5_000, false),
            (
                &[(0, 0, 3), (100_000, 1, 4), (100_500, 1, 1)],
                101_000,
                false,
            ),
            // Negative times use euclidean epochs.
            (&[(-1, 0, 1), (0, 0, 1), (-2_500, 0, 1)], 0, false),
        ];
        for (ops, now, wide) in cases {
            check(ops, *now, *wide);
        }
    }

    #[test]
    fn a_short_input_is_an_error() {
        let mut r: CountRing<3, 4> = CountRing::default();
        assert!(r.add(1_000, W, 1, 9));
        let bytes = postcard::to_stdvec(&r).expect("encodes");
        assert!(postcard::from_bytes::<CountRing<3, 4>>(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn narrow_is_half_the_size() {
        // 612 B of counts, the head, padding to 8 B, the box of the wide form.
        assert_eq!(size_of::<CountRing<51, 6>>(), 612 + 8 + 4 + 8);
        assert_eq!(size_of::<Ring<[u32; 51], 6>>(), 51 * 6 * 4 + 8);
    }
}
