//! Telemetry: every metric handle is registered once, when the service is
//! built (or when a rule set loads, for per-rule counters), never per event.
//! The recorder is owned here, not installed globally, so several services
//! can run in one process (tests do).
//!
//! Every metric is listed in the README's Metrics section.

pub mod latency;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use metrics::{Counter, Gauge, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::decide::Action;
use crate::rules::RuleSet;
pub use latency::{Stage, StageLatencies, StageRecorder};

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The Kafka events topic.
    Kafka,
    /// The gRPC Ingest stream.
    Grpc,
    /// The WhatsApp Cloud API webhook receiver and send-API tap.
    Webhook,
}

impl Source {
    const ALL: [Source; 3] = [Source::Kafka, Source::Grpc, Source::Webhook];

    /// The `source` label value.
    pub fn label(self) -> &'static str {
        match self {
            Source::Kafka => "kafka",
            Source::Grpc => "grpc",
            Source::Webhook => "webhook",
        }
    }
}

/// Counters kept per source.
#[derive(Clone)]
pub struct SourceCounters {
    /// Events received (before decoding).
    pub events: Counter,
    /// Messages that did not decode.
    pub decode_failures: Counter,
    /// Events that decoded but failed validation.
    pub validation_failures: Counter,
    /// Messages sent to the dead-letter path.
    pub dead_lettered: Counter,
    /// Events ignored as duplicates.
    pub duplicates: Counter,
    /// Events older than the 1-hour window.
    pub late: Counter,
}

/// What became of a webhook or send-API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// Processed (or produced and acknowledged): 200.
    Ok,
    /// Missing or wrong signature: 401.
    BadSignature,
    /// Signed, not JSON: 400.
    Malformed,
    /// Signed JSON that is not a webhook: 200, nothing processed.
    UnknownShape,
    /// Kafka did not acknowledge: 503.
    Unavailable,
    /// GET verification answered with the challenge.
    VerifyOk,
    /// GET verification refused: 403.
    VerifyRefused,
}

impl WebhookResult {
    const ALL: [WebhookResult; 7] = [
        WebhookResult::Ok,
        WebhookResult::BadSignature,
        WebhookResult::Malformed,
        WebhookResult::UnknownShape,
        WebhookResult::Unavailable,
        WebhookResult::VerifyOk,
        WebhookResult::VerifyRefused,
    ];

    fn label(self) -> &'static str {
        match self {
            WebhookResult::Ok => "ok",
            WebhookResult::BadSignature => "bad_signature",
            WebhookResult::Malformed => "malformed",
            WebhookResult::UnknownShape => "unknown_shape",
            WebhookResult::Unavailable => "unavailable",
            WebhookResult::VerifyOk => "verify_ok",
            WebhookResult::VerifyRefused => "verify_refused",
        }
    }
}

/// The webhook receiver's own counters (its events count under `source="webhook"`).
pub struct WebhookCounters {
    requests: [Counter; 7],
    statuses: [Counter; 6],
    /// Changes of fields that carry no messages or statuses (`account_update`, ...).
    pub other_fields: Counter,
    /// System messages and deletion echoes (not turned into events).
    pub notices: Counter,
    /// Send-API request bodies that did not map to an event.
    pub send_refused: Counter,
}

impl WebhookCounters {
    /// The counter of one request result.
    pub fn request(&self, r: WebhookResult) -> &Counter {
        &self.requests[r as usize]
    }

    /// The counter of one status value.
    pub fn status(&self, s: crate::webhook::parse::StatusKind) -> &Counter {
        &self.statuses[s as usize]
    }
}

/// Per-rule hit counters of one rule set.
pub struct RuleHitCounters {
    version: String,
    by_index: Vec<Counter>,
}

impl RuleHitCounters {
    /// Counts the rules that fired (indexes into the rule set's rules).
    #[inline]
    pub fn count(&self, fired: &[u16]) {
        for &i in fired {
            if let Some(c) = self.by_index.get(usize::from(i)) {
                c.increment(1);
            }
        }
    }

