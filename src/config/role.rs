//! The roles a principal may hold, and the token hash's hex form: what both
//! the `[auth]` config (validation) and the principals at run time use.

use serde::{Deserialize, Serialize};

/// What a principal may do; docs/security.md has the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Send events over `Ingest` (for its tenants).
    Ingest,
    /// Stream its tenants' signals over `Signals.Watch`.
    Watch,
    /// Admin reads: accounts, actioned lists, rules, policy, the audit trail.
    Read,
    /// Set and clear overrides of its tenants' accounts.
    Override,
    /// Reload rules and the country policy (needs tenants `*`).
    Rules,
    /// Scrape `/metrics` when `auth.restrict_metrics` is on.
    Metrics,
}

impl Role {
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The role's name in config and reasons.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Watch => "watch",
            Role::Read => "read",
            Role::Override => "override",
            Role::Rules => "rules",
            Role::Metrics => "metrics",
        }
    }
}

/// 32 bytes from 64 hex digits.
pub(crate) fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}
