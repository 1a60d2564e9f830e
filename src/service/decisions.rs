//! An analyst's decision on an account, the one path both `Admin.SetOverride`
//! and the web console take: the override validated and swapped in by the
//! [`OverridesManager`] (written to the overrides file when one is
//! configured), then written to the audit trail, accepted or refused.

use crate::access::audit::{AuditKind, AuditLog, AuditRecord};
use crate::decide::{Override, OverrideMode};
use crate::service::reload::OverridesManager;
use crate::service::reload_error::ReloadError;

/// Sets `o` on behalf of `who` (the caller's principal name) through
/// `entry` (the audit record's `rpc`: an RPC name, or the console's); the
/// record holds the reason, or the refusal.
pub fn set_override(
    overrides: &OverridesManager,
    audit: &AuditLog,
    who: &str,
    entry: &str,
    o: &Override,
) -> Result<(), ReloadError> {
    let result = overrides.set(o.clone());
    audit.record(AuditRecord {
        who: who.to_string(),
        kind: AuditKind::OverrideSet,
        rpc: entry.to_string(),
        tenant_id: o.tenant_id.clone(),
        account_id: o.account_id.clone(),
        result: if result.is_ok() {
            "accepted"
        } else {
            "refused"
        }
        .into(),
        reason: match &result {
            Ok(()) => o.reason.clone(),
            Err(e) => e.to_string(),
        },
        mode: mode_name(o.mode).into(),
        ..AuditRecord::now()
    });
    result
}

/// Clears the override of `tenant_id`/`account_id` on behalf of `who`
/// through `entry`, like [`set_override`]: the reason is required and
/// goes to the audit trail (result `accepted`, `none_in_force` or
/// `refused`). Whether one was in force.
pub fn clear_override(
    overrides: &OverridesManager,
    audit: &AuditLog,
    who: &str,
    entry: &str,
    (tenant_id, account_id): (&str, &str),
    reason: &str,
) -> Result<bool, ReloadError> {
    let result = overrides.clear(tenant_id, account_id, reason);
    audit.record(AuditRecord {
        who: who.to_string(),
        kind: AuditKind::OverrideCleared,
        rpc: entry.to_string(),
        tenant_id: tenant_id.to_string(),
        account_id: account_id.to_string(),
        result: match &result {
            Ok(true) => "accepted".into(),
            Ok(false) => "none_in_force".into(),
            Err(_) => "refused".into(),
        },
        reason: match &result {
            Ok(_) => reason.to_string(),
            Err(e) => e.to_string(),
        },
        ..AuditRecord::now()
    });
    result
}

/// The mode's name in audit records and pages.
pub fn mode_name(mode: OverrideMode) -> &'static str {
    match mode {
        OverrideMode::Allow => "allow",
        OverrideMode::Deny => "deny",
    }
}
