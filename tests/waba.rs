//! Judgement per WABA: the `waba.*` aggregates on event time, rules that
//! read them, the WABA's own ladder and its signal, per-tenant isolation,
//! determinism and snapshots.

mod common;

use std::sync::Arc;

use common::{feature, signals, T0};
use satpam::clock::ManualClock;
use satpam::decide::{Action, CountryPolicy};
use satpam::engine::{Outcome, TOP_NUMBERS};
use satpam::event::{Country, Direction, MessageKind, Sender, TemplateCategory};
use satpam::rules::Subject;
use satpam::state::StateLimits;
use satpam::{snapshot, Engine, EngineConfig, EngineContext, Event, RuleSet, Scratch};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// One WABA-level rule (many numbers busy at once) and one account-level
/// rule (one busy number), minimum evidence of one.
const RULES: &str = "version: waba-test
decision:
  min_evidence:
    flag: {sessions: 1, users: 1}
    throttle: {sessions: 1, users: 1}
    suspend: {sessions: 1, users: 1}
rules:
  - id: spread_over_numbers
    version: 1
    description: many numbers of one WABA busy at once
    score: 0.6
    when: waba.numbers_active_1h >= 3 && waba.inbound_1h >= 6
  - id: one_busy_number
    version: 1
    description: one number busy on its own
    score: 0.6
    when: account.inbound_1h >= 40
";

fn rules() -> Arc<RuleSet> {
    Arc::new(RuleSet::from_yaml(RULES, "waba-test.yaml").expect("compiles"))
}

fn context(limits: StateLimits) -> Arc<EngineContext> {
    context_with(rules(), limits)
}

fn context_with(rules: Arc<RuleSet>, limits: StateLimits) -> Arc<EngineContext> {
    Arc::new(EngineContext::new(
        rules,
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig {
            limits,
            ..EngineConfig::default()
        },
    ))
}

fn engine() -> Engine {
    Engine::with_context(context(StateLimits::default()))
}

/// One event; the id is unique per (tenant, account, n).
fn ev(
    n: u32,
    tenant: &str,
    waba: &str,
    account: &str,
    user: &str,
    at: i64,
    dir: Direction,
) -> Event {
    Event {
        event_id: format!("{tenant}-{account}-{n}"),
        tenant_id: tenant.into(),
        account_id: account.into(),
        waba_id: waba.into(),
        user_id: user.into(),
        conversation_id: format!("{account}:{user}"),
        direction: dir,
        kind: MessageKind::Text,
        template_category: None,
        sender: if dir == Direction::Outbound {
            Sender::Bot
        } else {
            Sender::Unknown
        },
        timestamp_ms: T0 + at,
        text: String::new(),
        text_len: 40,
        user_country: Country::parse("ID").unwrap_or(Country::UNKNOWN),
        handoff: false,
        reply_to: None,
        delivery: None,
        business_id: String::new(),
    }
}

/// One row of the aggregation table: tenant, WABA, account, user, time,
/// direction, and the expected features after the event.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Direction,
    [f64; 5],
);

/// The WABA windows move on event time: numbers active in 1 h and 24 h,
/// messages of every number summed; an event without a WABA reads zeros,
/// and the same WABA id in another tenant is another WABA.
#[test]
fn waba_aggregates_follow_event_time_per_tenant() {
    use Direction::{Inbound as In, Outbound as Out};
    // (tenant, waba, account, user, at, direction) ->
    // (numbers_active_1h, numbers_active_24h, inbound_1h, outbound_1h, users_1h)
    let table: &[Row] = &[
        ("t1", "w1", "n1", "u1", 0, In, [1.0, 1.0, 1.0, 0.0, 1.0]),
        ("t1", "w1", "n2", "u2", MIN, In, [2.0, 2.0, 2.0, 0.0, 2.0]),
        (
            "t1",
            "w1",
            "n1",
            "u1",
            2 * MIN,
            Out,
            [2.0, 2.0, 2.0, 1.0, 2.0],
        ),
        // Another WABA of the same tenant, and the same WABA id in another tenant.
        (
            "t1",
            "w2",
            "n5",
            "u5",
            3 * MIN,
            In,
            [1.0, 1.0, 1.0, 0.0, 1.0],
        ),
        (
            "t2",
            "w1",
            "n9",
            "u9",
            4 * MIN,
            In,
            [1.0, 1.0, 1.0, 0.0, 1.0],
        ),
        // No WABA: every waba.* feature is 0.
        ("t1", "", "n7", "u7", 5 * MIN, In, [0.0, 0.0, 0.0, 0.0, 0.0]),
        // 70 min: the first 10-minute bucket has left the hour, and n1, n2
        // were last active more than an hour ago.
        (
            "t1",
            "w1",
            "n3",
            "u3",
            70 * MIN,
            In,
            [1.0, 3.0, 1.0, 0.0, 1.0],
        ),
        // 25 h: only n3 (70 min) and n1 itself are within the day.
        (
            "t1",
            "w1",
            "n1",
            "u1",
            25 * HOUR,
            In,
            [1.0, 2.0, 1.0, 0.0, 1.0],
        ),
    ];
    let engine = engine();
    let mut scratch = Scratch::default();
    for (i, (tenant, waba, account, user, at, dir, want)) in table.iter().enumerate() {
        let e = ev(i as u32, tenant, waba, account, user, *at, *dir);
        let outcome = engine.process(&e, &mut scratch);
        assert!(
            matches!(outcome, Outcome::Processed(_)),
            "row {i}: {outcome:?}"
        );
        let got = [
            "waba.numbers_active_1h",
            "waba.numbers_active_24h",
            "waba.inbound_1h",
            "waba.outbound_1h",
            "waba.users_1h",
        ]
        .map(|n| feature(&engine, &scratch, n));
        // Users are a linear-counting estimate: exact at these counts to 0.05.
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() < 0.05,
                "row {i} feature {k}: {got:?} != {want:?}"
            );
        }
    }
    assert_eq!(engine.wabas().len(), 3, "t1/w1, t1/w2, t2/w1");
    assert_eq!(engine.wabas().tenant_count("t1"), 2);
    assert_eq!(engine.wabas().tenant_count("t2"), 1);
}

