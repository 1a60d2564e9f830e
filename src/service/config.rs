//! `satpam serve` configuration: TOML with documented defaults, then
//! `SATPAM_<SECTION>__<KEY>` environment overrides. With no file and no
//! overrides it is the embedded default: no broker, gRPC on
//! 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics, signals on the
//! Watch stream and in `satpam-signals.jsonl`.
//!
//! The config is plain data; [`crate::service::Service::build`] turns it
//! into running parts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "SATPAM_";

/// The line of `section.key` (`[section]` then `key = ...`) in TOML `src`.
fn key_line(src: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.rsplit_once('.')?;
    let mut current = String::new();
    for (i, line) in src.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.trim().to_string();
        } else if current == section
            && t.split(['=', ' ']).next().map(|k| k.trim_matches('"')) == Some(key)
        {
            return Some(i + 1);
        }
    }
    None
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Rules, policy, overrides and state limits.
    pub engine: EngineSection,
    /// The gRPC server (Ingest, Signals, Admin, health, reflection).
    pub grpc: GrpcSection,
    /// The Prometheus endpoint.
    pub metrics: MetricsSection,
    /// Kafka in and out; absent or `brokers = ""` runs without a broker.
    pub kafka: KafkaSection,
    /// Where signals go besides Kafka and the Watch stream.
    pub sinks: SinksSection,
    /// Bounds on hostile input.
    pub limits: super::limits::LimitsSection,
    /// The WhatsApp Cloud API webhook receiver and send-API tap; off by default.
    pub webhook: WebhookSection,
    /// Principals and what is restricted (docs/security.md).
    pub auth: crate::service::auth::AuthSection,
    /// The Admin service's own listener (optional).
    pub admin: crate::service::auth::AdminSection,
    /// The audit trail of admin actions.
    pub audit: crate::service::audit::AuditSection,
}

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
    /// TLS (and mTLS) for the listener; off by default.
    pub tls: super::tls::TlsSection,
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
    pub tls: super::tls::TlsSection,
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
    pub security: super::kafka_security::KafkaSecuritySection,
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

/// `[webhook]`: Meta's Cloud API webhooks (and the BSP's send-API bodies) over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSection {
    /// Listen address; empty: off.
    pub listen: String,
    /// Path of the webhook (GET verification, POST notifications).
    pub path: String,
    /// Path prefix of the send-API tap: `<send_path>/<phone-number-id>/messages`.
    pub send_path: String,
    /// Largest body accepted, bytes.
    pub max_body_bytes: usize,
    /// One per Meta app: the signature secret, the verify token, the tenant.
    pub apps: Vec<WebhookApp>,
    /// TLS (and mTLS) for the listener; off by default.
    pub tls: super::tls::TlsSection,
}

impl Default for WebhookSection {
    fn default() -> Self {
        WebhookSection {
            listen: String::new(),
            path: "/webhooks/whatsapp".into(),
            send_path: "/sendapi".into(),
            max_body_bytes: 4 * 1024 * 1024,
            apps: Vec::new(),
            tls: Default::default(),
        }
    }
}

/// `[[webhook.apps]]`. Secrets come from the value itself, or from the
/// environment variable `*_env` names, or from the file `*_file` names
/// (trailing newline dropped); they are never printed by `--print-config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookApp {
    /// The tenant the app's events belong to.
    pub tenant_id: String,
    /// The app secret (signs `X-Hub-Signature-256`).
    #[serde(serialize_with = "redacted")]
    pub app_secret: String,
    /// Environment variable holding the app secret.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub app_secret_env: String,
    /// File holding the app secret.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub app_secret_file: String,
    /// The verify token of the GET subscription check; empty: the app is not verifiable.
    #[serde(serialize_with = "redacted")]
    pub verify_token: String,
    /// Environment variable holding the verify token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verify_token_env: String,
    /// File holding the verify token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verify_token_file: String,
}

fn redacted<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

