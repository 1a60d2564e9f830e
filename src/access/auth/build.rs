//! Config -> the running gate: the authenticator of `[auth]`, the audit
//! trail of `[audit]` (and `kafka.audit_topic`), and the start-up warning
//! when the service serves every caller unchecked.

use std::sync::Arc;

use super::check::Gate;
use super::principal::Authenticator;
use crate::access::audit::{AuditLog, AuditTopic};
use crate::config::is_loopback;
use crate::config::Config;
use crate::telemetry::Telemetry;

/// Builds the gate of `config` (validated: a non-loopback listener without
/// principals has `auth.insecure`).
pub fn gate(config: &Config, telemetry: Arc<Telemetry>) -> anyhow::Result<Arc<Gate>> {
    let auth = Arc::new(Authenticator::new(&config.auth));
    if !auth.enforcing() {
        let exposed = [&config.grpc.listen, &config.admin.listen]
            .into_iter()
            .any(|a| !a.is_empty() && !is_loopback(a));
        if exposed {
            tracing::warn!(
                "auth.insecure: no [[auth.principals]] and a non-loopback listener: every caller may ingest, watch, override and reload rules for every tenant"
            );
        } else {
            tracing::warn!(
                "no [[auth.principals]] configured: serving every caller unchecked (loopback only); docs/security.md shows how to add principals"
            );
        }
    } else {
        tracing::info!(
            principals = config.auth.principals.len(),
            "auth: every RPC is checked"
        );
    }
    let k = &config.kafka;
    let topic = if k.enabled() && !k.audit_topic.trim().is_empty() {
        Some(
            AuditTopic::new(&k.brokers, &k.audit_topic, &k.producer, telemetry.clone())
                .map_err(|e| anyhow::anyhow!("kafka.audit_topic: {e}"))?,
        )
    } else {
        None
    };
    let audit = AuditLog::open(&config.audit, topic, telemetry.clone()).map_err(|e| {
        anyhow::anyhow!(
            "audit.path {}: {e}",
            config
                .audit
                .path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    Ok(Arc::new(Gate::new(auth, telemetry, Arc::new(audit))))
}