/// `numbers` numbers of one WABA, two users each, each far below the
/// account rule (an exchange every 3 minutes): traffic for `minutes`.
fn spread(tenant: &str, waba: &str, numbers: usize, minutes: i64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut n = 0;
    for m in 0..minutes {
        for k in 0..numbers {
            if (m as usize + k) % 3 != 0 {
                continue;
            }
            let account = format!("num-{k}");
            let user = format!("user-{k}-{}", m % 2);
            n += 1;
            out.push(ev(
                n,
                tenant,
                waba,
                &account,
                &user,
                m * MIN,
                Direction::Inbound,
            ));
            n += 1;
            out.push(ev(
                n,
                tenant,
                waba,
                &account,
                &user,
                m * MIN + 2_000,
                Direction::Outbound,
            ));
        }
    }
    out
}

/// A rule that reads `waba.*` decides at the WABA's level: the signal says
/// `level = waba`, carries the WABA id, and lists the numbers behind it,
/// busiest first; no number is acted on alone.
#[test]
fn a_waba_rule_yields_a_waba_signal_listing_its_numbers() {
    let rules = rules();
    let spread_rule = rules
        .rules()
        .iter()
        .find(|r| r.id == "spread_over_numbers")
        .expect("rule");
    assert_eq!(spread_rule.scope, Subject::Waba);
    assert!(rules.rules().iter().any(|r| r.scope == Subject::Account));

    let engine = engine();
    let events = spread("t1", "waba-1", 6, 30);
    let got = signals(&engine, &events);
    assert!(!got.is_empty(), "the WABA is flagged");
    for s in &got {
        assert_eq!(s.level, Subject::Waba, "{s:?}");
        assert_eq!(s.account_id, "waba-1");
        assert_eq!(s.waba_id, "waba-1");
    }
    let first = &got[0];
    assert_eq!(first.action, Action::Flag);
    assert_eq!(first.evidence.rules[0].rule_id, "spread_over_numbers");
    assert!(first.numbers.len() >= 3 && first.numbers.len() <= TOP_NUMBERS);
    assert!(
        first.numbers.windows(2).all(|w| w[0].1 >= w[1].1),
        "busiest first: {:?}",
        first.numbers
    );
    let behind: u64 = first.numbers.iter().map(|(_, n)| n).sum();
    assert_eq!(
        behind,
        events
            .iter()
            .take_while(|e| e.event_id != first.trigger_event_id)
            .count() as u64
            + 1,
        "every event up to the trigger counted on one of the numbers"
    );
    // The numbers themselves stay untouched.
    for k in 0..6 {
        let a = engine.account("t1", &format!("num-{k}")).expect("account");
        assert_eq!(a.slot.decision.action(), Action::None, "num-{k}");
    }
    let w = engine
        .wabas()
        .get(satpam::state::waba_key("t1", "waba-1"))
        .expect("waba");
    assert_eq!(w.slot.decision.action(), Action::Flag);
    assert_eq!(w.numbers.len(), 6);
}

/// The list of numbers is bounded: a WABA of 30 numbers lists 20.
#[test]
fn the_numbers_listed_are_bounded() {
    let src = RULES.replace(
        "waba.numbers_active_1h >= 3",
        "waba.numbers_active_1h >= 25",
    );
    let rules = Arc::new(RuleSet::from_yaml(&src, "t.yaml").expect("compiles"));
    let engine = Engine::with_context(context_with(rules, StateLimits::default()));
    let got = signals(&engine, &spread("t1", "big", 30, 20));
    let first = got.first().expect("a signal");
    assert_eq!(first.numbers.len(), TOP_NUMBERS);
}

/// Without WABA ids nothing aggregates and the WABA rule never fires.
#[test]
fn events_without_a_waba_are_judged_per_number_only() {
    let engine = engine();
    let got = signals(&engine, &spread("t1", "", 6, 30));
    assert!(got.is_empty(), "{got:?}");
    assert!(engine.wabas().is_empty());
}

