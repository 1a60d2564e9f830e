//! Upgrade compatibility: a shard snapshot written by an earlier build,
//! committed as a file, must be read by this build with every value in it.
//!
//! `tests/fixtures/snapshot-v2.bin` to `snapshot-v6.bin` were each written
//! once by their format version (see [`satpam::snapshot`]) with
//! [`write_fixture`] below, and are never rewritten: it stands for the state files on disk at every deployment
//! that runs version 2. The expected values in
//! [`the_v2_fixture_restores_with_its_accounts_counts_and_actions`] are
//! literals: the times, event counts, conversations and users were checked
//! when the file was written against figures counted from the input events
//! (not from the snapshot code); the actions and signal counts are what the
//! default rules of that build decided, as the state holds them.
//!
//! When the format changes (field order, a field added or removed, enum
//! variant order of any state type, the key hash): bump
//! `snapshot::FORMAT_VERSION`, generate the new version's fixture with
//!
//! ```text
//! cargo test --test snapshot_compat -- --ignored write_fixture
//! ```
//!
//! (it writes `snapshot-v<FORMAT_VERSION>.bin` and refuses to overwrite an
//! existing file), commit it with its own test, and keep the old fixture's
//! test: either this build still reads it (a migration), or the test asserts
//! the refusal (`UnsupportedVersion`, "snapshot format version 2 is not
//! supported") and the README documents what an operator does about it. A
//! change that makes this test fail without a version bump would make every
//! restarted shard misread its state.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{traffic, Script};
use satpam::clock::ManualClock;
use satpam::decide::{Action, CountryPolicy};
use satpam::engine::Outcome;
use satpam::event::{
    Country, Delivery, DeliveryState, Direction, MessageKind, PricingCategory, Sender,
};
use satpam::snapshot::{self, FORMAT_VERSION, HEADER_LEN, MAGIC};
use satpam::{Engine, EngineConfig, EngineContext, Event, RuleSet, Scratch};

fn fixture(version: u32) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/snapshot-v{version}.bin"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
/// What the fixture of a format version carries beside the state.
fn extra(version: u32) -> Vec<u8> {
    format!("satpam snapshot fixture, format {version}").into_bytes()
}

fn context() -> Arc<EngineContext> {
    Arc::new(EngineContext::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    ))
}

/// The fixture's input: an assistant (25 users) and a support bot (10
/// users) of tenant `bsp-test`, two hours of the scripts in `common`; from
/// format 4, both numbers of WABA `fx-waba`.
fn fixture_events() -> Vec<Event> {
    let mut m = traffic(Script::Assistant, "fx-ai", 25, 120, true);
    m.extend(traffic(Script::SupportBot, "fx-shop", 10, 120, true));
    m.sort_by_key(|e| e.timestamp_ms);
    if FORMAT_VERSION >= 4 {
        for e in &mut m {
            e.waba_id = "fx-waba".into();
        }
    }
    if FORMAT_VERSION >= 6 {
        for e in &mut m {
            e.business_id = "fx-biz".into();
        }
    }
    let events: Vec<Event> = m
        .into_iter()
        .map(|e| Event::try_from(e).expect("valid"))
        .collect();
    if FORMAT_VERSION < 5 {
        return events;
    }
    // From format 5: each outbound message reported delivered at its own
    // time, priced `service` for the assistant and `utility` for the shop.
    let mut out = Vec::with_capacity(events.len() * 2);
    for e in events {
        let report = (e.direction == Direction::Outbound).then(|| {
            let mut r = e.clone();
            r.event_id = format!("{}/delivered", e.event_id);
            r.reply_to = Some(e.event_id.clone());
            r.kind = MessageKind::Other;
            r.text = String::new();
            r.text_len = 0;
            r.delivery = Some(Delivery {
                state: DeliveryState::Delivered,
                category: if e.account_id == "fx-ai" {
                    PricingCategory::Service
                } else {
                    PricingCategory::Utility
                },
                billable: e.account_id != "fx-ai",
            });
            r
        });
        out.push(e);
        out.extend(report);
    }
    out
}

/// Outbound messages of `account` in the fixture's input (each reported
/// delivered from format 5).
fn outbound_of(account: &str) -> u64 {
    fixture_events()
        .iter()
        .filter(|e| {
            e.account_id == account && e.direction == Direction::Outbound && e.delivery.is_none()
        })
        .count() as u64
}

