//! Telemetry: every metric handle is registered once, when the service is
//! built (or when a rule set loads, for per-rule counters), never per event.
//! The recorder is owned here, not installed globally, so several services
//! can run in one process (tests do).
//!
//! Every metric is listed in the README's Metrics section.

pub mod auth;
mod help;
pub mod latency;
pub mod rule_hits;
pub mod series;
pub mod spans;

use std::sync::Arc;

use arc_swap::ArcSwap;
use metrics::{Counter, Gauge, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::decide::Action;
use crate::rules::RuleSet;
pub use latency::{Stage, StageLatencies, StageRecorder};
pub use rule_hits::{RuleHitCounters, RuleHitTally, RuleHits};
pub use series::PartitionLag;

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
    /// Events refused for their time (outside the shard's event-time window).
    pub event_time_refused: Counter,
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
    /// (WABA, business portfolio) pairs learned from `account_update`s.
    pub portfolios_learned: Counter,
    /// Pairs not kept: the receiver's table was full.
    pub portfolios_full: Counter,
    /// Template categories learned from template webhooks (new, or changed).
    pub templates_learned: Counter,
    /// Templates not kept: the receiver's table was full.
    pub templates_full: Counter,
}

impl WebhookCounters {
    /// Learns the (WABA, portfolio) pairs of one body in `table` and
    /// counts what happened.
    pub fn learn_portfolios(
        &self,
        table: &crate::webhook::portfolio::PortfolioTable,
        tenant_id: &str,
        pairs: &[(String, String)],
    ) {
        use crate::webhook::portfolio::Learned;
        for (waba, business) in pairs {
            match table.learn(tenant_id, waba, business) {
                Learned::New => self.portfolios_learned.increment(1),
                Learned::Known => {}
                Learned::Full => self.portfolios_full.increment(1),
            }
        }
    }

    /// Learns the template categories of one body in `table` (its template
    /// webhooks, and the statuses that price a remembered template send) and
    /// counts what happened.
    pub fn learn_templates(
        &self,
        table: &crate::webhook::templates::TemplateTable,
        tenant_id: &str,
        notes: &[crate::webhook::map::TemplateNote],
        statuses: &[crate::webhook::StatusRecord],
    ) {
        use crate::webhook::portfolio::Learned;
        let learned = notes.iter().map(|note| table.learn(tenant_id, note));
        let priced = statuses
            .iter()
            .filter_map(|s| table.learn_from_status(&s.tenant_id, &s.message_id, &s.category));
        for l in learned.chain(priced) {
            match l {
                Learned::New => self.templates_learned.increment(1),
                Learned::Known => {}
                Learned::Full => self.templates_full.increment(1),
            }
        }
    }
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

/// Every metric of the service.
pub struct Telemetry {
    handle: PrometheusHandle,
    sources: [SourceCounters; 3],
    signals: [Counter; 6],
    rule_hits: RuleHits,
    /// Signals the broker did not acknowledge.
    pub delivery_failures: Counter,
    /// Rule reloads that succeeded.
    pub reloads_ok: Counter,
    /// Rule reloads refused (the old rules kept running).
    pub reloads_failed: Counter,
    /// Unix time of the last successful rule load, seconds.
    pub rules_loaded_at: Gauge,
    /// Country policy reloads that succeeded.
    pub policy_reloads_ok: Counter,
    /// Country policy reloads refused (the old policy kept in force).
    pub policy_reloads_failed: Counter,
    /// Unix time of the last successful policy load, seconds.
    pub policy_loaded_at: Gauge,
    /// Messages Meta would charge an AI Provider for (CHARGE in force).
    pub charged_messages: Counter,
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
    /// Conversations evicted because their tenant reached its cap.
    pub cap_evicted_conversations: Counter,
    /// Accounts evicted because their tenant reached its cap.
    pub cap_evicted_accounts: Counter,
    /// WABAs evicted because their tenant reached its cap.
    pub cap_evicted_wabas: Counter,
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
    /// State snapshots not written (the partition's offset is not committed).
    pub snapshot_failures: Counter,
    /// Partitions given up in rebalances.
    pub revoked_partitions: Counter,
    /// Forward jumps in a partition's offsets (records never delivered).
    pub offset_gaps: Counter,
    /// Rebalance callbacks (assignments and revocations): the epoch in `satpam-writer`.
    pub rebalances: Counter,
    /// Partitions lost (the group's session expired): dropped without a checkpoint or commit.
    pub lost_partitions: Counter,
    /// Signals, dead letters, state writes and offsets of lost partitions not written.
    pub fenced_writes: Counter,
    /// Times the process was found not to have run for longer than a second (writes held).
    pub pauses: Counter,
    /// Signals not re-emitted after a restart because they were already on the topic.
    pub signals_fenced: Counter,
    lag: PartitionLag,
    /// Total consumer lag of the assigned partitions, messages.
    pub lag_total: Gauge,
    /// The rule set in force, for `satpam_rules_info`.
    rules_info: ArcSwap<RulesInfo>,
    /// Per-stage latency.
    pub latency: StageLatencies,
    /// The webhook receiver.
    pub webhook: WebhookCounters,
    /// Auth refusals and audit records.
    pub auth: auth::AuthCounters,
}

/// The name of the stage latency histogram.
pub const LATENCY_METRIC: &str = "satpam_stage_latency_seconds";

/// The name of the per-partition consumer lag gauge.
pub const PARTITION_LAG_METRIC: &str = "satpam_consumer_partition_lag_messages";

/// The name of the consumer lag gauge summed over the owned partitions.
pub const LAG_METRIC: &str = "satpam_consumer_lag_messages";

/// The labels of `satpam_rules_info`: the declared version and the content hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RulesInfo {
    version: String,
    hash: String,
}

