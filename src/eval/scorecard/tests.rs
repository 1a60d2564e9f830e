//! Scorecard tests: rates, exemptions, any archetype names, targets.

use super::*;
use crate::decide::Evidence;

fn signal(account: &str, action: Action, t: i64) -> Signal {
    Signal {
        signal_id: String::new(),
        tenant_id: "t".into(),
        account_id: account.into(),
        action,
        previous_action: Action::None,
        score: 1.0,
        throttle_mps: None,
        evidence: Evidence::default(),
        rule_set_version: String::new(),
        event_time_ms: t,
        decided_at_ms: t,
        trigger_event_id: String::new(),
        policy_country: None,
        policy_version: String::new(),
        policy_rule: String::new(),
        policy_outcome: crate::decide::PolicyOutcome::Enforce,
        level: crate::rules::Subject::Account,
        waba_id: String::new(),
        numbers: Vec::new(),
    }
}

fn label(id: &str, archetype: &str, violating: bool) -> Label {
    Label {
        account_id: id.into(),
        archetype: archetype.into(),
        violating,
    }
}

/// Accounts the policy allowed leave the rates and are counted apart;
/// an account actioned beyond a flag is never exempt.
#[test]
fn policy_exempt_accounts_leave_the_rates() {
    let labels = vec![
        label("v1", "assistant_distributor", true),
        label("v2", "assistant_distributor", true),
        label("v3", "evasive_assistant", true),
        label("l1", "support_bot", false),
    ];
    let mut b = ScorecardBuilder::new(labels);
    for a in ["v1", "v2", "v3", "l1"] {
        b.event(a, 0);
    }
    b.signal(&signal("v1", Action::Suspend, 60_000));
    b.signal(&signal("v3", Action::Charge, 60_000));
    b.exempt("v2", true); // allowed market, evidence at throttle or above
    b.exempt("v3", true); // charged before: stays counted
    b.exempt("l1", false);
    b.exempt("unknown", true);
    let c = b.finish();
    let o = &c.overall;
    assert_eq!((o.violating_accounts, o.legitimate_accounts), (2, 0));
    assert_eq!(o.recall_enforced, 1.0);
    assert_eq!(
        o.exempt_by_policy,
        Exempt {
            violating: 1,
            violating_detected: 1,
            legitimate: 1,
            legitimate_detected: 0
        }
    );
    let row = |name: &str| {
        c.archetypes
            .iter()
            .find(|r| r.archetype == name)
            .map(|r| r.accounts)
    };
    assert_eq!(row("assistant_distributor"), Some(1));
    assert_eq!(row("support_bot"), Some(0));
    assert!(c.render().contains("exempt by the country policy (allow or flag_only, not counted above): 1 violating (1 at throttle level or above), 1 legitimate (0 at throttle level or above)"));
}

/// Rows follow the classes the labels name, legitimate first, by name,
/// whatever the labels' order; the weakest violating class is the one
/// held to the per-archetype target.
#[test]
fn any_archetype_names_weakest_class_and_row_order() {
    let labels = vec![
        label("p1", "perplexity_clone", true),
        label("u1", "umkm_shop", false),
        label("c1", "chatgpt_clone", true),
        label("c2", "chatgpt_clone", true),
        label("p2", "perplexity_clone", true),
        label("b1", "bookshop", false),
    ];
    let mut b = ScorecardBuilder::new(labels);
    for a in ["p1", "u1", "c1", "c2", "p2", "b1"] {
        b.event(a, 0);
    }
    b.signal(&signal("c1", Action::Suspend, 60_000));
    b.signal(&signal("c2", Action::Throttle, 60_000));
    b.signal(&signal("p1", Action::Throttle, 60_000));
    let c = b.finish();
    let names: Vec<(&str, bool, u64)> = c
        .archetypes
        .iter()
        .map(|r| (r.archetype.as_str(), r.violating, r.accounts))
        .collect();
    assert_eq!(
        names,
        vec![
            ("bookshop", false, 1),
            ("umkm_shop", false, 1),
            ("chatgpt_clone", true, 2),
            ("perplexity_clone", true, 2),
        ]
    );
    let o = &c.overall;
    assert_eq!(o.recall_enforced, 0.75);
    assert_eq!(o.weakest_archetype.as_deref(), Some("perplexity_clone"));
    assert_eq!(o.recall_enforced_weakest, 0.5);
    let misses = Targets::TEXT.misses(&c);
    assert!(
        misses.contains(&"recall on perplexity_clone 0.5000 < 0.9".to_string()),
        "{misses:?}"
    );
    assert!(c
        .render()
        .contains("recall 0.7500 (weakest archetype: perplexity_clone 0.5000)"));
}

#[test]
fn precision_recall_and_time_to_detect() {
    let labels = vec![
        label("v1", "assistant_distributor", true),
        label("v2", "evasive_assistant", true),
        label("l1", "support_bot", false),
        label("l2", "support_bot", false),
    ];
    let mut b = ScorecardBuilder::new(labels);
    for a in ["v1", "v2", "l1", "l2"] {
        b.event(a, 0);
    }
    b.signal(&signal("v1", Action::Flag, 60_000));
    b.signal(&signal("v1", Action::Suspend, 240_000));
    b.signal(&signal("v2", Action::Throttle, 600_000));
    b.signal(&signal("l1", Action::Flag, 60_000));
    b.signal(&signal("l1", Action::Restore, 120_000));
    let c = b.finish();
    let o = &c.overall;
    assert_eq!((o.recall_enforced, o.precision_enforced), (1.0, 1.0));
    assert_eq!((o.recall_suspended, o.recall_enforced_weakest), (0.5, 1.0));
    assert_eq!(
        (
            o.legitimate_flagged,
            o.legitimate_suspended,
            o.legitimate_throttled
        ),
        (1, 0, 0)
    );
    assert_eq!(
        o.ttd_median_min,
        Some(10.0),
        "median of 4 and 10 rounds to the upper"
    );
    assert!(
        Targets::TEXT.misses(&c).is_empty(),
        "{:?}",
        Targets::TEXT.misses(&c)
    );
    b.signal(&signal("l2", Action::Suspend, 1));
    let misses = Targets::TEXT.misses(&b.finish());
    assert!(
        misses
            .iter()
            .any(|m| m.contains("legitimate accounts suspended")),
        "{misses:?}"
    );
}
