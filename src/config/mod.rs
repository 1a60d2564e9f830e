//! `satpam serve` configuration: TOML with documented defaults, then
//! `SATPAM_<SECTION>__<KEY>` environment overrides. With no file and no
//! overrides it is the embedded default: no broker, gRPC on
//! 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics, signals on the
//! Watch stream and in `satpam-signals.jsonl`.
//!
//! The config is plain data; [`crate::service::Service::build`] turns it
//! into running parts.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod audit;
mod auth;
mod console;
mod kafka;
mod kafka_security;
pub mod limits;
mod role;
mod sections;
mod tls;
mod trace;
mod webhook;

pub use audit::AuditSection;
pub use auth::{is_loopback, AdminSection, AuthSection, PrincipalConfig};
pub use console::ConsoleSection;
pub use kafka::{EventsFormat, KafkaSection, StateStoreKind};
pub use kafka_security::KafkaSecuritySection;
pub(crate) use role::decode_hex32;
pub use role::Role;
pub use sections::{EngineSection, GrpcSection, MetricsSection, SinksSection};
pub use tls::TlsSection;
pub use trace::TracingSection;
pub use webhook::{WebhookApp, WebhookSection};

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
    pub limits: limits::LimitsSection,
    /// The WhatsApp Cloud API webhook receiver and send-API tap; off by default.
    pub webhook: WebhookSection,
    /// Principals and what is restricted (docs/security.md).
    pub auth: AuthSection,
    /// The Admin service's own listener (optional).
    pub admin: AdminSection,
    /// The audit trail of admin actions.
    pub audit: AuditSection,
    /// OpenTelemetry traces (OTLP); off by default.
    pub tracing: TracingSection,
    /// The web console; off by default.
    pub console: ConsoleSection,
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
    pub(crate) fn validate(&self) -> Result<(), String> {
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
            ("console.listen", &self.console.listen),
        ])?;
        self.console.validate(!self.auth.principals.is_empty())?;
        self.audit.validate()?;
        self.tracing.validate()?;
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
            // One key per message, so that the error gives its line.
            for (key, v) in [
                ("kafka.workers", k.workers as u64),
                ("kafka.queue_bytes", k.queue_bytes as u64),
                ("kafka.commit_interval_ms", k.commit_interval_ms),
            ] {
                if v == 0 {
                    return Err(format!("{key} must be at least 1"));
                }
            }
            match k.state_store_kind() {
                None => {
                    return Err(format!(
                        "kafka.state_store: `{}` is not one of kafka, files, none",
                        k.state_store
                    ))
                }
                Some(StateStoreKind::Files) if k.state_dir.is_none() => {
                    return Err("kafka.state_store: `files` needs kafka.state_dir".into())
                }
                _ => {}
            }
            k.security.validate()?;
            if k.events_format == EventsFormat::Webhook {
                self.webhook
                    .validate_kafka_source(&k.webhook_unsigned_tenant)?;
            }
        }
        Ok(())
    }

    /// Keys that a config may still set but that no longer do anything,
    /// one message each (naming the key) for those this config sets:
    /// `serve` logs them as warnings and `config check` prints them.
    pub fn ignored_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.metrics.quantile_window_s.is_some() {
            out.push(
                "metrics.quantile_window_s is ignored: latency is a histogram (satpam_stage_latency_seconds_bucket)"
                    .to_string(),
            );
        }
        if let Some(n) = self.kafka.queue_capacity {
            out.push(format!(
                "kafka.queue_capacity = {n} is ignored: each partition has its own queue in librdkafka, bounded by kafka.queue_bytes (queued.max.messages.kbytes) and by queued.min.messages in [kafka.consumer]; remove the key"
            ));
        }
        out
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
            max_wabas_per_tenant: self.limits.max_wabas_per_tenant,
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
        // `SATPAM_TRACING__SAMPLE_RATIO=1` is the float 1.0.
        Some(toml::Value::Float(_)) => match value.parse::<f64>() {
            Ok(f) => toml::Value::Float(f),
            Err(_) => toml::Value::String(value),
        },
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
mod tests;
