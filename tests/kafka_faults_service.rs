//! Faults of the service around a healthy broker, while events flow: a
//! rebalance (a second instance joins, then leaves), SIGTERM in the middle
//! of the stream and a restart, and the rules reloaded every second. Each
//! ends with the signals topic (and the accounts' state, or the per-rule
//! hits) compared with an in-memory replay. Run by `.ci/run` after
//! `scripts/broker.sh start`:
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test kafka_faults_service -- --ignored --test-threads 1
//! ```

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::faults::{
    accounts_of, events_of_tags, expect_replayed, expect_signals, expect_state, feed, feed_by,
    wait_caught_up,
};
use common::kafka::{brokers, create_topics, replay_events, unique, Serve};

const EVENTS: &str = "satpam_events_total{source=\"kafka\"}";
const DUPLICATES: &str = "satpam_duplicate_events_total{source=\"kafka\"}";
/// Offsets the broker did not deliver (Tansu skips the rest of a record
/// batch when a fetch starts inside it; the test producer writes one
/// record per batch).
const GAPS: &str = "satpam_kafka_offset_gaps_total";
const REVOKED: &str = "satpam_partitions_revoked_total";

fn expected_ids(decided: &[(String, usize)]) -> BTreeSet<String> {
    decided.iter().map(|(id, _)| id.clone()).collect()
}

/// Checkpoints to a shared state directory, and a short session so a
/// member that leaves is noticed soon.
fn checkpointing(dir: &std::path::Path) -> String {
    format!(
        "state_dir = \"{}\"\ncommit_interval_ms = 300\n[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n",
        dir.join("state").display()
    )
}

/// A second instance joins while events flow, then leaves while they still
/// flow. Rebalances are incremental (cooperative-sticky): only the
/// partitions that change owner move. They arrive with their state (the
/// revoked owner drains, snapshots and commits) and go back the same way: no event
/// processed twice (no duplicate counted by either instance), none skipped
/// (the state equals the replay's), every signal once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn a_rebalance_while_events_flow_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("rebal"), 4).await;
    let tags = ["b1", "b2", "b3", "b4"];
    let events = events_of_tags(&tags);
    let (engine, decided) = replay_events(&events);
    let (third, two_thirds) = (events.len() / 3, 2 * events.len() / 3);
    let extra = checkpointing(dir.path());

    let a = Serve::start(dir.path(), "a", &topics, &extra);
    a.wait_metric("satpam_shards", Duration::from_secs(60), |v| v == 4.0);
    // 250 events a second: the join and the leave both land mid-stream.
    let first = feed_by(
        &brokers(),
        &topics.events,
        events[..two_thirds].to_vec(),
        25,
    );
    a.wait_metric(EVENTS, Duration::from_secs(60), |v| v >= (third / 2) as f64);
    let b = Serve::start(dir.path(), "b", &topics, &extra);
    b.wait_metric("satpam_shards", Duration::from_secs(60), |v| v >= 1.0);
    assert!(!first.is_finished(), "b joined while events flowed");
    first.join().expect("producer");
    b.wait_metric(EVENTS, Duration::from_secs(60), |v| v >= 1.0);
    let rest = feed_by(
        &brokers(),
        &topics.events,
        events[two_thirds..].to_vec(),
        25,
    );
    assert_eq!(b.metric(DUPLICATES), Some(0.0), "b repeated nothing a did");
    assert_eq!(b.metric(GAPS), Some(0.0), "b was delivered every offset");
    assert!(b.terminate().success(), "b leaves cleanly");
    assert!(!rest.is_finished(), "b left while events flowed");
    rest.join().expect("producer");
    a.wait_metric("satpam_shards", Duration::from_secs(60), |v| v == 4.0);

    // Signals, then offsets (a record never delivered explains a state that
    // differs, so it is checked first), then each account's state.
    let accounts = accounts_of(&tags);
    expect_signals(
        &brokers(),
        &topics.signals,
        Duration::from_secs(90),
        &expected_ids(&decided),
    );
    wait_caught_up(a.grpc, &engine, &accounts, Duration::from_secs(60)).await;
    assert_eq!(a.metric(GAPS), Some(0.0), "a was delivered every offset");
    assert_eq!(a.metric(DUPLICATES), Some(0.0), "a repeated nothing b did");
    expect_state(a.grpc, &engine, &accounts).await;
    assert_eq!(
        a.metric(REVOKED),
        Some(2.0),
        "incremental rebalances: a gave up only the two partitions b took, and none when b left"
    );
    assert!(a.terminate().success());
}

