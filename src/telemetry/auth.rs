//! Counters of the auth checks and the audit trail, registered once with
//! every label value (`rpc` x `reason`, `kind`), never built per call.

use metrics::{Counter, Key, KeyName, Label, Recorder, SharedString};
use metrics_exporter_prometheus::PrometheusRecorder;

/// The `rpc` label values, indexed by `access::auth::Rpc` (whose
/// `label()` reads them here: one table, owned by the metrics).
pub const RPC_LABELS: [&str; 14] = [
    "Ingest",
    "Watch",
    "GetAccount",
    "ListActioned",
    "SetOverride",
    "ClearOverride",
    "ReloadRules",
    "GetRuleSet",
    "ReloadPolicy",
    "GetPolicy",
    "ListAudit",
    "reflection",
    "metrics",
    "console",
];

/// The `reason` label values, indexed by `access::auth::Denied`.
pub const DENIED_LABELS: [&str; 4] = ["no_credentials", "unknown_credentials", "role", "tenant"];

/// The `kind` label values (and the audit records' kind names), indexed by
/// `access::audit::AuditKind`.
pub const AUDIT_KIND_LABELS: [&str; 6] = [
    "override_set",
    "override_cleared",
    "rules_reload",
    "policy_reload",
    "denied",
    "appeal",
];

/// `satpam_auth_denied_total{rpc,reason}`, `satpam_audit_records_total{kind}`,
/// `satpam_audit_failures_total`.
pub struct AuthCounters {
    denied: Vec<Counter>,
    audit: Vec<Counter>,
    /// Audit records the file or the topic did not take.
    pub audit_failures: Counter,
}

impl AuthCounters {
    /// Describes and registers every series on `r`.
    pub fn register(r: &PrometheusRecorder) -> AuthCounters {
        for (name, help) in [
            (
                "satpam_auth_denied_total",
                "Calls refused: UNAUTHENTICATED (no_credentials, unknown_credentials) or PERMISSION_DENIED (role, tenant; Ingest counts each refused event), by RPC.",
            ),
            (
                "satpam_audit_records_total",
                "Audit records written, by kind.",
            ),
            (
                "satpam_audit_failures_total",
                "Audit records the file or the audit topic did not take.",
            ),
        ] {
            r.describe_counter(KeyName::from(name), None, SharedString::from(help));
        }
        let counter = |name: &'static str, labels: Vec<Label>| {
            r.register_counter(&Key::from_parts(name, labels), &super::meta())
        };
        let mut denied = Vec::with_capacity(RPC_LABELS.len() * DENIED_LABELS.len());
        for rpc in RPC_LABELS {
            for reason in DENIED_LABELS {
                denied.push(counter(
                    "satpam_auth_denied_total",
                    vec![Label::new("rpc", rpc), Label::new("reason", reason)],
                ));
            }
        }
        let audit = AUDIT_KIND_LABELS
            .iter()
            .map(|k| counter("satpam_audit_records_total", vec![Label::new("kind", *k)]))
            .collect();
        AuthCounters {
            denied,
            audit,
            audit_failures: counter("satpam_audit_failures_total", Vec::new()),
        }
    }

    /// The counter of one refusal: indexes into [`RPC_LABELS`] and
    /// [`DENIED_LABELS`] (an index past the end gets the last series).
    pub fn denied(&self, rpc: usize, reason: usize) -> &Counter {
        let i = rpc * DENIED_LABELS.len() + reason;
        &self.denied[i.min(self.denied.len() - 1)]
    }

    /// The counter of one audit kind: an index into [`AUDIT_KIND_LABELS`].
    pub fn audit_record(&self, kind: usize) -> &Counter {
        &self.audit[kind.min(self.audit.len() - 1)]
    }
}
