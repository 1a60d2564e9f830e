//! Bounds on a rules file, so that a huge or hostile file is refused with
//! `file:line: reason` instead of exhausting memory, time or the stack
//! while it compiles (docs/security.md, Limits). The shipped pack uses a
//! small fraction of each.

/// Largest rules file, bytes (the shipped pack is ~14 KB).
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Most rules in one file.
pub const MAX_RULES: usize = 512;
/// Most terms over every pattern set and topic of a file.
pub const MAX_TERMS: usize = 50_000;
/// Longest term, bytes.
pub const MAX_TERM_BYTES: usize = 128;
/// Longest `confirm` regex, bytes of its source.
pub const MAX_REGEX_BYTES: usize = 4_096;
/// Largest compiled `confirm` regex and its lazy DFA cache, bytes
/// (`regex::RegexBuilder::size_limit` and `dfa_size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Largest pattern automaton (Aho-Corasick DFA) of one side, bytes (the
/// matcher's own bound, in the scan stage).
pub use crate::scan::matcher::MAX_AUTOMATON_BYTES;
/// Longest `when` condition, bytes.
pub const MAX_CONDITION_BYTES: usize = 4_096;
/// Deepest nesting of a `when` condition: brackets and `? :` in its text,
/// and operators in the parsed expression (`a && b && c` is 3 deep).
pub const MAX_CONDITION_DEPTH: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn file(when: &str, extra: &str) -> String {
        format!(
            "version: t\n{extra}rules:\n  - id: r\n    version: 1\n    description: d\n    score: 0.5\n    when: {when}\n"
        )
    }

    fn refused(src: &str) -> String {
        match RuleSet::from_yaml(src, "hostile.yaml") {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn each_bound_is_refused_with_file_line_and_reason() {
        assert!(RuleSet::from_yaml(&file("msg.inbound", ""), "ok.yaml").is_ok());
        // `&&` and `||` chains are balanced by the parser; `+` chains nest.
        let long_chain = format!("{} > 1", vec!["account.users_1h"; 100].join(" + "));
        let nots = format!("{}msg.inbound", "!".repeat(2_000));
        let nesting = |n: usize| format!("{}msg.inbound{}", "(".repeat(n), ")".repeat(n));
        let many_terms: Vec<String> = (0..MAX_TERMS + 1).map(|i| format!("t{i}")).collect();
        let cases: Vec<(String, &str)> = vec![
            (
                file(&format!("'{}'", nesting(100)), ""),
                "hostile.yaml:7: rule `r`: condition nests deeper than 64 levels",
            ),
            (
                file(&long_chain, ""),
                "hostile.yaml:7: rule `r`: condition nests deeper than 64 levels",
            ),
            (
                file(&format!("'{}'", "msg.inbound || ".repeat(400)), ""),
                "hostile.yaml:7: rule `r`: condition is 6000 bytes; at most 4096",
            ),
            (
                file(&format!("'{}'", nesting(50_000)), ""),
                "hostile.yaml:7: rule `r`: condition is 100011 bytes; at most 4096",
            ),
            (
                file(&format!("'{}'", nesting(600_000)), ""),
                "hostile.yaml:0: rules file is 1200",
            ),
            (
                file(
                    "msg.inbound",
                    &format!("pattern_sets:\n  big:\n    side: inbound\n    terms: {{en: [{}]}}\n", many_terms.join(", ")),
                ),
                "hostile.yaml:2: 50001 terms declared; at most 50000",
            ),
            (
                file(
                    "msg.inbound",
                    &format!("pattern_sets:\n  big:\n    side: inbound\n    terms: {{en: [{}]}}\n", "x".repeat(200)),
                ),
                "hostile.yaml:3: pattern set `big`: a term in `en` is 200 bytes; at most 128",
            ),
            (
                file(
                    "msg.inbound",
                    "pattern_sets:\n  big:\n    side: inbound\n    terms: {en: [x]}\n    confirm: '\\w{1000}\\w{1000}\\w{1000}'\n",
                ),
                "hostile.yaml:3: pattern set `big`: bad confirm regex",
            ),
        ];
        // CEL folds a run of `!` into at most one: no depth, no overflow.
        assert!(RuleSet::from_yaml(&file(&format!("'{nots}'"), ""), "n.yaml").is_ok());
        for (src, want) in cases {
            let got = refused(&src);
            assert!(
                got.starts_with(want),
                "want {want}\n got {}",
                &got[..got.len().min(300)]
            );
        }
        let rules: String = (0..MAX_RULES + 1)
            .map(|i| {
                format!(
                    "  - {{id: r{i}, version: 1, description: d, score: 0.1, when: msg.inbound}}\n"
                )
            })
            .collect();
        let got = refused(&format!("version: t\nrules:\n{rules}"));
        assert!(
            got.starts_with("hostile.yaml:2: 513 rules declared; at most 512"),
            "{}",
            &got[..200.min(got.len())]
        );
    }
}
