//! Principals at run time: who a caller is (a bearer token, compared by its
//! SHA-256 in constant time, and/or a client-certificate subject), what it
//! may do (roles) and for whom (tenants).

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::config::Role;
use crate::config::{decode_hex32, AuthSection, PrincipalConfig};

/// The tenants a principal acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// Every tenant (`tenants = ["*"]`).
    All,
    /// These tenants only.
    Only(Vec<String>),
}

impl TenantScope {
    /// Whether `tenant` is in scope.
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Only(list) => list.iter().any(|t| t == tenant),
        }
    }

    /// Whether this is `*`.
    pub fn is_all(&self) -> bool {
        matches!(self, TenantScope::All)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The configured name (`anonymous` when serving openly).
    pub name: String,
    roles: u8,
    /// Its tenants.
    pub tenants: TenantScope,
}

impl Principal {
    /// The caller of an open service (no principals configured): every role, every tenant.
    pub fn anonymous() -> Principal {
        Principal {
            name: "anonymous".into(),
            roles: u8::MAX,
            tenants: TenantScope::All,
        }
    }

    /// Whether it holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles & role.bit() != 0
    }
}

/// Why a caller was not authenticated (the label values of
/// `satpam_auth_denied_total{reason}` come from here and [`super::check::Denied`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `authorization: Bearer` and no client certificate.
    NoCredentials,
    /// A token or certificate subject that no principal has.
    UnknownCredentials,
}

/// The hex SHA-256 of a token: what `token_sha256` holds and
/// `satpam auth hash-token` prints.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

struct Entry {
    token_sha256: Option<[u8; 32]>,
    cert_subject: Option<String>,
    principal: Arc<Principal>,
}

/// Finds the principal of a request's credentials. Built from a validated
/// [`AuthSection`]; with no principals configured every caller is
/// [`Principal::anonymous`].
pub struct Authenticator {
    entries: Vec<Entry>,
    anonymous: Arc<Principal>,
}

impl Authenticator {
    /// The principals of `section` (validated by [`AuthSection::validate`]).
    pub fn new(section: &AuthSection) -> Authenticator {
        Authenticator {
            entries: section.principals.iter().map(entry).collect(),
            anonymous: Arc::new(Principal::anonymous()),
        }
    }

    /// Whether any principal is configured (otherwise the service is open).
    pub fn enforcing(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The principal of a bearer `token` and/or a verified client-certificate
    /// `subject`. A token, when given, decides; a subject alone is matched
    /// against `cert_subject`. Every token hash is compared (in constant time)
    /// so the time taken does not tell which principal matched.
    pub fn authenticate(
        &self,
        token: Option<&str>,
        subject: Option<&str>,
    ) -> Result<Arc<Principal>, AuthError> {
        if !self.enforcing() {
            return Ok(self.anonymous.clone());
        }
        if let Some(token) = token {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            let mut found = None;
            for e in &self.entries {
                if let Some(h) = &e.token_sha256 {
                    if bool::from(h.ct_eq(&digest)) && found.is_none() {
                        found = Some(e);
                    }
                }
            }
            let e = found.ok_or(AuthError::UnknownCredentials)?;
            // A principal bound to a certificate needs that certificate too.
            return match (&e.cert_subject, subject) {
                (Some(want), Some(got)) if want == got => Ok(e.principal.clone()),
                (Some(_), _) => Err(AuthError::UnknownCredentials),
                (None, _) => Ok(e.principal.clone()),
            };
        }
        let Some(subject) = subject else {
            return Err(AuthError::NoCredentials);
        };
        self.entries
            .iter()
            .find(|e| e.token_sha256.is_none() && e.cert_subject.as_deref() == Some(subject))
            .map(|e| e.principal.clone())
            .ok_or(AuthError::UnknownCredentials)
    }

    /// The principal configured under `name` (the console's trusted
    /// reverse-proxy header names one); `None` for no such principal.
    pub fn by_name(&self, name: &str) -> Option<Arc<Principal>> {
        self.entries
            .iter()
            .find(|e| e.principal.name == name)
            .map(|e| e.principal.clone())
    }
}

fn entry(c: &PrincipalConfig) -> Entry {
    let roles = c.roles.iter().fold(0u8, |acc, r| acc | r.bit());
    let tenants = if c.tenants.iter().any(|t| t == "*") {
        TenantScope::All
    } else {
        TenantScope::Only(c.tenants.clone())
    };
    Entry {
        token_sha256: decode_hex32(&c.token_sha256),
        cert_subject: c.cert_subject.clone().filter(|s| !s.is_empty()),
        principal: Arc::new(Principal {
            name: c.name.clone(),
            roles,
            tenants,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(principals: Vec<PrincipalConfig>) -> AuthSection {
        AuthSection {
            principals,
            ..AuthSection::default()
        }
    }

    fn p(name: &str, token: &str, subject: Option<&str>) -> PrincipalConfig {
        PrincipalConfig {
            name: name.into(),
            token_sha256: if token.is_empty() {
                String::new()
            } else {
                hash_token(token)
            },
            cert_subject: subject.map(str::to_string),
            roles: vec![Role::Read],
            tenants: vec!["bsp-1".into()],
        }
    }

    #[test]
    fn hash_is_the_sha256_hex_of_the_token() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(decode_hex32(&hash_token("abc")).map(|b| b[0]), Some(0xba));
        assert_eq!(decode_hex32("zz"), None);
    }

    #[test]
    fn tokens_and_subjects_find_their_principal() {
        let a = Authenticator::new(&section(vec![
            p("tok", "t1", None),
            p("both", "t2", Some("CN=ops")),
            p("cert", "", Some("CN=ingest")),
        ]));
        let name = |t, s| a.authenticate(t, s).map(|p| p.name.clone());
        assert_eq!(name(Some("t1"), None), Ok("tok".into()));
        assert_eq!(name(Some("t2"), Some("CN=ops")), Ok("both".into()));
        assert_eq!(name(Some("t2"), None), Err(AuthError::UnknownCredentials));
        assert_eq!(
            name(Some("t2"), Some("CN=x")),
            Err(AuthError::UnknownCredentials)
        );
        assert_eq!(name(None, Some("CN=ingest")), Ok("cert".into()));
        assert_eq!(
            name(None, Some("CN=ops")),
            Err(AuthError::UnknownCredentials)
        );
        assert_eq!(name(Some("nope"), None), Err(AuthError::UnknownCredentials));
        assert_eq!(name(None, None), Err(AuthError::NoCredentials));
    }

    #[test]
    fn no_principals_is_anonymous_with_everything() {
        let a = Authenticator::new(&AuthSection::default());
        let p = a.authenticate(None, None).expect("open");
        assert!(p.has(Role::Rules) && p.tenants.is_all());
    }
}
