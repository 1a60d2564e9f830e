//! The country policy by date through the engine: the same traffic under
//! two policy versions changes only the outcomes of the market whose policy
//! changed; Meta's Business Agent is never judged as an AI Provider; the
//! charge ledger counts what Meta would charge.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{traffic, Script, T0};
use satpam::decide::{Action, CountryPolicy, Overrides, PolicyOutcome, Signal};
use satpam::pb::v1::{Direction, MessageEvent, MessageKind, Sender};
use satpam::replay::Replayer;
use satpam::RuleSet;
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

fn replay(events: &[MessageEvent], policy: CountryPolicy) -> (Vec<Signal>, Replayer) {
    common::replay_default_pack(events.iter().cloned(), policy)
}

fn by_account(signals: &[Signal]) -> BTreeMap<String, Vec<&Signal>> {
    let mut m: BTreeMap<String, Vec<&Signal>> = BTreeMap::new();
    for s in signals {
        m.entry(s.account_id.clone()).or_default().push(s);
    }
    m
}

const ENFORCE: &str =
    "version: v1\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n";

/// Version 2 adds one dated entry: Italy charges from the scenario's start.
fn charge_italy_from(ms: i64) -> String {
    format!(
        "version: v2\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n  - id: it-charge\n    where: IT\n    from: \"{}\"\n    outcome: charge\n    charge: {{currency: EUR, per_message: 0.05}}\n",
        satpam::decide::policy::format_date(ms)
    )
}

#[test]
fn two_policy_versions_differ_only_where_the_outcome_changed() {
    let config = ScenarioConfig {
        accounts: 300,
        hours: 4.0,
        seed: 7,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate(&config, Arc::new(TextBank::builtin()));
    // Every fifth account's users are moved to Italy, so the market whose
    // outcome changes holds assistants whatever the generator drew.
    let events: Vec<MessageEvent> = scenario
        .events()
        .map(|mut m| {
            if m.account_id
                .bytes()
                .last()
                .is_some_and(|b| (b - b'0') % 5 == 0)
            {
                m.user_country = "IT".into();
            }
            m
        })
        .collect();
    let v1 = CountryPolicy::from_yaml(ENFORCE, "v1.yaml").expect("v1");
    let v2 = CountryPolicy::from_yaml(&charge_italy_from(config.start_ms), "v2.yaml").expect("v2");
    let (a, _) = replay(&events, v1);
    let (b, _) = replay(&events, v2);
    let (a, b) = (by_account(&a), by_account(&b));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same accounts are signalled"
    );
    let mut italian_enforced = 0;
    for (account, sa) in &a {
        let sb = &b[account];
        let italian = sa
            .iter()
            .any(|s| s.policy_country.map(|c| c.as_str() == "IT") == Some(true));
        if !italian {
            // Byte for byte the same decisions; only the policy named differs.
            let key = |s: &&Signal| {
                (
                    s.signal_id.clone(),
                    s.action,
                    s.trigger_event_id.clone(),
                    s.score.to_bits(),
                )
            };
            assert_eq!(
                sa.iter().map(key).collect::<Vec<_>>(),
                sb.iter().map(key).collect::<Vec<_>>(),
                "{account}"
            );
            assert!(
                sb.iter()
                    .all(|s| s.policy_version == "v2" && s.policy_rule == "terms"),
                "{account}"
            );
            continue;
        }
        // Italy: THROTTLE and SUSPEND become one CHARGE; FLAG and RESTORE stay.
        let enforced = |v: &[&Signal], acts: &[Action]| v.iter().any(|s| acts.contains(&s.action));
        assert!(
            !enforced(sb, &[Action::Throttle, Action::Suspend]),
            "{account}: banned in a charging market"
        );
        assert_eq!(
            enforced(sa, &[Action::Throttle, Action::Suspend]),
            enforced(sb, &[Action::Charge]),
            "{account}: enforced under v1 exactly when charged under v2"
        );
        if enforced(sb, &[Action::Charge]) {
            italian_enforced += 1;
            let charge = sb
                .iter()
                .find(|s| s.action == Action::Charge)
                .expect("a charge");
            assert_eq!(
                (charge.policy_rule.as_str(), charge.policy_outcome),
                ("it-charge", PolicyOutcome::Charge)
            );
            // The first enforcing signal comes from the same event in both runs.
            let first_a = sa
                .iter()
                .find(|s| matches!(s.action, Action::Throttle | Action::Suspend))
                .expect("enforced");
            assert_eq!(
                first_a.trigger_event_id, charge.trigger_event_id,
                "{account}"
            );
        }
    }
    assert!(
        italian_enforced > 0,
        "the scenario must hold an Italian assistant for this test to mean anything"
    );
}

