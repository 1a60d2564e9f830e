//! Engine behaviour across events: shadow mode, idle eviction on event
//! time, and rule-set swaps.

mod common;

use std::sync::Arc;

use common::{traffic, Script, T0};
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::engine::Outcome;
use satpam::state::StateLimits;
use satpam::{Engine, EngineConfig, Event, RuleSet, Scratch};

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
        ..EngineConfig::default()
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
    let mut scratch = satpam::Scratch::default();
    let mut fired = 0;
    for e in common::events_of(traffic(Script::SupportBot, "acc", 5, 60, true)) {
        let o = shadow.process(&e, &mut scratch);
        assert_eq!(
            o,
            Outcome::Processed(None),
            "a shadow rule changed a decision"
        );
        fired += scratch.fired().iter().filter(|i| **i == 0).count();
    }
    assert!(fired > 0, "the shadow rule was not evaluated");

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
        ..StateLimits::default()
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

#[test]
fn an_event_outside_the_time_window_is_refused_and_changes_nothing() {
    let e = engine(Arc::new(RuleSet::default_pack()), StateLimits::default());
    let events = traffic(Script::SupportBot, "acc", 3, 30, true);
    run(&e, events.clone());
    let before = e.store_stats();
    let watermark = e.watermark_ms();
    let mut scratch = Scratch::default();
    for (ts, ahead) in [
        (watermark + 400 * 86_400_000, true),
        (i64::MAX, true),
        (watermark - 2 * 86_400_000, false),
    ] {
        let mut m = events[0].clone();
        m.account_id = "other".into();
        m.event_id = format!("hostile-{ts}");
        m.timestamp_ms = ts;
        let ev = Event::try_from(m).expect("valid");
        match e.process(&ev, &mut scratch) {
            Outcome::Refused(why) => {
                let text = why.to_string();
                let key = if ahead {
                    "max_future_ms"
                } else {
                    "max_past_ms"
                };
                assert!(text.contains(key), "{text}");
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    assert_eq!(e.watermark_ms(), watermark);
    assert_eq!(e.store_stats(), before);
    assert!(e.account("bsp-test", "other").is_none());
    assert_eq!(e.stats().refused, 3);
}

#[test]
fn extreme_timestamps_never_overflow_with_the_window_off() {
    let config = EngineConfig {
        event_time: satpam::limits::EventTimeLimits {
            max_future_ms: 0,
            max_past_ms: 0,
        },
        sweep_every_ms: 60_000,
        ..EngineConfig::default()
    };
    let e = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(i64::MAX)),
        config,
    );
    let mut events = traffic(Script::Assistant, "acc", 4, 30, true);
    let n = events.len();
    for (i, m) in events.iter_mut().enumerate() {
        m.timestamp_ms = if i < n / 2 {
            1
        } else {
            i64::MAX - (n - i) as i64
        };
    }
    events.push(events[n - 1].clone());
    events[n].event_id = "last".into();
    events[n].timestamp_ms = i64::MAX;
    let outcomes = run(&e, events);
    assert!(outcomes.iter().all(|o| !matches!(o, Outcome::Refused(_))));
    assert_eq!(e.watermark_ms(), i64::MAX);
}
