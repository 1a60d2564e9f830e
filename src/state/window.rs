//! Sliding windows on event time: a ring of fixed-width buckets.
//!
//! A [`Ring`] holds `B` buckets of a payload `T` (an array of counters or a
//! bitmap). Adding at an event time moves the head forward and clears the
//! buckets that fall out of the window; events older than the window are
//! refused (the caller counts them as late). Reading is a fold over the ring.
//!
//! A ring serializes as its head epoch followed by its buckets in slot
//! order, so a restored ring is the same ring (see `crate::snapshot`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A bucket payload with an all-zero value, which a snapshot can persist.
pub trait Bucket: Copy {
    /// The empty bucket.
    const ZERO: Self;

    /// Serializes the bucket as a fixed-length tuple (serde's own array
    /// impls stop at 32 elements).
    fn serialize_bucket<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;

    /// Reads a bucket written by [`Bucket::serialize_bucket`].
    fn deserialize_bucket<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Arrays of counters or bitmap words are buckets.
macro_rules! array_bucket {
    ($($e:ty),*) => {$(
        impl<const N: usize> Bucket for [$e; N] {
            const ZERO: Self = [0; N];

            fn serialize_bucket<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_array(self, s)
            }

            fn deserialize_bucket<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_array(d)
            }
        }
    )*};
}

array_bucket!(u16, u32, u64);

/// Writes an array of any length as a tuple: no length prefix, since the
/// length is part of the type.
fn serialize_array<E: Serialize, const N: usize, S: Serializer>(
    a: &[E; N],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut t = s.serialize_tuple(N)?;
    for e in a {
        t.serialize_element(e)?;
    }
    t.end()
}

/// Reads an array written by [`serialize_array`].
fn deserialize_array<'de, E, const N: usize, D>(d: D) -> Result<[E; N], D::Error>
where
    E: Deserialize<'de> + Copy + Default,
    D: Deserializer<'de>,
{
    struct V<E, const N: usize>(PhantomData<E>);
    impl<'de, E: Deserialize<'de> + Copy + Default, const N: usize> Visitor<'de> for V<E, N> {
        type Value = [E; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an array of {N} elements")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = [E::default(); N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    d.deserialize_tuple(N, V::<E, N>(PhantomData))
}

/// Serializes a bucket through [`Bucket::serialize_bucket`].
struct BucketSer<'a, T>(&'a T);

impl<T: Bucket> Serialize for BucketSer<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_bucket(s)
    }
}

/// Deserializes a bucket through [`Bucket::deserialize_bucket`].
struct BucketDe<T>(T);

impl<'de, T: Bucket> Deserialize<'de> for BucketDe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize_bucket(d).map(BucketDe)
    }
}

/// A window of `B` buckets, each covering `width_ms` of event time (the width
/// is the caller's constant, passed to every call so that it costs no memory).
#[derive(Clone)]
pub struct Ring<T: Bucket, const B: usize> {
    /// Epoch (time / width) of the newest bucket; `i64::MIN` when empty.
    head: i64,
    buckets: [T; B],
}

impl<T: Bucket, const B: usize> Default for Ring<T, B> {
    fn default() -> Self {
        Ring {
            head: i64::MIN,
            buckets: [T::ZERO; B],
        }
    }
}

/// Written as a tuple: the head epoch, then the `B` buckets in slot order.
impl<T: Bucket, const B: usize> Serialize for Ring<T, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(1 + B)?;
        t.serialize_element(&self.head)?;
        for b in &self.buckets {
            t.serialize_element(&BucketSer(b))?;
        }
        t.end()
    }
}

impl<'de, T: Bucket, const B: usize> Deserialize<'de> for Ring<T, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const B: usize>(PhantomData<T>);
        impl<'de, T: Bucket, const B: usize> Visitor<'de> for V<T, B> {
            type Value = Ring<T, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a ring of {B} buckets")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let head: i64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mut ring = Ring::<T, B> {
                    head,
                    buckets: [T::ZERO; B],
                };
                for (i, slot) in ring.buckets.iter_mut().enumerate() {
                    let BucketDe(b) = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(1 + i, &self))?;
                    *slot = b;
                }
                Ok(ring)
            }
        }
        d.deserialize_tuple(1 + B, V::<T, B>(PhantomData))
    }
}

