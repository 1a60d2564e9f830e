//! The `[audit]` section: where the audit trail is appended and how many
//! records `Admin.ListAudit` keeps in memory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// The JSONL file records are appended to; empty: none (memory and,
    /// with Kafka, the audit topic only).
    #[serde(serialize_with = "path_or_empty")]
    pub path: Option<PathBuf>,
    /// Records kept in memory for `ListAudit` (the file keeps them all).
    pub keep: usize,
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            path: Some(PathBuf::from("satpam-audit.jsonl")),
            keep: 10_000,
        }
    }
}

fn path_or_empty<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(
        &p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    )
}

impl AuditSection {
    /// Checks values that parse but cannot work.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.keep == 0 {
            return Err("audit.keep must be at least 1".into());
        }
        Ok(())
    }
}
