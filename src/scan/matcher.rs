//! The text matcher of a rule set: one Aho-Corasick DFA per message side
//! (inbound: the inbound pattern sets and the topics; outbound: the
//! outbound pattern sets), so each text is scanned once, by the automaton
//! of its side only. The scan is a hand-written loop over the DFA's
//! transitions, copied into a dense table ([`super::dense`]) when the rule
//! set compiles (every match of every term, overlapping), with whole-word
//! checks out of line at match states; a set's confirming regex runs only
//! after one of its terms hit.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{MatchKind, StartKind};
use regex::Regex;

use super::dense::DenseDfa;
use super::structure::is_structured;
use super::ScanFacts;
use crate::event::Direction;

/// Largest pattern automaton (Aho-Corasick DFA) of one side, bytes: a rule
/// file whose terms need more is refused.
pub const MAX_AUTOMATON_BYTES: usize = 64 << 20;

/// What a term feeds when it matches, as masks.
#[derive(Debug, Clone, Copy, Default)]
struct TermInfo {
    /// Bytes in the term.
    len: u32,
    /// A trailing `*` in the rule file: the word may continue.
    prefix: bool,
    /// Pattern set slots it feeds.
    sets: u32,
    /// Topic bits it raises.
    topics: u64,
}

/// A term list to add to the matcher, with where its hits go.
pub struct TermGroup<'a> {
    /// Terms as written (case-insensitive; trailing `*` = prefix).
    pub terms: Vec<&'a str>,
    /// True: a topic (bit `index`, inbound texts); false: a pattern set (slot `index`).
    pub topic: bool,
    /// Slot or bit.
    pub index: u8,
    /// The side whose texts the group is matched against (topics: inbound).
    pub direction: Direction,
}

/// What the matches of one scan fed.
#[derive(Default)]
struct Hits {
    sets: u32,
    topics: u64,
}

impl Hits {
    /// Adds the terms that match, as whole words, where match state `sid`
    /// was reached, just before `bytes[end]`.
    #[inline(never)]
    fn add(&mut self, m: &SideMatcher, sid: u32, bytes: &[u8], end: usize) {
        let ends_word = bytes.get(end).is_none_or(|&n| !WORD[usize::from(n)]);
        for &term in m.dense.terms(sid) {
            let Some(info) = m.terms.get(term as usize) else {
                continue;
            };
            if !(ends_word || info.prefix) {
                continue;
            }
            let start = end.saturating_sub(info.len as usize);
            if start > 0 && WORD[usize::from(bytes[start - 1])] {
                continue;
            }
            self.sets |= info.sets;
            self.topics |= info.topics;
        }
    }
}

/// The automaton of one side and what each of its terms feeds.
#[derive(Debug, Clone)]
struct SideMatcher {
    dense: DenseDfa,
    terms: Vec<TermInfo>,
    /// Bytes in the longest term.
    max_term_len: usize,
}

/// Texts at least this long are walked as two lanes at once.
const SPLIT_MIN_BYTES: usize = 96;
/// Texts at least this long are walked as four lanes at once.
const FOUR_LANES_MIN_BYTES: usize = 256;

/// The immutable matcher of a rule set. `Send + Sync`; scanning needs no scratch.
#[derive(Debug, Clone)]
pub struct PatternMatcher {
    inbound: Option<SideMatcher>,
    outbound: Option<SideMatcher>,
    confirm: Vec<Option<Regex>>,
}

/// Whether a byte belongs to a word: ASCII letters and digits, `_`, and
/// every byte of a multi-byte UTF-8 character.
const WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        t[b] = byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
        b += 1;
    }
    t
};

/// Normalises a term: lower case, trimmed, `*` stripped. Returns None for an empty term.
pub fn normalise_term(raw: &str) -> Option<(String, bool)> {
    let t = raw.trim();
    let (t, prefix) = match t.strip_suffix('*') {
        Some(rest) => (rest.trim_end(), true),
        None => (t, false),
    };
    if t.is_empty() {
        return None;
    }
    Some((t.to_lowercase(), prefix))
}