impl<T: Bucket, const B: usize> Ring<T, B> {
    fn slot(epoch: i64) -> usize {
        // B is small and positive, so the remainder fits in usize.
        epoch.rem_euclid(B as i64) as usize
    }

    /// Moves the head forward to the bucket of `time_ms`, clearing buckets
    /// that leave the window. Never moves it backwards.
    #[inline]
    pub fn advance(&mut self, time_ms: i64, width_ms: i64) {
        self.advance_clearing(time_ms, width_ms, |_| {});
    }

    /// [`Ring::advance`], showing `on_clear` each bucket just before it is
    /// cleared (what a running sum over the window subtracts).
    #[inline]
    pub fn advance_clearing(&mut self, time_ms: i64, width_ms: i64, mut on_clear: impl FnMut(&T)) {
        let epoch = time_ms.div_euclid(width_ms);
        if self.head == i64::MIN {
            self.head = epoch;
            return;
        }
        if epoch <= self.head {
            return;
        }
        let gap = epoch.saturating_sub(self.head).min(B as i64);
        for k in 1..=gap {
            let slot = &mut self.buckets[Self::slot(self.head.wrapping_add(k))];
            on_clear(slot);
            *slot = T::ZERO;
        }
        self.head = epoch;
    }

    /// The bucket for `time_ms`, advancing the head if needed; `None` when
    /// the time is older than the window.
    #[inline]
    pub fn bucket_mut(&mut self, time_ms: i64, width_ms: i64) -> Option<&mut T> {
        let slot = self.window_slot(time_ms, width_ms)?;
        Some(&mut self.buckets[slot])
    }

    /// The slot of the bucket for `time_ms`, advancing the head if
    /// needed; `None` when the time is older than the window.
    #[inline]
    pub fn window_slot(&mut self, time_ms: i64, width_ms: i64) -> Option<usize> {
        self.advance(time_ms, width_ms);
        let epoch = time_ms.div_euclid(width_ms);
        if epoch <= self.head.saturating_sub(B as i64) {
            return None;
        }
        Some(Self::slot(epoch))
    }

    /// Every bucket in the window, in no particular order.
    pub fn buckets(&self) -> &[T; B] {
        &self.buckets
    }

    /// Every bucket, by slot (what [`Ring::window_slot`] returns).
    #[inline]
    pub fn buckets_mut(&mut self) -> &mut [T; B] {
        &mut self.buckets
    }

    /// The same ring (head and slots) with each bucket mapped by `f`.
    pub fn map<U: Bucket>(&self, f: impl FnMut(&T) -> U) -> Ring<U, B> {
        Ring {
            head: self.head,
            buckets: self.buckets.each_ref().map(f),
        }
    }

    /// The newest bucket's epoch, if any event was added.
    pub fn head_epoch(&self) -> Option<i64> {
        (self.head != i64::MIN).then_some(self.head)
    }
}

impl<const N: usize, const B: usize> Ring<[u32; N], B> {
    /// Adds `by` to counter `i` at `time_ms`; returns false when too late.
    pub fn add(&mut self, time_ms: i64, width_ms: i64, i: usize, by: u32) -> bool {
        match self.bucket_mut(time_ms, width_ms) {
            Some(b) => {
                b[i] = b[i].saturating_add(by);
                true
            }
            None => false,
        }
    }
}

impl<E: Copy + Into<u64>, const N: usize, const B: usize> Ring<[E; N], B>
where
    [E; N]: Bucket,
{
    /// The window's totals, counter by counter.
    #[inline]
    pub fn totals(&self) -> [u64; N] {
        let mut out = [0u64; N];
        for b in &self.buckets {
            for (o, v) in out.iter_mut().zip(b.iter()) {
                *o += (*v).into();
            }
        }
        out
    }

    /// The window's total of counter `i`.
    pub fn total(&self, i: usize) -> u64 {
        self.buckets.iter().map(|b| b[i].into()).sum()
    }
}