/// What the test reads of one account: (last event ms, events in the hour
/// before it, distinct users in the day, action in force, signals emitted).
fn account_facts(engine: &Engine, account: &str) -> (i64, u64, u64, Action, u32) {
    let a = engine.account("bsp-test", account).expect("account");
    let last = a.behaviour.last_ms();
    let t = a.behaviour.clone().totals(last);
    (
        last,
        t.events_hour(),
        t.users_day_rounded(),
        a.slot.decision.action(),
        a.slot.decision.signals(),
    )
}

/// Every readable version has its fixture, and the newest is this build's.
#[test]
fn every_readable_version_has_a_fixture() {
    for v in snapshot::OLDEST_READABLE_VERSION..=FORMAT_VERSION {
        let bytes = fixture(v);
        assert_eq!(
            &bytes[8..12],
            &v.to_le_bytes(),
            "a new version needs its own fixture: see the top of this file"
        );
    }
}

/// Format 2 is migrated on read: its conversations carry no tenant (tenant
/// 0, which no cap counts) and its accounts an empty policy state.
#[test]
fn the_v2_fixture_restores_with_its_accounts_counts_and_actions() {
    let engine = check_fixture(2);
    assert_eq!(engine.store().tenant_counts("bsp-test"), (0, 2));
    let ai = engine.account("bsp-test", "fx-ai").expect("account");
    assert_eq!(ai.slot.policy, satpam::decide::PolicyState::default());
}

/// This build's own fixture, read and written again, gives back the same
/// bytes: the state's layout in memory (16-bit counts, boxed
/// conversations, keys as two words) is not part of the format.
#[test]
fn the_current_fixture_writes_back_byte_for_byte() {
    let bytes = fixture(FORMAT_VERSION);
    let (engine, got) =
        snapshot::read_shard_with_extra(context(), &mut &bytes[..]).expect("the fixture reads");
    let mut again = Vec::new();
    snapshot::write_shard_with_extra(&engine, &got, &mut again).expect("writes");
    assert!(again == bytes, "the same bytes");
}

/// Format 3: conversations count toward their tenant's cap.
#[test]
fn the_v3_fixture_restores_with_its_accounts_counts_actions_and_tenants() {
    let engine = check_fixture(3);
    assert_eq!(engine.store().tenant_counts("bsp-test"), (35, 2));
}

/// Format 4: the WABA section. Its figures were counted from the input
/// when the file was written: both numbers, the last event, the events of
/// the hour before it (400 + 90) and the users of the day (35 in the
/// input, 34 as the sketch estimates them).
#[test]
fn the_v4_fixture_restores_its_waba() {
    let engine = check_fixture(4);
    assert_eq!(engine.store().tenant_counts("bsp-test"), (35, 2));
    assert_eq!(engine.wabas().len(), 1);
    assert_eq!(engine.wabas().tenant_count("bsp-test"), 1);
    let w = engine
        .wabas()
        .get(satpam::state::waba_key("bsp-test", "fx-waba"))
        .expect("the WABA");
    assert_eq!(w.numbers.len(), 2);
    let last = w.behaviour.last_ms();
    let t = w.behaviour.clone().totals(last);
    assert_eq!(
        (last, t.events_hour(), t.users_day_rounded()),
        (1_769_996_182_000, 490, 34)
    );
    // Two numbers: no default WABA rule (four numbers or more) acted.
    assert_eq!(w.slot.decision.action(), Action::None);
    let top: Vec<String> = w
        .numbers
        .top(last, 20)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(top, ["fx-ai", "fx-shop"], "the busier number first");
    assert!(engine
        .wabas()
        .get(satpam::state::waba_key("other-tenant", "fx-waba"))
        .is_none());
}

/// Format 5: the delivery section. Every outbound message of the input
/// was reported delivered: the assistant's priced `service`, the shop's
/// `utility` (and billable).
#[test]
fn the_v5_fixture_restores_its_delivery_windows() {
    use satpam::state::delivery::counter;
    let engine = check_fixture(5);
    for (account, category, billable) in [
        ("fx-ai", counter::SERVICE, false),
        ("fx-shop", counter::UTILITY, true),
    ] {
        let a = engine.account("bsp-test", account).expect("account");
        let last = a.behaviour.last_ms();
        let t = a.delivery.expect("delivery windows").totals(last);
        let n = outbound_of(account);
        assert!(n > 0);
        assert_eq!(
            (t[counter::DELIVERED], t[category], t[counter::BILLABLE]),
            (n, n, if billable { n } else { 0 }),
            "{account}"
        );
    }
}