    /// The rule set version these counters belong to.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// Every metric of the service.
pub struct Telemetry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    sources: [SourceCounters; 3],
    signals: [Counter; 6],
    rule_hits: ArcSwap<RuleHitCounters>,
    rule_hit_cache: Mutex<HashMap<String, Counter>>,
    /// Signals the broker did not acknowledge.
    pub delivery_failures: Counter,
    /// Rule reloads that succeeded.
    pub reloads_ok: Counter,
    /// Rule reloads refused (the old rules kept running).
    pub reloads_failed: Counter,
    /// Unix time of the last successful rule load, seconds.
    pub rules_loaded_at: Gauge,
    /// Tracked accounts.
    pub accounts: Gauge,
    /// Tracked conversations.
    pub conversations: Gauge,
    /// Bytes of account state.
    pub account_bytes: Gauge,
    /// Bytes of conversation state.
    pub conversation_bytes: Gauge,
    /// Shards (partitions) owned.
    pub shards: Gauge,
    /// Watch streams open.
    pub watchers: Gauge,
    /// Watch streams cut off for falling behind.
    pub watchers_lagged: Counter,
    /// Ingest batches acknowledged.
    pub ingest_batches: Counter,
    /// Offset commits.
    pub commits: Counter,
    /// Offset commits that failed.
    pub commit_failures: Counter,
    /// State snapshots written.
    pub snapshots: Counter,
    /// Signals not re-emitted after a restart because they were already on the topic.
    pub signals_fenced: Counter,
    lag: Mutex<HashMap<i32, Gauge>>,
    /// Total consumer lag, messages.
    pub lag_total: Gauge,
    /// Per-stage latency.
    pub latency: StageLatencies,
    /// The webhook receiver.
    pub webhook: WebhookCounters,
}

const SIGNAL_ACTIONS: [Action; 6] = [
    Action::None,
    Action::Flag,
    Action::Throttle,
    Action::Suspend,
    Action::Restore,
    Action::Charge,
];

fn action_label(a: Action) -> &'static str {
    match a {
        Action::None => "none",
        Action::Flag => "flag",
        Action::Throttle => "throttle",
        Action::Suspend => "suspend",
        Action::Restore => "restore",
        Action::Charge => "charge",
    }
}

/// The name of the stage latency summary.
pub const LATENCY_METRIC: &str = "satpam_stage_latency_seconds";