impl<const N: usize, const B: usize> Ring<[u64; N], B> {
    /// The bitwise OR of every bucket in the window.
    pub fn union(&self) -> [u64; N] {
        let mut out = [0u64; N];
        for b in &self.buckets {
            for (o, v) in out.iter_mut().zip(b.iter()) {
                *o |= *v;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const W: i64 = 1_000;

    #[test]
    fn counts_inside_window_and_forgets_outside() {
        let mut r: Ring<[u32; 2], 4> = Ring::default();
        assert!(r.add(0, W, 0, 1));
        assert!(r.add(1_500, W, 0, 1));
        assert!(r.add(3_999, W, 1, 5));
        assert_eq!(r.totals(), [2, 5]);
        // Epoch 4: epoch 0 leaves the window.
        assert!(r.add(4_000, W, 0, 1));
        assert_eq!(r.total(0), 2);
        // A late event, older than the window, is refused.
        assert!(!r.add(500, W, 0, 1));
        // A late event still inside the window counts.
        assert!(r.add(2_000, W, 0, 1));
        assert_eq!(r.total(0), 3);
        // A jump far ahead clears everything.
        r.advance(100_000, W);
        assert_eq!(r.totals(), [0, 0]);
    }

    #[test]
    fn negative_times_use_euclidean_epochs() {
        let mut r: Ring<[u32; 1], 2> = Ring::default();
        assert!(r.add(-1, W, 0, 1));
        assert!(r.add(0, W, 0, 1));
        assert_eq!(r.total(0), 2);
        assert_eq!(r.head_epoch(), Some(0));
    }

    #[test]
    fn union_of_bitmaps() {
        let mut r: Ring<[u64; 1], 3> = Ring::default();
        if let Some(b) = r.bucket_mut(0, W) {
            b[0] |= 0b01;
        }
        if let Some(b) = r.bucket_mut(1_000, W) {
            b[0] |= 0b10;
        }
        assert_eq!(r.union(), [0b11]);
        r.advance(3_500, W);
        assert_eq!(r.union(), [0b10]);
    }

    #[test]
    fn serde_round_trip_keeps_the_ring() {
        // Wider than 32 counters, as the account's 1-hour window is.
        let mut r: Ring<[u32; 40], 6> = Ring::default();
        let empty = postcard::to_stdvec(&r).unwrap();
        let back: Ring<[u32; 40], 6> = postcard::from_bytes(&empty).unwrap();
        assert_eq!(back.head_epoch(), None);
        for (t, i) in [(0, 0), (1_500, 39), (7_200, 3), (9_999, 39)] {
            assert!(r.add(t, W, i, 2));
        }
        let bytes = postcard::to_stdvec(&r).unwrap();
        let mut back: Ring<[u32; 40], 6> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.head_epoch(), r.head_epoch());
        assert_eq!(back.buckets(), r.buckets());
        // It goes on exactly as the original would.
        assert_eq!(back.add(4_000, W, 1, 1), r.add(4_000, W, 1, 1));
        assert_eq!(back.add(11_000, W, 2, 1), r.add(11_000, W, 2, 1));
        assert_eq!(back.buckets(), r.buckets());
        // A short input is an error, not a panic.
        assert!(postcard::from_bytes::<Ring<[u32; 40], 6>>(&bytes[..bytes.len() - 1]).is_err());

        let mut bits: Ring<[u64; 4], 8> = Ring::default();
        if let Some(b) = bits.bucket_mut(123_456, W) {
            b[3] = u64::MAX;
        }
        let back: Ring<[u64; 4], 8> =
            postcard::from_bytes(&postcard::to_stdvec(&bits).unwrap()).unwrap();
        assert_eq!(back.union(), bits.union());
        assert_eq!(back.head_epoch(), bits.head_epoch());
    }

    proptest! {
        /// The ring agrees with a naive model that keeps every event and
        /// counts those whose epoch is within the last B epochs of the head.
        #[test]
        fn agrees_with_naive_model(
            steps in proptest::collection::vec((0i64..40_000, 0usize..3, 1u32..5), 1..200)
        ) {
            let mut ring: Ring<[u32; 3], 6> = Ring::default();
            let mut kept: Vec<(i64, usize, u32)> = Vec::new();
            let mut head = i64::MIN;
            for (t, i, by) in steps {
                let epoch = t.div_euclid(W);
                let new_head = head.max(epoch);
                let accepted = epoch > new_head - 6;
                prop_assert_eq!(ring.add(t, W, i, by), accepted);
                head = new_head;
                if accepted {
                    kept.push((epoch, i, by));
                }
                let mut naive = [0u64; 3];
                for &(e, j, v) in &kept {
                    if e > head - 6 {
                        naive[j] += u64::from(v);
                    }
                }
                prop_assert_eq!(ring.totals(), naive);
            }
        }
    }
}