/// Format 6: the portfolio section. Both numbers (of one WABA) are of
/// portfolio `fx-biz`: its windows are the WABA's, counted from the input
/// when the file was written.
#[test]
fn the_v6_fixture_restores_its_portfolio() {
    let engine = check_fixture(6);
    assert_eq!(engine.portfolios().len(), 1);
    let p = engine
        .portfolios()
        .get(satpam::state::portfolio_key("bsp-test", "fx-biz"))
        .expect("the portfolio");
    assert_eq!(p.numbers.len(), 2);
    let last = p.behaviour.last_ms();
    let t = p.behaviour.clone().totals(last);
    assert_eq!(
        (last, t.events_hour(), t.users_day_rounded()),
        (1_769_996_182_000, 490, 34)
    );
    assert!(engine
        .portfolios()
        .get(satpam::state::portfolio_key("bsp-test", "fx-waba"))
        .is_none());
}

fn check_fixture(version: u32) -> Engine {
    let bytes = &fixture(version)[..];
    assert_eq!(&bytes[..8], &MAGIC, "magic");
    assert_eq!(
        &bytes[8..12],
        &version.to_le_bytes(),
        "written as its version"
    );
    let payload_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    assert_eq!(HEADER_LEN as u64 + payload_len, bytes.len() as u64);

    let (engine, got) = snapshot::read_shard_with_extra(context(), &mut &bytes[..])
        .unwrap_or_else(|e| panic!("version {version} reads: {e}"));
    assert_eq!(got, extra(version));
    let stats = engine.store_stats();
    assert_eq!((stats.accounts, stats.conversations), (2, 35));
    assert_eq!(engine.watermark_ms(), 1_769_996_182_000);
    // Looked up by tenant and account id: the state keys are what they were.
    // What the default pack of the build that wrote the fixture decided:
    // 3 signals on the assistant when formats 2 to 4 were written, 2 (a
    // throttle, then a suspend) when formats 5 and 6 were; the pack changed
    // between.
    let signals = if version >= 5 { 2 } else { 3 };
    assert_eq!(
        account_facts(&engine, "fx-ai"),
        (1_769_996_160_000, 400, 24, Action::Suspend, signals)
    );
    assert_eq!(
        account_facts(&engine, "fx-shop"),
        (1_769_996_182_000, 90, 9, Action::None, 0)
    );
    assert!(engine.account("bsp-test", "fx-other").is_none());
    assert!(engine.account("other-tenant", "fx-ai").is_none());

    // The conversations came back too: the last event again is a duplicate
    // (its id is remembered), and one from three hours back is late.
    let mut scratch = Scratch::default();
    let last = Event {
        event_id: "fx-shop-e98".into(),
        tenant_id: "bsp-test".into(),
        account_id: "fx-shop".into(),
        waba_id: String::new(),
        user_id: "fx-shop-u6".into(),
        conversation_id: "fx-shop:fx-shop-u6".into(),
        direction: Direction::Outbound,
        kind: MessageKind::Text,
        template_category: None,
        sender: Sender::Bot,
        timestamp_ms: 1_769_996_182_000,
        text: String::new(),
        text_len: 60,
        user_country: Country::parse("ID").expect("country"),
        handoff: false,
        reply_to: None,
        delivery: None,
        business_id: String::new(),
    };
    assert_eq!(engine.process(&last, &mut scratch), Outcome::Duplicate);
    let mut old = last.clone();
    old.event_id = "fx-late".into();
    old.timestamp_ms -= 3 * 3_600_000;
    assert_eq!(engine.process(&old, &mut scratch), Outcome::Late);
    engine
}

/// A snapshot of another version is refused with a message that says so,
/// not misread.
#[test]
fn another_version_is_refused_with_a_clear_message() {
    let mut bytes = fixture(2);
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = snapshot::read_shard(context(), &mut bytes.as_slice())
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "snapshot format version 1 is not supported (this build reads versions 2 to 6)"
    );
}