/// A secret from its value, else the environment variable, else the file.
pub(super) fn secret(
    value: &mut String,
    env_name: &str,
    file: &str,
    env: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<(), String> {
    if !value.is_empty() {
        return Ok(());
    }
    if !env_name.is_empty() {
        *value = env
            .get(env_name)
            .cloned()
            .ok_or_else(|| format!("{key}_env: the environment has no {env_name}"))?;
    } else if !file.is_empty() {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{key}_file {file}: {e}"))?;
        *value = text.trim_end_matches(['\n', '\r']).to_string();
    }
    Ok(())
}

impl WebhookSection {
    /// Reads the secrets named by `*_env` and `*_file`.
    fn resolve_secrets(
        &mut self,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<(), String> {
        for (i, a) in self.apps.iter_mut().enumerate() {
            let k = format!("webhook.apps[{i}]");
            secret(
                &mut a.app_secret,
                &a.app_secret_env,
                &a.app_secret_file,
                env,
                &format!("{k}.app_secret"),
            )?;
            secret(
                &mut a.verify_token,
                &a.verify_token_env,
                &a.verify_token_file,
                env,
                &format!("{k}.verify_token"),
            )?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        if self.listen.is_empty() {
            return Ok(());
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "webhook.listen: `{}` is not an ip:port address",
                self.listen
            ));
        }
        for (key, p) in [
            ("webhook.path", &self.path),
            ("webhook.send_path", &self.send_path),
        ] {
            if !p.starts_with('/') || p.len() < 2 || p.contains(['{', '}', '*']) {
                return Err(format!(
                    "{key}: `{p}` must be a path like /webhooks/whatsapp"
                ));
            }
        }
        if self.apps.is_empty() {
            return Err("webhook.listen is set but no [[webhook.apps]] is configured".into());
        }
        for (i, a) in self.apps.iter().enumerate() {
            if a.tenant_id.trim().is_empty() || a.app_secret.is_empty() {
                return Err(format!(
                    "webhook.apps[{i}]: tenant_id and app_secret (or app_secret_env / app_secret_file) must be set"
                ));
            }
        }
        Ok(())
    }
}

/// A config that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads `path` (if any), applies the `SATPAM_` overrides in `env`, and
    /// validates. `env` is passed in (not read here) so tests and callers
    /// decide what the environment is.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (src, name) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: {e}", p.display())))?,
                p.display().to_string(),
            ),
            None => (String::new(), "<embedded default>".to_string()),
        };
        Config::from_toml(&src, &name, env)
    }

    /// Parses TOML text, applies overrides, validates.
    pub fn from_toml(
        src: &str,
        name: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(src).map_err(|e| ConfigError(located(src, name, &e)))?;
        let file = table.clone();
        let mut overrides = Vec::new();
        // Keys set from the environment (dotted), with their variable.
        let mut from_env: Vec<(String, String)> = Vec::new();
        let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (key, value) in &env {
            let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            if path.len() < 2 || path.iter().any(String::is_empty) {
                continue;
            }
            from_env.push((path.join("."), key.clone()));
            set_path(
                &mut table,
                &path,
                typed_env_value(&defaults, &path, value.clone()),
            )
            .map_err(|e| ConfigError(format!("{key}: {e}")))?;
            overrides.push((key.clone(), path, value.clone()));
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| blame(src, name, &file, &overrides, &e))?;
        config.empty_paths_to_none();
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        config
            .webhook
            .resolve_secrets(&env)
            .and_then(|()| config.kafka.security.resolve_secrets(&env))
            .map_err(|e| ConfigError(format!("{name}: {e}")))?;
        config.validate().map_err(|e| {
            // Messages start with the key they are about (`grpc.listen: ...`):
            // name the variable that set it, or the key's line in the file.
            let key = e.split([':', ' ']).next().unwrap_or_default();
            if let Some((_, var)) = from_env.iter().find(|(k, _)| k == key) {
                return ConfigError(format!("{name}: {e} (set by {var})"));
            }
            ConfigError(match key_line(src, key) {
                Some(l) => format!("{name}:{l}: {e}"),
                None => format!("{name}: {e}"),
            })
        })?;
        Ok(config)
    }

    /// TOML has no null, so an empty path means "none": the built-in rules
    /// or policy, no overrides file, no state snapshots, no JSONL sink (as
    /// the key docs say). A path is never the empty string after loading.
    fn empty_paths_to_none(&mut self) {
        for p in [
            &mut self.engine.rules,
            &mut self.engine.policy,
            &mut self.engine.overrides,
            &mut self.kafka.state_dir,
            &mut self.sinks.jsonl,
            &mut self.audit.path,
        ] {
            if p.as_ref().is_some_and(|x| x.as_os_str().is_empty()) {
                *p = None;
            }
        }
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        for (key, addr) in [
            ("grpc.listen", &self.grpc.listen),
            ("metrics.listen", &self.metrics.listen),
            ("admin.listen", &self.admin.listen),
        ] {
            if !addr.is_empty() && addr.parse::<SocketAddr>().is_err() {
                return Err(format!("{key}: `{addr}` is not an ip:port address"));
            }
        }
        self.limits.validate()?;
        self.webhook.validate()?;
        for (key, tls) in [
            ("grpc.tls", &self.grpc.tls),
            ("metrics.tls", &self.metrics.tls),
            ("webhook.tls", &self.webhook.tls),
        ] {
            tls.validate(key)?;
        }
        self.auth.validate(&[
            ("grpc.listen", &self.grpc.listen),
            ("admin.listen", &self.admin.listen),
        ])?;
        self.audit.validate()?;
        if self.engine.grpc_shards == 0 {
            return Err("engine.grpc_shards must be at least 1".into());
        }
        if self.grpc.watch_buffer == 0
            || self.grpc.max_batch == 0
            || self.grpc.max_message_bytes == 0
            || self.grpc.max_concurrent_streams == 0
            || self.grpc.request_timeout_ms == 0
            || self.grpc.keepalive_interval_ms == 0
        {
            return Err("grpc.watch_buffer, grpc.max_batch, grpc.max_message_bytes, grpc.max_concurrent_streams, grpc.request_timeout_ms and grpc.keepalive_interval_ms must be at least 1".into());
        }
        let k = &self.kafka;
        if k.enabled() {
            for (key, v) in [
                ("kafka.group_id", &k.group_id),
                ("kafka.events_topic", &k.events_topic),
                ("kafka.signals_topic", &k.signals_topic),
                ("kafka.dead_letter_topic", &k.dead_letter_topic),
            ] {
                if v.trim().is_empty() {
                    return Err(format!("{key} must be set when kafka.brokers is"));
                }
            }
            if k.workers == 0
                || k.queue_capacity == 0
                || k.queue_bytes == 0
                || k.commit_interval_ms == 0
            {
                return Err(
                    "kafka.workers, kafka.queue_capacity, kafka.queue_bytes and kafka.commit_interval_ms must be at least 1"
                        .into(),
                );
            }
            k.security.validate()?;
        }
        Ok(())
    }

    /// The state limits the engine section asks for.
    pub fn state_limits(&self) -> crate::state::StateLimits {
        let h = |hours: u32| i64::from(hours) * 3_600_000;
        crate::state::StateLimits {
            conversation_idle_ms: h(self.engine.conversation_idle_hours),
            account_idle_ms: h(self.engine.account_idle_hours),
            actioned_account_idle_ms: h(self.engine.actioned_account_idle_hours),
            max_accounts_per_tenant: self.limits.max_accounts_per_tenant,
            max_conversations_per_tenant: self.limits.max_conversations_per_tenant,
        }
    }

    /// The effective config as TOML (for `satpam serve --print-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// An environment value for the key at `path`: a string where the key
