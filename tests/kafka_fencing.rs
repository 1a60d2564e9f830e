//! The zombie fence against the real broker. Two instances share four
//! partitions; one is paused with SIGSTOP past the group's session timeout
//! while events flow (it is expelled from the group), and resumed with
//! SIGCONT while events still flow. From its resumption until its next assignment
//! it writes nothing to the signals or the state topic (every record names
//! its writer and rebalance epoch in `satpam-writer`), and at the end the
//! signals topic and every account's state equal an in-memory replay. Run
//! by `.ci/run` after `scripts/broker.sh start`:
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test kafka_fencing -- --ignored --test-threads 1
//! ```

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::faults::{
    accounts_of, events_of_tags, expect_signals, expect_state, feed_by, wait_caught_up,
};
use common::kafka::{
    brokers, create_topics, read_topic_to_end, replay_events, unique, Record, Serve,
};

const EVENTS: &str = "satpam_events_total{source=\"kafka\"}";
const SHARDS: &str = "satpam_shards";
const EPOCH: &str = "satpam_kafka_rebalances_total";
const LOST: &str = "satpam_kafka_lost_partitions_total";

/// State on the state topic, and a short session so that a paused member
/// is expelled within seconds.
const FLEET: &str = "state_store = \"kafka\"\ncommit_interval_ms = 300\nstate_interval_ms = 1000\n\
[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The `<host>/<pid>/` every record written by process `pid` names.
fn writer_prefix(pid: u32) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    format!("{}/{pid}/", host.trim())
}

/// The rebalance epoch of a record written by the process of `prefix`.
fn epoch_of(r: &Record, prefix: &str) -> Option<u64> {
    r.headers
        .get("satpam-writer")?
        .strip_prefix(prefix)?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn a_paused_instance_writes_nothing_once_resumed_until_it_is_assigned_again() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("zombie"), 4).await;
    let tags = ["z1", "z2", "z3", "z4", "z5", "z6", "z7", "z8"];
    let events = events_of_tags(&tags);
    let (engine, decided) = replay_events(&events);
    let expected: BTreeSet<String> = decided.iter().map(|(id, _)| id.clone()).collect();

    let a = Serve::start(dir.path(), "a", &topics, FLEET);
    a.wait_metric(SHARDS, Duration::from_secs(60), |v| v == 4.0);
    let b = Serve::start(dir.path(), "b", &topics, FLEET);
    b.wait_metric(SHARDS, Duration::from_secs(60), |v| v == 2.0);
    a.wait_metric(SHARDS, Duration::from_secs(60), |v| v == 2.0);

    // 250 events a second, so that the pause and the resumption both land mid-stream.
    let stream = feed_by(&brokers(), &topics.events, events.clone(), 25);
    a.wait_metric(EVENTS, Duration::from_secs(60), |v| v >= 500.0);
    let epoch = a.metric(EPOCH).expect("a's epoch") as u64;
    a.signal("-STOP");
    // Past the 6 s session: a is expelled. With Kafka, b would take a's
    // partitions now (restoring them from the state topic); Tansu 0.6
    // keeps the paused member as the group's leader and forms the group
    // again only once it runs, so here b loses its own partitions too and
    // everything is assigned again after the resumption. Either way, a's
    // assignment is lost when it resumes, which is what this test is about.
    std::thread::sleep(Duration::from_secs(10));
    let resumed_ms = now_ms();
    a.signal("-CONT");
    assert!(!stream.is_finished(), "a resumed while events still flowed");
    a.wait_metric(LOST, Duration::from_secs(30), |v| v == 2.0);
    stream.join().expect("producer");

    let signals = expect_signals(
        &brokers(),
        &topics.signals,
        Duration::from_secs(90),
        &expected,
    );
    let state = read_topic_to_end(&format!("{}.state", topics.group), Duration::from_secs(60));
    let (prefix, b_prefix) = (writer_prefix(a.pid()), writer_prefix(b.pid()));
    assert!(
        signals
            .iter()
            .all(|r| epoch_of(r, &prefix).or(epoch_of(r, &b_prefix)).is_some()),
        "every signal names its writer, a or b"
    );
    assert!(
        state
            .iter()
            .any(|r| epoch_of(r, &prefix).is_some() && r.timestamp_ms < Some(resumed_ms)),
        "a wrote state before its pause, so the check below can match a's records"
    );
    for (topic, records) in [("signals", &signals), ("state", &state)] {
        let zombie: Vec<(i32, i64, Option<u64>)> = records
            .iter()
            .filter(|r| r.timestamp_ms >= Some(resumed_ms))
            .filter(|r| epoch_of(r, &prefix).is_some_and(|e| e <= epoch + 1))
            .map(|r| (r.partition, r.offset, epoch_of(r, &prefix)))
            .collect();
        assert!(
            zombie.is_empty(),
            "a wrote to the {topic} topic after it resumed and before its next assignment \
             (epoch {epoch}, or {} of its lost revocation): {zombie:?}",
            epoch + 1
        );
    }

    // a leaves; b owns every partition again, a's restored from the state
    // topic, and every account's state is the replay's.
    assert!(a.terminate().success(), "a exits cleanly");
    b.wait_metric(SHARDS, Duration::from_secs(60), |v| v == 4.0);
    let accounts = accounts_of(&tags);
    wait_caught_up(b.grpc, &engine, &accounts, Duration::from_secs(60)).await;
    expect_state(b.grpc, &engine, &accounts).await;
    assert!(b.terminate().success());
}