/// Found by the `snapshot_decode` fuzz target (fuzz/): a header whose
/// payload length is near `u64::MAX` overflowed the arithmetic of the
/// truncation error (a panic with overflow checks, a wrong size without).
/// It is refused as truncated, with the length saturated.
#[test]
fn a_payload_length_near_u64_max_is_refused_as_truncated_without_overflow() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/snapshot_decode-length-overflow.bin"),
    )
    .expect("fuzz regression input");
    let err = snapshot::read_shard(context(), &mut bytes.as_slice())
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains(&u64::MAX.to_string()),
        "the expected size saturates: {err}"
    );
}

/// Writes `tests/fixtures/snapshot-v<FORMAT_VERSION>.bin` from
/// [`fixture_events`], after checking the live shard against figures counted
/// from the input. Run once per format version (see the top of this file).
#[test]
#[ignore = "writes the fixture of a new snapshot format version"]
fn write_fixture() {
    let events = fixture_events();
    let clock = Arc::new(ManualClock::new(0));
    let engine = Engine::with_context(Arc::new(EngineContext::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::enforce_everywhere(),
        clock.clone(),
        EngineConfig::default(),
    )));
    common::drive(&engine, Some(&clock), &events);
    // The delivery reports (format 5) move no message window: the counts
    // below are of the messages alone.
    let events: Vec<Event> = events
        .into_iter()
        .filter(|e| e.delivery.is_none())
        .collect();
    // Counted from the input, independently of the engine's windows.
    for account in ["fx-ai", "fx-shop"] {
        let mine: Vec<&Event> = events.iter().filter(|e| e.account_id == account).collect();
        let last = mine.iter().map(|e| e.timestamp_ms).max().expect("events");
        // The hour window is 6 buckets of 10 minutes, aligned to the bucket.
        let bucket = 600_000;
        let from = (last / bucket - 5) * bucket;
        let in_hour = mine.iter().filter(|e| e.timestamp_ms >= from).count() as u64;
        let users = mine
            .iter()
            .map(|e| e.user_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        let facts = account_facts(&engine, account);
        assert_eq!((facts.0, facts.1), (last, in_hour), "{account}");
        // Distinct users are a linear-counting estimate: within 10% or 1.
        assert!(
            facts.2.abs_diff(users) <= (users / 10).max(1),
            "{account}: {} users estimated, {users} in the input",
            facts.2
        );
        eprintln!("{account}: {facts:?}");
    }
    if FORMAT_VERSION >= 4 {
        // The WABA: every event of both numbers, counted from the input.
        let last = events.iter().map(|e| e.timestamp_ms).max().expect("events");
        let from = (last / 600_000 - 5) * 600_000;
        let in_hour = events.iter().filter(|e| e.timestamp_ms >= from).count() as u64;
        let users = events
            .iter()
            .map(|e| e.user_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        let w = engine
            .wabas()
            .get(satpam::state::waba_key("bsp-test", "fx-waba"))
            .expect("the WABA");
        let t = w.behaviour.clone().totals(w.behaviour.last_ms());
        assert_eq!((w.behaviour.last_ms(), t.events_hour()), (last, in_hour));
        assert!(t.users_day_rounded().abs_diff(users) <= (users / 10).max(1));
        eprintln!(
            "waba: last {last}, events in the hour {in_hour}, users {} ({users} in the input), numbers {}",
            t.users_day_rounded(),
            w.numbers.len()
        );
    }
    let stats = engine.store_stats();
    let conversations = events
        .iter()
        .map(|e| e.conversation_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(stats.conversations, conversations);
    eprintln!(
        "accounts {}, conversations {}, watermark {}",
        stats.accounts,
        stats.conversations,
        engine.watermark_ms()
    );

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/snapshot-v{FORMAT_VERSION}.bin"));
    assert!(
        !path.exists(),
        "{} exists: a fixture is written once per format version",
        path.display()
    );
    let mut out = Vec::new();
    snapshot::write_shard_with_extra(&engine, &extra(FORMAT_VERSION), &mut out).expect("snapshot");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("fixtures dir");
    std::fs::write(&path, out).expect("write fixture");
    eprintln!("wrote {}", path.display());
}
