//! Delivery reports (Cloud API statuses) in the engine: they feed the
//! account's `account.delivered_*` features and nothing else, a retried
//! report counts once, a report never creates an account, rules can read
//! the features, and the windows survive a snapshot.

mod common;

use std::sync::Arc;

use common::{feature, T0};
use satpam::clock::ManualClock;
use satpam::decide::{Action, CountryPolicy};
use satpam::engine::Outcome;
use satpam::event::{
    Country, Delivery, DeliveryState, Direction, MessageKind, PricingCategory, Sender,
};
use satpam::{snapshot, Engine, EngineConfig, EngineContext, Event, RuleSet, Scratch};

const MIN: i64 = 60_000;

/// One rule on the delivery features alone, minimum evidence of one.
const RULES: &str = "version: delivery-test
decision:
  min_evidence:
    flag: {sessions: 1, users: 1}
    throttle: {sessions: 1, users: 1}
    suspend: {sessions: 1, users: 1}
rules:
  - id: only_service_answers
    version: 1
    description: everything delivered is a free-form answer in the service window
    score: 0.6
    when: account.delivered_24h >= 20 && account.delivered_service_share_24h >= 0.95
";

/// The same decision settings and a rule on message windows only.
const MESSAGE_RULES: &str = "version: message-test
decision:
  min_evidence:
    flag: {sessions: 1, users: 1}
    throttle: {sessions: 1, users: 1}
    suspend: {sessions: 1, users: 1}
rules:
  - id: busy
    version: 1
    description: many user messages in the hour
    score: 0.6
    when: account.inbound_1h >= 20
";

fn engine_with(rules: RuleSet) -> Engine {
    Engine::with_context(Arc::new(EngineContext::new(
        Arc::new(rules),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    )))
}

fn engine() -> Engine {
    engine_with(RuleSet::from_yaml(RULES, "delivery-test.yaml").expect("compiles"))
}

fn message(account: &str, n: u32, at: i64, dir: Direction) -> Event {
    let user = format!("u{}", n % 7);
    Event {
        event_id: format!("{account}-m{n}"),
        tenant_id: "t".into(),
        account_id: account.into(),
        waba_id: String::new(),
        conversation_id: format!("{account}:{user}"),
        user_id: user,
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
        text_len: 80,
        user_country: Country::parse("ID").unwrap_or(Country::UNKNOWN),
        handoff: false,
        reply_to: None,
        delivery: None,
        business_id: String::new(),
    }
}

fn report(account: &str, n: u32, at: i64, state: DeliveryState, cat: PricingCategory) -> Event {
    let mut e = message(account, n, at, Direction::Outbound);
    e.event_id = format!("{account}-m{n}/{state:?}");
    e.kind = MessageKind::Other;
    e.text_len = 0;
    e.reply_to = Some(format!("{account}-m{n}"));
    e.delivery = Some(Delivery {
        state,
        category: cat,
        billable: cat != PricingCategory::Service,
    });
    e
}

/// `n` exchanges of `account`, each outbound answer reported delivered in
/// the category `cats[i % cats.len()]`, and every other one read.
fn exchanges(account: &str, n: u32, cats: &[PricingCategory]) -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..n {
        let at = i64::from(i) * MIN;
        out.push(message(account, 2 * i, at, Direction::Inbound));
        out.push(message(account, 2 * i + 1, at + 5_000, Direction::Outbound));
        let cat = cats[i as usize % cats.len()];
        out.push(report(
            account,
            2 * i + 1,
            at + 6_000,
            DeliveryState::Delivered,
            cat,
        ));
        if i % 2 == 0 {
            out.push(report(
                account,
                2 * i + 1,
                at + 9_000,
                DeliveryState::Read,
                PricingCategory::Unknown,
            ));
        }
    }
    out
}

/// One row: account, categories in turn, delivered_24h, service, utility,
/// marketing and read shares, the action.
type Row = (
    &'static str,
    &'static [PricingCategory],
    f64,
    f64,
    f64,
    f64,
    f64,
    Action,
);

