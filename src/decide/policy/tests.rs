use super::*;

fn c(code: &str) -> Option<Country> {
    Country::parse(code)
}

fn day(s: &str) -> i64 {
    parse_instant(s).unwrap_or_else(|| panic!("test date {s}"))
}

/// The built-in policy, day before, day of and day after every change, in
/// a member of each place and outside them.
#[test]
fn builtin_policy_by_date_and_country() {
    use PolicyOutcome::*;
    let p = CountryPolicy::default();
    assert_eq!(p.version(), "2026-12-01");
    let cases: &[(&str, &str, PolicyOutcome, &str)] = &[
        // The terms: new users from 15 Oct 2025, everyone from 15 Jan 2026.
        ("ID", "2025-10-14", Allow, "before-ai-provider-terms"),
        ("ID", "2025-10-15", FlagOnly, "ai-provider-terms-new-users"),
        ("ID", "2026-01-14", FlagOnly, "ai-provider-terms-new-users"),
        ("ID", "2026-01-15", Enforce, "ai-provider-terms"),
        ("ID", "2026-12-01", Enforce, "ai-provider-terms"),
        ("US", "2026-03-11", Enforce, "ai-provider-terms"),
        ("BR", "2026-06-01", Enforce, "ai-provider-terms"),
        ("??", "2026-03-11", Enforce, "ai-provider-terms"),
        // Italy: interim measures, then a charge from 16 Feb, then none.
        ("IT", "2025-12-23", FlagOnly, "ai-provider-terms-new-users"),
        ("IT", "2025-12-24", Allow, "it-agcm-interim-measures"),
        ("IT", "2026-02-15", Allow, "it-agcm-interim-measures"),
        ("IT", "2026-02-16", Charge, "it-ai-provider-charge"),
        ("IT", "2026-03-11", Charge, "it-ai-provider-charge"),
        ("IT", "2026-05-12", Charge, "it-ai-provider-charge"),
        ("IT", "2026-05-13", Allow, "it-after-charge"),
        ("IT", "2026-12-31", Allow, "it-after-charge"),
        ("IT", "2027-01-01", FlagOnly, "eea-after-charge"),
        // Another EEA member (and a non-EU one): the EEA charge from 11 Mar.
        ("DE", "2026-02-16", Enforce, "ai-provider-terms"),
        ("DE", "2026-03-10", Enforce, "ai-provider-terms"),
        ("DE", "2026-03-11", Charge, "eea-ai-provider-charge"),
        ("NO", "2026-03-11", Charge, "eea-ai-provider-charge"),
        ("DE", "2026-05-12", Charge, "eea-ai-provider-charge"),
        ("DE", "2026-05-13", FlagOnly, "eea-after-charge"),
        ("ES", "2026-12-01", FlagOnly, "eea-after-charge"),
        // Not in the EEA: Switzerland and the United Kingdom.
        ("CH", "2026-03-11", Enforce, "ai-provider-terms"),
        ("GB", "2026-05-13", Enforce, "ai-provider-terms"),
    ];
    for (country, date, outcome, rule) in cases {
        for (label, at) in [("midnight", day(date)), ("last ms", day(date) + 86_399_999)] {
            let a = p.at(c(country), at);
            assert_eq!(a.outcome, *outcome, "{country} {date} {label}");
            assert_eq!(p.rule_id(a), *rule, "{country} {date} {label}");
        }
    }
    // No country at all: the default.
    assert_eq!(p.outcome(None, day("2026-03-11")), Enforce);
    // Every entry of the built-in file names its source.
    assert!(
        p.entries().iter().all(|e| !e.source.is_empty()),
        "a built-in entry without a source"
    );
}

#[test]
fn a_local_midnight_moves_the_change_by_the_offset() {
    let src = "version: t\noutcomes:\n  - id: d\n    where: default\n    outcome: enforce\n  - id: it\n    where: IT\n    from: \"2026-02-16T00:00:00+01:00\"\n    outcome: charge\n    charge: {currency: EUR, per_message: 0.05}\n";
    let p = CountryPolicy::from_yaml(src, "p.yaml").expect("valid");
    let at = day("2026-02-15T23:00:00Z");
    assert_eq!(p.outcome(c("IT"), at - 1), PolicyOutcome::Enforce);
    let a = p.at(c("IT"), at);
    assert_eq!(a.outcome, PolicyOutcome::Charge);
    assert_eq!(
        p.charge_rate(a),
        Some(&ChargeRate {
            currency: "EUR".into(),
            per_message: 0.05
        })
    );
}

#[test]
fn undated_files_still_load() {
    let p = CountryPolicy::from_yaml(
        "default: enforce\ncountries:\n  IT:\n    outcome: charge\n",
        "old.yaml",
    )
    .expect("the undated shape");
    assert_eq!(p.version(), "undated");
    assert_eq!(p.outcome(c("IT"), 0), PolicyOutcome::Charge);
    assert_eq!(p.outcome(c("IT"), i64::MAX), PolicyOutcome::Charge);
    assert_eq!(p.outcome(c("DE"), i64::MIN), PolicyOutcome::Enforce);
    assert_eq!(p.rule_id(p.at(c("IT"), 0)), "IT");
}

