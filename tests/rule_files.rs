//! Table-driven rule-file validation: every bad file is refused with the
//! right line and reason; good variants compile.

use satpam::RuleSet;

const HEAD: &str = "version: t\n";

fn rule(id: &str, when: &str) -> String {
    format!("  - id: {id}\n    version: 1\n    description: d\n    score: 0.5\n    when: {when}\n")
}

#[test]
fn bad_files_name_line_and_reason() {
    let cases: Vec<(&str, String, usize, &str)> = vec![
        ("duplicate id", format!("{HEAD}rules:\n{}{}", rule("a", "msg.inbound"), rule("a", "msg.outbound")), 8, "used twice"),
        (
            "bad confirm regex",
            format!("{HEAD}pattern_sets:\n  asks:\n    side: inbound\n    terms: {{en: [write]}}\n    confirm: '(unclosed'\nrules:\n{}", rule("a", "msg.asks")),
            3,
            "bad confirm regex",
        ),
        (
            "empty terms",
            format!("{HEAD}pattern_sets:\n  asks:\n    side: inbound\n    terms: {{en: []}}\nrules:\n{}", rule("a", "msg.asks")),
            3,
            "has no terms",
        ),
        (
            "language code",
            format!("{HEAD}pattern_sets:\n  asks:\n    side: inbound\n    terms: {{english: [write]}}\nrules:\n{}", rule("a", "msg.asks")),
            3,
            "two-letter language code",
        ),
        (
            "thresholds out of order",
            format!("{HEAD}decision:\n  thresholds: {{flag: 0.8, throttle: 0.7, suspend: 0.9}}\nrules:\n{}", rule("a", "msg.inbound")),
            2,
            "0 < flag < throttle < suspend",
        ),
        (
            "collides with a built-in feature",
            format!("{HEAD}pattern_sets:\n  inbound:\n    side: inbound\n    terms: {{en: [x]}}\nrules:\n{}", rule("a", "msg.outbound")),
            3,
            "collides with a built-in feature",
        ),
        ("unknown field", format!("{HEAD}rules:\n{}    severity: high\n", rule("a", "msg.inbound")), 8, "unknown field `severity`"),
        ("no rules", format!("{HEAD}rules: []\n"), 2, "no rules"),
    ];
    for (name, src, line, reason) in cases {
        let err = RuleSet::from_yaml(&src, "r.yaml").expect_err(name);
        let hit = err.diagnostics().iter().find(|d| d.reason.contains(reason));
        let d = hit.unwrap_or_else(|| panic!("{name}: no `{reason}` in {err}"));
        assert_eq!(d.line, line, "{name}: {err}");
        assert_eq!(d.file, "r.yaml");
    }
}

#[test]
fn too_many_pattern_sets_are_refused() {
    let mut src = format!("{HEAD}pattern_sets:\n");
    for i in 0..9 {
        src.push_str(&format!(
            "  s{i}:\n    side: inbound\n    terms: {{en: [w{i}]}}\n"
        ));
    }
    src.push_str(&format!("rules:\n{}", rule("a", "msg.s0")));
    let err = RuleSet::from_yaml(&src, "r.yaml").expect_err("nine sets");
    assert!(err.to_string().contains("at most 8"), "{err}");
}

#[test]
fn rule_local_pattern_sets_and_shadow_mode_compile() {
    let src = format!(
        "{HEAD}rules:\n  - id: a\n    version: 2\n    description: d\n    score: 0.3\n    mode: shadow\n    patterns:\n      greetings:\n        side: inbound\n        terms: {{en: [hello], id: [halo]}}\n    when: msg.greetings && account.greetings_share > 0.5\n"
    );
    let r = RuleSet::from_yaml(&src, "r.yaml").expect("compiles");
    assert!(r.rules()[0].shadow);
    assert_eq!(r.pattern_sets().len(), 1);
    assert_ne!(
        r.matcher()
            .scan("halo kak", satpam::event::Direction::Inbound)
            .pattern_hits,
        0
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let src = format!(
        "{HEAD}rules:\n{}{}",
        rule("a", "account.nope > 1"),
        rule("b", "msg.inbound > 1")
    );
    let err = RuleSet::from_yaml(&src, "r.yaml").expect_err("two errors");
    assert_eq!(err.diagnostics().len(), 2, "{err}");
    assert_eq!(err.diagnostics()[0].line, 7);
    assert_eq!(err.diagnostics()[1].line, 12);
}
