//! The scan's own transition table, built once from a side's Aho-Corasick
//! DFA when the rule set compiles, so the per-byte step is one class
//! lookup and one table load.
//!
//! What it changes against walking the DFA through its `Automaton` trait:
//! - states are numbered in the order the unanchored scan reaches them, and
//!   only those are kept;
//! - the stride is the exact number of byte classes (the DFA rounds it up to
//!   a power of two), so the table is smaller and more of it stays in cache;
//! - match states come first, so "is this a match" is one comparison, and
//!   start or dead states are never mistaken for something to look at;
//! - each match state's terms sit in one flat list, read without calls.
//!
//! The walk itself is the same automaton: same states, same transitions,
//! same matches (the matcher's reference tests hold both to the slow
//! definition).

use std::collections::HashMap;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;

/// A dense copy of one DFA's unanchored automaton. Immutable; `Send + Sync`.
#[derive(Debug, Clone)]
pub(super) struct DenseDfa {
    /// The class of each byte.
    classes: [u8; 256],
    /// `trans[sid + class]`: the next state, premultiplied by the stride.
    trans: Box<[u32]>,
    /// Byte classes: the row length.
    stride: u32,
    /// The unanchored start state.
    start: u32,
    /// States below this (premultiplied) are match states.
    match_limit: u32,
    /// Match state `i`'s terms are `match_terms[match_ends[i - 1]..match_ends[i]]`.
    match_ends: Box<[u32]>,
    /// Term (pattern) ids of every match state, one state after another.
    match_terms: Box<[u32]>,
}

/// What one step of a walk reads, copied out of the table so that a walk
/// keeps it in registers.
#[derive(Clone, Copy)]
pub(super) struct Stepper<'a> {
    classes: &'a [u8; 256],
    trans: &'a [u32],
    match_limit: u32,
}

impl Stepper<'_> {
    /// The state after `sid` reads `byte`.
    #[inline(always)]
    pub(super) fn next(self, sid: u32, byte: u8) -> u32 {
        let class = self.classes[usize::from(byte)];
        // In bounds by construction: every id in the table (and `start`)
        // is a row start, `row + stride <= trans.len()`, and every class
        // is under the stride. Indexing keeps the check to a compare and
        // a branch never taken.
        self.trans[sid as usize + usize::from(class)]
    }

    /// Whether `sid` is a match state.
    #[inline(always)]
    pub(super) fn is_match(self, sid: u32) -> bool {
        sid < self.match_limit
    }
}

/// Why a dense table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DenseError {
    /// The DFA has no unanchored start state.
    NoStart,
    /// States times classes do not fit 32-bit state ids.
    TooLarge,
}