impl Telemetry {
    /// Registers every handle. `quantile_window` is the span of the latency quantiles.
    pub fn new(quantile_window: Duration) -> Arc<Telemetry> {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let r = &recorder;
        let describe = |name: &'static str, unit: Option<Unit>, help: &'static str, counter| {
            if counter {
                r.describe_counter(KeyName::from(name), unit, SharedString::from(help));
            } else {
                r.describe_gauge(KeyName::from(name), unit, SharedString::from(help));
            }
        };
        for (name, help, counter) in [
            ("satpam_events_total", "Events received, by source.", true),
            (
                "satpam_decode_failures_total",
                "Messages that did not decode as MessageEvent.",
                true,
            ),
            (
                "satpam_validation_failures_total",
                "Events that failed validation.",
                true,
            ),
            (
                "satpam_dead_letters_total",
                "Messages sent to the dead-letter path.",
                true,
            ),
            (
                "satpam_duplicate_events_total",
                "Events ignored as duplicates.",
                true,
            ),
            (
                "satpam_late_events_total",
                "Events older than the 1-hour window.",
                true,
            ),
            ("satpam_signals_total", "Signals emitted, by action.", true),
            (
                "satpam_rule_hits_total",
                "Events a rule fired on, by rule.",
                true,
            ),
            (
                "satpam_signal_delivery_failures_total",
                "Signals or dead letters the broker did not acknowledge.",
                true,
            ),
            (
                "satpam_rule_reloads_total",
                "Rule reloads, by result.",
                true,
            ),
            (
                "satpam_rules_loaded_timestamp_seconds",
                "When the rules in force were loaded.",
                false,
            ),
            ("satpam_accounts_tracked", "Accounts with state.", false),
            (
                "satpam_conversations_tracked",
                "Conversations with state.",
                false,
            ),
            ("satpam_state_bytes", "Bytes of state, by kind.", false),
            (
                "satpam_shards",
                "State shards (input partitions) owned.",
                false,
            ),
            ("satpam_watch_streams", "Open Signals.Watch streams.", false),
            (
                "satpam_watch_lagged_total",
                "Watch streams cut off for falling behind.",
                true,
            ),
            (
                "satpam_ingest_batches_total",
                "gRPC Ingest batches acknowledged.",
                true,
            ),
            (
                "satpam_offset_commits_total",
                "Kafka offset commits, by result.",
                true,
            ),
            (
                "satpam_snapshots_total",
                "Partition state snapshots written.",
                true,
            ),
            (
                "satpam_signals_fenced_total",
                "Signals not re-emitted after a restart (already on the topic).",
                true,
            ),
            (
                "satpam_consumer_lag",
                "Messages behind the end of the events topic, by partition.",
                false,
            ),
            (
                "satpam_consumer_lag_total",
                "Messages behind the end of the events topic.",
                false,
            ),
            (
                "satpam_webhook_requests_total",
                "Webhook and send-API requests, by result.",
                true,
            ),
            (
                "satpam_webhook_statuses_total",
                "Message statuses received in webhooks, by status.",
                true,
            ),
            (
                "satpam_webhook_other_fields_total",
                "Webhook changes of fields without messages or statuses.",
                true,
            ),
            (
                "satpam_webhook_notices_total",
                "System messages and deletion echoes (not events).",
                true,
            ),
            (
                "satpam_webhook_send_refused_total",
                "Send-API request bodies that did not map to an event.",
                true,
            ),
        ] {
            describe(name, None, help, counter);
        }
        let counter = |name: &'static str, labels: &[(&'static str, &'static str)]| {
            let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
            r.register_counter(&Key::from_parts(name, labels), &meta())
        };
        let gauge = |name: &'static str, labels: &[(&'static str, &'static str)]| {
            let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
            r.register_gauge(&Key::from_parts(name, labels), &meta())
        };
        let sources = Source::ALL.map(|s| {
            let l = [("source", s.label())];
            SourceCounters {
                events: counter("satpam_events_total", &l),
                decode_failures: counter("satpam_decode_failures_total", &l),
                validation_failures: counter("satpam_validation_failures_total", &l),
                dead_lettered: counter("satpam_dead_letters_total", &l),
                duplicates: counter("satpam_duplicate_events_total", &l),
                late: counter("satpam_late_events_total", &l),
            }
        });
        let signals =
            SIGNAL_ACTIONS.map(|a| counter("satpam_signals_total", &[("action", action_label(a))]));
        let t = Telemetry {
            sources,
            signals,
            rule_hits: ArcSwap::from_pointee(RuleHitCounters {
                version: String::new(),
                by_index: Vec::new(),
            }),
            rule_hit_cache: Mutex::new(HashMap::new()),
            delivery_failures: counter("satpam_signal_delivery_failures_total", &[]),
            reloads_ok: counter("satpam_rule_reloads_total", &[("result", "ok")]),
            reloads_failed: counter("satpam_rule_reloads_total", &[("result", "error")]),
            rules_loaded_at: gauge("satpam_rules_loaded_timestamp_seconds", &[]),
            accounts: gauge("satpam_accounts_tracked", &[]),
            conversations: gauge("satpam_conversations_tracked", &[]),
            account_bytes: gauge("satpam_state_bytes", &[("kind", "account")]),
            conversation_bytes: gauge("satpam_state_bytes", &[("kind", "conversation")]),
            shards: gauge("satpam_shards", &[]),
            watchers: gauge("satpam_watch_streams", &[]),
            watchers_lagged: counter("satpam_watch_lagged_total", &[]),
            ingest_batches: counter("satpam_ingest_batches_total", &[]),
            commits: counter("satpam_offset_commits_total", &[("result", "ok")]),
            commit_failures: counter("satpam_offset_commits_total", &[("result", "error")]),
            snapshots: counter("satpam_snapshots_total", &[]),
            signals_fenced: counter("satpam_signals_fenced_total", &[]),
            lag: Mutex::new(HashMap::new()),
            lag_total: gauge("satpam_consumer_lag_total", &[]),
            latency: StageLatencies::new(quantile_window),
            webhook: WebhookCounters {
                requests: WebhookResult::ALL
                    .map(|r| counter("satpam_webhook_requests_total", &[("result", r.label())])),
                statuses: crate::webhook::parse::StatusKind::ALL
                    .map(|k| counter("satpam_webhook_statuses_total", &[("status", k.label())])),
                other_fields: counter("satpam_webhook_other_fields_total", &[]),
                notices: counter("satpam_webhook_notices_total", &[]),
                send_refused: counter("satpam_webhook_send_refused_total", &[]),
            },
            handle,
            recorder,
        };
        Arc::new(t)
    }

    /// The counters of one source.
    pub fn source(&self, s: Source) -> &SourceCounters {
        &self.sources[s as usize]
    }

    /// The signal counter of one action.
    pub fn signal(&self, a: Action) -> &Counter {
        &self.signals[SIGNAL_ACTIONS.iter().position(|x| *x == a).unwrap_or(0)]
    }

    /// Registers the per-rule hit counters of a newly loaded rule set
    /// (counters of rule ids seen before are reused, so totals carry over).
    pub fn register_rules(&self, rules: &RuleSet) {
        let Ok(mut cache) = self.rule_hit_cache.lock() else {
            return;
        };
        let by_index = rules
            .rules()
            .iter()
            .map(|r| {
                cache
                    .entry(r.id.clone())
                    .or_insert_with(|| {
                        let key = Key::from_parts(
                            "satpam_rule_hits_total",
                            vec![Label::new("rule", r.id.clone())],
                        );
                        self.recorder.register_counter(&key, &meta())
                    })
                    .clone()
            })
            .collect();
        self.rule_hits.store(Arc::new(RuleHitCounters {
            version: rules.version().to_string(),
            by_index,
        }));
    }

    /// The per-rule counters of the rule set registered last.
    pub fn rule_hits(&self) -> Arc<RuleHitCounters> {
        self.rule_hits.load_full()
    }

    /// The same, without touching the reference count (for the hot path).
    #[inline]
    pub fn rule_hits_now(&self) -> arc_swap::Guard<Arc<RuleHitCounters>> {
        self.rule_hits.load()
    }

    /// Sets the lag of one partition (registered on first sight).
    pub fn set_lag(&self, partition: i32, lag: i64) {
        let Ok(mut m) = self.lag.lock() else {
            return;
        };
        m.entry(partition)
            .or_insert_with(|| {
                let key = Key::from_parts(
                    "satpam_consumer_lag",
                    vec![Label::new("partition", partition.to_string())],
                );
                self.recorder.register_gauge(&key, &meta())
            })
            .set(lag.max(0) as f64);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = self.handle.render();
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        self.latency.render(
            LATENCY_METRIC,
            "Per-stage latency: quantiles over the recent window, sum and count since start.",
            &mut out,
        );
        out
    }
}