#[test]
fn business_agent_is_allowed_by_its_own_rule() {
    let p = CountryPolicy::default();
    assert_eq!(p.rule_id(Applied::BUSINESS_AGENT), BUSINESS_AGENT_RULE);
    assert_eq!(Applied::BUSINESS_AGENT.outcome, PolicyOutcome::Allow);
    assert_eq!(p.entry(Applied::BUSINESS_AGENT), None);
}

/// Broken files: each refused with the file, the line and the reason.
#[test]
fn bad_files_are_refused_with_line_and_reason() {
    const HEAD: &str = "version: t\nregions:\n  EEA: [DE, IT]\noutcomes:\n  - id: d\n    where: default\n    outcome: enforce\n";
    let cases: &[(&str, &str)] = &[
        ("version: t\noutcomes:\n  - id: d\n    where: default\n    outcome: maybe\n", "p.yaml:5: outcomes[0].outcome: unknown variant `maybe`"),
        ("  - id: x\n    where: ITA\n    outcome: charge\n", "p.yaml:8: outcome `x`: `where: ITA` is neither"),
        ("  - id: x\n    where: IT\n    from: 2026-02-30\n    outcome: charge\n", "p.yaml:8: outcome `x`: `from: 2026-02-30` is not a date"),
        ("  - id: x\n    where: IT\n    from: 2026-03-01\n    until: 2026-02-01\n    outcome: charge\n", "p.yaml:8: outcome `x`: `from` must be before `until`"),
        ("  - id: x\n    where: IT\n    outcome: allow\n    charge: {currency: EUR, per_message: 1}\n", "p.yaml:8: outcome `x`: `charge` is only for `outcome: charge`"),
        ("  - id: x\n    where: IT\n    outcome: charge\n    charge: {currency: euro, per_message: 1}\n", "p.yaml:8: outcome `x`: `currency: euro` is not an ISO 4217 code"),
        ("  - id: x\n    where: IT\n    outcome: charge\n  - id: y\n    where: IT\n    from: 2026-01-01\n    outcome: allow\n", "p.yaml:11: outcome `y` overlaps `x` (line 8) for `IT` from 2026-01-01"),
        ("  - id: d\n    where: IT\n    outcome: charge\n", "p.yaml:8: outcome `d` is defined twice (first at line 5)"),
    ];
    for (tail, want) in cases {
        let src = if tail.starts_with("version") {
            tail.to_string()
        } else {
            format!("{HEAD}{tail}")
        };
        let e = CountryPolicy::from_yaml(&src, "p.yaml")
            .expect_err(want)
            .to_string();
        assert!(e.contains(want), "want `{want}`, got `{e}`");
    }
    // A default that does not cover all time.
    let e = CountryPolicy::from_yaml(
        "version: t\noutcomes:\n  - id: d\n    where: default\n    from: 2026-01-15\n    outcome: enforce\n",
        "p.yaml",
    )
    .expect_err("a gap");
    assert_eq!(
        e.to_string(),
        "p.yaml: the `default` outcomes leave a gap from always to 2026-01-15: the default must cover all time"
    );
    // Two regions sharing a country may not both decide at once.
    let e = CountryPolicy::from_yaml(
        "version: t\nregions:\n  EEA: [DE, IT]\n  EUR: [IT]\noutcomes:\n  - id: d\n    where: default\n    outcome: enforce\n  - id: a\n    where: EEA\n    outcome: charge\n  - id: b\n    where: EUR\n    outcome: allow\n",
        "p.yaml",
    )
    .expect_err("two regions");
    assert!(e.to_string().contains("outcome `b` overlaps `a`"), "{e}");
    // No version.
    let e = CountryPolicy::from_yaml(
        "outcomes:\n  - id: d\n    where: default\n    outcome: enforce\n",
        "p.yaml",
    )
    .expect_err("no version");
    assert!(
        e.to_string().starts_with("p.yaml: `version` is required"),
        "{e}"
    );
    // A missing file names the file.
    let e = CountryPolicy::load(Path::new("/nonexistent/policy.yaml")).expect_err("missing");
    assert_eq!(e.file(), "/nonexistent/policy.yaml");
}

#[test]
fn timelines_merge_equal_neighbours() {
    let p = CountryPolicy::from_yaml(
        "version: t\noutcomes:\n  - id: a\n    where: default\n    until: 2026-01-01\n    outcome: enforce\n  - id: b\n    where: default\n    from: 2026-01-01\n    outcome: enforce\n  - id: it\n    where: IT\n    from: 2026-06-01\n    until: 2026-07-01\n    outcome: allow\n",
        "p.yaml",
    )
    .expect("valid");
    let t: Vec<(i64, &str, PolicyOutcome)> = p
        .timeline(c("IT"))
        .into_iter()
        .map(|(at, a)| (at, p.rule_id(a), a.outcome))
        .collect();
    assert_eq!(
        t,
        vec![
            (i64::MIN, "a", PolicyOutcome::Enforce),
            (day("2026-01-01"), "b", PolicyOutcome::Enforce),
            (day("2026-06-01"), "it", PolicyOutcome::Allow),
            (day("2026-07-01"), "b", PolicyOutcome::Enforce),
        ]
    );
}