impl DenseDfa {
    /// Builds the table of `dfa`'s unanchored automaton.
    pub(super) fn build(dfa: &DFA) -> Result<DenseDfa, DenseError> {
        let start = dfa
            .start_state(Anchored::No)
            .map_err(|_| DenseError::NoStart)?;
        // Every state the unanchored walk can reach, in the order reached.
        let mut order: Vec<StateID> = vec![start];
        let mut seen: HashMap<StateID, usize> = HashMap::from([(start, 0)]);
        let mut at = 0;
        while let Some(&s) = order.get(at) {
            for b in 0..=255u8 {
                let next = dfa.next_state(Anchored::No, s, b);
                if let std::collections::hash_map::Entry::Vacant(v) = seen.entry(next) {
                    v.insert(order.len());
                    order.push(next);
                }
            }
            at += 1;
        }
        // Two bytes share a class when every state sends them to the same state.
        let mut classes = [0u8; 256];
        let mut columns: HashMap<Vec<StateID>, u8> = HashMap::new();
        let mut reps: Vec<u8> = Vec::new();
        for b in 0..=255u8 {
            let column: Vec<StateID> = order
                .iter()
                .map(|&s| dfa.next_state(Anchored::No, s, b))
                .collect();
            let n = columns.len();
            let class = *columns.entry(column).or_insert_with(|| {
                reps.push(b);
                // At most 256 columns, so at most 256 classes: 0..=255.
                u8::try_from(n).unwrap_or(u8::MAX)
            });
            classes[usize::from(b)] = class;
        }
        // Match states first, each group in the order reached.
        let (mut renumbered, rest): (Vec<StateID>, Vec<StateID>) =
            order.iter().partition(|&&s| dfa.is_match(s));
        let matches = renumbered.len();
        renumbered.extend(rest);
        let stride = reps.len();
        let cells = renumbered
            .len()
            .checked_mul(stride)
            .filter(|&c| u32::try_from(c).is_ok())
            .ok_or(DenseError::TooLarge)?;
        let index: HashMap<StateID, u32> = renumbered
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, (i * stride) as u32))
            .collect();
        let id = |s: &StateID| index.get(s).copied().unwrap_or(0);
        let mut trans = Vec::with_capacity(cells);
        for s in &renumbered {
            for &b in &reps {
                trans.push(id(&dfa.next_state(Anchored::No, *s, b)));
            }
        }
        let mut match_ends = Vec::with_capacity(matches);
        let mut match_terms = Vec::new();
        for &s in &renumbered[..matches] {
            for k in 0..dfa.match_len(s) {
                match_terms.push(dfa.match_pattern(s, k).as_u32());
            }
            match_ends.push(match_terms.len() as u32);
        }
        Ok(DenseDfa {
            classes,
            trans: trans.into_boxed_slice(),
            stride: stride as u32,
            start: id(&start),
            match_limit: (matches * stride) as u32,
            match_ends: match_ends.into_boxed_slice(),
            match_terms: match_terms.into_boxed_slice(),
        })
    }

    /// The unanchored start state.
    #[inline(always)]
    pub(super) fn start(&self) -> u32 {
        self.start
    }

    /// The table's per-byte step, held in locals for a walk.
    #[inline(always)]
    pub(super) fn stepper(&self) -> Stepper<'_> {
        Stepper {
            classes: &self.classes,
            trans: &self.trans,
            match_limit: self.match_limit,
        }
    }

    /// Whether `sid` is a match state.
    #[inline(always)]
    pub(super) fn is_match(&self, sid: u32) -> bool {
        sid < self.match_limit
    }

    /// The term ids that match in state `sid` (empty for a non-match state).
    pub(super) fn terms(&self, sid: u32) -> &[u32] {
        if !self.is_match(sid) || self.stride == 0 {
            return &[];
        }
        let i = (sid / self.stride) as usize;
        let from = i
            .checked_sub(1)
            .and_then(|p| self.match_ends.get(p))
            .map_or(0, |&e| e as usize);
        let to = self.match_ends.get(i).map_or(from, |&e| e as usize);
        self.match_terms.get(from..to).unwrap_or(&[])
    }

    /// Heap bytes of the table.
    pub(super) fn memory_usage(&self) -> usize {
        self.trans.len() * 4 + self.match_ends.len() * 4 + self.match_terms.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{MatchKind, StartKind};

    fn dfa(terms: &[&str]) -> DFA {
        DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(terms)
            .expect("builds")
    }

    /// Every match (end, term) of walking `text` through the dense table.
    fn dense_matches(d: &DenseDfa, text: &[u8]) -> Vec<(usize, u32)> {
        let mut sid = d.start();
        let mut out = Vec::new();
        for (i, &b) in text.iter().enumerate() {
            sid = d.stepper().next(sid, b);
            for &t in d.terms(sid) {
                out.push((i + 1, t));
            }
        }
        out
    }

    /// The same, through the DFA's own `Automaton` walk.
    fn dfa_matches(a: &DFA, text: &[u8]) -> Vec<(usize, u32)> {
        let mut sid = a.start_state(Anchored::No).expect("start");
        let mut out = Vec::new();
        for (i, &b) in text.iter().enumerate() {
            sid = a.next_state(Anchored::No, sid, b);
            if a.is_match(sid) {
                for k in 0..a.match_len(sid) {
                    out.push((i + 1, a.match_pattern(sid, k).as_u32()));
                }
            }
        }
        out
    }

    #[test]
    fn the_dense_walk_reports_what_the_dfa_walk_reports() {
        let terms = [
            "he", "she", "his", "hers", "as an ai", "ai", "c++", "ümlaut",
        ];
        let a = dfa(&terms);
        let d = DenseDfa::build(&a).expect("dense");
        let texts: &[&[u8]] = &[
            b"",
            b"ushers",
            b"AS AN AI, she said his c++ was hers",
            "ÜMLAUT ümlaut \u{fc}mlaut".as_bytes(),
            b"aiaiai hehehe sheshe",
            &[0u8, 255, 128, b'h', b'e'],
        ];
        for t in texts {
            let got = dense_matches(&d, t);
            assert_eq!(got, dfa_matches(&a, t), "{}", String::from_utf8_lossy(t));
        }
        assert_eq!(dense_matches(&d, b"ushers").len(), 3, "she, he, hers");
    }

    #[test]
    fn classes_are_fewer_than_bytes_and_match_states_come_first() {
        let d = DenseDfa::build(&dfa(&["abc", "b"])).expect("dense");
        // a, b, c (either case) and everything else.
        assert_eq!(d.stride, 4);
        assert_eq!(d.classes[usize::from(b'A')], d.classes[usize::from(b'a')]);
        assert_eq!(d.classes[usize::from(b'x')], d.classes[usize::from(b'!')]);
        assert!(!d.is_match(d.start()));
        let after_b = d.stepper().next(d.start(), b'b');
        assert!(d.is_match(after_b));
        assert_eq!(d.terms(after_b), &[1]);
        assert!(d.terms(d.start()).is_empty());
        assert!(d.memory_usage() >= d.trans.len() * 4);
    }
}
