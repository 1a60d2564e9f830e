//! Analyst overrides: allow or deny one account, with a reason and an
//! optional expiry. An allowed account is never actioned; a denied one is
//! suspended whatever its score.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What an override forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverrideMode {
    /// Never action the account (a cleared appeal, a known partner).
    Allow,
    /// Suspend the account.
    Deny,
}

/// One override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The tenant.
    pub tenant_id: String,
    /// The account.
    pub account_id: String,
    /// Allow or deny.
    pub mode: OverrideMode,
    /// Why (required; shown on signals).
    pub reason: String,
    /// Expiry, ms since the Unix epoch (by the engine's clock); none = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// Longest override reason accepted, in bytes (it is shown on every
/// signal the override causes).
pub const MAX_REASON_BYTES: usize = 1024;

/// Why an override, its reason or its file was refused. Opaque: its
/// message names the file, line and field, and never quotes a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideError {
    kind: OverrideErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OverrideErrorKind {
    NoReason,
    ReasonTooLong(usize),
    ReasonControl,
    Id(crate::convert::ValidationError),
    /// Which account the (bad) reason was given for.
    ForAccount(String, Box<OverrideError>),
    Parse {
        file: String,
        line: usize,
        why: String,
    },
    InFile(String, Box<OverrideError>),
    Io {
        path: String,
        why: String,
    },
}

impl OverrideError {
    fn new(kind: OverrideErrorKind) -> Self {
        OverrideError { kind }
    }

    /// Whether the refusal is about the override (its ids or reason) rather
    /// than reading or writing a file: a caller's mistake, not the service's.
    pub fn is_invalid_override(&self) -> bool {
        match &self.kind {
            OverrideErrorKind::NoReason
            | OverrideErrorKind::ReasonTooLong(_)
            | OverrideErrorKind::ReasonControl
            | OverrideErrorKind::Id(_) => true,
            OverrideErrorKind::ForAccount(_, e) | OverrideErrorKind::InFile(_, e) => {
                e.is_invalid_override()
            }
            OverrideErrorKind::Parse { .. } | OverrideErrorKind::Io { .. } => false,
        }
    }
}

impl std::fmt::Display for OverrideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            OverrideErrorKind::NoReason => f.write_str("an override needs a reason"),
            OverrideErrorKind::ReasonTooLong(n) => write!(
                f,
                "override reason is {n} bytes; at most {MAX_REASON_BYTES} are accepted"
            ),
            OverrideErrorKind::ReasonControl => {
                f.write_str("override reason contains a control character")
            }
            OverrideErrorKind::Id(e) => write!(f, "override: {e}"),
            OverrideErrorKind::ForAccount(account, e) => {
                write!(f, "override for `{account}`: {e}")
            }
            OverrideErrorKind::Parse { file, line, why } => write!(f, "{file}:{line}: {why}"),
            OverrideErrorKind::InFile(file, e) => write!(f, "{file}: {e}"),
            OverrideErrorKind::Io { path, why } => write!(f, "{path}: {why}"),
        }
    }
}

impl std::error::Error for OverrideError {}

/// Checks a reason given for setting or clearing an override: present, at
/// most [`MAX_REASON_BYTES`], no control character. The error never quotes it.
pub fn check_reason(reason: &str) -> Result<(), OverrideError> {
    if reason.trim().is_empty() {
        return Err(OverrideError::new(OverrideErrorKind::NoReason));
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(OverrideError::new(OverrideErrorKind::ReasonTooLong(
            reason.len(),
        )));
    }
    if crate::convert::has_control(reason) {
        return Err(OverrideError::new(OverrideErrorKind::ReasonControl));
    }
    Ok(())
}

/// Checks an account named by an override (or its clearing): tenant and
/// account are ids (not empty, bounded, no control character).
pub fn check_account(tenant_id: &str, account_id: &str) -> Result<(), OverrideError> {
    crate::convert::check_id("tenant_id", tenant_id)
        .and_then(|()| crate::convert::check_id("account_id", account_id))
        .map_err(|e| OverrideError::new(OverrideErrorKind::Id(e)))
}

/// Checks an override before it is kept: tenant and account are ids (not
/// empty, bounded, no control character), the reason passes [`check_reason`].
/// Errors never quote the offending value.
pub fn check_override(o: &Override) -> Result<(), OverrideError> {
    check_account(&o.tenant_id, &o.account_id)?;
    check_reason(&o.reason).map_err(|e| {
        OverrideError::new(OverrideErrorKind::ForAccount(
            o.account_id.clone(),
            Box::new(e),
        ))
    })
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    overrides: Vec<Override>,
}

/// The overrides in force, by (tenant, account).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// By [`key_of`](crate::state::key_of)(tenant, account): a lookup on
    /// the hot path hashes the two ids and allocates nothing.
    by_account: HashMap<u128, Override>,
}

impl Overrides {
    /// Parses an overrides file (`overrides: [...]`).
    pub fn from_yaml(src: &str, file: &str) -> Result<Self, OverrideError> {
        let f: OverrideFile = yaml_serde::from_str(src).map_err(|e| {
            OverrideError::new(OverrideErrorKind::Parse {
                file: file.to_string(),
                line: e.location().map_or(0, |l| l.line()),
                why: e.to_string(),
            })
        })?;
        let mut o = Overrides::default();
        for item in f.overrides {
            o.set(item).map_err(|e| {
                OverrideError::new(OverrideErrorKind::InFile(file.to_string(), Box::new(e)))
            })?;
        }
        Ok(o)
    }

    /// Reads an overrides file.
    pub fn load(path: &Path) -> Result<Self, OverrideError> {
        let src = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
        Self::from_yaml(&src, &path.display().to_string())
    }

