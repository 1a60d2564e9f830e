//! Helpers for tests against a real Kafka-protocol broker: the shared test
//! kit's broker helpers, plus what needs satpam's types (events in,
//! signals out) and `satpam serve` configured for a test's topics.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rdkafka::producer::{DefaultProducerContext, ThreadedProducer};

use satpam_testkit::http::free_addr;
pub use satpam_testkit::kafka::{
    brokers, create_topic, create_topics, create_topics_on, produce_keyed, producer, producer_on,
    read_topic, read_topic_on, read_topic_to_end, unique, Record, Topics,
};
use satpam_testkit::process::Served;

use satpam::pb::v1 as pb;

/// Produces events keyed by account_id, then flushes.
pub fn produce(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    events: &[pb::MessageEvent],
) {
    produce_keyed(
        p,
        topic,
        events
            .iter()
            .map(|e| (e.account_id.clone(), prost::Message::encode_to_vec(e))),
    );
}

/// Produces raw bytes with a key.
pub fn produce_raw(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    key: &str,
    bytes: &[u8],
) {
    produce_keyed(p, topic, [(key, bytes)]);
}

/// The `[kafka]` section of a `satpam serve` config for `topics` on the
/// test broker (`brokers()`), for tests that write the rest themselves.
pub fn kafka_section(topics: &Topics) -> String {
    format!(
        "[kafka]\nbrokers = {:?}\ngroup_id = {:?}\nevents_topic = {:?}\nsignals_topic = {:?}\ndead_letter_topic = {:?}\n",
        brokers(),
        topics.group,
        topics.events,
        topics.signals,
        topics.dlq,
    )
}

/// Decodes signal records.
pub fn signals(records: &[Record]) -> Vec<pb::EnforcementSignal> {
    records
        .iter()
        .map(|r| prost::Message::decode(r.payload.as_slice()).expect("signal protobuf"))
        .collect()
}

/// `satpam serve` against a test's topics as a child process; stopped when
/// dropped. Metrics, waiting, `kill` and `terminate` are the process's.
pub struct Serve {
    pub grpc: SocketAddr,
    served: Served,
}

impl Deref for Serve {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl std::ops::DerefMut for Serve {
    fn deref_mut(&mut self) -> &mut Served {
        &mut self.served
    }
}

impl Serve {
    /// Starts `satpam serve` against `topics` with state in `dir`, waiting until /readyz answers.
    pub fn start(dir: &Path, name: &str, topics: &Topics, extra_toml: &str) -> Serve {
        Self::start_on(&brokers(), dir, name, topics, extra_toml)
    }

    /// [`Serve::start`] against the broker at `brokers`.
    pub fn start_on(
        brokers: &str,
        dir: &Path,
        name: &str,
        topics: &Topics,
        extra_toml: &str,
    ) -> Serve {
        let (metrics, grpc) = (free_addr(), free_addr());
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[grpc]\nlisten = \"{grpc}\"\n[metrics]\nlisten = \"{metrics}\"\n\
                 [sinks]\njsonl = \"{jsonl}\"\n\
                 [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
                 signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\n{commit}{extra_toml}",
                commit = if extra_toml.contains("commit_interval_ms") {
                    ""
                } else {
                    // Tests wait for lag 0, i.e. committed offsets: the state
                    // topic's writes (which cap them) every second here.
                    "commit_interval_ms = 200\nstate_interval_ms = 1000\n"
                },
                jsonl = dir.join(format!("{name}-signals.jsonl")).display(),
                brokers = brokers,
                group = topics.group,
                events = topics.events,
                signals = topics.signals,
                dlq = topics.dlq,
            ),
        )
        .expect("config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
        cmd.args(["serve", "--config"]).arg(&config).env(
            "SATPAM_LOG",
            std::env::var("SATPAM_TEST_SERVE_LOG")
                .unwrap_or_else(|_| "info,librdkafka=warn".to_string()),
        );
        let served = Served::spawn(
            cmd,
            metrics,
            &dir.join(format!("{name}.log")),
            Duration::from_secs(30),
        );
        Serve { grpc, served }
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(self) {
        self.served.kill();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.served.terminate()
    }
}

/// `events` replayed in memory with the default rules, as the service
/// runs them: the engine after them, and the signals it decided as
/// (signal id, index of the triggering event).
pub fn replay_events(events: &[pb::MessageEvent]) -> (satpam::Engine, Vec<(String, usize)>) {
    let engine = satpam::Engine::new(
        std::sync::Arc::new(satpam::RuleSet::default_pack()),
        satpam::decide::CountryPolicy::default(),
        std::sync::Arc::new(satpam::clock::ManualClock::new(0)),
        satpam::EngineConfig::default(),
    );
    let outcomes = super::drive(&engine, None, &super::events_of(events.iter().cloned()));
    let out = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            satpam::Outcome::Processed(Some(s)) => Some((s.signal_id.clone(), i)),
            _ => None,
        })
        .collect();
    (engine, out)
}

/// A violating and a legitimate account of `tag`, 25 users over 2 hours
/// each, in time order.
pub fn violating_and_legit(tag: &str) -> Vec<pb::MessageEvent> {
    use super::{traffic, Script};
    let mut events = traffic(Script::Assistant, &format!("{tag}-ai"), 25, 120, true);
    events.extend(traffic(
        Script::SupportBot,
        &format!("{tag}-shop"),
        25,
        120,
        true,
    ));
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

/// Signal ids of signal records, in topic order.
pub fn ids_of(records: &[Record]) -> Vec<String> {
    signals(records).into_iter().map(|s| s.signal_id).collect()
}

/// Panics on a signal id seen twice.
pub fn assert_no_duplicates(ids: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        assert!(seen.insert(id), "signal {id} emitted twice");
    }
}

/// `ListActioned` on `s`: (account, action) pairs, sorted.
pub async fn actioned(s: &Serve) -> Vec<(String, i32)> {
    let ch = super::service::grpc_channel(s.grpc).await;
    let mut out: Vec<(String, i32)> = pb::admin_client::AdminClient::new(ch)
        .list_actioned(pb::ListActionedRequest::default())
        .await
        .expect("ListActioned")
        .into_inner()
        .accounts
        .into_iter()
        .map(|a| (a.account_id, a.action))
        .collect();
    out.sort();
    out
}

/// Waits (up to 30 s: each instance follows the actions topic) until
/// `ListActioned` gives `want` on every instance; asserts it does.
pub async fn assert_actioned_everywhere(fleet: &[&Serve], want: &[(String, i32)]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for s in fleet {
        loop {
            let got = actioned(s).await;
            if got == want {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "ListActioned on {}: {got:?}, want {want:?}",
                s.grpc
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
