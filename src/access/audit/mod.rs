//! The audit trail: every override set or cleared, every rules or policy
//! reload (accepted or refused, old and new version), every Admin call
//! refused to a principal. Kept in memory (the last `audit.keep`, for
//! `Admin.ListAudit`), appended to `audit.path` (JSONL) and, with Kafka,
//! produced to `kafka.audit_topic`; counted in
//! `satpam_audit_records_total{kind}`. No message text is ever in it.

pub mod file;
pub mod kafka;
pub mod record;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use file::AuditFile;
pub use kafka::AuditTopic;
pub use record::{AuditFilter, AuditKind, AuditRecord};

pub use crate::config::AuditSection;
use crate::telemetry::Telemetry;

/// The running audit trail.
pub struct AuditLog {
    recent: Mutex<VecDeque<AuditRecord>>,
    keep: usize,
    file: Option<Mutex<AuditFile>>,
    topic: Option<AuditTopic>,
    telemetry: Arc<Telemetry>,
}

impl AuditLog {
    /// Opens the file of `section` (reading back its last records) and
    /// produces to `topic` when given.
    pub fn open(
        section: &AuditSection,
        topic: Option<AuditTopic>,
        telemetry: Arc<Telemetry>,
    ) -> std::io::Result<AuditLog> {
        let keep = section.keep.max(1);
        let (file, recent) = match section
            .path
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            Some(p) => {
                let (f, recent) = AuditFile::open(p, keep)?;
                (Some(Mutex::new(f)), recent)
            }
            None => (None, VecDeque::new()),
        };
        Ok(AuditLog {
            recent: Mutex::new(recent),
            keep,
            file,
            topic,
            telemetry,
        })
    }

    /// An audit trail in memory only (tests, tools).
    pub fn in_memory(telemetry: Arc<Telemetry>) -> AuditLog {
        AuditLog {
            recent: Mutex::new(VecDeque::new()),
            keep: AuditSection::default().keep,
            file: None,
            topic: None,
            telemetry,
        }
    }

    /// Records `r` everywhere it goes and counts it. A file or topic that
    /// fails is logged (never the record's content) and counted; the call
    /// that was audited is not undone.
    pub fn record(&self, r: AuditRecord) {
        let r = r.bounded();
        self.telemetry
            .auth
            .audit_record(r.kind as usize)
            .increment(1);
        tracing::info!(
            who = %r.who, kind = r.kind.label(), rpc = %r.rpc, tenant = %r.tenant_id,
            account = %r.account_id, result = %r.result, "audit"
        );
        if let Some(f) = &self.file {
            let ok = f.lock().map(|mut f| f.append(&r));
            if !matches!(ok, Ok(Ok(()))) {
                self.telemetry.auth.audit_failures.increment(1);
                tracing::error!("audit file: a record could not be written");
            }
        }
        if let Some(t) = &self.topic {
            if !t.send(&r) {
                self.telemetry.auth.audit_failures.increment(1);
                tracing::error!("audit topic: a record could not be queued");
            }
        }
        if let Ok(mut q) = self.recent.lock() {
            if q.len() == self.keep {
                q.pop_front();
            }
            q.push_back(r);
        }
    }

    /// The newest records passing `filter` and `visible`, newest first, at
    /// most `limit`; and whether more matched.
    pub fn list(
        &self,
        filter: &AuditFilter,
        visible: impl Fn(&AuditRecord) -> bool,
        limit: usize,
    ) -> (Vec<AuditRecord>, bool) {
        let Ok(q) = self.recent.lock() else {
            return (Vec::new(), false);
        };
        let mut out: Vec<AuditRecord> = q
            .iter()
            .rev()
            .filter(|r| filter.matches(r) && visible(r))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let truncated = out.len() > limit;
        out.truncate(limit);
        (out, truncated)
    }

    /// Waits for the audit topic's records to be acknowledged (shutdown).
    pub fn flush(&self) {
        if let Some(t) = &self.topic {
            t.flush(Duration::from_secs(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tenant: &str, kind: AuditKind, at_ms: i64) -> AuditRecord {
        AuditRecord {
            at_ms,
            who: "ops".into(),
            kind,
            tenant_id: tenant.into(),
            result: "accepted".into(),
            ..AuditRecord::now()
        }
    }

    #[test]
    fn memory_keeps_the_newest_and_lists_newest_first_with_filters() {
        let section = AuditSection {
            path: None,
            keep: 3,
        };
        let log = AuditLog::open(&section, None, Telemetry::new()).expect("log");
        for (i, t) in ["a", "b", "a", "b", "a"].iter().enumerate() {
            log.record(rec(t, AuditKind::OverrideSet, i as i64));
        }
        let all = |_: &AuditRecord| true;
        let (got, more) = log.list(&AuditFilter::default(), all, 10);
        assert_eq!(got.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [4, 3, 2]);
        assert!(!more);
        let (got, more) = log.list(&AuditFilter::default(), all, 2);
        assert_eq!((got.len(), more), (2, true));
        let only_a = AuditFilter {
            tenant_id: "a".into(),
            ..AuditFilter::default()
        };
        let (got, _) = log.list(&only_a, all, 10);
        assert_eq!(got.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [4, 2]);
        let (got, _) = log.list(&AuditFilter::default(), |r| r.tenant_id == "b", 10);
        assert_eq!(got.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [3]);
        let since = AuditFilter {
            since_ms: 4,
            kind: Some(AuditKind::OverrideSet),
            ..AuditFilter::default()
        };
        assert_eq!(log.list(&since, all, 10).0.len(), 1);
    }

    #[test]
    fn long_reasons_are_cut_at_a_char_boundary() {
        let r = AuditRecord {
            reason: "é".repeat(record::MAX_REASON_BYTES),
            ..AuditRecord::now()
        }
        .bounded();
        assert!(r.reason.len() <= record::MAX_REASON_BYTES + 3);
        assert!(r.reason.ends_with("..."));
    }
}