    /// Adds or replaces an override. The reason is required; see [`check_override`].
    pub fn set(&mut self, o: Override) -> Result<(), OverrideError> {
        check_override(&o)?;
        self.by_account
            .insert(crate::state::key_of(&o.tenant_id, &o.account_id), o);
        Ok(())
    }

    /// Removes an override; returns whether one was there.
    pub fn clear(&mut self, tenant_id: &str, account_id: &str) -> bool {
        self.by_account
            .remove(&crate::state::key_of(tenant_id, account_id))
            .is_some()
    }

    /// The override in force for an account at `now_ms`, if any.
    pub fn get(&self, tenant_id: &str, account_id: &str, now_ms: i64) -> Option<&Override> {
        if self.by_account.is_empty() {
            return None;
        }
        self.get_by_key(crate::state::key_of(tenant_id, account_id), now_ms)
    }

    /// [`Overrides::get`] for an account whose state key
    /// ([`key_of`](crate::state::key_of)) the caller already has.
    pub fn get_by_key(&self, account_key: u128, now_ms: i64) -> Option<&Override> {
        self.by_account
            .get(&account_key)
            .filter(|o| o.expires_at_ms.is_none_or(|t| now_ms < t))
    }

    /// Every override, sorted by tenant and account.
    pub fn iter(&self) -> impl Iterator<Item = &Override> {
        let mut v: Vec<&Override> = self.by_account.values().collect();
        v.sort_by(|a, b| (&a.tenant_id, &a.account_id).cmp(&(&b.tenant_id, &b.account_id)));
        v.into_iter()
    }

    /// The overrides as an overrides file (what [`Overrides::from_yaml`] reads).
    pub fn to_yaml(&self) -> String {
        let file = OverrideFile {
            overrides: self.iter().cloned().collect(),
        };
        yaml_serde::to_string(&file).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// Writes the overrides file atomically (a temporary file, then a rename).
    pub fn save(&self, path: &Path) -> Result<(), OverrideError> {
        let tmp = path.with_extension("yaml.tmp");
        std::fs::write(&tmp, self.to_yaml())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| io_error(path, &e))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_account.is_empty()
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> OverrideError {
    OverrideError::new(OverrideErrorKind::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_reason() {
        let o = Overrides::from_yaml(
            "overrides:\n  - {tenant_id: t, account_id: a, mode: allow, reason: appeal 42, expires_at_ms: 100}\n",
            "o.yaml",
        )
        .expect("parses");
        assert_eq!(
            o.get("t", "a", 99).map(|o| o.mode),
            Some(OverrideMode::Allow)
        );
        assert!(o.get("t", "a", 100).is_none(), "expired");
        assert!(o.get("t2", "a", 0).is_none(), "other tenant");
        let e = Overrides::from_yaml(
            "overrides:\n  - {tenant_id: t, account_id: a, mode: deny, reason: ' '}\n",
            "o.yaml",
        );
        let e = e.expect_err("a blank reason is refused");
        assert!(e.is_invalid_override());
        assert_eq!(
            e.to_string(),
            "o.yaml: override for `a`: an override needs a reason"
        );
        let e = Overrides::from_yaml("overrides: [", "o.yaml").expect_err("bad yaml");
        assert!(!e.is_invalid_override());
        assert!(e.to_string().starts_with("o.yaml:2: "), "{e}");
    }

    #[test]
    fn oversized_or_control_fields_are_refused_without_being_quoted() {
        let base = Override {
            tenant_id: "t".into(),
            account_id: "a".into(),
            mode: OverrideMode::Deny,
            reason: "appeal".into(),
            expires_at_ms: None,
        };
        let big = "r".repeat(4 << 20);
        let cases: [(Override, &str); 5] = [
            (
                Override {
                    reason: big.clone(),
                    ..base.clone()
                },
                "at most 1024",
            ),
            (
                Override {
                    reason: "a\0b".into(),
                    ..base.clone()
                },
                "control character",
            ),
            (
                Override {
                    account_id: "a".repeat(300),
                    ..base.clone()
                },
                "account_id",
            ),
            (
                Override {
                    tenant_id: "t\n".into(),
                    ..base.clone()
                },
                "tenant_id",
            ),
            (
                Override {
                    account_id: String::new(),
                    ..base.clone()
                },
                "account_id",
            ),
        ];
        for (o, want) in cases {
            let mut all = Overrides::default();
            let e = all.set(o).expect_err("refused");
            assert!(e.is_invalid_override());
            let e = e.to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.len() < 400, "the error quotes the value");
            assert!(all.is_empty());
        }
        let mut all = Overrides::default();
        all.set(Override {
            reason: "r".repeat(MAX_REASON_BYTES),
            ..base
        })
        .expect("at the limit");
        let file =
            format!("overrides:\n  - {{tenant_id: t, account_id: a, mode: deny, reason: {big}}}\n");
        let e = Overrides::from_yaml(&file, "o.yaml")
            .expect_err("refused")
            .to_string();
        assert!(
            e.starts_with("o.yaml: ") && e.contains("at most 1024"),
            "{}",
            &e[..e.len().min(200)]
        );
    }

    #[test]
    fn written_file_reads_back_the_same() {
        let mut o = Overrides::default();
        for (acct, mode, exp) in [
            ("b", OverrideMode::Deny, None),
            ("a", OverrideMode::Allow, Some(5)),
        ] {
            o.set(Override {
                tenant_id: "t".into(),
                account_id: acct.into(),
                mode,
                reason: format!("case {acct}"),
                expires_at_ms: exp,
            })
            .expect("set");
        }
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("o.yaml");
        o.save(&path).expect("save");
        assert_eq!(Overrides::load(&path).expect("load"), o);
        let ids: Vec<&str> = o.iter().map(|x| x.account_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
