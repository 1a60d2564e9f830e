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
    }
}

#[test]
fn identical_sides_change_nothing() {
    let s = vec![
        signal("t", "a", Action::Suspend, &[("r1", 1)]),
        signal("t", "b", Action::Flag, &[("r2", 1)]),
    ];
    let d = compare(&s, &s, &[]);
    assert_eq!((d.up, d.down, d.unchanged), (0, 0, 2));
    assert!(d.changes.is_empty() && d.transitions.is_empty());
}

#[test]
fn moves_name_their_rule_or_the_ladder_and_are_tallied() {
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
        signal("t2", "fresh", Action::Flag, &[("r1", 2)]),
    ];
    let labels = vec![Label {
        account_id: "fresh".into(),
        archetype: "my_own_class".into(),
        violating: true,
    }];
    let d = compare(&old, &new, &labels);
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
            ("fresh", Action::None, Action::Flag, true, vec!["r1 v2"]),
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
            (LADDER.into(), 1, 0),
            ("gone v2".into(), 0, 2),
            ("r1 v2".into(), 1, 0),
        ]
    );
}

/// The same account id under two tenants is two accounts.
#[test]
fn accounts_are_keyed_by_tenant_too() {
    let old = vec![signal("t1", "a", Action::Suspend, &[("r", 1)])];
    let new = vec![signal("t2", "a", Action::Suspend, &[("r", 1)])];
    let d = compare(&old, &new, &[]);
    assert_eq!((d.up, d.down, d.unchanged), (1, 1, 0));
}