/// The features a message reads after reports, per account shape (table):
/// delivered count and shares, and whether the rule on them fired.
#[test]
fn reports_become_the_delivery_features_rules_read() {
    use PricingCategory::*;
    // (account, categories in turn, delivered_24h, service share, utility
    // share, marketing share, read share, action)
    let table: &[Row] = &[
        (
            "assistant",
            &[Service],
            30.0,
            1.0,
            0.0,
            0.0,
            0.5,
            Action::Flag,
        ),
        (
            "shop",
            &[Service, Utility, Marketing, Utility],
            30.0,
            8.0 / 30.0,
            15.0 / 30.0,
            7.0 / 30.0,
            0.5,
            Action::None,
        ),
        ("quiet", &[Service], 10.0, 1.0, 0.0, 0.0, 0.5, Action::None),
    ];
    for &(account, cats, delivered, service, utility, marketing, read, action) in table {
        let n = delivered as u32;
        let engine = engine();
        let mut scratch = Scratch::default();
        for e in exchanges(account, n, cats) {
            let _ = engine.process(&e, &mut scratch);
        }
        // The next message reads the reports of the day.
        let next = message(account, 10_000, i64::from(n) * MIN, Direction::Inbound);
        let _ = engine.process(&next, &mut scratch);
        let got = [
            "account.delivered_24h",
            "account.delivered_service_share_24h",
            "account.delivered_utility_share_24h",
            "account.delivered_marketing_share_24h",
            "account.read_share_24h",
        ]
        .map(|f| feature(&engine, &scratch, f));
        let want = [delivered, service, utility, marketing, read];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{account}: {got:?} != {want:?}");
        }
        let a = engine.account("t", account).expect("account");
        assert_eq!(a.slot.decision.action(), action, "{account}");
    }
}

/// Reports move nothing but the delivery windows: with rules that read no
/// delivery feature, the same messages with and without
/// reports give the same signals and the same account windows.
#[test]
fn reports_change_no_message_count_session_user_or_decision() {
    let run = |with_reports: bool| {
        let engine = engine_with(RuleSet::from_yaml(MESSAGE_RULES, "m.yaml").expect("compiles"));
        let mut scratch = Scratch::default();
        let mut signals = Vec::new();
        for e in exchanges("acct", 60, &[PricingCategory::Service]) {
            if e.delivery.is_some() && !with_reports {
                continue;
            }
            if let Outcome::Processed(Some(s)) = engine.process(&e, &mut scratch) {
                signals.push((s.action, s.trigger_event_id.clone()));
            }
        }
        let a = engine.account("t", "acct").expect("account");
        let last = a.behaviour.last_ms();
        let t = a.behaviour.clone().totals(last);
        let stats = engine.store_stats();
        (
            signals,
            last,
            t.hour,
            t.day,
            t.users_day_rounded(),
            stats.conversations,
        )
    };
    let (with, without) = (run(true), run(false));
    assert!(
        !with.0.is_empty(),
        "the default pack acts on this assistant"
    );
    assert!(
        with == without,
        "reports changed a message window or a decision"
    );
}

/// A retried report is a duplicate; a report of an account the shard does
/// not hold creates nothing.
#[test]
fn a_retried_report_counts_once_and_a_report_never_creates_an_account() {
    let engine = engine();
    let mut scratch = Scratch::default();
    let d = report(
        "acct",
        1,
        MIN,
        DeliveryState::Delivered,
        PricingCategory::Service,
    );
    assert_eq!(engine.process(&d, &mut scratch), Outcome::Processed(None));
    assert!(
        engine.account("t", "acct").is_none(),
        "no account from a report"
    );
    let _ = engine.process(&message("acct", 0, 0, Direction::Inbound), &mut scratch);
    assert_eq!(engine.process(&d, &mut scratch), Outcome::Processed(None));
    assert_eq!(engine.process(&d, &mut scratch), Outcome::Duplicate);
    let _ = engine.process(
        &message("acct", 2, 2 * MIN, Direction::Inbound),
        &mut scratch,
    );
    assert_eq!(feature(&engine, &scratch, "account.delivered_24h"), 1.0);
    assert_eq!(engine.stats().duplicates, 1);
}

/// The delivery windows come back from a snapshot: the restored shard
/// reads the same features on the next message.
#[test]
fn delivery_windows_survive_a_snapshot() {
    let engine = engine();
    let mut scratch = Scratch::default();
    for e in exchanges(
        "shop",
        12,
        &[PricingCategory::Utility, PricingCategory::Service],
    ) {
        let _ = engine.process(&e, &mut scratch);
    }
    let mut bytes = Vec::new();
    snapshot::write_shard(&engine, &mut bytes).expect("writes");
    let restored = snapshot::read_shard(engine.context().clone(), &mut &bytes[..]).expect("reads");
    let next = message("shop", 10_000, 12 * MIN, Direction::Inbound);
    let mut a = Scratch::default();
    let mut b = Scratch::default();
    let _ = engine.process(&next, &mut a);
    let _ = restored.process(&next, &mut b);
    assert_eq!(feature(&restored, &b, "account.delivered_24h"), 12.0);
    assert_eq!(
        feature(&restored, &b, "account.delivered_utility_share_24h"),
        0.5
    );
    assert_eq!(a.features().values(), b.features().values());
}