impl RulesInfo {
    /// Splits a rule set's `version@content-hash`.
    fn of(full: &str) -> RulesInfo {
        let (version, hash) = full.rsplit_once('@').unwrap_or((full, ""));
        RulesInfo {
            version: version.to_string(),
            hash: hash.to_string(),
        }
    }
}

/// Escapes a label value for the text exposition.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Telemetry {
    // Long because it is a flat list: one registration per metric, each
    // handle registered once here and never by name on the hot path.
    /// Registers every handle.
    pub fn new() -> Arc<Telemetry> {
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
        for &(name, help, counter) in help::HELP {
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
                event_time_refused: counter("satpam_event_time_refused_total", &l),
            }
        });
        gauge(
            "satpam_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("rustc", env!("SATPAM_RUSTC_VERSION")),
                ("profile", env!("SATPAM_BUILD_PROFILE")),
            ],
        )
        .set(1.0);
        let signals =
            Action::ALL.map(|a| counter("satpam_signals_total", &[("action", a.label())]));
        let t = Telemetry {
            sources,
            signals,
            rule_hits: RuleHits::default(),
            delivery_failures: counter("satpam_signal_delivery_failures_total", &[]),
            reloads_ok: counter("satpam_rule_reloads_total", &[("result", "ok")]),
            reloads_failed: counter("satpam_rule_reloads_total", &[("result", "error")]),
            rules_loaded_at: gauge("satpam_rules_loaded_timestamp_seconds", &[]),
            policy_reloads_ok: counter("satpam_policy_reloads_total", &[("result", "ok")]),
            policy_reloads_failed: counter("satpam_policy_reloads_total", &[("result", "error")]),
            policy_loaded_at: gauge("satpam_policy_loaded_timestamp_seconds", &[]),
            charged_messages: counter("satpam_charged_messages_total", &[]),
            accounts: gauge("satpam_accounts_tracked", &[]),
            cap_evicted_conversations: counter(
                "satpam_state_cap_evictions_total",
                &[("kind", "conversation")],
            ),
            cap_evicted_accounts: counter(
                "satpam_state_cap_evictions_total",
                &[("kind", "account")],
            ),
            cap_evicted_wabas: counter("satpam_state_cap_evictions_total", &[("kind", "waba")]),
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
            snapshot_failures: counter("satpam_snapshot_failures_total", &[]),
            offset_gaps: counter("satpam_kafka_offset_gaps_total", &[]),
            rebalances: counter("satpam_kafka_rebalances_total", &[]),
            lost_partitions: counter("satpam_kafka_lost_partitions_total", &[]),
            fenced_writes: counter("satpam_kafka_fenced_writes_total", &[]),
            pauses: counter("satpam_process_pauses_total", &[]),
            revoked_partitions: counter("satpam_partitions_revoked_total", &[]),
            signals_fenced: counter("satpam_signals_fenced_total", &[]),
            lag: PartitionLag::default(),
            lag_total: gauge(LAG_METRIC, &[]),
            rules_info: ArcSwap::from_pointee(RulesInfo::default()),
            latency: StageLatencies::new(),
            webhook: WebhookCounters {
                requests: WebhookResult::ALL
                    .map(|r| counter("satpam_webhook_requests_total", &[("result", r.label())])),
                statuses: crate::webhook::parse::StatusKind::ALL
                    .map(|k| counter("satpam_webhook_statuses_total", &[("status", k.label())])),
                other_fields: counter("satpam_webhook_other_fields_total", &[]),
                notices: counter("satpam_webhook_notices_total", &[]),
                send_refused: counter("satpam_webhook_send_refused_total", &[]),
                portfolios_learned: counter("satpam_webhook_portfolios_learned_total", &[]),
                portfolios_full: counter("satpam_webhook_portfolio_table_full_total", &[]),
                templates_learned: counter("satpam_webhook_templates_learned_total", &[]),
                templates_full: counter("satpam_webhook_template_table_full_total", &[]),
            },
            auth: auth::AuthCounters::register(r),
            handle,
        };
        Arc::new(t)
    }

    /// The counters of one source.
    pub fn source(&self, s: Source) -> &SourceCounters {
        &self.sources[s as usize]
    }

    /// The signal counter of one action.
    pub fn signal(&self, a: Action) -> &Counter {
        &self.signals[a.index()]
    }

    /// Registers the per-rule hit counters of a rule set about to be
    /// installed: counts of rule ids seen before carry over, and the series
    /// of rules the set no longer has are removed.
    pub fn register_rules(&self, rules: &RuleSet) {
        self.rule_hits.register(rules);
        self.rules_info
            .store(Arc::new(RulesInfo::of(rules.version())));
    }

    /// The per-rule counters of the rule set registered last.
    pub fn rule_hits(&self) -> Arc<RuleHitCounters> {
        self.rule_hits.current()
    }

    /// Credits one event's fired rules at once, indexes into the rule set
    /// with serial `rule_set` (workers tally theirs instead: see
    /// [`Telemetry::tally_rule_hits`]).
    pub fn count_rule_hits(&self, rule_set: u64, fired: &[u16]) {
        self.rule_hits.count(rule_set, fired);
    }

    /// Counts one event's fired rules in a worker's own `tally` (credited
    /// to the shared counters when the tally is absorbed, or at once for
    /// what was counted against another rule set).
    #[inline]
    pub fn tally_rule_hits(&self, tally: &mut RuleHitTally, rule_set: u64, fired: &[u16]) {
        tally.add(rule_set, fired, &self.rule_hits);
    }

    /// Credits a worker's `tally` to the shared rule-hit counters.
    pub fn absorb_rule_hits(&self, tally: &mut RuleHitTally) {
        self.rule_hits.absorb(tally);
    }

    /// Hits of each rule of `rules` (by rule id), in rule order.
    pub fn rule_hit_counts(&self, rules: &RuleSet) -> Vec<u64> {
        self.rule_hits.counts(rules)
    }

    /// The partitions were assigned to this instance.
    pub fn partitions_assigned(&self, partitions: &[i32]) {
        self.lag.assign(partitions);
    }

    /// The partitions were revoked: their lag series are removed and the
    /// total is of the partitions left.
    pub fn partitions_revoked(&self, partitions: &[i32]) {
        self.lag.revoke(partitions);
        self.lag_total.set(self.lag.total() as f64);
    }

    /// Sets the lag of assigned partitions (from the consumer's statistics)
    /// and the total; partitions not assigned are ignored.
    pub fn set_lags(&self, lags: impl IntoIterator<Item = (i32, i64)>) {
        for (p, lag) in lags {
            self.lag.set(p, lag);
        }
        self.lag_total.set(self.lag.total() as f64);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = self.handle.render();
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        self.rule_hits.render(&mut out);
        self.lag.render(&mut out);
        self.latency
            .render(LATENCY_METRIC, "Per-stage latency since start.", &mut out);
        // Rendered here rather than registered: only the rule set in force
        // has a series (a registered gauge would keep the old versions).
        let info = self.rules_info.load();
        if !info.version.is_empty() {
            out.push_str(
                "# HELP satpam_rules_info Always 1; the labels name the rule set in force.\n",
            );
            out.push_str("# TYPE satpam_rules_info gauge\n");
            let _ = std::fmt::Write::write_fmt(
                &mut out,
                format_args!(
                    "satpam_rules_info{{version=\"{}\",hash=\"{}\"}} 1\n",
                    escape_label(&info.version),
                    escape_label(&info.hash)
                ),
            );
        }
        out
    }
}

fn meta() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, None)
}

#[cfg(test)]
mod tests;