/// SIGTERM while a worker is in the middle of the stream: the instance
/// drains what it took, commits and exits 0; the next one starts where it
/// stopped (nothing processed twice, nothing skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn sigterm_mid_stream_then_restart_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("term"), 2).await;
    let tags = ["t1", "t2", "t3", "t4"];
    let events = events_of_tags(&tags);
    let (engine, decided) = replay_events(&events);
    // Only the shutdown checkpoints: the restart resumes exactly there.
    let extra = format!(
        "state_dir = \"{}\"\ncommit_interval_ms = 3600000\n",
        dir.path().join("state").display()
    );

    let first = Serve::start(dir.path(), "first", &topics, &extra);
    let stream = feed(&brokers(), &topics.events, events.clone());
    let before = first.wait_metric(EVENTS, Duration::from_secs(60), |v| {
        v >= (events.len() / 3) as f64
    });
    assert!(!stream.is_finished(), "stopped while events flowed");
    assert!(first.terminate().success(), "clean exit on SIGTERM");
    stream.join().expect("producer");

    let second = Serve::start(dir.path(), "second", &topics, &extra);
    expect_replayed(
        &brokers(),
        &topics.signals,
        &expected_ids(&decided),
        second.grpc,
        &engine,
        &accounts_of(&tags),
    )
    .await;
    let after = second.metric(EVENTS).unwrap_or(0.0);
    assert!(
        after <= events.len() as f64 - before,
        "the second instance took only what the first had not: {after} after {before}"
    );
    assert_eq!(
        second.metric(DUPLICATES),
        Some(0.0),
        "nothing processed twice"
    );
    assert_eq!(second.metric(GAPS), Some(0.0), "every offset delivered");
    assert_eq!(
        second.metric("satpam_signals_fenced_total"),
        Some(0.0),
        "no signal made twice to fence"
    );
    assert!(second.terminate().success());
}

/// `satpam_rule_hits_total` by rule.
fn rule_hits(scrape: &str) -> BTreeMap<String, u64> {
    common::service::parse_prometheus(scrape)
        .into_iter()
        .filter_map(|(name, v)| {
            let rule = name
                .strip_prefix("satpam_rule_hits_total{rule=\"")?
                .strip_suffix("\"}")?;
            Some((rule.to_string(), v as u64))
        })
        .collect()
}

/// The rules file re-read on SIGHUP every second while events flow: each
/// reload installs a new rule set (same rules), and the per-rule hits and
/// the signals equal the replay's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn rules_reloaded_every_second_under_load_count_hits_like_a_replay() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("reload"), 2).await;
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    let tags = ["h1", "h2", "h3", "h4"];
    let events = events_of_tags(&tags);
    let (_, decided) = replay_events(&events);
    let (summary, _) = common::replay_default_pack(events.iter().cloned(), Default::default())
        .1
        .finish();
    let want: BTreeMap<String, u64> = summary
        .rule_hits
        .into_iter()
        .map(|r| (r.id, r.hits))
        .collect();

    let serve = Serve::start(
        dir.path(),
        "reload",
        &topics,
        &format!("[engine]\nrules = {:?}\n", rules.display().to_string()),
    );
    let stream = feed(&brokers(), &topics.events, events.clone());
    let mut reloads = 0;
    while !stream.is_finished() {
        std::thread::sleep(Duration::from_secs(1));
        serve.signal("-HUP");
        reloads += 1;
    }
    stream.join().expect("producer");
    assert!(reloads >= 3, "reloaded {reloads} times while events flowed");
    // SIGHUPs that arrive during a reload may coalesce into one.
    serve.wait_metric(
        "satpam_rule_reloads_total{result=\"ok\"}",
        Duration::from_secs(10),
        |v| v >= 3.0 && v <= reloads as f64,
    );
    serve.wait_metric(EVENTS, Duration::from_secs(90), |v| {
        v == events.len() as f64
    });
    // A worker folds its rule hits into /metrics at least once per commit
    // interval: the last events' hits may arrive after the events count.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut got = rule_hits(&serve.scrape());
    while got != want && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        got = rule_hits(&serve.scrape());
    }
    assert_eq!(got, want, "per-rule hits");
    expect_signals(
        &brokers(),
        &topics.signals,
        Duration::from_secs(60),
        &expected_ids(&decided),
    );
    assert!(serve.terminate().success());
}
