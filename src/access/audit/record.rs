//! One audit record: who did what, when (wall clock), to which tenant and
//! account, with what result and why. Never message text.

use serde::{Deserialize, Serialize};

use crate::telemetry::auth::AUDIT_KIND_LABELS;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// An override was set.
    OverrideSet,
    /// An override was cleared.
    OverrideCleared,
    /// Rules were reloaded (accepted or refused).
    RulesReload,
    /// The country policy was reloaded (accepted or refused).
    PolicyReload,
    /// An Admin call was refused to an authenticated principal.
    Denied,
    /// An appeal was recorded or moved on (the console).
    Appeal,
}

impl AuditKind {
    /// Every kind, in label order.
    pub const ALL: [AuditKind; 6] = [
        AuditKind::OverrideSet,
        AuditKind::OverrideCleared,
        AuditKind::RulesReload,
        AuditKind::PolicyReload,
        AuditKind::Denied,
        AuditKind::Appeal,
    ];

    /// The name in records, filters and the `kind` label.
    pub fn label(self) -> &'static str {
        AUDIT_KIND_LABELS[self as usize]
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.label() == s)
    }
}

/// The longest reason kept, bytes (longer ones are cut at a char boundary).
pub const MAX_REASON_BYTES: usize = 1_024;

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Wall clock, ms since the Unix epoch.
    pub at_ms: i64,
    /// The principal's name (`anonymous` when serving openly; `file` or
    /// `sighup` for reloads the service made itself).
    pub who: String,
    /// What happened.
    pub kind: AuditKind,
    /// The RPC (or `file`/`sighup`).
    pub rpc: String,
    /// The tenant acted on, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    /// The account acted on, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_id: String,
    /// `accepted`, `refused` or `denied`.
    pub result: String,
    /// The override reason, the refusal or the denial.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The override mode, for override records (`allow`, `deny`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// The version in force before (reloads).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub old_version: String,
    /// The version in force after (reloads; equal to the old one when refused).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_version: String,
}

impl AuditRecord {
    /// An empty record of kind `denied` stamped with the wall clock now;
    /// fill in the rest with struct update syntax.
    pub fn now() -> AuditRecord {
        AuditRecord {
            at_ms: crate::clock::Clock::now_ms(&crate::clock::SystemClock),
            who: String::new(),
            kind: AuditKind::Denied,
            rpc: String::new(),
            tenant_id: String::new(),
            account_id: String::new(),
            result: String::new(),
            reason: String::new(),
            mode: String::new(),
            old_version: String::new(),
            new_version: String::new(),
        }
    }

    /// A reload by `who` through `rpc`: accepted with the new version, or
    /// refused with the error (the old version stays in force).
    pub fn reload<E: ToString>(
        who: &str,
        rpc: &str,
        kind: AuditKind,
        old_version: String,
        new: Result<String, E>,
    ) -> AuditRecord {
        let (result, reason, new_version) = match new {
            Ok(v) => ("accepted", String::new(), v),
            Err(e) => ("refused", e.to_string(), old_version.clone()),
        };
        AuditRecord {
            who: who.into(),
            kind,
            rpc: rpc.into(),
            result: result.into(),
            reason,
            old_version,
            new_version,
            ..AuditRecord::now()
        }
    }

    /// Cuts the reason to [`MAX_REASON_BYTES`].
    pub(crate) fn bounded(mut self) -> AuditRecord {
        if self.reason.len() > MAX_REASON_BYTES {
            let mut end = MAX_REASON_BYTES;
            while !self.reason.is_char_boundary(end) {
                end -= 1;
            }
            self.reason.truncate(end);
            self.reason.push_str("...");
        }
        self
    }
}

/// What `ListAudit` asks for; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this tenant.
    pub tenant_id: String,
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only this principal.
    pub who: String,
    /// Only records at or after this time, ms.
    pub since_ms: i64,
}

impl AuditFilter {
    /// Whether `r` passes.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        (self.tenant_id.is_empty() || self.tenant_id == r.tenant_id)
            && self.kind.is_none_or(|k| k == r.kind)
            && (self.who.is_empty() || self.who == r.who)
            && r.at_ms >= self.since_ms
    }
}
