//! The `[engine]`, `[grpc]`, `[metrics]` and `[sinks]` sections.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::kafka::path_or_empty;

/// `[engine]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Rules file (YAML); empty: the built-in rules/default.yaml.
    pub rules: Option<PathBuf>,
    /// Country policy table (YAML); empty: the built-in rules/countries.yaml.
    pub policy: Option<PathBuf>,
    /// Analyst overrides file (YAML). Admin SetOverride/ClearOverride rewrite
    /// it, so overrides survive restarts; empty: kept in memory only.
    pub overrides: Option<PathBuf>,
    /// How often the rules file is checked for changes, ms; 0: never (SIGHUP
    /// and Admin ReloadRules still reload).
    pub reload_poll_ms: u64,
    /// Shards for events that arrive over gRPC (Kafka events are sharded by
    /// partition): an account always lands in the same shard.
    pub grpc_shards: u32,
    /// Idle conversations are dropped after this long, hours of event time.
    pub conversation_idle_hours: u32,
    /// Idle accounts with no action in force are dropped after this long, hours.
    pub account_idle_hours: u32,
    /// Idle accounts with an action in force are dropped after this long, hours.
    pub actioned_account_idle_hours: u32,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            rules: None,
            policy: None,
            overrides: None,
            reload_poll_ms: 2_000,
            grpc_shards: 16,
            conversation_idle_hours: 26,
            account_idle_hours: 48,
            actioned_account_idle_hours: 14 * 24,
        }
    }
}

/// `[grpc]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcSection {
    /// Listen address; empty: no gRPC server.
    pub listen: String,
    /// Signals buffered per Watch stream before a slow watcher is cut off.
    pub watch_buffer: usize,
    /// Largest batch accepted by Ingest, events.
    pub max_batch: usize,
    /// Largest gRPC message decoded, bytes (an Ingest batch is one message):
    /// a larger one ends its stream with OUT_OF_RANGE before it is read whole.
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams (calls) per gRPC connection.
    pub max_concurrent_streams: u32,
    /// A unary call (Admin, health) still unanswered after this is ended
    /// with CANCELLED, ms; streams (Ingest, Watch) are bounded by keepalive.
    pub request_timeout_ms: u64,
    /// HTTP/2 keepalive pings this often, ms; a connection whose peer does
    /// not answer within 20 s is closed with its streams.
    pub keepalive_interval_ms: u64,
    /// With Kafka configured, Ingest produces each valid event to the events
    /// topic (keyed by account) and acks the batch once the broker has
    /// acknowledged every event; the partition's owner in the fleet decides
    /// on it like on any other event. False: this instance decides on it
    /// in its own gRPC shards (one instance only: two would split an
    /// account's state). Without Kafka, always the latter.
    pub ingest_to_kafka: bool,
    /// TLS (and mTLS) for the listener; off by default.
    pub tls: super::TlsSection,
}

impl Default for GrpcSection {
    fn default() -> Self {
        GrpcSection {
            listen: "127.0.0.1:50051".into(),
            watch_buffer: 4_096,
            max_batch: 10_000,
            max_message_bytes: 16 * 1024 * 1024,
            max_concurrent_streams: 64,
            request_timeout_ms: 30_000,
            keepalive_interval_ms: 30_000,
            ingest_to_kafka: true,
            tls: Default::default(),
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Listen address of `/metrics`, `/healthz` and `/readyz`; empty: none.
    pub listen: String,
    /// No longer used: latency is a histogram since start (aggregate with
    /// `histogram_quantile` over a `rate` window). Accepted so old configs
    /// still load; `serve` warns when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile_window_s: Option<u64>,
    /// TLS (and mTLS) for the listener; off by default.
    pub tls: super::TlsSection,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            listen: "127.0.0.1:9464".into(),
            quantile_window_s: None,
            tls: Default::default(),
        }
    }
}

/// `[sinks]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksSection {
    /// Append signals as JSONL (canonical proto3 JSON) here; empty: off.
    /// Off is printed as `""` so `--print-config` loads back to the same.
    #[serde(serialize_with = "path_or_empty")]
    pub jsonl: Option<PathBuf>,
}

impl Default for SinksSection {
    fn default() -> Self {
        SinksSection {
            jsonl: Some(PathBuf::from("satpam-signals.jsonl")),
        }
    }
}
