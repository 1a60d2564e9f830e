//! The broker itself failing under `satpam serve`: paused (SIGSTOP) and
//! resumed mid-stream; stopped past the producer's timeout and restarted
//! on its persistent storage. Each test starts its own Tansu on a free
//! port (the shared one is left alone) and ends with the signals topic and
//! the accounts' state compared with an in-memory replay. Run by `.ci/run`:
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test kafka_faults -- --ignored --test-threads 1
//! ```

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::faults::{
    accounts_of, events_of_tags, expect_replayed, expect_signals, expect_state, feed,
};
use common::kafka::{create_topics_on, produce, producer_on, replay_events, unique, Serve};
use satpam_testkit::broker::Broker;

const EVENTS: &str = "satpam_events_total{source=\"kafka\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tansu: scripts/broker.sh install"]
async fn a_broker_paused_mid_stream_and_resumed_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let broker = Broker::start(dir.path(), "memory://tansu/");
    let brokers = broker.addr();
    let topics = create_topics_on(&brokers, &unique("pause"), 2).await;
    let tags = ["s1", "s2", "s3"];
    let events = events_of_tags(&tags);
    let (engine, decided) = replay_events(&events);
    let expected: BTreeSet<String> = decided.iter().map(|(id, _)| id.clone()).collect();
    let (third, two_thirds) = (events.len() / 3, 2 * events.len() / 3);

    let serve = Serve::start_on(&brokers, dir.path(), "paused", &topics, "");
    produce(
        &producer_on(&brokers),
        &topics.events,
        &events[..two_thirds],
    );
    // Paused while the instance is still working through what it fetched:
    // its signals and commits wait on a broker that does not answer, and
    // the rest of the events are produced meanwhile.
    serve.wait_metric(EVENTS, Duration::from_secs(60), |v| v >= third as f64);
    broker.pause();
    let rest = feed(&brokers, &topics.events, events[two_thirds..].to_vec());
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        serve.metric(EVENTS).is_some(),
        "the instance still serves /metrics while the broker is paused"
    );
    broker.resume();
    rest.join().expect("producer");

    serve.wait_metric(EVENTS, Duration::from_secs(90), |v| {
        v == events.len() as f64
    });
    expect_signals(
        &brokers,
        &topics.signals,
        Duration::from_secs(60),
        &expected,
    );
    expect_state(serve.grpc, &engine, &accounts_of(&tags)).await;
    assert_eq!(
        serve.metric("satpam_signal_delivery_failures_total"),
        Some(0.0)
    );
    assert!(serve.terminate().success(), "clean exit after the pause");
}

/// Stopped for twice the producer's timeout (3 s here) while the instance
/// has signals to produce, then restarted on its SQLite storage. satpam
/// may ride it out or exit non-zero with the reason logged (a record the
/// broker never acknowledged is not committed); either way, after a
/// restart of whatever stopped, nothing is lost and nothing repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tansu: scripts/broker.sh install"]
async fn a_broker_down_past_the_producer_timeout_then_restarted_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    // Tansu reads the URL's path without its leading slash: an absolute
    // path needs four.
    let storage = format!("sqlite:///{}", dir.path().join("tansu.db").display());
    let mut broker = Broker::start(dir.path(), &storage);
    let brokers = broker.addr();
    let topics = create_topics_on(&brokers, &unique("down"), 2).await;
    let tags = ["d1", "d2", "d3"];
    let events = events_of_tags(&tags);
    let (engine, decided) = replay_events(&events);
    let expected: BTreeSet<String> = decided.iter().map(|(id, _)| id.clone()).collect();
    let (third, two_thirds) = (events.len() / 3, 2 * events.len() / 3);
    let extra = format!(
        "state_dir = \"{}\"\ncommit_interval_ms = 500\n[kafka.producer]\n\"message.timeout.ms\" = \"3000\"\n",
        dir.path().join("state").display()
    );

    let mut serve = Serve::start_on(&brokers, dir.path(), "first", &topics, &extra);
    produce(
        &producer_on(&brokers),
        &topics.events,
        &events[..two_thirds],
    );
    serve.wait_metric(EVENTS, Duration::from_secs(60), |v| v >= third as f64);
    broker.stop();
    std::thread::sleep(Duration::from_secs(6));
    broker.restart();
    let rest = feed(&brokers, &topics.events, events[two_thirds..].to_vec());

    let serve = match serve.exit_within(Duration::from_secs(15)) {
        None => {
            println!("satpam rode out the broker restart");
            serve
        }
        Some(status) => {
            let log = serve.log_text();
            println!("satpam exited with {status} during the broker restart; restarting it");
            assert!(!status.success(), "a failure exit, not 0:\n{log}");
            assert!(log.contains("ERROR"), "the reason is logged:\n{log}");
            Serve::start_on(&brokers, dir.path(), "second", &topics, &extra)
        }
    };
    rest.join().expect("producer");
    expect_replayed(
        &brokers,
        &topics.signals,
        &expected,
        serve.grpc,
        &engine,
        &accounts_of(&tags),
    )
    .await;
    assert!(serve.terminate().success(), "clean exit at the end");
}
