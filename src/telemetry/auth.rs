//! Counters of the auth checks and the audit trail, registered once with
//! every label value (`rpc` x `reason`, `kind`), never built per call.

use metrics::{Counter, Key, KeyName, Label, Recorder, SharedString};
use metrics_exporter_prometheus::PrometheusRecorder;

use crate::service::audit::AuditKind;
use crate::service::auth::{Denied, Rpc};

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
        let mut denied = Vec::with_capacity(Rpc::ALL.len() * Denied::ALL.len());
        for rpc in Rpc::ALL {
            for reason in Denied::ALL {
                denied.push(counter(
                    "satpam_auth_denied_total",
                    vec![
                        Label::new("rpc", rpc.label()),
                        Label::new("reason", reason.label()),
                    ],
                ));
            }
        }
        let audit = AuditKind::ALL
            .iter()
            .map(|k| {
                counter(
                    "satpam_audit_records_total",
                    vec![Label::new("kind", k.label())],
                )
            })
            .collect();
        AuthCounters {
            denied,
            audit,
            audit_failures: counter("satpam_audit_failures_total", Vec::new()),
        }
    }

    /// The counter of one refusal.
    pub fn denied(&self, rpc: Rpc, reason: Denied) -> &Counter {
        &self.denied[rpc as usize * Denied::ALL.len() + reason as usize]
    }

    /// The counter of one audit kind.
    pub fn audit_record(&self, kind: AuditKind) -> &Counter {
        &self.audit[kind as usize]
    }
}
