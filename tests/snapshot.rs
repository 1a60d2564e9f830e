//! Shard snapshots: a shard snapshotted after any prefix of the traffic and
//! restored into a fresh context goes on to give exactly the outcomes (the
//! same signals, ids and all) and the final state of a shard that never
//! stopped.

mod common;

use std::sync::Arc;

use common::{traffic, Script, T0};
use satpam::clock::{Clock, ManualClock};
use satpam::decide::Account;
use satpam::decide::CountryPolicy;
use satpam::engine::Outcome;
use satpam::snapshot::{self, HEADER_LEN};
use satpam::state::{key_of, StateLimits};
use satpam::{Engine, EngineConfig, EngineContext, Event, RuleSet};
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

/// Short idle limits and frequent sweeps, so that sweeps evict state
/// during the traffic and across its idle gap.
fn config() -> EngineConfig {
    EngineConfig {
        limits: StateLimits {
            conversation_idle_ms: 30 * 60_000,
            account_idle_ms: 2 * 3_600_000,
            actioned_account_idle_ms: 48 * 3_600_000,
            ..StateLimits::default()
        },
        sweep_every_ms: 60_000,
        ..EngineConfig::default()
    }
}

/// A fresh context built the same way every time, with its clock at `now_ms`.
fn context(now_ms: i64) -> (Arc<EngineContext>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now_ms));
    let ctx = EngineContext::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        clock.clone(),
        config(),
    );
    (Arc::new(ctx), clock)
}

/// Runs events on event time, as the replay driver does.
fn run(engine: &Engine, clock: &ManualClock, events: &[Event]) -> Vec<Outcome> {
    common::drive(engine, Some(clock), events)
}

fn snapshot_bytes(engine: &Engine) -> Vec<u8> {
    let mut out = Vec::new();
    snapshot::write_shard(engine, &mut out).unwrap();
    out
}

/// A labelled scenario (30 accounts, 2 hours) with redeliveries and late
/// events mixed in, then, after an idle gap of most of a day, scripted
/// traffic from new accounts and from one account of the scenario.
fn events() -> Vec<Event> {
    let scenario = Scenario::generate(
        &ScenarioConfig {
            accounts: 30,
            hours: 2.0,
            seed: 11,
            ..ScenarioConfig::default()
        },
        Arc::new(TextBank::builtin()),
    );
    let mut events: Vec<Event> = scenario
        .events()
        .map(|m| Event::try_from(m).expect("valid"))
        .collect();
    let start = events[0].timestamp_ms;

    // Some early events arrive 70 minutes late.
    let mut late = Vec::new();
    let mut i = 0;
    events.retain(|e| {
        i += 1;
        let keep = !(i % 41 == 0 && e.timestamp_ms < start + 15 * 60_000);
        if !keep {
            late.push(e.clone());
        }
        keep
    });
    assert!(!late.is_empty());
    for e in late {
        let at = events.partition_point(|x| x.timestamp_ms <= e.timestamp_ms + 70 * 60_000);
        events.insert(at, e);
    }
    // Some events are delivered twice.
    let mut with_dups = Vec::with_capacity(events.len() + events.len() / 50);
    for (i, e) in events.iter().enumerate() {
        with_dups.push(e.clone());
        if i % 53 == 7 {
            if let Some(earlier) = i.checked_sub(3) {
                with_dups.push(events[earlier].clone());
            }
        }
    }
    let mut events = with_dups;

    // The gap, then more traffic.
    let violating = &scenario
        .labels()
        .iter()
        .find(|l| l.violating)
        .expect("the scenario has a violating account")
        .account_id;
    let tenant = events
        .iter()
        .find(|e| &e.account_id == violating)
        .expect("the account speaks")
        .tenant_id
        .clone();
    let mut later: Vec<_> = traffic(Script::Assistant, "late-ai", 6, 90, true);
    later.extend(traffic(Script::SupportBot, "late-bot", 4, 90, true));
    later.extend(
        traffic(Script::Assistant, violating, 3, 60, true)
            .into_iter()
            .map(|mut m| {
                m.tenant_id = tenant.clone();
                m
            }),
    );
    later.sort_by_key(|m| m.timestamp_ms);
    assert!(events.iter().all(|e| e.timestamp_ms < T0 - 12 * 3_600_000));
    events.extend(
        later
            .into_iter()
            .map(|m| Event::try_from(m).expect("valid")),
    );
    events
}

fn signal_indexes(outcomes: &[Outcome]) -> Vec<usize> {
    outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Outcome::Processed(Some(_))))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn restored_shard_goes_on_exactly_as_one_that_never_stopped() {
    let events = events();
    let n = events.len();

    let (ctx, clock) = context(0);
    let whole = Engine::with_context(ctx);
    let want = run(&whole, &clock, &events);
    let signals = signal_indexes(&want);
    assert!(signals.len() >= 5, "too few signals: {}", signals.len());
    assert!(want.contains(&Outcome::Duplicate));
    assert!(want.contains(&Outcome::Late));
    let gap = events.partition_point(|e| e.timestamp_ms < T0);
    assert!(signals.iter().any(|&i| i > gap), "no signal after the gap");
    let final_state = snapshot_bytes(&whole);

    let first = signals[0];
    let last = signals[signals.len() - 1];
    let ks = [
        ("empty shard", 0),
        ("one event", 1),
        ("just before the first signal", first),
        ("just after the first signal", first + 1),
        ("a third in", n / 3),
        ("two thirds in", 2 * n / 3),
        ("before the idle gap", gap),
        ("after the sweep across the gap", gap + 1),
        ("just after the last signal", last + 1),
        ("everything", n),
    ];
    for (name, k) in ks {
        let (ctx, clock) = context(0);
        let before = Engine::with_context(ctx);
        let mut got = run(&before, &clock, &events[..k]);
        let bytes = snapshot_bytes(&before);

        let (ctx, clock) = context(clock.now_ms());
        let after = snapshot::read_shard(ctx, &mut bytes.as_slice()).unwrap();
        let (a, b) = (after.store_stats(), before.store_stats());
        assert_eq!(
            (a.conversations, a.accounts),
            (b.conversations, b.accounts),
            "{name} (k = {k}): stats"
        );
        assert_eq!(after.watermark_ms(), before.watermark_ms());
        got.extend(run(&after, &clock, &events[k..]));

        if let Some(i) = (0..n).find(|&i| got[i] != want[i]) {
            panic!(
                "{name} (k = {k}): event {i} gave\n{:?}\nnot\n{:?}",
                got[i], want[i]
            );
        }
        assert!(
            snapshot_bytes(&after) == final_state,
            "{name} (k = {k}): final state differs"
        );
    }
}

