//! Reloads the service makes itself (the file changed, SIGHUP), audited
//! like Admin's: who is `file` or `sighup`, with the old and new version.

use std::sync::Arc;

use crate::access::audit::{AuditKind, AuditLog, AuditRecord};
use crate::service::policy_reload::PolicyManager;
use crate::service::reload::RulesManager;

/// Reloads the rules when their file changed; audits the reload as `file`.
pub async fn rules_if_changed(rules: &Arc<RulesManager>, audit: &AuditLog) {
    let old = rules.version();
    if let Some(result) = rules.reload_if_changed().await {
        let new = result.map(|r| r.version().to_string());
        audit.record(AuditRecord::reload(
            "file",
            "file",
            AuditKind::RulesReload,
            old,
            new,
        ));
    }
}

/// Reloads the policy when its file changed (off the async runtime);
/// audits the reload as `file`.
pub async fn policy_if_changed(policy: &Arc<PolicyManager>, audit: &AuditLog) {
    let old = policy.policy().version().to_string();
    let p = policy.clone();
    if let Ok(Some(result)) = tokio::task::spawn_blocking(move || p.reload_if_changed()).await {
        let new = result.map(|p| p.version().to_string());
        audit.record(AuditRecord::reload(
            "file",
            "file",
            AuditKind::PolicyReload,
            old,
            new,
        ));
    }
}

/// Reloads rules and policy from their files (SIGHUP); audits both as `sighup`.
pub async fn on_sighup(rules: &Arc<RulesManager>, policy: &Arc<PolicyManager>, audit: &AuditLog) {
    let old = rules.version();
    let new = rules.reload(None).await.map(|r| r.version().to_string());
    audit.record(AuditRecord::reload(
        "sighup",
        "sighup",
        AuditKind::RulesReload,
        old,
        new,
    ));
    let old = policy.policy().version().to_string();
    let p = policy.clone();
    if let Ok(result) = tokio::task::spawn_blocking(move || p.reload_file()).await {
        let new = result.map(|p| p.version().to_string());
        audit.record(AuditRecord::reload(
            "sighup",
            "sighup",
            AuditKind::PolicyReload,
            old,
            new,
        ));
    }
}
