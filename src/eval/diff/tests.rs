//! The comparison on hand-made strongest signals: moves, the rule that made
//! the difference, tallies.

use super::*;
use crate::decide::{Evidence, PolicyOutcome, RuleEvidence};

fn signal(tenant: &str, account: &str, action: Action, rules: &[(&str, u32)]) -> Signal {
    Signal {
        signal_id: String::new(),
        tenant_id: tenant.into(),
        account_id: account.into(),
        action,
        previous_action: Action::None,
        score: 0.9,
        throttle_mps: None,
        evidence: Evidence {
            rules: rules
                .iter()
                .map(|(id, v)| RuleEvidence {
                    rule_id: (*id).into(),
                    rule_version: *v,
                    score: 0.4,
                    last_fired_ms: 0,
                    hits: 1,
                    features: Vec::new(),
                })
                .collect(),
            ..Evidence::default()
        },
        rule_set_version: String::new(),
        event_time_ms: 0,
        decided_at_ms: 0,
        trigger_event_id: String::new(),
        policy_country: None,
        policy_version: String::new(),
        policy_rule: String::new(),
        policy_outcome: PolicyOutcome::Enforce,
        level: crate::rules::Subject::Account,
        waba_id: String::new(),
        numbers: Vec::new(),
    }
}

#[test]
fn identical_sides_change_nothing() {
    let s = vec![
        signal("t", "a", Action::Suspend, &[("r1", 1)]),
        signal("t", "b", Action::Flag, &[("r2", 1)]),
    ];
    let d = compare(&s, &s, &RuleChanges::default(), &[]);
    assert_eq!((d.up, d.down, d.unchanged), (0, 0, 2));
    assert!(d.changes.is_empty() && d.transitions.is_empty());
}

fn changes(rules: &[&str], decision: bool) -> RuleChanges {
    RuleChanges {
        rules: rules.iter().map(|r| r.to_string()).collect(),
        decision,
    }
}

#[test]
fn moves_name_their_changed_rule_or_the_ladder_and_are_tallied() {
    let old = vec![
        signal("t1", "stricter", Action::Throttle, &[("r1", 1)]),
        signal("t1", "removed", Action::Suspend, &[("r1", 1), ("gone", 2)]),
        signal("t2", "dropped", Action::Flag, &[("gone", 2)]),
        signal("t2", "same", Action::Charge, &[("r1", 1)]),
    ];
    let new = vec![
        signal("t1", "stricter", Action::Suspend, &[("r1", 1)]),
        signal("t1", "removed", Action::Throttle, &[("r1", 1)]),
        signal("t2", "same", Action::Charge, &[("r1", 1)]),
        signal("t2", "fresh", Action::Flag, &[("r1", 1), ("added", 1)]),
    ];
    let labels = vec![Label {
        account_id: "fresh".into(),
        archetype: "my_own_class".into(),
        violating: true,
    }];
    let d = compare(&old, &new, &changes(&["gone", "added"], true), &labels);
    assert_eq!((d.actioned_old, d.actioned_new), (4, 4));
    assert_eq!((d.up, d.down, d.unchanged), (2, 2, 1));
    let moves: Vec<(&str, Action, Action, bool, Vec<&str>)> = d
        .changes
        .iter()
        .map(|c| {
            (
                c.account_id.as_str(),
                c.old,
                c.new,
                c.up,
                c.rules.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            (
                "stricter",
                Action::Throttle,
                Action::Suspend,
                true,
                vec![LADDER]
            ),
            ("fresh", Action::None, Action::Flag, true, vec!["added v1"]),
            (
                "removed",
                Action::Suspend,
                Action::Throttle,
                false,
                vec!["gone v2"]
            ),
            (
                "dropped",
                Action::Flag,
                Action::None,
                false,
                vec!["gone v2"]
            ),
        ]
    );
    let fresh = &d.changes[1];
    assert_eq!(
        (fresh.archetype.as_deref(), fresh.violating),
        (Some("my_own_class"), Some(true))
    );
    assert_eq!(d.changes[0].archetype, None);
    assert_eq!(
        d.transitions,
        vec![
            Transition {
                old: Action::None,
                new: Action::Flag,
                accounts: 1
            },
            Transition {
                old: Action::Flag,
                new: Action::None,
                accounts: 1
            },
            Transition {
                old: Action::Throttle,
                new: Action::Suspend,
                accounts: 1
            },
            Transition {
                old: Action::Suspend,
                new: Action::Throttle,
                accounts: 1
            },
        ]
    );
    let tally = |v: &[Tally]| -> Vec<(String, u64, u64)> {
        v.iter().map(|t| (t.key.clone(), t.up, t.down)).collect()
    };
    assert_eq!(
        tally(&d.by_tenant),
        vec![("t1".into(), 1, 1), ("t2".into(), 1, 1)]
    );
    assert_eq!(
        tally(&d.by_rule),
        vec![
            ("added v1".into(), 1, 0),
            (LADDER.into(), 1, 0),
            ("gone v2".into(), 0, 2),
        ]
    );
}

/// The same account id under two tenants is two accounts.
#[test]
fn accounts_are_keyed_by_tenant_too() {
    let old = vec![signal("t1", "a", Action::Suspend, &[("r", 1)])];
    let new = vec![signal("t2", "a", Action::Suspend, &[("r", 1)])];
    let d = compare(&old, &new, &RuleChanges::default(), &[]);
    assert_eq!((d.up, d.down, d.unchanged), (1, 1, 0));
}

/// With neither a changed rule nor a changed ladder in the decisions, the
/// rules active on the stronger side only are named, else the indirect cause.
#[test]
fn without_a_named_change_the_stronger_sides_own_rules_are_named() {
    let old = vec![
        signal("t", "a", Action::Flag, &[("r1", 1)]),
        signal("t", "b", Action::Flag, &[("r1", 1)]),
    ];
    let new = vec![
        signal("t", "a", Action::Throttle, &[("r1", 1), ("r2", 1)]),
        signal("t", "b", Action::Throttle, &[("r1", 1)]),
    ];
    let d = compare(&old, &new, &changes(&["elsewhere"], false), &[]);
    let causes: Vec<&[String]> = d.changes.iter().map(|c| c.rules.as_slice()).collect();
    assert_eq!(
        causes,
        vec![&["r2 v1".to_string()][..], &[INDIRECT.to_string()][..]]
    );
}

const PACK: &str = "version: t\ndecision:\n  thresholds: { flag: 0.5, throttle: 0.7, suspend: 0.9 }\nrules:\n  - id: a\n    version: 1\n    description: a\n    score: 0.5\n    when: account.users_1h >= 3\n  - id: b\n    version: 1\n    description: b\n    score: 0.5\n    when: account.users_1h >= 5\n";

/// Rules added, removed or edited are named; an untouched one is not; the
/// decision section is compared on its own.
#[test]
fn rule_changes_between_two_sets() {
    let set = |src: &str| RuleSet::from_yaml(src, "t.yaml").expect("compiles");
    let old = set(PACK);
    assert_eq!(RuleChanges::between(&old, &set(PACK)), changes(&[], false));
    let edited = PACK.replace("users_1h >= 5", "users_1h >= 6");
    assert_eq!(
        RuleChanges::between(&old, &set(&edited)),
        changes(&["b"], false)
    );
    let renamed = PACK
        .replace("id: a", "id: c")
        .replace("flag: 0.5", "flag: 0.4");
    assert_eq!(
        RuleChanges::between(&old, &set(&renamed)),
        changes(&["a", "c"], true)
    );
}