/// What a restored account must have kept: ids, last event time, window
/// totals at that time, ladder state and rule activity.
type AccountView = (
    String,
    i64,
    [u64; 3],
    satpam::decide::DecisionState,
    satpam::decide::RuleActivity,
);

fn account_view(e: &Account) -> AccountView {
    let last = e.behaviour.last_ms();
    let t = e.behaviour.clone().totals(last);
    (
        format!("{}/{}", e.tenant_id, e.account_id),
        last,
        [t.events_hour(), t.users_day_rounded(), t.sessions_day()],
        e.slot.decision,
        e.slot.activity.clone(),
    )
}

/// The counts of a restored store equal the original's. Its byte figures
/// cannot in general: they count allocated capacity (hash-table slots,
/// including those a sweep left as tombstones, and vector capacity of the
/// active rules), which depends on how the original grew and shrank, not
/// only on what it holds. A restored store's figures depend only on the
/// state: restoring it again gives the same ones.
#[test]
fn restored_stats_equal_the_originals() {
    let events = events();
    let gap = events.partition_point(|e| e.timestamp_ms < T0);
    for k in [0, gap / 2, gap, events.len()] {
        let (ctx, clock) = context(0);
        let a = Engine::with_context(ctx);
        run(&a, &clock, &events[..k]);
        let bytes = snapshot_bytes(&a);
        let b = snapshot::read_shard(context(0).0, &mut bytes.as_slice()).unwrap();
        let (sa, sb) = (a.store_stats(), b.store_stats());
        assert_eq!(
            (sb.conversations, sb.accounts),
            (sa.conversations, sa.accounts),
            "k = {k}"
        );
        eprintln!("k = {k}: original {sa:?}, restored {sb:?}");
        // Every account of the original, read from the live shard (not from
        // bytes), is in the restored one with the same figures.
        let mut seen = 0;
        a.store().for_each_account(|want| {
            seen += 1;
            let got = b
                .account(&want.tenant_id, &want.account_id)
                .unwrap_or_else(|| panic!("k = {k}: {} lost", want.account_id));
            assert_eq!(account_view(&got), account_view(want), "k = {k}");
        });
        assert_eq!(seen, sa.accounts);
        // The same state gives the same bytes (determinism).
        let again = snapshot_bytes(&b);
        assert_eq!(again, bytes, "k = {k}");
        let c = snapshot::read_shard(context(0).0, &mut again.as_slice()).unwrap();
        assert_eq!(c.store_stats(), sb, "k = {k}");
    }
}

/// Measures the snapshot size per account and per conversation at the end
/// of the scenario, and keeps it within budget.
#[test]
fn snapshot_size_per_account_and_conversation() {
    let events = events();
    let gap = events.partition_point(|e| e.timestamp_ms < T0);
    // No eviction, so that every conversation of the scenario is in the store.
    let (ctx, clock) = {
        let clock = Arc::new(ManualClock::new(0));
        let ctx = EngineContext::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::default(),
            clock.clone(),
            EngineConfig::default(),
        );
        (Arc::new(ctx), clock)
    };
    let engine = Engine::with_context(ctx);
    run(&engine, &clock, &events[..gap]);
    let stats = engine.store_stats();
    let total = snapshot_bytes(&engine).len();

    let mut account_bytes = 0;
    engine.store().for_each_account(|a| {
        let key = key_of(&a.tenant_id, &a.account_id);
        account_bytes += postcard::to_stdvec(&(key, a)).unwrap().len();
    });
    // The rest: header, watermark and sweep time, the two sequence lengths,
    // the empty `extra`, and the conversations.
    let (_, watermark_ms, next_sweep_ms) = engine.parts();
    let varint = |v: usize| postcard::to_stdvec(&(v as u64)).unwrap().len();
    let framing = HEADER_LEN
        + postcard::to_stdvec(&(watermark_ms, next_sweep_ms))
            .unwrap()
            .len()
        + varint(stats.conversations)
        + varint(stats.accounts)
        + varint(0);
    let conversation_bytes = total - framing - account_bytes;
    let per_account = account_bytes as f64 / stats.accounts as f64;
    let per_conversation = conversation_bytes as f64 / stats.conversations as f64;
    eprintln!(
        "snapshot: {total} bytes; {} accounts, {per_account:.0} bytes each; \
         {} conversations, {per_conversation:.0} bytes each",
        stats.accounts, stats.conversations
    );
    assert!(per_account < 4_096.0, "{per_account}");
    assert!(per_conversation < 160.0, "{per_conversation}");
}
