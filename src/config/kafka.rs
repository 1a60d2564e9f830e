//! The `[kafka]` section.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[kafka]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// Bootstrap servers (`host:port,...`); empty: no Kafka.
    pub brokers: String,
    /// Consumer group; instances with the same group share the partitions.
    pub group_id: String,
    /// Input topic of `satpam.v1.MessageEvent` protobuf, keyed by account_id.
    pub events_topic: String,
    /// Output topic of `satpam.v1.EnforcementSignal` protobuf, keyed by account_id.
    pub signals_topic: String,
    /// Dead-letter topic: the original bytes, the reason in headers.
    pub dead_letter_topic: String,
    /// Worker threads; partition p goes to worker p mod workers.
    pub workers: usize,
    /// Messages queued per worker before the consumer waits (backpressure).
    pub queue_capacity: usize,
    /// Bytes of records (keys and payloads) queued per worker before the
    /// consumer waits: the memory bound whatever the records' size.
    pub queue_bytes: usize,
    /// How often processed offsets are committed, ms (never per message).
    pub commit_interval_ms: u64,
    /// Directory for per-partition state snapshots taken at each commit, so a
    /// restart resumes with the state it had; empty: no snapshots (a restart
    /// rebuilds state from the committed offset on).
    pub state_dir: Option<PathBuf>,
    /// Audit records go to this topic as JSON, keyed by tenant; empty: none.
    pub audit_topic: String,
    /// Extra librdkafka consumer properties (e.g. `security.protocol`);
    /// numbers and booleans are taken as their text.
    #[serde(deserialize_with = "librdkafka_map")]
    pub consumer: BTreeMap<String, String>,
    /// Extra librdkafka producer properties.
    #[serde(deserialize_with = "librdkafka_map")]
    pub producer: BTreeMap<String, String>,
    /// TLS and SASL for every Kafka client (`[kafka.security]`).
    pub security: super::KafkaSecuritySection,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: String::new(),
            group_id: "satpam".into(),
            events_topic: "satpam.events".into(),
            signals_topic: "satpam.signals".into(),
            dead_letter_topic: "satpam.events.dlq".into(),
            audit_topic: "satpam.audit".into(),
            workers: 2,
            queue_capacity: 4_096,
            queue_bytes: 64 * 1024 * 1024,
            commit_interval_ms: 1_000,
            state_dir: None,
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
            security: Default::default(),
        }
    }
}

impl KafkaSection {
    /// Whether Kafka is configured.
    pub fn enabled(&self) -> bool {
        !self.brokers.trim().is_empty()
    }
}

/// A librdkafka property map: every value is a string to librdkafka, so
/// `"session.timeout.ms" = 30000` is taken as `"30000"`.
fn librdkafka_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Scalar::S(s) => s,
                Scalar::I(i) => i.to_string(),
                Scalar::F(f) => f.to_string(),
                Scalar::B(b) => b.to_string(),
            };
            (k, v)
        })
        .collect())
}

pub(super) fn path_or_empty<S: serde::Serializer>(
    p: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => p.serialize(s),
        None => s.serialize_str(""),
    }
}