fn with_sender(mut events: Vec<MessageEvent>, sender: Sender) -> Vec<MessageEvent> {
    for m in &mut events {
        if m.direction == Direction::Outbound as i32 && m.kind != MessageKind::Template as i32 {
            m.sender = sender as i32;
        }
    }
    events
}

#[test]
fn metas_business_agent_is_never_judged_an_ai_provider() {
    let assistant = traffic(Script::Assistant, "acc", 30, 180, true);
    let (bot, _) = replay(
        &with_sender(assistant.clone(), Sender::Bot),
        CountryPolicy::default(),
    );
    assert!(
        bot.iter().any(|s| s.action == Action::Suspend),
        "the same traffic from the business's own bot is suspended"
    );
    let (agent, r) = replay(
        &with_sender(assistant, Sender::MetaBusinessAgent),
        CountryPolicy::default(),
    );
    assert_eq!(agent, vec![], "Meta's Business Agent got an action");
    // The evidence is still recorded: the ladder reached a level, no action.
    let acct = r.engine().account("bsp-test", "acc").expect("tracked");
    assert!(acct.slot.decision.level() >= satpam::decide::Level::Throttle);
    assert_eq!(acct.slot.decision.action(), Action::None);
}

#[test]
fn the_charge_ledger_counts_non_template_outbound_after_the_charge() {
    let events: Vec<MessageEvent> = traffic(Script::Assistant, "acc", 30, 180, true)
        .into_iter()
        .map(|mut m| {
            m.user_country = "IT".into();
            m
        })
        .collect();
    let policy = CountryPolicy::from_yaml(&charge_italy_from(T0), "v2.yaml").expect("v2");
    let (signals, r) = replay(&events, policy);
    let charge = signals
        .iter()
        .find(|s| s.action == Action::Charge)
        .expect("charged");
    assert!(
        signals.iter().all(|s| s.action != Action::Restore),
        "the charge stays in force"
    );
    let from = events
        .iter()
        .position(|m| m.event_id == charge.trigger_event_id)
        .expect("trigger");
    let want = events[from..]
        .iter()
        .filter(|m| {
            m.direction == Direction::Outbound as i32 && m.kind != MessageKind::Template as i32
        })
        .count() as u64;
    assert!(want > 0);
    let acct = r.engine().account("bsp-test", "acc").expect("tracked");
    let ledger = acct.slot.policy.charges().expect("a ledger");
    assert_eq!(ledger.total(), want);
    assert_eq!(
        ledger
            .days()
            .iter()
            .map(|(_, n)| u64::from(*n))
            .sum::<u64>(),
        want
    );
    assert!(ledger
        .days()
        .iter()
        .all(|(d, _)| *d >= T0 - 86_400_000 && *d <= T0 + 86_400_000));
}

/// The scenario's hard negative: assistant-shaped traffic answered by Meta's
/// Business Agent is never actioned, and counts as legitimate (not as exempt
/// by a market's policy).
#[test]
fn the_scorecard_counts_business_agent_accounts_as_untouched_legitimate() {
    let config = ScenarioConfig {
        accounts: 240,
        hours: 4.0,
        seed: 11,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate(&config, Arc::new(TextBank::builtin()));
    let labels = common::eval_labels(&scenario);
    let agents: Vec<String> = labels
        .iter()
        .filter(|l| l.archetype == "meta_business_agent")
        .map(|l| l.account_id.clone())
        .collect();
    assert!(
        agents.len() >= 2,
        "the scenario must hold Business Agent accounts"
    );
    let events: Vec<MessageEvent> = scenario.events().collect();
    for m in events.iter().filter(|m| agents.contains(&m.account_id)) {
        if m.direction == Direction::Outbound as i32 && m.kind != MessageKind::Template as i32 {
            assert_ne!(
                m.sender,
                Sender::Bot as i32,
                "a Business Agent account's reply sent by its own bot"
            );
        }
    }
    let run = satpam::eval::evaluate(
        events.into_iter().map(Ok),
        labels,
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        Overrides::default(),
        |_| {},
    );
    let row = run
        .scorecard
        .archetypes
        .iter()
        .find(|r| r.archetype == "meta_business_agent")
        .expect("a row");
    // Every one of them is in its row: none was exempted as an allowed market.
    assert_eq!(row.accounts as usize, agents.len());
    assert_eq!(
        (row.flagged, row.throttled, row.suspended, row.charged),
        (0, 0, 0, 0)
    );
    assert!(run
        .strongest
        .iter()
        .all(|s| !agents.contains(&s.account_id)));
}
