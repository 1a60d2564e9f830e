//! `satpam serve` against a real Kafka-protocol broker (Tansu). Run by
//! `.ci/run` after `scripts/broker.sh start`:
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test kafka_service -- --ignored --test-threads 1
//! ```

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::kafka::{
    assert_no_duplicates, create_topics, ids_of, produce, produce_raw, producer, read_topic,
    signals, unique, violating_and_legit, Record, Serve,
};
use satpam::pb::v1 as pb;
use satpam::Engine;

/// The signal ids the engine decides for `events`, replayed in memory.
fn expected_signal_ids(events: &[pb::MessageEvent]) -> BTreeSet<String> {
    replay(events).1.into_iter().map(|(id, _)| id).collect()
}

fn replay(events: &[pb::MessageEvent]) -> (Engine, Vec<(String, usize)>) {
    common::kafka::replay_events(events)
}

/// Reads the signals topic until it holds as many records as `expected`,
/// then checks that they are exactly `expected`, none twice.
fn read_expected_signals(
    topic: &str,
    timeout: Duration,
    expected: &BTreeSet<String>,
) -> Vec<Record> {
    let records = read_topic(topic, timeout, |r| r.len() >= expected.len());
    let got = ids_of(&records);
    assert_no_duplicates(&got);
    assert_eq!(&got.into_iter().collect::<BTreeSet<_>>(), expected);
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn signals_topic_carries_the_violating_accounts_signals_and_nothing_else() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("sig"), 3).await;
    let events = violating_and_legit("a");
    let expected = expected_signal_ids(&events);
    assert!(!expected.is_empty());
    let serve = Serve::start(dir.path(), "one", &topics, "");
    produce(&producer(), &topics.events, &events);

    let records = read_expected_signals(&topics.signals, Duration::from_secs(60), &expected);
    for (r, s) in records.iter().zip(signals(&records)) {
        assert_eq!(s.account_id, "a-ai", "nothing for the legitimate account");
        assert_eq!(
            r.key.as_deref(),
            Some(s.account_id.as_bytes()),
            "keyed by account"
        );
        assert_eq!(r.headers.get("satpam-signal-id"), Some(&s.signal_id));
    }
    serve.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(30),
        |v| v == events.len() as f64,
    );
    serve.wait_metric(
        "satpam_consumer_lag_messages",
        Duration::from_secs(30),
        |v| v == 0.0,
    );
    serve.wait_metric(
        "satpam_offset_commits_total{result=\"ok\"}",
        Duration::from_secs(10),
        |v| v >= 1.0,
    );
    assert_eq!(
        serve.metric("satpam_offset_commits_total{result=\"error\"}"),
        Some(0.0)
    );
    // Every event's stages reach /metrics (a worker folds them at least
    // once per commit interval), and each event's time in service is its
    // decode, process and emit times: the clock reads of one event chain.
    let stage = |s: &str, part: &str| {
        serve
            .metric(&format!(
                "satpam_stage_latency_seconds_{part}{{stage=\"{s}\"}}"
            ))
            .unwrap_or(-1.0)
    };
    serve.wait_metric(
        "satpam_stage_latency_seconds_count{stage=\"in_service\"}",
        Duration::from_secs(10),
        |v| v == events.len() as f64,
    );
    for s in ["decode", "process"] {
        assert_eq!(stage(s, "count"), events.len() as f64, "{s}");
    }
    assert_eq!(
        stage("emit", "count"),
        expected.len() as f64,
        "a signal each"
    );
    let parts = stage("decode", "sum") + stage("process", "sum") + stage("emit", "sum");
    let whole = stage("in_service", "sum");
    assert!(
        whole > 0.0 && (whole - parts).abs() <= 1e-6 * whole.max(1.0),
        "in service {whole} s, decode + process + emit {parts} s"
    );
    assert!(serve.terminate().success(), "clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn sigkill_mid_stream_skips_no_event_and_duplicates_no_signal() {
    let dir = tempfile::tempdir().expect("dir");
    let state = format!("state_dir = \"{}\"\n", dir.path().join("state").display());
    sigkill_then_restart(dir.path(), "kill", &state).await;
}

/// The same with the state in Kafka: no instance has a state directory, so
/// the second instance finds the first one's checkpoint only on the state
/// topic (`<group>.state`, which the first instance creates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn state_in_kafka_moves_to_the_next_owner_after_a_sigkill() {
    let dir = tempfile::tempdir().expect("dir");
    sigkill_then_restart(
        dir.path(),
        "killk",
        "state_store = \"kafka\"\nstate_interval_ms = 1000\n",
    )
    .await;
}

