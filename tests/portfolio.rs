//! Judgement per business portfolio: an assistant spread over several
//! WABAs of one portfolio, each WABA and each number below its own
//! thresholds, is judged on the `portfolio.*` aggregate; its signal says
//! `level = portfolio` and lists the numbers behind it. Per tenant, and
//! restored from a snapshot.

mod common;

use std::sync::Arc;

use common::{signals, T0};
use satpam::clock::ManualClock;
use satpam::decide::{Action, CountryPolicy, Signal};
use satpam::event::{Country, Direction, MessageKind, Sender};
use satpam::rules::Subject;
use satpam::state::{portfolio_key, waba_key};
use satpam::{snapshot, Engine, EngineConfig, EngineContext, Event, RuleSet};

const MIN: i64 = 60_000;

/// One rule per level, each wanting 6+ numbers busy in the hour and
/// minimum evidence of one: 6 numbers of one WABA would be judged at the
/// WABA; 6 numbers over 3 WABAs (2 each) only at the portfolio.
const RULES: &str = "version: portfolio-test
decision:
  min_evidence:
    flag: {sessions: 1, users: 1}
    throttle: {sessions: 1, users: 1}
    suspend: {sessions: 1, users: 1}
rules:
  - id: spread_over_wabas
    version: 1
    description: many numbers of one portfolio busy at once
    score: 0.6
    when: portfolio.numbers_active_1h >= 6 && portfolio.inbound_1h >= 12
  - id: spread_over_numbers
    version: 1
    description: many numbers of one WABA busy at once
    score: 0.6
    when: waba.numbers_active_1h >= 6 && waba.inbound_1h >= 12
  - id: one_busy_number
    version: 1
    description: one number busy on its own
    score: 0.6
    when: account.inbound_1h >= 40
";

fn engine() -> Engine {
    Engine::with_context(Arc::new(EngineContext::new(
        Arc::new(RuleSet::from_yaml(RULES, "portfolio-test.yaml").expect("compiles")),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    )))
}

#[allow(clippy::too_many_arguments)]
fn ev(
    n: u32,
    tenant: &str,
    business: &str,
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
        business_id: business.into(),
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
    }
}

/// `wabas` WABAs of `per_waba` numbers each, all of portfolio `business`
/// (none when empty), an exchange on each number every third minute.
fn spread(tenant: &str, business: &str, wabas: usize, per_waba: usize, minutes: i64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut n = 0;
    for m in 0..minutes {
        for w in 0..wabas {
            for k in 0..per_waba {
                let number = w * per_waba + k;
                if (m as usize + number) % 3 != 0 {
                    continue;
                }
                let waba = format!("waba-{w}");
                let account = format!("num-{number}");
                let user = format!("user-{number}-{}", m % 2);
                for (at, dir) in [
                    (m * MIN, Direction::Inbound),
                    (m * MIN + 2_000, Direction::Outbound),
                ] {
                    n += 1;
                    out.push(ev(n, tenant, business, &waba, &account, &user, at, dir));
                }
            }
        }
    }
    out
}

/// The rule reading `portfolio.*` decides at the portfolio; no WABA and no
/// number is acted on; the signal lists the six numbers.
#[test]
fn an_assistant_spread_over_wabas_is_judged_at_its_portfolio() {
    let engine = engine();
    let rules = engine.rules();
    let scope = |id: &str| {
        rules
            .rules()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.scope)
            .expect("rule")
    };
    assert_eq!(scope("spread_over_wabas"), Subject::Portfolio);
    assert_eq!(scope("spread_over_numbers"), Subject::Waba);

    let events = spread("t1", "biz-1", 3, 2, 30);
    let got = signals(&engine, &events);
    assert!(!got.is_empty(), "the portfolio is acted on");
    for s in &got {
        assert_eq!(s.level, Subject::Portfolio, "{s:?}");
        assert_eq!(s.account_id, "biz-1");
        assert!(
            s.waba_id.starts_with("waba-"),
            "the triggering event's WABA"
        );
    }
    let first = &got[0];
    assert_eq!(first.action, Action::Flag);
    assert_eq!(first.evidence.rules[0].rule_id, "spread_over_wabas");
    assert_eq!(first.numbers.len(), 6, "{:?}", first.numbers);
    for w in 0..3 {
        let waba = engine
            .wabas()
            .get(waba_key("t1", &format!("waba-{w}")))
            .expect("waba");
        assert_eq!(waba.slot.decision.action(), Action::None, "waba-{w}");
        assert_eq!(waba.numbers.len(), 2);
    }
    for k in 0..6 {
        let a = engine.account("t1", &format!("num-{k}")).expect("account");
        assert_eq!(a.slot.decision.action(), Action::None, "num-{k}");
    }
    let p = engine
        .portfolios()
        .get(portfolio_key("t1", "biz-1"))
        .expect("portfolio");
    assert_eq!(p.slot.decision.action(), got.last().expect("signal").action);
    assert_eq!(p.numbers.len(), 6);
}

/// Without a `business_id` the same traffic has no portfolio and nobody
/// is acted on; the same portfolio id in another tenant is another
/// portfolio.
#[test]
fn portfolios_need_the_input_to_name_them_and_stay_within_their_tenant() {
    let engine = engine();
    assert!(signals(&engine, &spread("t1", "", 3, 2, 30)).is_empty());
    assert_eq!(engine.portfolios().len(), 0);

    // Three numbers in each tenant under the same portfolio id: neither
    // reaches six.
    let engine = self::engine();
    let mut events = spread("t1", "shared", 3, 1, 30);
    events.extend(spread("t2", "shared", 3, 1, 30));
    events.sort_by_key(|e| e.timestamp_ms);
    assert!(signals(&engine, &events).is_empty());
    assert_eq!(engine.portfolios().len(), 2);
}

/// A WABA that decides on an event signals first; the portfolio only
/// records its rule's activity on that event (one signal per event).
#[test]
fn one_signal_per_event_the_lowest_level_first() {
    let engine = engine();
    // One WABA of six numbers: both the WABA and the portfolio rule hold.
    let got = signals(&engine, &spread("t1", "biz-1", 1, 6, 30));
    assert!(!got.is_empty());
    let mut triggers: Vec<&str> = got.iter().map(|s| s.trigger_event_id.as_str()).collect();
    let n = triggers.len();
    triggers.dedup();
    assert_eq!(triggers.len(), n, "never two signals on one event");
    assert_eq!(got[0].level, Subject::Waba, "the WABA, on the first event");
    assert!(got.iter().any(|s| s.level == Subject::Portfolio));
}

/// Replaying the same events gives the same signals, and a snapshot keeps
/// the portfolio's state: the restored shard decides the rest alike.
#[test]
fn portfolio_decisions_replay_deterministically_and_survive_a_snapshot() {
    let events = spread("t1", "biz-1", 3, 2, 60);
    let (head, tail) = events.split_at(events.len() / 3);
    let a = engine();
    let whole = signals(&a, &events);
    assert_eq!(whole, signals(&engine(), &events), "deterministic");

    let b = engine();
    let mut got = signals(&b, head);
    let mut bytes = Vec::new();
    snapshot::write_shard(&b, &mut bytes).expect("writes");
    let restored = snapshot::read_shard(b.context().clone(), &mut &bytes[..]).expect("reads");
    assert_eq!(restored.portfolios().len(), 1);
    got.extend(signals(&restored, tail));
    let ids = |s: &[Signal]| s.iter().map(|s| s.signal_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&whole));
}
