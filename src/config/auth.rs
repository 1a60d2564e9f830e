//! `[auth]` and `[admin]`: principals, the insecure switch, what else is
//! restricted, and the Admin listener. Plain data, validated here; the
//! service builds an [`super::Authenticator`] from it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::role::{decode_hex32, Role};

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// Serve without principals on a non-loopback address (every caller may
    /// do everything). Without principals and without this, a non-loopback
    /// `grpc.listen` or `admin.listen` refuses to start.
    pub insecure: bool,
    /// Reflection needs an authenticated principal (any role).
    pub restrict_reflection: bool,
    /// `/metrics` needs `authorization: Bearer` of a principal with the
    /// `metrics` role (`/healthz` and `/readyz` stay open).
    pub restrict_metrics: bool,
    /// Who may call; empty: nobody is checked (loopback or `insecure` only).
    pub principals: Vec<PrincipalConfig>,
}

/// One `[[auth.principals]]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrincipalConfig {
    /// Who it is, in the audit trail and the logs.
    pub name: String,
    /// Hex SHA-256 of its bearer token (`satpam auth hash-token`), never the
    /// token itself; empty: certificate only.
    pub token_sha256: String,
    /// The verified client-certificate subject it presents (mTLS); with a
    /// token as well, both must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_subject: Option<String>,
    /// What it may do.
    pub roles: Vec<Role>,
    /// Its tenants (`tenant_id`s), or `["*"]` for all.
    pub tenants: Vec<String>,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// A listener of its own for `satpam.v1.Admin` (with health); empty: Admin
    /// is served on `grpc.listen`.
    pub listen: String,
}

/// Whether `addr` (ip:port) is a loopback address.
pub fn is_loopback(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

impl AuthSection {
    /// Checks the principals, and that a non-loopback listener (`listens`:
    /// key and address) has principals or `insecure`.
    pub(crate) fn validate(&self, listens: &[(&str, &str)]) -> Result<(), String> {
        if self.principals.is_empty() {
            if !self.insecure {
                if let Some((key, addr)) = listens
                    .iter()
                    .find(|(_, a)| !a.is_empty() && !is_loopback(a))
                {
                    return Err(format!(
                        "{key}: `{addr}` is not a loopback address and no [[auth.principals]] are configured; \
                         add principals or set auth.insecure = true to serve every caller unchecked"
                    ));
                }
            }
            if self.restrict_metrics || self.restrict_reflection {
                return Err(
                    "auth.restrict_metrics: restricting /metrics or reflection needs [[auth.principals]]"
                        .into(),
                );
            }
            return Ok(());
        }
        let mut names = std::collections::BTreeSet::new();
        let mut hashes = std::collections::BTreeSet::new();
        for (i, p) in self.principals.iter().enumerate() {
            let at = format!("auth.principals: principal {} (`{}`)", i + 1, p.name);
            if p.name.trim().is_empty() {
                return Err(format!("{at}: `name` is required"));
            }
            if !names.insert(p.name.as_str()) {
                return Err(format!("{at}: the name is used twice"));
            }
            let subject = p.cert_subject.as_deref().unwrap_or_default();
            if p.token_sha256.is_empty() && subject.is_empty() {
                return Err(format!("{at}: needs token_sha256 or cert_subject"));
            }
            if !p.token_sha256.is_empty() {
                if decode_hex32(&p.token_sha256).is_none() {
                    return Err(format!(
                        "{at}: token_sha256 must be 64 hex digits (`satpam auth hash-token` prints it)"
                    ));
                }
                if !hashes.insert(p.token_sha256.to_ascii_lowercase()) {
                    return Err(format!("{at}: the token_sha256 is used twice"));
                }
            }
            if p.roles.is_empty() {
                return Err(format!("{at}: `roles` is empty"));
            }
            if p.tenants.is_empty() || p.tenants.iter().any(|t| t.trim().is_empty()) {
                return Err(format!(
                    "{at}: `tenants` must list tenant ids, or be [\"*\"] for all"
                ));
            }
            if p.tenants.len() > 1 && p.tenants.iter().any(|t| t == "*") {
                return Err(format!("{at}: `*` stands alone in `tenants`"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> PrincipalConfig {
        PrincipalConfig {
            name: "ops".into(),
            token_sha256: crate::access::auth::hash_token("t"),
            cert_subject: None,
            roles: vec![Role::Read],
            tenants: vec!["bsp-1".into()],
        }
    }

    #[test]
    fn non_loopback_needs_principals_or_insecure() {
        let open = AuthSection::default();
        assert!(open.validate(&[("grpc.listen", "127.0.0.1:1")]).is_ok());
        assert!(open.validate(&[("grpc.listen", "[::1]:1")]).is_ok());
        let e = open
            .validate(&[
                ("grpc.listen", "127.0.0.1:1"),
                ("admin.listen", "0.0.0.0:2"),
            ])
            .expect_err("refused");
        assert!(
            e.starts_with("admin.listen: `0.0.0.0:2` is not a loopback"),
            "{e}"
        );
        let insecure = AuthSection {
            insecure: true,
            ..AuthSection::default()
        };
        assert!(insecure.validate(&[("grpc.listen", "0.0.0.0:1")]).is_ok());
        let with = AuthSection {
            principals: vec![principal()],
            ..AuthSection::default()
        };
        assert!(with.validate(&[("grpc.listen", "0.0.0.0:1")]).is_ok());
    }

    #[test]
    fn bad_principals_are_refused() {
        for (edit, want) in [
            (
                (|p: &mut PrincipalConfig| p.token_sha256 = "secret".into())
                    as fn(&mut PrincipalConfig),
                "64 hex digits",
            ),
            (|p| p.name.clear(), "`name` is required"),
            (|p| p.roles.clear(), "`roles` is empty"),
            (|p| p.tenants.clear(), "`tenants` must list"),
            (|p| p.tenants.push("*".into()), "`*` stands alone"),
            (
                |p| p.token_sha256.clear(),
                "needs token_sha256 or cert_subject",
            ),
        ] {
            let mut p = principal();
            edit(&mut p);
            let s = AuthSection {
                principals: vec![p],
                ..AuthSection::default()
            };
            let e = s.validate(&[]).expect_err(want);
            assert!(e.contains(want), "{e}");
        }
        let twice = AuthSection {
            principals: vec![
                principal(),
                PrincipalConfig {
                    name: "b".into(),
                    ..principal()
                },
            ],
            ..AuthSection::default()
        };
        assert!(twice.validate(&[]).expect_err("dup").contains("used twice"));
    }
}
