//! A ring of bitmaps that keeps its own union over the window, so reading
//! the window's distinct users or topics reads one bitmap instead of
//! or-ing every bucket's: the hot path reads them for the account, its WABA
//! and its portfolio on every event, and buckets leave the window only once
//! per bucket width (10 minutes, 3 hours).
//!
//! The union is derived state: it is neither written nor read by serde (a
//! `UnitedRing` writes exactly the bytes of its [`Ring`]), and it is rebuilt
//! from the buckets when a ring is read back or a bucket leaves the window.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::window::Ring;

/// A ring of `N`-word bitmaps in `B` buckets with their union.
#[derive(Clone)]
pub struct UnitedRing<const N: usize, const B: usize> {
    ring: Ring<[u64; N], B>,
    union: [u64; N],
}

impl<const N: usize, const B: usize> Default for UnitedRing<N, B> {
    fn default() -> Self {
        UnitedRing {
            ring: Ring::default(),
            union: [0; N],
        }
    }
}

impl<const N: usize, const B: usize> UnitedRing<N, B> {
    /// Moves the window to `time_ms` (see [`Ring::advance`]); when a bucket
    /// that held bits leaves it, the union is rebuilt from the rest.
    #[inline]
    pub fn advance(&mut self, time_ms: i64, width_ms: i64) {
        let mut gone = false;
        self.ring.advance_clearing(time_ms, width_ms, |b| {
            gone |= b.iter().any(|w| *w != 0);
        });
        if gone {
            self.union = self.ring.union();
        }
    }

    /// Sets `bits` in the bucket of `time_ms` (the window advanced first)
    /// and in the union; false, and nothing set, when the time is older
    /// than the window.
    #[inline]
    pub fn set(&mut self, time_ms: i64, width_ms: i64, bits: &[u64; N]) -> bool {
        self.advance(time_ms, width_ms);
        let Some(bucket) = self.ring.bucket_mut(time_ms, width_ms) else {
            return false;
        };
        for ((b, u), x) in bucket.iter_mut().zip(&mut self.union).zip(bits) {
            *b |= *x;
            *u |= *x;
        }
        true
    }

    /// The union of every bucket in the window, as of the last advance.
    #[inline]
    pub fn union(&self) -> &[u64; N] {
        &self.union
    }

    fn from_ring(ring: Ring<[u64; N], B>) -> Self {
        let union = ring.union();
        UnitedRing { ring, union }
    }
}

/// Written as the ring alone: the union is derived.
impl<const N: usize, const B: usize> Serialize for UnitedRing<N, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ring.serialize(s)
    }
}

/// Read as a ring; the union is rebuilt from its buckets.
impl<'de, const N: usize, const B: usize> Deserialize<'de> for UnitedRing<N, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ring::deserialize(d).map(Self::from_ring)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const W: i64 = 1_000;

    proptest! {
        /// After any sequence of bits set at any times (late ones, ones
        /// older than the window, jumps far ahead) and of advances, the kept
        /// union is the or of the plain ring's buckets, and a copy read back
        /// from its bytes, which are the plain ring's, has the same.
        #[test]
        fn the_union_is_the_or_of_the_buckets(
            ops in proptest::collection::vec(
                (
                    prop_oneof![-2_000i64..12_000, Just(100_000i64)],
                    any::<[u64; 2]>().prop_map(|[a, b]| [a & b & (a >> 7), b & (b >> 3)]),
                    any::<bool>(),
                ),
                0..60,
            ),
        ) {
            let mut united: UnitedRing<2, 4> = UnitedRing::default();
            let mut plain: Ring<[u64; 2], 4> = Ring::default();
            for (t, bits, only_advance) in ops {
                if only_advance {
                    united.advance(t, W);
                    plain.advance(t, W);
                } else {
                    let took = united.set(t, W, &bits);
                    let plain_took = plain.bucket_mut(t, W).map(|b| {
                        b[0] |= bits[0];
                        b[1] |= bits[1];
                    });
                    prop_assert_eq!(took, plain_took.is_some(), "set at {}", t);
                }
                prop_assert_eq!(*united.union(), plain.union(), "after an op at {}", t);
            }
            let bytes = serde_json::to_vec(&united).expect("serializes");
            prop_assert_eq!(&bytes, &serde_json::to_vec(&plain).expect("serializes"));
            let back: UnitedRing<2, 4> = serde_json::from_slice(&bytes).expect("reads back");
            prop_assert_eq!(*back.union(), plain.union());
        }
    }

    #[test]
    fn a_bucket_leaving_the_window_takes_only_its_own_bits_out() {
        let mut r: UnitedRing<1, 3> = UnitedRing::default();
        assert!(r.set(0, W, &[0b001]));
        assert!(r.set(1_000, W, &[0b011]));
        assert!(r.set(2_000, W, &[0b100]));
        assert_eq!(*r.union(), [0b111]);
        // Epoch 0 leaves: bit 0 stays, set again at epoch 1.
        r.advance(3_000, W);
        assert_eq!(*r.union(), [0b111]);
        // Epoch 1 leaves: bits 0 and 1 go.
        r.advance(4_000, W);
        assert_eq!(*r.union(), [0b100]);
        // Too late: nothing set.
        assert!(!r.set(500, W, &[0b1000]));
        assert_eq!(*r.union(), [0b100]);
        r.advance(100_000, W);
        assert_eq!(*r.union(), [0]);
    }
}
