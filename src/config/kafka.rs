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
    /// Input topic of `satpam.v1.MessageEvent` protobuf, keyed by account_id
    /// (or of raw webhook bodies with `events_format = "webhook"`).
    pub events_topic: String,
    /// What the events topic's records are: `protobuf` (`satpam.v1.MessageEvent`,
    /// the default) or `webhook` (raw Cloud API webhook bodies as Meta POSTs
    /// them, the signature in an `x-hub-signature-256` header; docs/webhooks.md).
    pub events_format: EventsFormat,
    /// With `events_format = "webhook"`: the tenant of records that carry no
    /// signature header; empty (the default): such records are dead-lettered.
    pub webhook_unsigned_tenant: String,
    /// Output topic of `satpam.v1.EnforcementSignal` protobuf, keyed by account_id.
    pub signals_topic: String,
    /// Dead-letter topic: the original bytes, the reason in headers.
    pub dead_letter_topic: String,
    /// Worker threads; partition p goes to worker p mod workers.
    pub workers: usize,
    /// No longer used: each partition has its own queue in librdkafka,
    /// bounded by `queue_bytes` and by librdkafka's `queued.min.messages`
    /// (`[kafka.consumer]`). Accepted so old configs still load; `serve`
    /// and `config check` warn when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<usize>,
    /// Bytes of records librdkafka queues per assigned partition before it
    /// stops fetching it (its `queued.max.messages.kbytes`): the memory
    /// bound whatever the records' size. `[kafka.consumer]` overrides it.
    pub queue_bytes: usize,
    /// How often processed offsets are committed, ms (never per message).
    pub commit_interval_ms: u64,
    /// Directory for per-partition state snapshots taken at each commit, so a
    /// restart resumes with the state it had; empty: no snapshots (a restart
    /// rebuilds state from the committed offset on).
    pub state_dir: Option<PathBuf>,
    /// Where each partition's state is kept between owners: `kafka` (the
    /// state topic: restored by whichever instance is assigned the
    /// partition, no local disk), `files` (snapshots in `state_dir`: only
    /// the same instance finds them again), `none` (a partition that moves
    /// or restarts starts empty at the group's offset). Empty: `files` when
    /// `state_dir` is set, `kafka` otherwise.
    pub state_store: String,
    /// With the state topic, a partition's state is written at most this
    /// often, ms (and always when it is revoked or the service stops); its
    /// offsets are committed only up to its last written state, so after a
    /// crash up to this much is processed again (its signals fenced). Each
    /// write is the partition's whole state: keep it well above the time one
    /// takes. Files are written at every commit, as before.
    pub state_interval_ms: u64,
    /// The state topic (compacted, as many partitions as the events topic;
    /// created at start when missing). Empty: `<group_id>.state`, one per
    /// consumer group, as Kafka Streams names its changelogs.
    pub state_topic: String,
    /// The overrides topic: every analyst override set or cleared on any
    /// instance goes there (compacted, one partition, created at start when
    /// missing), and every instance applies all of it, so an override holds
    /// wherever the account lives and survives any restart. Empty:
    /// `<group_id>.overrides`.
    pub overrides_topic: String,
    /// The actions topic, when set: each account's action in force (its
    /// latest signal, keyed by tenant and account; a tombstone once
    /// lifted), written by the owner of the account's partition (compacted,
    /// one partition, created at start when missing). Every instance keeps
    /// all of it, so `ListActioned` and the action part of `GetAccount`
    /// answer the same on every instance. Empty (the default for now):
    /// none, and both answer from this instance's partitions. The usual
    /// name is `<group_id>.actions`.
    pub actions_topic: String,
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

/// Where partition state is kept (`kafka.state_store`, resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateStoreKind {
    /// The state topic.
    Kafka,
    /// Snapshot files in `state_dir`.
    Files,
    /// Nowhere.
    None,
}

impl KafkaSection {
    /// `state_store` resolved: an empty value means `files` when
    /// `state_dir` is set and `kafka` otherwise; None for an unknown value.
    pub fn state_store_kind(&self) -> Option<StateStoreKind> {
        match self.state_store.trim() {
            "kafka" => Some(StateStoreKind::Kafka),
            "files" => Some(StateStoreKind::Files),
            "none" => Some(StateStoreKind::None),
            "" if self.state_dir.is_some() => Some(StateStoreKind::Files),
            "" => Some(StateStoreKind::Kafka),
            _ => None,
        }
    }

    /// The overrides topic's name: `overrides_topic`, or `<group_id>.overrides`.
    pub fn overrides_topic_name(&self) -> String {
        match self.overrides_topic.trim() {
            "" => format!("{}.overrides", self.group_id),
            t => t.to_string(),
        }
    }

    /// The actions topic's name, when one is set.
    pub fn actions_topic_name(&self) -> Option<String> {
        Some(self.actions_topic.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }

    /// The state topic's name: `state_topic`, or `<group_id>.state`.
    pub fn state_topic_name(&self) -> String {
        match self.state_topic.trim() {
            "" => format!("{}.state", self.group_id),
            t => t.to_string(),
        }
    }
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: String::new(),
            group_id: "satpam".into(),
            events_topic: "satpam.events".into(),
            events_format: EventsFormat::Protobuf,
            webhook_unsigned_tenant: String::new(),
            signals_topic: "satpam.signals".into(),
            dead_letter_topic: "satpam.events.dlq".into(),
            audit_topic: "satpam.audit".into(),
            workers: 2,
            queue_capacity: None,
            queue_bytes: 64 * 1024 * 1024,
            commit_interval_ms: 1_000,
            state_dir: None,
            state_store: String::new(),
            state_topic: String::new(),
            state_interval_ms: 30_000,
            overrides_topic: String::new(),
            actions_topic: String::new(),
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
            security: Default::default(),
        }
    }
}

/// `kafka.events_format`: how the events topic's records are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsFormat {
    /// One `satpam.v1.MessageEvent` protobuf per record.
    #[default]
    Protobuf,
    /// One raw Cloud API webhook body per record, verified with the
    /// `[[webhook.apps]]` secrets and mapped like the HTTP receiver's.
    Webhook,
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
