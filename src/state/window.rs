//! Sliding windows on event time: a ring of fixed-width buckets.
//!
//! A [`Ring`] holds `B` buckets of a payload `T` (an array of counters or a
//! bitmap). Adding at an event time moves the head forward and clears the
//! buckets that fall out of the window; events older than the window are
//! refused (the caller counts them as late). Reading is a fold over the ring.

/// A bucket payload with an all-zero value.
pub trait Bucket: Copy {
    /// The empty bucket.
    const ZERO: Self;
}

impl<const N: usize> Bucket for [u32; N] {
    const ZERO: Self = [0; N];
}

impl<const N: usize> Bucket for [u64; N] {
    const ZERO: Self = [0; N];
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

impl<T: Bucket, const B: usize> Ring<T, B> {
    fn slot(epoch: i64) -> usize {
        // B is small and positive, so the remainder fits in usize.
        epoch.rem_euclid(B as i64) as usize
    }

    /// Moves the head forward to the bucket of `time_ms`, clearing buckets
    /// that leave the window. Never moves it backwards.
    pub fn advance(&mut self, time_ms: i64, width_ms: i64) {
        let epoch = time_ms.div_euclid(width_ms);
        if self.head == i64::MIN {
            self.head = epoch;
            return;
        }
        if epoch <= self.head {
            return;
        }
        let gap = (epoch - self.head).min(B as i64);
        for k in 1..=gap {
            self.buckets[Self::slot(self.head + k)] = T::ZERO;
        }
        self.head = epoch;
    }

    /// The bucket for `time_ms`, advancing the head if needed; `None` when
    /// the time is older than the window.
    pub fn bucket_mut(&mut self, time_ms: i64, width_ms: i64) -> Option<&mut T> {
        self.advance(time_ms, width_ms);
        let epoch = time_ms.div_euclid(width_ms);
        if epoch <= self.head - B as i64 {
            return None;
        }
        Some(&mut self.buckets[Self::slot(epoch)])
    }

    /// Every bucket in the window, in no particular order.
    pub fn buckets(&self) -> &[T; B] {
        &self.buckets
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

    /// The window's totals, counter by counter.
    pub fn totals(&self) -> [u64; N] {
        let mut out = [0u64; N];
        for b in &self.buckets {
            for (o, v) in out.iter_mut().zip(b.iter()) {
                *o += u64::from(*v);
            }
        }
        out
    }

    /// The window's total of counter `i`.
    pub fn total(&self, i: usize) -> u64 {
        self.buckets.iter().map(|b| u64::from(b[i])).sum()
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
