//! Helpers of the fault-injection tests against a real broker: events fed
//! from a thread while a fault happens, and the end checks, the signals
//! topic and the accounts' state compared with an in-memory replay.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use satpam::pb::v1 as pb;

use super::kafka::{assert_no_duplicates, ids_of, producer_on, read_topic_on, Record};

/// Events per produced chunk, and the pause between chunks: a stream of
/// about 1,000 events a second.
pub const CHUNK: usize = 100;
/// See [`CHUNK`].
pub const PAUSE: Duration = Duration::from_millis(100);

/// Produces `events` (keyed by account) to `topic` on `brokers` from a
/// thread, [`CHUNK`] at a time with [`PAUSE`] between chunks.
pub fn feed(brokers: &str, topic: &str, events: Vec<pb::MessageEvent>) -> JoinHandle<()> {
    feed_by(brokers, topic, events, CHUNK)
}

/// [`feed`] `chunk` events at a time (a slower stream for smaller chunks).
pub fn feed_by(
    brokers: &str,
    topic: &str,
    events: Vec<pb::MessageEvent>,
    chunk: usize,
) -> JoinHandle<()> {
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    std::thread::spawn(move || {
        let p = producer_on(&brokers);
        for chunk in events.chunks(chunk) {
            super::kafka::produce(&p, &topic, chunk);
            std::thread::sleep(PAUSE);
        }
    })
}

/// Reads the signals topic until it holds `expected.len()` distinct ids,
/// then a little longer for a straggler; checks that it holds exactly
/// `expected`, none twice. Returns the records.
pub fn expect_signals(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    expected: &BTreeSet<String>,
) -> Vec<Record> {
    let distinct = |r: &[Record]| ids_of(r).into_iter().collect::<BTreeSet<_>>().len();
    let records = read_topic_on(brokers, topic, timeout, |r| distinct(r) >= expected.len());
    let records = read_topic_on(brokers, topic, Duration::from_secs(3), |r| {
        r.len() > records.len()
    });
    let got = ids_of(&records);
    assert_no_duplicates(&got);
    assert_eq!(
        got.iter().cloned().collect::<BTreeSet<_>>(),
        *expected,
        "the signals topic holds exactly the replay's signals"
    );
    records
}

/// Checks every account of `accounts` (tenant `bsp-test`) as the instance
/// at `grpc` sees it against the replayed `engine`: signals, action, last
/// event and events in the last hour (an event skipped or counted twice
/// shows in these).
pub async fn expect_state(grpc: SocketAddr, engine: &satpam::Engine, accounts: &[String]) {
    let mut admin = pb::admin_client::AdminClient::connect(format!("http://{grpc}"))
        .await
        .expect("admin");
    for account in accounts {
        let want = engine.account("bsp-test", account).expect("replayed");
        let got = admin
            .get_account(pb::GetAccountRequest {
                tenant_id: "bsp-test".into(),
                account_id: account.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{account} not tracked: {e}"))
            .into_inner();
        assert_eq!(
            got.signals,
            want.slot.decision.signals(),
            "{account}: signals"
        );
        assert_eq!(
            got.action,
            pb::Action::from(want.slot.decision.action()) as i32,
            "{account}: action"
        );
        assert_eq!(
            got.last_event_ms,
            want.behaviour.last_ms(),
            "{account}: last event"
        );
        let mut b = want.behaviour.clone();
        let totals = b.totals(want.behaviour.last_ms());
        assert_eq!(
            got.evidence.expect("evidence").events,
            totals.events_hour(),
            "{account}: events in the last hour"
        );
    }
}

/// Waits until the instance at `grpc` has seen the last event of every
/// account of `accounts` that the replayed `engine` saw (the events after
/// the last signal included); panics after `timeout`.
pub async fn wait_caught_up(
    grpc: SocketAddr,
    engine: &satpam::Engine,
    accounts: &[String],
    timeout: Duration,
) {
    let mut admin = pb::admin_client::AdminClient::connect(format!("http://{grpc}"))
        .await
        .expect("admin");
    let deadline = std::time::Instant::now() + timeout;
    for account in accounts {
        let want = engine
            .account("bsp-test", account)
            .expect("replayed")
            .behaviour
            .last_ms();
        loop {
            let got = admin
                .get_account(pb::GetAccountRequest {
                    tenant_id: "bsp-test".into(),
                    account_id: account.clone(),
                })
                .await
                .map(|r| r.into_inner().last_event_ms)
                .unwrap_or(0);
            if got == want {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{account}: last event {got}, want {want}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The accounts of [`super::kafka::violating_and_legit`] for `tags`.
pub fn accounts_of(tags: &[&str]) -> Vec<String> {
    tags.iter()
        .flat_map(|t| [format!("{t}-ai"), format!("{t}-shop")])
        .collect()
}

/// The events of [`super::kafka::violating_and_legit`] for `tags`, in time order.
pub fn events_of_tags(tags: &[&str]) -> Vec<pb::MessageEvent> {
    let mut events: Vec<pb::MessageEvent> = tags
        .iter()
        .flat_map(|t| super::kafka::violating_and_legit(t))
        .collect();
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

/// The end of a fault test: the signals topic holds exactly `expected`
/// (the replay's ids, within 90 s), and once the instance at `grpc` has
/// caught up (60 s), every account of `accounts` has the replay's state.
pub async fn expect_replayed(
    brokers: &str,
    signals_topic: &str,
    expected: &BTreeSet<String>,
    grpc: SocketAddr,
    engine: &satpam::Engine,
    accounts: &[String],
) {
    expect_signals(brokers, signals_topic, Duration::from_secs(90), expected);
    wait_caught_up(grpc, engine, accounts, Duration::from_secs(60)).await;
    expect_state(grpc, engine, accounts).await;
}
