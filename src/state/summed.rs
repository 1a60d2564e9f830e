//! A ring of counters that keeps its own sum over the window, so reading the
//! window's totals touches one bucket's worth of memory instead of every
//! bucket: the hot path reads the 1-hour and 24-hour totals of the account
//! and of its WABA and portfolio on every event, and with many accounts
//! those buckets are not in the cache (`cargo bench --bench scale`); the
//! 24-hour window's 8 buckets of 7 counters were also 56 additions an
//! event, at each level.
//!
//! The buckets are a [`CountRing`]: 16-bit counts until one passes
//! 65,535, 32-bit after. The sum is derived state: it is neither written
//! nor read by serde (a `SummedRing` writes exactly the bytes of a `u32`
//! [`Ring`](super::window::Ring) of its counts), and it is rebuilt from the buckets when a ring
//! is read back.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::counts::{CountBucket, CountRing};
#[cfg(test)]
use super::window::Ring;

/// A ring of `N` counters in `B` buckets (a [`CountRing`]) with their
/// running sum.
///
/// `sum[i]` is the sum of counter `i` over the buckets in the window, modulo
/// 2^32: it equals the 64-bit fold of the buckets as long as that stays
/// under 2^32 per window (in the 24-hour window, an account or aggregate
/// would need about 50,000 messages a second all day for one counter to
/// reach it; a bucket itself saturates at `u32::MAX`).
#[derive(Clone)]
pub struct SummedRing<const N: usize, const B: usize> {
    ring: CountRing<N, B>,
    sum: [u32; N],
}

impl<const N: usize, const B: usize> Default for SummedRing<N, B> {
    fn default() -> Self {
        SummedRing {
            ring: CountRing::default(),
            sum: [0; N],
        }
    }
}

impl<const N: usize, const B: usize> fmt::Debug for SummedRing<N, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummedRing")
            .field("head_epoch", &self.ring.head_epoch())
            .field("sum", &self.sum.as_slice())
            .finish()
    }
}

/// One bucket of a [`SummedRing`], open for counting: every increment goes
/// to the bucket and to the window's sum.
pub struct SummedBucket<'a, const N: usize, const B: usize> {
    bucket: CountBucket<'a, N, B>,
    sum: &'a mut [u32; N],
}

impl<const N: usize, const B: usize> SummedBucket<'_, N, B> {
    /// Adds `by` to counter `i`, saturating in the bucket; the sum gains
    /// what the bucket gained.
    #[inline(always)]
    pub fn add(&mut self, i: usize, by: u32) {
        let gained = self.bucket.add(i, by);
        self.sum[i] = self.sum[i].wrapping_add(gained);
    }
}

impl<const N: usize, const B: usize> SummedRing<N, B> {
    /// Moves the window to `time_ms` (see [`CountRing::advance`]), taking the
    /// buckets that leave it out of the sum.
    #[inline]
    pub fn advance(&mut self, time_ms: i64, width_ms: i64) {
        let sum = &mut self.sum;
        self.ring.advance_clearing(time_ms, width_ms, |gone| {
            for (s, v) in sum.iter_mut().zip(gone) {
                *s = s.wrapping_sub(*v);
            }
        });
    }

    /// The bucket for `time_ms`, the window advanced first; `None` when the
    /// time is older than the window.
    #[inline]
    pub fn bucket_mut(&mut self, time_ms: i64, width_ms: i64) -> Option<SummedBucket<'_, N, B>> {
        self.advance(time_ms, width_ms);
        let bucket = self.ring.bucket_mut(time_ms, width_ms)?;
        Some(SummedBucket {
            bucket,
            sum: &mut self.sum,
        })
    }

    /// The window's totals, counter by counter, as of the last advance.
    #[inline]
    pub fn totals(&self) -> [u64; N] {
        self.sum.map(u64::from)
    }

    /// Heap bytes held beyond the inline size (see [`CountRing::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        self.ring.heap_bytes()
    }

    fn from_ring(ring: CountRing<N, B>) -> Self {
        let sum = ring.totals().map(|t| t as u32);
        SummedRing { ring, sum }
    }
}

/// Written as the ring alone: the sum is derived.
impl<const N: usize, const B: usize> Serialize for SummedRing<N, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ring.serialize(s)
    }
}

/// Read as a ring; the sum is rebuilt from its buckets.
impl<'de, const N: usize, const B: usize> Deserialize<'de> for SummedRing<N, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CountRing::deserialize(d).map(Self::from_ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 1_000;

    /// Operations on a ring: (event time, counter, by).
    type Ops = &'static [(i64, usize, u32)];

    /// A plain ring fed the same operations: its fold is the reference.
    fn check(ops: Ops, now: i64) {
        let mut summed: SummedRing<3, 4> = SummedRing::default();
        let mut plain: Ring<[u32; 3], 4> = Ring::default();
        for &(t, i, by) in ops {
            let took = summed.bucket_mut(t, W).map(|mut b| b.add(i, by)).is_some();
            assert_eq!(took, plain.add(t, W, i, by), "op at {t}");
            assert_eq!(summed.totals(), plain.totals(), "after op at {t}");
        }
        summed.advance(now, W);
        plain.advance(now, W);
        assert_eq!(summed.totals(), plain.totals(), "advanced to {now}");
        let bytes = serde_json::to_vec(&summed).expect("serializes");
        assert_eq!(bytes, serde_json::to_vec(&plain).expect("serializes"));
        let back: SummedRing<3, 4> = serde_json::from_slice(&bytes).expect("reads back");
        assert_eq!(back.totals(), plain.totals(), "read back");
    }

    #[test]
    fn the_sum_is_the_fold_of_the_buckets() {
        // (time, counter, by) operations, then the time the window moves to.
        let cases: &[(Ops, i64)] = &[
            (&[], 0),
            (&[(0, 0, 1), (1_500, 0, 1), (3_999, 1, 5)], 3_999),
            // Epoch 0 leaves the window at epoch 4.
            (
                &[(0, 0, 1), (1_500, 0, 1), (3_999, 1, 5), (4_000, 0, 1)],
                4_000,
            ),
            // Late, inside the window; late, outside it (refused).
            (&[(5_000, 2, 1), (2_500, 2, 7), (500, 2, 9)], 5_000),
            // A jump far ahead clears everything, then counting restarts.
            (&[(0, 0, 3), (1_000, 1, 4)], 100_000),
            (&[(0, 0, 3), (100_000, 1, 4), (100_500, 1, 1)], 101_000),
            // Saturation in a bucket: the sum gains only what the bucket gained.
            (&[(0, 0, u32::MAX - 1), (0, 0, 5)], 1_000),
            (&[(0, 0, u32::MAX), (0, 0, 1)], 4_000),
            // Past 16 bits the buckets widen; the sum goes on, and a wide
            // bucket that leaves the window is taken out of it.
            (&[(0, 0, 65_535), (0, 0, 1), (1_000, 1, 2)], 1_000),
            (&[(0, 0, 65_535), (0, 0, 1), (1_000, 0, 2)], 4_000),
            (&[(0, 2, 40_000), (0, 2, 40_000), (3_000, 2, 5)], 5_000),
            // Negative times use euclidean epochs.
            (&[(-1, 0, 1), (0, 0, 1), (-2_500, 0, 1)], 0),
        ];
        for (ops, now) in cases {
            check(ops, *now);
        }
    }
}
