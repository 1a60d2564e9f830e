//! Engine behaviour across events: shadow mode, idle eviction on event
//! time, and rule-set swaps.

mod common;

use std::sync::Arc;

use common::{traffic, Script, T0};
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::engine::Outcome;
use satpam::state::StateLimits;
use satpam::{Engine, EngineConfig, RuleSet};

fn rules(mode: &str) -> Arc<RuleSet> {
    let src = format!(
        "version: t\ndecision:\n  min_evidence:\n    flag: {{sessions: 1, users: 1}}\n    throttle: {{sessions: 1, users: 1}}\n    suspend: {{sessions: 1, users: 1}}\nrules:\n  - id: everything\n    version: 1\n    description: fires on every user message\n    score: 1.0\n    mode: {mode}\n    when: msg.inbound\n"
    );
    Arc::new(RuleSet::from_yaml(&src, "t.yaml").expect("compiles"))
}

fn run(engine: &Engine, events: Vec<satpam::pb::v1::MessageEvent>) -> Vec<Outcome> {
    common::drive(engine, None, &common::events_of(events))
}

fn engine(rules: Arc<RuleSet>, limits: StateLimits) -> Engine {
    let config = EngineConfig {
        limits,
        sweep_every_ms: 60_000,
    };
    Engine::new(
        rules,
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        config,
    )
}

#[test]
fn shadow_rules_are_counted_but_never_decide() {
    let shadow = engine(rules("shadow"), StateLimits::default());
    let outcomes = run(&shadow, traffic(Script::SupportBot, "acc", 5, 60, true));
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Processed(None)),
        "a shadow rule changed a decision"
    );
    assert!(
        shadow.rules().hit_counts()[0] > 0,
        "the shadow rule was not evaluated"
    );

    let enforced = engine(rules("enforce"), StateLimits::default());
    let outcomes = run(&enforced, traffic(Script::SupportBot, "acc", 5, 60, true));
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Processed(Some(_)))),
        "the same rule enforcing must act"
    );
}

#[test]
fn idle_state_is_evicted_on_event_time() {
    let limits = StateLimits {
        conversation_idle_ms: 30 * 60_000,
        account_idle_ms: 60 * 60_000,
        actioned_account_idle_ms: 24 * 3_600_000,
    };
    let e = engine(Arc::new(RuleSet::default_pack()), limits);
    run(&e, traffic(Script::SupportBot, "old", 5, 20, true));
    let before = e.store_stats();
    assert_eq!(before.accounts, 1);
    assert!(before.conversations >= 5);
    // Three hours later another account speaks: the sweep drops the idle one.
    let mut later = traffic(Script::SupportBot, "new", 1, 5, true);
    for m in &mut later {
        m.timestamp_ms += 3 * 3_600_000;
    }
    run(&e, later);
    let after = e.store_stats();
    assert_eq!(after.accounts, 1, "{after:?}");
    assert!(e.account("bsp-test", "old").is_none());
    assert!(e.account("bsp-test", "new").is_some());
    assert!(after.conversations < before.conversations);
    assert!(after.account_bytes > 0 && after.conversation_bytes > 0);
}

#[test]
fn a_swapped_rule_set_decides_from_the_next_event() {
    let e = engine(rules("shadow"), StateLimits::default());
    let mut events = traffic(Script::SupportBot, "acc", 5, 60, true);
    let second_half = events.split_off(events.len() / 2);
    assert!(run(&e, events)
        .iter()
        .all(|o| *o == Outcome::Processed(None)));
    let enforcing = rules("enforce");
    let version = enforcing.version().to_string();
    e.swap_rules(enforcing);
    let signals: Vec<_> = run(&e, second_half)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Processed(Some(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert!(!signals.is_empty());
    assert!(signals.iter().all(|s| s.rule_set_version == version));
}
