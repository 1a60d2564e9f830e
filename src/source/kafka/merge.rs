//! Several ordered lanes (a topic's partitions) read as one stream in time
//! order: the next item is always the earliest head among the lanes, so
//! each lane keeps its own order exactly (a lane whose times go backwards
//! is not reordered) and ties go to the lower lane. Given the same lanes,
//! the same sequence comes out, whatever the timing of the reads.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The lanes a [`ByTime`] merges, pulled one item at a time.
pub(crate) trait Lanes {
    /// What a lane yields.
    type Item;
    /// How many lanes there are (fixed).
    fn count(&self) -> usize;
    /// The next item of `lane` and its time, `None` when the lane has no
    /// more, or why the lane cannot be read (which ends the merge).
    fn pull(&mut self, lane: usize) -> Result<Option<(i64, Self::Item)>, String>;
}

/// The merge of `L`'s lanes by time.
pub(crate) struct ByTime<L: Lanes> {
    lanes: L,
    /// The head of each lane, when it has one.
    heads: Vec<Option<L::Item>>,
    /// (time, lane) of every head.
    order: BinaryHeap<Reverse<(i64, usize)>>,
    primed: bool,
    failure: Option<String>,
}

impl<L: Lanes> ByTime<L> {
    /// The merge of `lanes`; nothing is read before the first item is asked for.
    pub(crate) fn new(lanes: L) -> Self {
        let n = lanes.count();
        ByTime {
            lanes,
            heads: (0..n).map(|_| None).collect(),
            order: BinaryHeap::with_capacity(n),
            primed: false,
            failure: None,
        }
    }

    /// Why the merge stopped before every lane ended, if it did.
    pub(crate) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Reads the next head of `lane`; false when the merge has failed.
    fn refill(&mut self, lane: usize) -> bool {
        match self.lanes.pull(lane) {
            Ok(Some((time, item))) => {
                self.heads[lane] = Some(item);
                self.order.push(Reverse((time, lane)));
                true
            }
            Ok(None) => true,
            Err(why) => {
                self.failure = Some(why);
                self.order.clear();
                false
            }
        }
    }
}

impl<L: Lanes> Iterator for ByTime<L> {
    type Item = L::Item;

    fn next(&mut self) -> Option<L::Item> {
        if self.failure.is_some() {
            return None;
        }
        if !self.primed {
            self.primed = true;
            for lane in 0..self.heads.len() {
                if !self.refill(lane) {
                    return None;
                }
            }
        }
        let Reverse((_, lane)) = self.order.pop()?;
        let item = self.heads[lane].take();
        if !self.refill(lane) {
            return None;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Lanes of (time, label); a lane listed in `fail_at` fails when its
    /// `n`th item is pulled.
    struct Fixed {
        lanes: Vec<VecDeque<(i64, &'static str)>>,
        fail_at: Option<(usize, usize)>,
        pulled: Vec<usize>,
    }

    impl Fixed {
        fn new(lanes: &[&[(i64, &'static str)]]) -> Fixed {
            Fixed {
                lanes: lanes.iter().map(|l| l.iter().copied().collect()).collect(),
                fail_at: None,
                pulled: vec![0; lanes.len()],
            }
        }
    }

    impl Lanes for Fixed {
        type Item = &'static str;
        fn count(&self) -> usize {
            self.lanes.len()
        }
        fn pull(&mut self, lane: usize) -> Result<Option<(i64, &'static str)>, String> {
            if self.fail_at == Some((lane, self.pulled[lane])) {
                return Err(format!("lane {lane} broke"));
            }
            self.pulled[lane] += 1;
            Ok(self.lanes[lane].pop_front())
        }
    }

    #[test]
    fn lanes_come_out_in_time_order_each_in_its_own_order() {
        // (lanes, the merged labels)
        type Case = (
            &'static [&'static [(i64, &'static str)]],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[], &[]),
            (&[&[], &[]], &[]),
            (&[&[(1, "a1"), (3, "a3")]], &["a1", "a3"]),
            (
                &[&[(1, "a1"), (4, "a4")], &[(2, "b2"), (3, "b3")], &[]],
                &["a1", "b2", "b3", "a4"],
            ),
            // Ties go to the lower lane.
            (&[&[(5, "a5")], &[(5, "b5")]], &["a5", "b5"]),
            (
                &[&[], &[(5, "b5")], &[(5, "c5"), (5, "c5'")]],
                &["b5", "c5", "c5'"],
            ),
            // A lane whose time goes back is not reordered: its later items
            // wait behind its earlier ones.
            (
                &[&[(10, "a10"), (2, "a2")], &[(5, "b5"), (6, "b6")]],
                &["b5", "b6", "a10", "a2"],
            ),
        ];
        for (lanes, want) in cases {
            let got: Vec<&str> = ByTime::new(Fixed::new(lanes)).collect();
            assert_eq!(&got, want, "lanes {lanes:?}");
        }
    }

    #[test]
    fn a_lane_that_cannot_be_read_ends_the_merge_with_its_reason() {
        let mut lanes = Fixed::new(&[&[(1, "a1"), (2, "a2"), (9, "a9")], &[(3, "b3")]]);
        // Lane 0's third pull (the item after a2) fails.
        lanes.fail_at = Some((0, 2));
        let mut merged = ByTime::new(lanes);
        assert_eq!(merged.next(), Some("a1"));
        assert_eq!(merged.failure(), None);
        // Handing out a2 pulls lane 0 again, which fails: nothing more comes.
        assert_eq!(merged.next(), None);
        assert_eq!(merged.failure(), Some("lane 0 broke"));
        assert_eq!(merged.next(), None);
    }
}
