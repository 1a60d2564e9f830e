//! `[console]`: the web console's listener, how it trusts a reverse proxy,
//! how long a login lasts and how much signal history it keeps. Plain
//! data, validated here; `console::Console` is built from it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[console]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSection {
    /// The console's own HTTP listener (`ip:port`); empty: no console.
    pub listen: String,
    /// A request header set by a trusted reverse proxy to the name of the
    /// `[[auth.principals]]` entry the user is (e.g. `X-Forwarded-User`);
    /// empty: off. Only for a listener the proxy alone can reach: the
    /// proxy must strip this header from what clients send.
    pub trusted_header: String,
    /// How long a login session lasts, seconds.
    pub session_ttl_s: u64,
    /// Signals kept per account for the account page's history.
    pub history_per_account: usize,
    /// Accounts whose signal history is kept (the oldest first out).
    pub history_accounts: usize,
    /// The directory of recorded traffic the backtest page replays
    /// (`*.jsonl`, `*.pb` event files and `*.csv` labels, picked by name
    /// from its listing); empty: none (with `[kafka]` configured the page
    /// still replays the last hours of the events topic).
    pub backtest_dir: String,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        ConsoleSection {
            listen: String::new(),
            trusted_header: String::new(),
            session_ttl_s: 8 * 3600,
            history_per_account: 32,
            history_accounts: 200_000,
            backtest_dir: String::new(),
        }
    }
}

impl ConsoleSection {
    /// Checks values that parse but cannot work (`has_principals`: whether
    /// `[[auth.principals]]` are configured).
    pub fn validate(&self, has_principals: bool) -> Result<(), String> {
        if !self.listen.is_empty() && self.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "console.listen: `{}` is not an ip:port address",
                self.listen
            ));
        }
        let h = self.trusted_header.trim();
        if !h.is_empty() {
            if !has_principals {
                return Err(
                    "console.trusted_header names principals: it needs [[auth.principals]]".into(),
                );
            }
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(format!(
                    "console.trusted_header: `{h}` is not a header name"
                ));
            }
        }
        if self.session_ttl_s == 0 || self.history_per_account == 0 || self.history_accounts == 0 {
            return Err("console.session_ttl_s, console.history_per_account and console.history_accounts must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked() {
        let c = ConsoleSection::default();
        assert!(c.listen.is_empty());
        assert!(c.validate(false).is_ok());
        let bad = ConsoleSection {
            listen: "localhost".into(),
            ..ConsoleSection::default()
        };
        assert!(bad.validate(false).is_err());
        let proxy = ConsoleSection {
            trusted_header: "X-Forwarded-User".into(),
            ..ConsoleSection::default()
        };
        assert!(proxy
            .validate(false)
            .expect_err("needs principals")
            .contains("principals"));
        assert!(proxy.validate(true).is_ok());
        let zero = ConsoleSection {
            session_ttl_s: 0,
            ..ConsoleSection::default()
        };
        assert!(zero.validate(true).is_err());
    }
}
