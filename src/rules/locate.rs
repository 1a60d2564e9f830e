//! Finds the line of a rule, a pattern set or a key in the YAML source, so
//! that semantic errors (found after parsing) still name a line.

/// Line lookups over one YAML source.
pub struct Locator<'a> {
    lines: Vec<&'a str>,
}

fn strip_quotes(v: &str) -> &str {
    let v = v.trim();
    let v = v.split(" #").next().unwrap_or(v).trim();
    v.trim_matches(|c| c == '"' || c == '\'')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

impl<'a> Locator<'a> {
    /// A locator over `src`.
    pub fn new(src: &'a str) -> Self {
        Locator {
            lines: src.lines().collect(),
        }
    }

    /// 1-based line of the top-level key `key:`.
    pub fn top_key(&self, key: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| indent(l) == 0 && l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
            .map(|i| i + 1)
    }

    /// 1-based line of the rule whose `id` is `id` (the line of `- id:` or `id:`).
    pub fn rule(&self, id: &str) -> Option<usize> {
        self.rule_nth(id, 0)
    }

    /// 1-based line of the `n`-th (0-based) rule whose `id` is `id`, so that
    /// a duplicate is reported where it stands.
    pub fn rule_nth(&self, id: &str, n: usize) -> Option<usize> {
        let start = self.top_key("rules").unwrap_or(0);
        self.lines
            .iter()
            .enumerate()
            .skip(start)
            .filter_map(|(i, l)| {
                let t = l.trim_start().trim_start_matches("- ").trim_start();
                let v = t.strip_prefix("id:")?;
                (strip_quotes(v) == id).then_some(i + 1)
            })
            .nth(n)
    }

    /// 1-based line of `key:` inside the block that starts at 1-based line
    /// `start` (the block ends where indentation returns to the start's level
    /// or a sibling list item begins).
    pub fn key_in_block(&self, start: usize, key: &str) -> Option<usize> {
        let first = self.lines.get(start.checked_sub(1)?)?;
        let base = indent(first);
        let first_trim = first.trim_start().trim_start_matches("- ").trim_start();
        if first_trim
            .strip_prefix(key)
            .is_some_and(|r| r.starts_with(':'))
        {
            return Some(start);
        }
        for (i, l) in self.lines.iter().enumerate().skip(start) {
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            if indent(l) <= base {
                return None;
            }
            if l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.starts_with(':'))
            {
                return Some(i + 1);
            }
        }
        None
    }

    /// 1-based line of the mapping key `name:` under the top-level section.
    pub fn entry(&self, section: &str, name: &str) -> Option<usize> {
        let start = self.top_key(section)?;
        for (i, l) in self.lines.iter().enumerate().skip(start) {
            if indent(l) == 0 && !l.trim().is_empty() && !l.starts_with('#') {
                return None;
            }
            let t = l.trim_start();
            if t.strip_prefix(name).is_some_and(|r| r.starts_with(':')) {
                return Some(i + 1);
            }
        }
        None
    }

    /// 1-based line of a pattern set declared anywhere (top-level or in a rule).
    pub fn pattern_set(&self, name: &str) -> Option<usize> {
        self.entry("pattern_sets", name).or_else(|| {
            self.lines
                .iter()
                .position(|l| {
                    l.trim_start()
                        .strip_prefix(name)
                        .is_some_and(|r| r.starts_with(':'))
                })
                .map(|i| i + 1)
        })
    }

    /// The text of 1-based line `n`.
    pub fn line(&self, n: usize) -> Option<&str> {
        self.lines.get(n.checked_sub(1)?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "version: x\npattern_sets:\n  asks:\n    side: inbound\nrules:\n  - id: one\n    version: 1\n    when: a\n  - id: \"two\"\n    score: 2\n    when: |\n      b\n";

    #[test]
    fn finds_rules_keys_and_sets() {
        let l = Locator::new(SRC);
        assert_eq!(l.top_key("rules"), Some(5));
        assert_eq!(l.rule("one"), Some(6));
        assert_eq!(l.rule("two"), Some(9));
        assert_eq!(l.rule_nth("one", 1), None);
        assert_eq!(l.key_in_block(6, "when"), Some(8));
        assert_eq!(l.key_in_block(9, "score"), Some(10));
        assert_eq!(l.key_in_block(6, "score"), None, "stops at the next rule");
        assert_eq!(l.entry("pattern_sets", "asks"), Some(3));
        assert_eq!(l.pattern_set("asks"), Some(3));
    }
}