fn meta() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_registered_up_front_render_before_any_event() {
        let t = Telemetry::new(Duration::from_secs(60));
        let out = t.render();
        for want in [
            "satpam_events_total{source=\"kafka\"} 0",
            "satpam_dead_letters_total{source=\"grpc\"} 0",
            "satpam_signals_total{action=\"suspend\"} 0",
            "satpam_rule_reloads_total{result=\"error\"} 0",
            "# TYPE satpam_stage_latency_seconds summary",
        ] {
            assert!(out.contains(want), "missing {want} in\n{out}");
        }
    }

    #[test]
    fn rule_hits_follow_the_rule_set_and_carry_over_reloads() {
        let t = Telemetry::new(Duration::from_secs(60));
        let rules = RuleSet::default_pack();
        t.register_rules(&rules);
        let hits = t.rule_hits();
        assert_eq!(hits.version(), rules.version());
        hits.count(&[0, 0, 1, 999]);
        t.register_rules(&rules);
        t.rule_hits().count(&[0]);
        let out = t.render();
        let first = &rules.rules()[0].id;
        assert!(
            out.contains(&format!("satpam_rule_hits_total{{rule=\"{first}\"}} 3")),
            "{out}"
        );
    }

    #[test]
    fn two_telemetries_do_not_share_counts() {
        let a = Telemetry::new(Duration::from_secs(60));
        let b = Telemetry::new(Duration::from_secs(60));
        a.source(Source::Kafka).events.increment(5);
        assert!(a
            .render()
            .contains("satpam_events_total{source=\"kafka\"} 5"));
        assert!(b
            .render()
            .contains("satpam_events_total{source=\"kafka\"} 0"));
    }
}