/// holds a string (an all-digit group id, say) and in the librdkafka maps
/// (`kafka.consumer.*`, `kafka.producer.*`: a SASL password `007` keeps its
/// zeros); [`env_value`] otherwise.
fn typed_env_value(defaults: &toml::Table, path: &[String], value: String) -> toml::Value {
    if let [k, map, _] = path {
        if k == "kafka" && (map == "consumer" || map == "producer") {
            return toml::Value::String(value);
        }
    }
    let at = path.split_first().and_then(|(first, rest)| {
        rest.iter()
            .try_fold(defaults.get(first)?, |v, p| v.get(p.as_str()))
    });
    match at {
        Some(toml::Value::String(_)) => toml::Value::String(value),
        _ => env_value(&value),
    }
}

/// An environment value as TOML: integers, floats and booleans keep their
/// type; anything else is a string.
/// A TOML error with the file name and, when it has a position, the line.
fn located(src: &str, name: &str, e: &toml::de::Error) -> String {
    // Newlines before the position, plus one (counting `lines()` of the
    // prefix is one short when the position starts a line).
    let line = e.span().map(|s| {
        src.as_bytes()[..s.start.min(src.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    });
    match line {
        Some(l) => format!("{name}:{l}: {}", e.message()),
        None => format!("{name}: {}", e.message()),
    }
}

/// Why valid TOML is not a valid config, blamed on its source: the file
/// (with the line, from deserializing the file's text again, which keeps
/// positions) or the first environment override that breaks it on its own.
/// Only on the error path, so the extra parses cost nothing in a good load.
fn blame(
    src: &str,
    name: &str,
    file: &toml::Table,
    overrides: &[(String, Vec<String>, String)],
    e: &toml::de::Error,
) -> ConfigError {
    if let Err(fe) = toml::from_str::<Config>(src) {
        return ConfigError(located(src, name, &fe));
    }
    for (key, path, value) in overrides {
        let mut t = file.clone();
        if set_path(&mut t, path, env_value(value)).is_err() {
            continue;
        }
        if let Err(oe) = toml::Value::Table(t).try_into::<Config>() {
            return ConfigError(format!("{key}={value:?}: {}", oe.message()));
        }
    }
    ConfigError(format!("{name}: {}", e.message()))
}

fn env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = v.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(f) = v.parse::<f64>() {
        if v.contains('.') {
            return toml::Value::Float(f);
        }
    }
    toml::Value::String(v.to_string())
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

fn path_or_empty<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => p.serialize(s),
        None => s.serialize_str(""),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut t = table;
    for p in parents {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a section"))?;
    }
    t.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn errors_name_the_line_of_the_key_they_are_about() {
        let err = |src: &str| {
            Config::from_toml(src, "c.toml", env(&[]))
                .expect_err(src)
                .to_string()
        };
        // A type error and an unknown key: the line from the parser's span.
        let e = err("[grpc]\nlisten = \"0.0.0.0:1\"\n\n[kafka]\nworkers = \"two\"\n");
        assert!(e.starts_with("c.toml:5: "), "{e}");
        let e = err("[engine]\nreload_poll_ms = 5\nrules_file = \"x\"\n");
        assert!(e.starts_with("c.toml:3: "), "{e}");
        assert!(e.contains("rules_file"), "{e}");
        // A value that parses but cannot work: the line of its key.
        let e = err("[metrics]\nlisten = \"0.0.0.0:1\"\n[grpc]\n\nlisten = \"nowhere\"\n");
        assert!(e.starts_with("c.toml:5: grpc.listen"), "{e}");
        // From the environment: no line to give.
        let e = Config::from_toml("", "c.toml", env(&[("SATPAM_GRPC__LISTEN", "nowhere")]))
            .expect_err("env")
            .to_string();
        assert!(e.starts_with("c.toml: grpc.listen"), "{e}");
        assert!(e.ends_with("(set by SATPAM_GRPC__LISTEN)"), "{e}");
    }

    #[test]
    fn embedded_default_has_no_broker_and_documented_addresses() {
        let c = Config::load(None, env(&[])).expect("default");
        assert!(!c.kafka.enabled());
        assert_eq!(c.grpc.listen, "127.0.0.1:50051");
        assert_eq!(c.metrics.listen, "127.0.0.1:9464");
        assert_eq!(c.sinks.jsonl, Some(PathBuf::from("satpam-signals.jsonl")));
    }

    #[test]
    fn env_overrides_win_over_the_file_and_keep_types() {
        let src = "[kafka]\nbrokers = \"a:9092\"\nworkers = 4\n";
        let c = Config::from_toml(
            src,
            "t.toml",
            env(&[
                ("SATPAM_KAFKA__WORKERS", "3"),
                ("SATPAM_KAFKA__GROUP_ID", "g2"),
                ("SATPAM_KAFKA__CONSUMER__SECURITY.PROTOCOL", "ssl"),
                ("HOME", "/root"),
            ]),
        )
        .expect("config");
        assert_eq!(c.kafka.brokers, "a:9092");
        assert_eq!(c.kafka.workers, 3);
        assert_eq!(c.kafka.group_id, "g2");
        assert_eq!(
            c.kafka
                .consumer
                .get("security.protocol")
                .map(String::as_str),
            Some("ssl")
        );
    }

    #[test]
    fn bad_configs_say_where_and_why() {
        /// (TOML, environment, what the error must mention)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (
                "[grpc]\nlisten = 5\n",
                &[],
                "t.toml:2: invalid type: integer `5`, expected a string",
            ),
            (
                "[grpc]\nlisten = \"nowhere\"\n",
                &[],
                "t.toml:2: grpc.listen: `nowhere` is not an ip:port address",
            ),
            (
                "\n[engine]\nbogus = 1\n",
                &[],
                "t.toml:3: unknown field `bogus`, expected one of `rules`",
            ),
            ("\n\n[kafka\n", &[], "t.toml:3: "),
            (
                "",
                &[("SATPAM_KAFKA__WORKERS", "many")],
                "SATPAM_KAFKA__WORKERS=\"many\": invalid type: string \"many\", expected usize",
            ),
            (
                "[kafka]\nbrokers = \"a:1\"\nevents_topic = \"\"\n",
                &[],
                "t.toml:3: kafka.events_topic must be set when kafka.brokers is",
            ),
        ];
        for (src, vars, want) in cases {
            let err = Config::from_toml(src, "t.toml", env(vars))
                .expect_err(src)
                .to_string();
            assert!(err.starts_with(want), "{src:?}: {err}");
        }
    }

    #[test]
    fn empty_paths_mean_none_and_print_back_as_empty() {
        let src = "[engine]\nrules = \"\"\n[kafka]\nstate_dir = \"\"\n[sinks]\njsonl = \"\"\n";
        let c = Config::from_toml(src, "t.toml", env(&[])).expect("config");
        assert_eq!(c.engine.rules, None);
        assert_eq!(c.kafka.state_dir, None);
        assert_eq!(c.sinks.jsonl, None, "empty jsonl is off");
        let again = Config::from_toml(&c.to_toml(), "printed", env(&[])).expect("again");
        assert_eq!(
            again.sinks.jsonl, None,
            "off stays off through --print-config"
        );
        let off = Config::load(None, env(&[("SATPAM_SINKS__JSONL", "")])).expect("env");
        assert_eq!(off.sinks.jsonl, None);
    }

    #[test]
    fn librdkafka_values_stay_strings_whatever_they_look_like() {
        let c = Config::from_toml(
            "[kafka.producer]\n\"linger.ms\" = 5\n\"enable.idempotence\" = true\n",
            "t.toml",
            env(&[
                ("SATPAM_KAFKA__CONSUMER__SESSION.TIMEOUT.MS", "30000"),
                ("SATPAM_KAFKA__CONSUMER__SASL.PASSWORD", "007"),
                ("SATPAM_KAFKA__PRODUCER__BATCH.SIZE", "1.5"),
                ("SATPAM_KAFKA__GROUP_ID", "0042"),
            ]),
        );
        let c = c.expect("config");
        assert_eq!(c.kafka.consumer["session.timeout.ms"], "30000");
        assert_eq!(c.kafka.consumer["sasl.password"], "007");
        assert_eq!(c.kafka.producer["batch.size"], "1.5");
        assert_eq!(c.kafka.producer["linger.ms"], "5");
        assert_eq!(c.kafka.producer["enable.idempotence"], "true");
        assert_eq!(c.kafka.group_id, "0042", "a string key stays a string");
    }

    #[test]
    fn printed_config_loads_back_to_the_same() {
        let c = Config::load(None, env(&[("SATPAM_KAFKA__BROKERS", "b:1")])).expect("c");
        let again = Config::from_toml(&c.to_toml(), "printed", env(&[])).expect("again");
        assert_eq!(c, again);
    }

    #[test]
    fn webhook_secrets_come_from_the_value_env_or_file_and_are_never_printed() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").expect("write");
        let src = format!(
            "[webhook]\nlisten = \"127.0.0.1:0\"\n\
             [[webhook.apps]]\ntenant_id = \"a\"\napp_secret = \"inline\"\n\
             [[webhook.apps]]\ntenant_id = \"b\"\napp_secret_env = \"B_SECRET\"\nverify_token_env = \"B_TOKEN\"\n\
             [[webhook.apps]]\ntenant_id = \"c\"\napp_secret_file = {:?}\n",
            file.display().to_string()
        );
        let c = Config::from_toml(
            &src,
            "t.toml",
            env(&[("B_SECRET", "from-env"), ("B_TOKEN", "token-7f3")]),
        )
        .expect("config");
        let secrets: Vec<&str> = c
            .webhook
            .apps
            .iter()
            .map(|a| a.app_secret.as_str())
            .collect();
        assert_eq!(secrets, ["inline", "from-env", "from-file"]);
        assert_eq!(c.webhook.apps[1].verify_token, "token-7f3");
        assert_eq!(c.webhook.path, "/webhooks/whatsapp");
        let printed = c.to_toml();
        for secret in ["inline", "from-env", "from-file", "token-7f3"] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert!(
            printed.contains("B_SECRET"),
            "the variable's name is printed"
        );
    }

    #[test]
    fn bad_webhook_configs_say_why() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("[webhook]\nlisten = \"nowhere\"\n", &[], "webhook.listen"),
            ("[webhook]\nlisten = \"127.0.0.1:0\"\n", &[], "no [[webhook.apps]]"),
            (
                "[webhook]\nlisten = \"127.0.0.1:0\"\npath = \"webhooks\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret = \"s\"\n",
                &[],
                "webhook.path",
            ),
            (
                "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\n",
                &[],
                "app_secret",
            ),
            (
                "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret_env = \"NOPE\"\n",
                &[],
                "NOPE",
            ),
            (
                "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret_file = \"/nonexistent/s\"\n",
                &[],
                "/nonexistent/s",
            ),
        ];
        for (src, vars, want) in cases {
            let err = Config::from_toml(src, "t.toml", env(vars))
                .expect_err(src)
                .to_string();
            assert!(err.contains(want), "{src:?}: {err}");
        }
        let off = Config::from_toml("[webhook]\nlisten = \"\"\n", "t.toml", env(&[])).expect("off");
        assert!(off.webhook.apps.is_empty());
    }
}