/// Why the pattern matcher could not be built (opaque, like
/// aho-corasick's `BuildError`): its automaton failed to build or grew
/// past [`MAX_AUTOMATON_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BuildErrorKind {
    Automaton(String),
    TooLarge { direction: Direction, bytes: usize },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            BuildErrorKind::Automaton(why) => write!(f, "pattern automaton: {why}"),
            BuildErrorKind::TooLarge { direction, bytes } => write!(
                f,
                "pattern automaton ({direction:?} side) is {bytes} bytes; at most {MAX_AUTOMATON_BYTES} are accepted"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

impl SideMatcher {
    /// Builds the automaton of the groups matched on `direction`; None when they have no terms.
    fn build(groups: &[TermGroup<'_>], direction: Direction) -> Result<Option<Self>, BuildError> {
        let mut index: std::collections::HashMap<(String, bool), usize> = Default::default();
        let mut patterns: Vec<String> = Vec::new();
        let mut terms: Vec<TermInfo> = Vec::new();
        for g in groups.iter().filter(|g| g.direction == direction) {
            for raw in &g.terms {
                let Some((term, prefix)) = normalise_term(raw) else {
                    continue;
                };
                let id = *index.entry((term.clone(), prefix)).or_insert_with(|| {
                    terms.push(TermInfo {
                        len: u32::try_from(term.len()).unwrap_or(u32::MAX),
                        prefix,
                        ..TermInfo::default()
                    });
                    patterns.push(term);
                    terms.len() - 1
                });
                if g.topic {
                    terms[id].topics |= 1u64 << (g.index & 63);
                } else {
                    terms[id].sets |= 1u32 << (g.index & 31);
                }
            }
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(&patterns)
            .map_err(|e| BuildError {
                kind: BuildErrorKind::Automaton(e.to_string()),
            })?;
        let bytes = dfa.memory_usage();
        if bytes > MAX_AUTOMATON_BYTES {
            return Err(BuildError {
                kind: BuildErrorKind::TooLarge { direction, bytes },
            });
        }
        let dense = DenseDfa::build(&dfa).map_err(|e| BuildError {
            kind: BuildErrorKind::Automaton(format!("dense table: {e:?}")),
        })?;
        if dense.memory_usage() > MAX_AUTOMATON_BYTES {
            return Err(BuildError {
                kind: BuildErrorKind::TooLarge {
                    direction,
                    bytes: dense.memory_usage(),
                },
            });
        }
        let max_term_len = patterns.iter().map(String::len).max().unwrap_or(0);
        Ok(Some(SideMatcher {
            dense,
            terms,
            max_term_len,
        }))
    }

    /// Feeds every whole-word match in `bytes` into `facts`.
    ///
    /// A DFA walk is bound by the latency of one table load per byte, so
    /// a long text is walked as several lanes at once (see
    /// [`SideMatcher::walk_lanes`]); each lane reports exactly the text's
    /// own whole-word matches, and the masks are their union.
    fn scan(&self, bytes: &[u8], facts: &mut ScanFacts) {
        let start = self.dense.start();
        let mut hits = Hits::default();
        let n = bytes.len();
        // A lane's own part must be longer than the longest term, or the
        // lanes would mostly walk each other's bytes again.
        if n >= FOUR_LANES_MIN_BYTES && n / 4 > 2 * self.max_term_len {
            self.walk_lanes::<4>(start, bytes, &mut hits);
        } else if n >= SPLIT_MIN_BYTES && n / 2 > self.max_term_len {
            self.walk_lanes::<2>(start, bytes, &mut hits);
        } else {
            self.walk(start, bytes, 0, n, &mut hits);
        }
        facts.pattern_hits |= hits.sets;
        facts.topics |= hits.topics;
    }

    /// Walks `bytes` as `K` lanes in lockstep, each from the start state:
    /// lane i starts at `i * n / K` and runs past the start of lane i + 1
    /// by the longest term (the last lane runs to the end), so every match
    /// that starts in a lane's own part ends inside that lane's walk, and
    /// no lane reports a match that is not in the text. The `K` dependent
    /// chains of table loads overlap.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // `k` indexes every lane in step
    fn walk_lanes<const K: usize>(&self, start: u32, bytes: &[u8], hits: &mut Hits) {
        let n = bytes.len();
        let q = n / K;
        let mut from = [0usize; K];
        let mut to = [n; K];
        for i in 0..K {
            from[i] = i * q;
            if i + 1 < K {
                to[i] = ((i + 1) * q).saturating_add(self.max_term_len).min(n);
            }
        }
        let common = (0..K).map(|i| to[i] - from[i]).min().unwrap_or(0);
        // Each lane's common part as a slice of exactly `common` bytes, cut
        // once: reading byte k of each needs no bounds check in the loop.
        let Some(lanes) = lane_parts::<K>(bytes, &from, common) else {
            return self.walk(start, bytes, 0, n, hits);
        };
        let st = self.dense.stepper();
        let mut sid = [start; K];
        for k in 0..common {
            for i in 0..K {
                sid[i] = st.next(sid[i], lanes[i][k]);
                if st.is_match(sid[i]) {
                    hits.add(self, sid[i], bytes, from[i] + k + 1);
                }
            }
        }
        for i in 0..K {
            self.walk(sid[i], bytes, from[i] + common, to[i], hits);
        }
    }

    /// Walks `bytes[from..to]` from state `sid`, adding the matches to `hits`.
    #[inline(always)]
    fn walk(&self, mut sid: u32, bytes: &[u8], from: usize, to: usize, hits: &mut Hits) {
        let st = self.dense.stepper();
        let Some(part) = bytes.get(from..to) else {
            return;
        };
        for (k, &b) in part.iter().enumerate() {
            sid = st.next(sid, b);
            if st.is_match(sid) {
                hits.add(self, sid, bytes, from + k + 1);
            }
        }
    }

    fn term_count(&self) -> usize {
        self.terms.len()
    }
}

/// `bytes[from[i]..from[i] + common]` for each lane (None if one is out of
/// bounds, which the callers' arithmetic rules out).
#[inline(always)]
fn lane_parts<'b, const K: usize>(
    bytes: &'b [u8],
    from: &[usize; K],
    common: usize,
) -> Option<[&'b [u8]; K]> {
    let mut lanes: [&[u8]; K] = [&[]; K];
    for (lane, &f) in lanes.iter_mut().zip(from) {
        *lane = bytes.get(f..)?.get(..common)?;
    }
    Some(lanes)
}

impl PatternMatcher {
    /// Builds the matcher. `confirm[i]` is pattern set i's regex, if any.
    pub fn build(
        groups: &[TermGroup<'_>],
        confirm: Vec<Option<Regex>>,
    ) -> Result<Self, BuildError> {
        Ok(PatternMatcher {
            inbound: SideMatcher::build(groups, Direction::Inbound)?,
            outbound: SideMatcher::build(groups, Direction::Outbound)?,
            confirm,
        })
    }

    /// Number of distinct terms in the automata (a term on both sides counts twice).
    pub fn term_count(&self) -> usize {
        self.inbound.as_ref().map_or(0, SideMatcher::term_count)
            + self.outbound.as_ref().map_or(0, SideMatcher::term_count)
    }

    /// Scans `text`, sent in `direction`, once: the pattern sets of that
    /// side and, for inbound texts, the topics.
    pub fn scan(&self, text: &str, direction: Direction) -> ScanFacts {
        let mut facts = ScanFacts {
            scanned: !text.is_empty(),
            structured: is_structured(text),
            ..ScanFacts::default()
        };
        let side = match direction {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => &self.outbound,
        };
        if let Some(m) = side {
            m.scan(text.as_bytes(), &mut facts);
        }
        let mut hits = facts.pattern_hits;
        while hits != 0 {
            let i = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            if let Some(Some(re)) = self.confirm.get(i) {
                if !re.is_match(text) {
                    facts.pattern_hits &= !(1 << i);
                }
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> PatternMatcher {
        let groups = [
            TermGroup {
                terms: vec!["write a", "explain", "terjemahkan", "summar*"],
                topic: false,
                index: 0,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["order", "refund", "explain"],
                topic: false,
                index: 1,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["python", "javascript"],
                topic: true,
                index: 0,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["recipe"],
                topic: true,
                index: 5,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["as an ai", "certainly!"],
                topic: false,
                index: 2,
                direction: Direction::Outbound,
            },
        ];
        let confirm = vec![
            None,
            Some(Regex::new(r"(?i)\b(order|refund)\b").expect("regex")),
        ];
        PatternMatcher::build(&groups, confirm).expect("builds")
    }

    #[test]
    fn scan_table() {
        let m = matcher();
        let cases: &[(&str, u32, u64)] = &[
            ("Please WRITE A poem about the sea", 0b01, 0),
            ("Tolong terjemahkan kalimat ini", 0b01, 0),
            ("Can you summarise this article", 0b01, 0),
            ("Where is my order?", 0b10, 0),
            // `explain` feeds both sets, but set 1's regex refuses it.
            ("Explain quantum physics", 0b01, 0),
            ("explain my refund", 0b11, 0),
            // Whole words only: `reorder`, `pythonic` do not match.
            ("reorder pythonic", 0, 0),
            ("a python and a recipe", 0, 0b10_0001),
            ("", 0, 0),
        ];
        for (text, sets, topics) in cases {
            let f = m.scan(text, Direction::Inbound);
            assert_eq!((f.pattern_hits, f.topics), (*sets, *topics), "{text}");
            assert_eq!(f.scanned, !text.is_empty());
        }
    }

    #[test]
    fn each_side_matches_its_own_sets_only() {
        let m = matcher();
        let cases: &[(&str, Direction, u32, u64)] = &[
            // Outbound texts see only the outbound set, and no topics.
            (
                "Certainly! As an AI, I can explain python",
                Direction::Outbound,
                0b100,
                0,
            ),
            (
                "Certainly! As an AI, I can explain python",
                Direction::Inbound,
                0b001,
                0b1,
            ),
            // Matches at the very start and end of the text, overlapping ones too.
            ("as an ai", Direction::Outbound, 0b100, 0),
            ("as an aide", Direction::Outbound, 0, 0),
            ("summaries and order", Direction::Inbound, 0b11, 0),
        ];
        for (text, dir, sets, topics) in cases {
            let f = m.scan(text, *dir);
            assert_eq!(
                (f.pattern_hits, f.topics),
                (*sets, *topics),
                "{text} {dir:?}"
            );
        }
    }

    /// What `scan` must find, the slow way: every occurrence of every
    /// term, ASCII case-insensitively, with the whole-word checks.
    fn reference(groups: &[TermGroup<'_>], text: &str, dir: Direction) -> (u32, u64) {
        let lower = text.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        let word = |i: usize| WORD[usize::from(bytes[i])];
        let (mut sets, mut topics) = (0u32, 0u64);
        for g in groups.iter().filter(|g| g.direction == dir) {
            for raw in &g.terms {
                let Some((term, prefix)) = normalise_term(raw) else {
                    continue;
                };
                let found = lower.match_indices(term.as_str()).any(|(s, m)| {
                    let e = s + m.len();
                    (s == 0 || !word(s - 1)) && (prefix || e == bytes.len() || !word(e))
                }) || (0..bytes.len()).any(|s| {
                    // Overlapping occurrences that match_indices skips.
                    bytes[s..].starts_with(term.as_bytes())
                        && (s == 0 || !word(s - 1))
                        && (prefix || s + term.len() == bytes.len() || !word(s + term.len()))
                });
                if found {
                    if g.topic {
                        topics |= 1 << g.index;
                    } else {
                        sets |= 1 << g.index;
                    }
                }
            }
        }
        (sets, topics)
    }

    fn groups() -> Vec<TermGroup<'static>> {
        vec![
            TermGroup {
                terms: vec!["write a", "explain", "ab", "summar*", "a b a"],
                topic: false,
                index: 0,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["order*", "refund", "ba"],
                topic: false,
                index: 1,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["python", "c++", "b"],
                topic: true,
                index: 3,
                direction: Direction::Inbound,
            },
            TermGroup {
                terms: vec!["as an ai", "here is a"],
                topic: false,
                index: 2,
                direction: Direction::Outbound,
            },
        ]
    }

    #[test]
    fn long_texts_split_in_two_find_matches_across_the_middle() {
        let g = groups();
        let m = PatternMatcher::build(&g, vec![]).expect("builds");
        // Each term placed so that the middle of the text falls inside it.
        for term in ["write a", "explain", "summaries", "order", "python", "c++"] {
            let (l, t) = (60, term.len());
            for k in 1..t {
                let r = l + 2 * k - t;
                let text = format!("{} {term} {}", "x".repeat(l), "y".repeat(r));
                let mid = text.len() / 2;
                assert!(mid > l + 1 && mid < l + 1 + t, "{term} {k}: {mid}");
                let f = m.scan(&text, Direction::Inbound);
                assert_eq!(
                    (f.pattern_hits, f.topics),
                    reference(&g, &text, Direction::Inbound),
                    "{term}, middle at {k}"
                );
                assert_ne!((f.pattern_hits, f.topics), (0, 0), "{term} {k}");
            }
        }
    }

    #[test]
    fn long_texts_in_four_lanes_find_matches_across_every_lane_boundary() {
        let g = groups();
        let m = PatternMatcher::build(&g, vec![]).expect("builds");
        let n = 400;
        assert!(n >= FOUR_LANES_MIN_BYTES);
        for term in ["write a", "explain", "summaries", "order", "python", "c++"] {
            let t = term.len();
            for boundary in [n / 4, n / 2, 3 * n / 4] {
                // Every placement of the term over the boundary, and just
                // before and after it.
                for start in boundary - t - 1..=boundary + 1 {
                    let mut text = "x".repeat(start - 1) + " " + term + " ";
                    text += &"y".repeat(n - text.len());
                    assert_eq!(text.len(), n);
                    let f = m.scan(&text, Direction::Inbound);
                    let want = reference(&g, &text, Direction::Inbound);
                    assert_eq!((f.pattern_hits, f.topics), want, "{term} at {start}");
                    assert_ne!(want, (0, 0), "{term} at {start}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn scan_equals_the_slow_reference(
            text in "[abAB +c ]{0,300}|((write a|explain|python|c\\+\\+|as an ai|order|ab|ba| |x|\\.){0,80})",
            outbound in proptest::bool::ANY,
        ) {
            let g = groups();
            let m = PatternMatcher::build(&g, vec![]).expect("builds");
            let dir = if outbound { Direction::Outbound } else { Direction::Inbound };
            let f = m.scan(&text, dir);
            proptest::prop_assert_eq!((f.pattern_hits, f.topics), reference(&g, &text, dir));
        }
    }

    #[test]
    fn duplicate_terms_are_merged() {
        assert_eq!(matcher().term_count(), 11);
    }

    #[test]
    fn empty_matcher_scans() {
        let m = PatternMatcher::build(&[], vec![]).expect("builds");
        assert_eq!(m.scan("anything", Direction::Inbound).pattern_hits, 0);
    }
}