/// Checkpoints by a first instance, a second killed with SIGKILL after
/// signalling past the last checkpoint, a third resuming from the
/// checkpoint: the signals topic and the accounts' state equal an in-memory
/// replay. `state` is the `[kafka]` lines saying where state is kept.
async fn sigkill_then_restart(dir: &std::path::Path, name: &str, state: &str) {
    let topics = create_topics(&unique(name), 2).await;
    let mut events = Vec::new();
    for tag in ["k1", "k2", "k3"] {
        events.extend(violating_and_legit(tag));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let (engine, decided) = replay(&events);
    let expected: BTreeSet<String> = decided.iter().map(|(id, _)| id.clone()).collect();
    let triggers: Vec<usize> = decided.iter().map(|(_, i)| *i).collect();
    assert!(triggers.len() >= 3, "signals to split around: {triggers:?}");
    // The first instance checkpoints as usual and stops cleanly (SIGTERM
    // checkpoints every partition). The killed one never checkpoints (an
    // hour between checkpoints, one member in the group, so no revoke
    // either): everything it processed and signalled is after the last
    // checkpoint, so the restart must process it again and fence the signals
    // it made, every time, whatever the timing. A short session timeout lets
    // the group notice the killed member soon.
    let checkpointing = format!("{state}commit_interval_ms = 3000\n");
    let never_checkpointing = format!(
        "{state}commit_interval_ms = 3600000\n[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n"
    );

    let p = producer();
    // First part: up to the first signal. Second: up to the last one, so
    // the killed instance has signalled after the last checkpoint. Third: the rest.
    let (third, two_thirds) = (triggers[0] + 1, triggers[triggers.len() - 1] + 1);
    let first = Serve::start(dir, "first", &topics, &checkpointing);
    produce(&p, &topics.events, &events[..third]);
    first.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(30),
        |v| v == third as f64,
    );
    assert!(first.terminate().success(), "clean exit, checkpointed");

    let killed = Serve::start(dir, "killed", &topics, &never_checkpointing);
    produce(&p, &topics.events, &events[third..two_thirds]);
    killed.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(30),
        |v| v == (two_thirds - third) as f64,
    );
    // Everything decided so far is on the signals topic before the kill.
    let made_before_kill: BTreeSet<String> = decided
        .iter()
        .filter(|(_, i)| *i < two_thirds)
        .map(|(id, _)| id.clone())
        .collect();
    let remade = decided
        .iter()
        .filter(|(_, i)| (third..two_thirds).contains(i))
        .count();
    assert!(remade >= 1, "the killed instance signals: {triggers:?}");
    let before_kill = read_topic(&topics.signals, Duration::from_secs(30), |r| {
        ids_of(r).into_iter().collect::<BTreeSet<_>>() == made_before_kill
    });
    assert_eq!(
        ids_of(&before_kill).into_iter().collect::<BTreeSet<_>>(),
        made_before_kill,
        "signalled before the kill"
    );
    assert_eq!(
        killed.metric("satpam_snapshots_total"),
        Some(0.0),
        "the killed instance never checkpointed"
    );
    killed.kill();

    produce(&p, &topics.events, &events[two_thirds..]);
    let second = Serve::start(dir, "second", &topics, &checkpointing);
    // Tansu 0.6 completes the new member's join only after its session
    // timeout (45 s, the default here), and may first hand every partition
    // to the killed member once more: two rounds.
    second.wait_metric("satpam_shards", Duration::from_secs(120), |v| v == 2.0);
    // It resumes at the first instance's checkpoint: the killed instance's
    // events again, then the rest, each once.
    second.wait_metric(
        "satpam_events_total{source=\"kafka\"}",
        Duration::from_secs(60),
        |v| v == (events.len() - third) as f64,
    );
    let records = read_topic(&topics.signals, Duration::from_secs(90), |r| {
        ids_of(r).into_iter().collect::<BTreeSet<_>>().len() >= expected.len()
    });
    second.wait_metric(
        "satpam_consumer_lag_messages",
        Duration::from_secs(60),
        |v| v == 0.0,
    );
    // Give a straggler the chance to show up before judging duplicates.
    let records = read_topic(&topics.signals, Duration::from_secs(3), |r| {
        r.len() > records.len()
    });
    let got = ids_of(&records);
    assert_no_duplicates(&got);
    assert_eq!(
        got.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "exactly the in-memory decisions"
    );
    assert_eq!(
        second.metric("satpam_signals_fenced_total"),
        Some(remade as f64),
        "each signal made again after the restart was fenced, not produced twice"
    );

    // No event skipped or counted twice: the restored state matches an
    // in-memory replay of every event.
    let mut admin = pb::admin_client::AdminClient::connect(format!("http://{}", second.grpc))
        .await
        .expect("admin");
    for tag in ["k1", "k2", "k3"] {
        for kind in ["ai", "shop"] {
            let account = format!("{tag}-{kind}");
            let want = engine.account("bsp-test", &account).expect("replayed");
            let got = admin
                .get_account(pb::GetAccountRequest {
                    tenant_id: "bsp-test".into(),
                    account_id: account.clone(),
                })
                .await
                .expect("tracked after restart")
                .into_inner();
            assert_eq!(
                got.signals,
                want.slot.decision.signals(),
                "{account}: signals"
            );
            assert_eq!(
                got.last_event_ms,
                want.behaviour.last_ms(),
                "{account}: last event"
            );
            assert_eq!(
                got.action,
                pb::Action::from(want.slot.decision.action()) as i32,
                "{account}: action"
            );
            let mut want_b = want.behaviour.clone();
            let totals = want_b.totals(want.behaviour.last_ms());
            let ev = got.evidence.expect("evidence");
            assert_eq!(
                ev.events,
                totals.events_hour(),
                "{account}: events in the last hour"
            );
        }
    }
    let log = second.log_text();
    assert!(
        log.contains("partition resumed from its snapshot"),
        "resumed from snapshots:\n{log}"
    );
    assert!(second.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn a_poison_message_is_dead_lettered_and_the_events_after_it_are_processed() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("dlq"), 1).await;
    let events = violating_and_legit("p");
    let expected = expected_signal_ids(&events);
    let serve = Serve::start(dir.path(), "poison", &topics, "");
    let p = producer();
    produce(&p, &topics.events, &events[..100]);
    let poison = b"\xff\xff not a protobuf message \x00\x01";
    produce_raw(&p, &topics.events, "p-ai", poison);
    let mut invalid = events[0].clone();
    invalid.tenant_id.clear();
    produce(&p, &topics.events, &[invalid]);
    produce(&p, &topics.events, &events[100..]);

    let dead = read_topic(&topics.dlq, Duration::from_secs(30), |r| r.len() >= 2);
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].payload, poison, "the original bytes");
    assert_eq!(dead[0].key.as_deref(), Some(&b"p-ai"[..]));
    assert!(dead[0].headers["satpam-error"].contains("not a satpam.v1.MessageEvent"));
    assert_eq!(dead[0].headers["satpam-source-topic"], topics.events);
    assert_eq!(dead[0].headers["satpam-source-offset"], "100");
    assert!(dead[1].headers["satpam-error"].contains("tenant_id"));

    read_expected_signals(&topics.signals, Duration::from_secs(60), &expected);
    serve.wait_metric(
        "satpam_dead_letters_total{source=\"kafka\"}",
        Duration::from_secs(10),
        |v| v == 2.0,
    );
    assert_eq!(
        serve.metric("satpam_decode_failures_total{source=\"kafka\"}"),
        Some(1.0)
    );
    assert_eq!(
        serve.metric("satpam_validation_failures_total{source=\"kafka\"}"),
        Some(1.0)
    );
    assert!(serve.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn two_instances_in_one_group_share_the_partitions_and_process_each_event_once() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("group"), 4).await;
    let a = Serve::start(dir.path(), "a", &topics, "");
    let b = Serve::start(dir.path(), "b", &topics, "");
    // Both hold partitions before any event is produced (no rebalance mid-stream).
    for s in [&a, &b] {
        s.wait_metric("satpam_shards", Duration::from_secs(60), |v| v >= 1.0);
    }
    let total_shards =
        a.metric("satpam_shards").unwrap_or(0.0) + b.metric("satpam_shards").unwrap_or(0.0);
    assert_eq!(
        total_shards, 4.0,
        "every partition owned by exactly one instance"
    );

    let mut events = Vec::new();
    for tag in ["g1", "g2", "g3", "g4"] {
        events.extend(violating_and_legit(tag));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let expected = expected_signal_ids(&events);
    produce(&producer(), &topics.events, &events);

    let records = read_expected_signals(&topics.signals, Duration::from_secs(90), &expected);

    let name = "satpam_events_total{source=\"kafka\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (mut ea, mut eb) = (0.0, 0.0);
    while std::time::Instant::now() < deadline {
        ea = a.metric(name).unwrap_or(0.0);
        eb = b.metric(name).unwrap_or(0.0);
        if ea + eb >= events.len() as f64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        ea + eb,
        events.len() as f64,
        "each event processed exactly once"
    );
    assert!(ea > 0.0 && eb > 0.0, "both instances worked: {ea} + {eb}");
    // Keyed by account: all of an account's signals on one partition.
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for (r, s) in records.iter().zip(signals(&records)) {
        assert_eq!(r.key.as_deref(), Some(s.account_id.as_bytes()));
        let p = *partition_of
            .entry(s.account_id.clone())
            .or_insert(r.partition);
        assert_eq!(
            r.partition, p,
            "{}: signals on two partitions",
            s.account_id
        );
    }
    assert_eq!(
        partition_of
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["g1-ai", "g2-ai", "g3-ai", "g4-ai"]),
        "signals for every violating account and no other"
    );
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}