/// A WABA id reused by another tenant is another WABA: its numbers are
/// never summed with the first tenant's.
#[test]
fn a_waba_id_of_another_tenant_is_another_waba() {
    let engine = engine();
    // Two numbers in each tenant: neither WABA reaches three numbers.
    let mut events = spread("t1", "shared", 2, 30);
    let mut other = spread("t2", "shared", 2, 30);
    for e in &mut other {
        e.account_id = format!("{}-b", e.account_id);
        e.conversation_id = format!("{}-b", e.conversation_id);
    }
    events.append(&mut other);
    events.sort_by_key(|e| e.timestamp_ms);
    assert!(signals(&engine, &events).is_empty());
    assert_eq!(engine.wabas().len(), 2);
}

/// The same events give the same signals, ids included, run after run;
/// and a snapshot taken half way, restored, gives the same rest.
#[test]
fn waba_decisions_replay_deterministically_and_survive_a_snapshot() {
    let events = spread("t1", "waba-1", 6, 90);
    let once = signals(&engine(), &events);
    let twice = signals(&engine(), &events);
    assert!(!once.is_empty());
    assert_eq!(once, twice);

    let half = events.len() / 2;
    let first = engine();
    let mut got = signals(&first, &events[..half]);
    let mut bytes = Vec::new();
    snapshot::write_shard(&first, &mut bytes).expect("write");
    let restored =
        snapshot::read_shard(context(StateLimits::default()), &mut bytes.as_slice()).expect("read");
    assert_eq!(restored.wabas().len(), 1);
    got.extend(signals(&restored, &events[half..]));
    assert_eq!(got, once);
}

/// WABAs count against their own per-tenant cap: over it, the tenant's
/// least recently active WABA goes, and no other tenant's.
#[test]
fn wabas_are_capped_per_tenant() {
    let engine = Engine::with_context(context(StateLimits {
        max_wabas_per_tenant: 2,
        ..StateLimits::default()
    }));
    let mut scratch = Scratch::default();
    let mut n = 0;
    let mut feed = |tenant: &str, waba: &str, at: i64| {
        n += 1;
        let e = ev(n, tenant, waba, "num", "u", at, Direction::Inbound);
        engine.process(&e, &mut scratch)
    };
    feed("other", "w0", 0);
    feed("t1", "w1", MIN);
    feed("t1", "w2", 2 * MIN);
    feed("t1", "w3", 3 * MIN);
    assert!(engine.wabas().tenant_count("t1") <= 2);
    assert_eq!(engine.wabas().tenant_count("other"), 1);
    assert!(engine
        .wabas()
        .get(satpam::state::waba_key("t1", "w1"))
        .is_none());
    assert!(engine
        .wabas()
        .get(satpam::state::waba_key("t1", "w3"))
        .is_some());
    assert_eq!(
        engine
            .context()
            .cap_evictions()
            .wabas
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Rules check knows the `waba.*` names and refuses unknown ones.
#[test]
fn rules_accept_waba_features_and_refuse_unknown_ones() {
    let bad = RULES.replace("waba.inbound_1h", "waba.nope");
    let err = RuleSet::from_yaml(&bad, "bad.yaml").expect_err("unknown feature");
    assert!(err.to_string().contains("waba.nope"), "{err}");
    let with_set = "version: v
pattern_sets:
  open_domain_task:
    description: d
    side: inbound
    terms:
      en: [write]
rules:
  - id: share
    version: 1
    description: d
    score: 0.5
    when: waba.open_domain_task_share >= 0.5
";
    let r = RuleSet::from_yaml(with_set, "set.yaml").expect("compiles");
    assert_eq!(r.rules()[0].scope, Subject::Waba);
}

/// The template shares sum the numbers' templates: four business messages
/// over two numbers of a WABA, three of them templates (two marketing, one
/// utility), read on the last; a number of another WABA is not in them.
#[test]
fn waba_template_shares_sum_every_number() {
    let engine = engine();
    let mut scratch = Scratch::default();
    let template = |n: u32, account: &str, waba: &str, c: Option<TemplateCategory>| Event {
        kind: if c.is_some() {
            MessageKind::Template
        } else {
            MessageKind::Text
        },
        template_category: c,
        ..ev(
            n,
            "t1",
            waba,
            account,
            "u1",
            i64::from(n) * MIN,
            Direction::Outbound,
        )
    };
    let events = [
        template(1, "n1", "w1", Some(TemplateCategory::Marketing)),
        template(2, "n2", "w1", Some(TemplateCategory::Marketing)),
        template(3, "n9", "w9", Some(TemplateCategory::Authentication)),
        template(4, "n1", "w1", None),
        template(5, "n2", "w1", Some(TemplateCategory::Utility)),
    ];
    for e in &events {
        engine.process(e, &mut scratch);
    }
    let got: Vec<f64> = [
        "waba.template_share",
        "waba.marketing_share",
        "waba.utility_share",
        "waba.auth_share",
        "account.template_share",
    ]
    .iter()
    .map(|f| feature(&engine, &scratch, f))
    .collect();
    assert_eq!(got, [0.75, 2.0 / 3.0, 1.0 / 3.0, 0.0, 1.0]);
}
