//! Appeals: a business contests an action, and analysts record where the
//! appeal stands (received, under review, upheld, overturned) with a note.
//! Each step is one [`AppealStep`]; an account's appeal is its steps in
//! order, the last one its status. Kept alongside the overrides and under
//! the same rules: in memory, and appended to `<overrides file stem>.appeals.jsonl`
//! beside the overrides file when `engine.overrides` is set (read back at
//! start). Notes are the analyst's words, checked like override reasons;
//! never message text.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Steps kept per account (the oldest first out).
const MAX_STEPS: usize = 100;

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    /// The business's appeal arrived.
    Received,
    /// An analyst is looking at it.
    UnderReview,
    /// The action stands.
    Upheld,
    /// The action was wrong (an allow override usually follows).
    Overturned,
}

impl AppealStatus {
    /// Every status, in the order an appeal moves.
    pub const ALL: [AppealStatus; 4] = [
        AppealStatus::Received,
        AppealStatus::UnderReview,
        AppealStatus::Upheld,
        AppealStatus::Overturned,
    ];

    /// The name in forms and records.
    pub fn name(self) -> &'static str {
        match self {
            AppealStatus::Received => "received",
            AppealStatus::UnderReview => "under_review",
            AppealStatus::Upheld => "upheld",
            AppealStatus::Overturned => "overturned",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<AppealStatus> {
        AppealStatus::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// One step of an account's appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealStep {
    /// Wall clock, ms since the Unix epoch.
    pub at_ms: i64,
    /// The principal who recorded it.
    pub who: String,
    /// The tenant.
    pub tenant_id: String,
    /// The account.
    pub account_id: String,
    /// Where the appeal stands after this step.
    pub status: AppealStatus,
    /// The analyst's note.
    pub note: String,
}

/// Every account's appeal steps.
pub struct Appeals {
    path: Option<PathBuf>,
    all: Mutex<HashMap<(String, String), Vec<AppealStep>>>,
}

/// The appeals file beside an overrides file: `overrides.yaml` ->
/// `overrides.appeals.jsonl`.
pub fn path_beside(overrides: &Path) -> PathBuf {
    overrides.with_extension("appeals.jsonl")
}

impl Appeals {
    /// Appeals persisted to `path` (read back now), or in memory only.
    pub fn open(path: Option<PathBuf>) -> Result<Appeals, String> {
        let mut all: HashMap<(String, String), Vec<AppealStep>> = HashMap::new();
        if let Some(p) = &path {
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    for (i, line) in text.lines().enumerate() {
                        if line.trim().is_empty() {
                            continue;
                        }
                        let step: AppealStep = serde_json::from_str(line)
                            .map_err(|e| format!("{}:{}: {e}", p.display(), i + 1))?;
                        push(&mut all, step);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        Ok(Appeals {
            path,
            all: Mutex::new(all),
        })
    }

    /// Records a step (the note checked first), written to the file first.
    pub fn record(&self, step: AppealStep) -> Result<(), String> {
        crate::decide::overrides::check_reason(&step.note).map_err(|e| {
            e.to_string()
                .replace("override reason", "appeal note")
                .replace("an override needs a reason", "an appeal step needs a note")
        })?;
        crate::convert::check_id("tenant_id", &step.tenant_id)
            .and_then(|()| crate::convert::check_id("account_id", &step.account_id))
            .map_err(|e| e.to_string())?;
        let mut all = self
            .all
            .lock()
            .map_err(|_| "appeals lock poisoned".to_string())?;
        if let Some(p) = &self.path {
            let line = serde_json::to_string(&step).map_err(|e| e.to_string())?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| writeln!(f, "{line}").and_then(|()| f.sync_data()))
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
        push(&mut all, step);
        Ok(())
    }

    /// An account's steps, oldest first.
    pub fn of(&self, tenant_id: &str, account_id: &str) -> Vec<AppealStep> {
        let key = (tenant_id.to_string(), account_id.to_string());
        self.all
            .lock()
            .ok()
            .and_then(|a| a.get(&key).cloned())
            .unwrap_or_default()
    }
}

fn push(all: &mut HashMap<(String, String), Vec<AppealStep>>, step: AppealStep) {
    let list = all
        .entry((step.tenant_id.clone(), step.account_id.clone()))
        .or_default();
    if list.len() >= MAX_STEPS {
        list.remove(0);
    }
    list.push(step);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(status: AppealStatus, note: &str) -> AppealStep {
        AppealStep {
            at_ms: 1,
            who: "ana".into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            status,
            note: note.into(),
        }
    }

    #[test]
    fn steps_persist_and_come_back_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let path = path_beside(&dir.path().join("overrides.yaml"));
        assert!(path.ends_with("overrides.appeals.jsonl"));
        let a = Appeals::open(Some(path.clone())).expect("open");
        a.record(step(AppealStatus::Received, "business wrote in"))
            .expect("received");
        a.record(step(AppealStatus::Overturned, "support bot"))
            .expect("overturned");
        assert!(
            a.record(step(AppealStatus::Upheld, " ")).is_err(),
            "a note is required"
        );
        let back = Appeals::open(Some(path)).expect("reopen");
        let statuses: Vec<_> = back.of("t", "a").iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            vec![AppealStatus::Received, AppealStatus::Overturned]
        );
        assert_eq!(
            AppealStatus::parse("under_review"),
            Some(AppealStatus::UnderReview)
        );
    }
}
