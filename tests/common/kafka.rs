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
    brokers, create_topic, create_topics, produce_keyed, producer, read_topic, unique, Record,
    Topics,
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

impl Serve {
    /// Starts `satpam serve` against `topics` with state in `dir`, waiting until /readyz answers.
    pub fn start(dir: &Path, name: &str, topics: &Topics, extra_toml: &str) -> Serve {
        let (metrics, grpc) = (free_addr(), free_addr());
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[grpc]\nlisten = \"{grpc}\"\n[metrics]\nlisten = \"{metrics}\"\n\
                 [sinks]\njsonl = \"{jsonl}\"\n\
                 [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
                 signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\n{commit}{extra_toml}",
                commit = if extra_toml.contains("commit_interval_ms") { "" } else { "commit_interval_ms = 200\n" },
                jsonl = dir.join(format!("{name}-signals.jsonl")).display(),
                brokers = brokers(),
                group = topics.group,
                events = topics.events,
                signals = topics.signals,
                dlq = topics.dlq,
            ),
        )
        .expect("config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
        cmd.args(["serve", "--config"])
            .arg(&config)
            .env("SATPAM_LOG", "info,librdkafka=warn");
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
