//! One Aho-Corasick automaton over every pattern set and topic term: the
//! text is scanned once per event. A set's confirming regex runs only after
//! one of its terms hit.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::features::text::is_structured;
use crate::state::ScanFacts;

/// What a term feeds when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Pattern set slot.
    Set(u8),
    /// Topic bit.
    Topic(u8),
}

#[derive(Debug, Clone)]
struct TermInfo {
    /// A trailing `*` in the rule file: the word may continue.
    prefix: bool,
    targets: Vec<Target>,
}

/// A term list to add to the matcher, with where its hits go.
pub struct TermGroup<'a> {
    /// Terms as written (case-insensitive; trailing `*` = prefix).
    pub terms: Vec<&'a str>,
    /// True: a topic (bit `index`); false: a pattern set (slot `index`).
    pub topic: bool,
    /// Slot or bit.
    pub index: u8,
}

/// The immutable matcher of a rule set. `Send + Sync`; scanning needs no scratch.
#[derive(Debug, Clone)]
pub struct PatternMatcher {
    automaton: Option<AhoCorasick>,
    terms: Vec<TermInfo>,
    confirm: Vec<Option<Regex>>,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

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

impl PatternMatcher {
    /// Builds the matcher. `confirm[i]` is pattern set i's regex, if any.
    pub fn build(groups: &[TermGroup<'_>], confirm: Vec<Option<Regex>>) -> Result<Self, String> {
        let mut index: std::collections::HashMap<(String, bool), usize> = Default::default();
        let mut patterns: Vec<String> = Vec::new();
        let mut terms: Vec<TermInfo> = Vec::new();
        for g in groups {
            for raw in &g.terms {
                let Some((term, prefix)) = normalise_term(raw) else {
                    continue;
                };
                let target = if g.topic {
                    Target::Topic(g.index)
                } else {
                    Target::Set(g.index)
                };
                let id = *index.entry((term.clone(), prefix)).or_insert_with(|| {
                    patterns.push(term);
                    terms.push(TermInfo {
                        prefix,
                        targets: Vec::new(),
                    });
                    terms.len() - 1
                });
                if !terms[id].targets.contains(&target) {
                    terms[id].targets.push(target);
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)
                    .map_err(|e| format!("pattern automaton: {e}"))?,
            )
        };
        Ok(PatternMatcher {
            automaton,
            terms,
            confirm,
        })
    }

    /// Number of distinct terms in the automaton.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Scans `text` once.
    pub fn scan(&self, text: &str) -> ScanFacts {
        let mut facts = ScanFacts {
            scanned: !text.is_empty(),
            structured: is_structured(text),
            ..ScanFacts::default()
        };
        let Some(ac) = &self.automaton else {
            return facts;
        };
        let bytes = text.as_bytes();
        for m in ac.find_overlapping_iter(text) {
            let info = &self.terms[m.pattern().as_usize()];
            let start_ok = m.start() == 0 || !is_word_byte(bytes[m.start() - 1]);
            let end_ok = info.prefix || m.end() == bytes.len() || !is_word_byte(bytes[m.end()]);
            if !(start_ok && end_ok) {
                continue;
            }
            for t in &info.targets {
                match *t {
                    Target::Set(i) => facts.pattern_hits |= 1 << i,
                    Target::Topic(i) => facts.topics |= 1 << i,
                }
            }
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
            },
            TermGroup {
                terms: vec!["order", "refund", "explain"],
                topic: false,
                index: 1,
            },
            TermGroup {
                terms: vec!["python", "javascript"],
                topic: true,
                index: 0,
            },
            TermGroup {
                terms: vec!["recipe"],
                topic: true,
                index: 5,
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
            let f = m.scan(text);
            assert_eq!((f.pattern_hits, f.topics), (*sets, *topics), "{text}");
            assert_eq!(f.scanned, !text.is_empty());
        }
    }

    #[test]
    fn duplicate_terms_are_merged() {
        assert_eq!(matcher().term_count(), 9);
    }

    #[test]
    fn empty_matcher_scans() {
        let m = PatternMatcher::build(&[], vec![]).expect("builds");
        assert_eq!(m.scan("anything").pattern_hits, 0);
    }
}
