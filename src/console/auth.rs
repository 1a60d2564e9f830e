//! Who is using the console: the same principals and roles as the gRPC
//! API. A request is authenticated by, in order: the trusted reverse-proxy
//! header (`console.trusted_header`, naming a principal), an
//! `authorization: Bearer` header, or the session cookie a token login
//! set (an HttpOnly, SameSite=Strict cookie holding a random session id,
//! never the token). With no principals configured every caller is
//! `anonymous` and every page says authentication is off. Every POST
//! carries a CSRF token bound to the session (or, without one, to the
//! principal) by an HMAC under a key drawn at start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap, HeaderName};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::access::auth::{Authenticator, Gate, Principal, Rpc};

/// The session cookie's name.
pub const COOKIE: &str = "satpam_console";

/// Sessions kept at most; the one closest to expiry leaves first.
const MAX_SESSIONS: usize = 10_000;

/// The signed-in user of one request.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The principal (roles, tenants).
    pub principal: Arc<Principal>,
    /// The session id when signed in by a token login.
    pub session: Option<String>,
    /// The CSRF token every form of the page carries.
    pub csrf: String,
    /// No principals are configured: everyone is `anonymous`.
    pub auth_off: bool,
}

/// Why a request has no viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoViewer {
    /// No credentials at all (a browser: show the login page).
    SignedOut,
    /// Credentials that match no principal (401).
    Unknown(String),
}

struct Session {
    principal: Arc<Principal>,
    expires_ms: i64,
}

/// Token-login sessions, the CSRF key and the proxy header.
pub struct ConsoleAuth {
    gate: Arc<Gate>,
    trusted_header: Option<HeaderName>,
    ttl_ms: i64,
    key: [u8; 32],
    sessions: Mutex<HashMap<String, Session>>,
}

fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|e| format!("console: no randomness: {e}"))?;
    Ok(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl ConsoleAuth {
    /// Auth over `gate`'s principals; `trusted_header` empty: no proxy.
    pub fn new(gate: Arc<Gate>, trusted_header: &str, ttl_s: u64) -> Result<Self, String> {
        let trusted_header = match trusted_header.trim() {
            "" => None,
            h => Some(
                HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| format!("console.trusted_header: `{h}` is not a header name"))?,
            ),
        };
        Ok(ConsoleAuth {
            gate,
            trusted_header,
            ttl_ms: i64::try_from(ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX),
            key: random32()?,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn authenticator(&self) -> &Authenticator {
        self.gate.authenticator()
    }

    fn csrf_for(&self, what: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(what.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    fn viewer(&self, principal: Arc<Principal>, session: Option<String>) -> Viewer {
        let csrf = match &session {
            Some(id) => self.csrf_for(&format!("session:{id}")),
            None => self.csrf_for(&format!("principal:{}", principal.name)),
        };
        Viewer {
            principal,
            session,
            csrf,
            auth_off: !self.authenticator().enforcing(),
        }
    }

    /// The viewer of a request's headers at `now_ms`.
    pub fn resolve(&self, headers: &HeaderMap, now_ms: i64) -> Result<Viewer, NoViewer> {
        if let Some(h) = &self.trusted_header {
            if let Some(v) = headers.get(h) {
                let name = v.to_str().unwrap_or_default().trim();
                return self
                    .authenticator()
                    .by_name(name)
                    .map(|p| self.viewer(p, None))
                    .ok_or_else(|| NoViewer::Unknown(format!("{h}: no principal of that name")));
            }
        }
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let value = v.to_str().unwrap_or("\u{0}");
            return self
                .gate
                .authenticate_parts(Some(value), None, Rpc::Console)
                .map(|p| self.viewer(p, None))
                .map_err(|st| NoViewer::Unknown(st.message().to_string()));
        }
        if let Some(id) = cookie(headers, COOKIE) {
            if let Some(p) = self.session(&id, now_ms) {
                return Ok(self.viewer(p, Some(id)));
            }
        }
        if !self.authenticator().enforcing() {
            return Ok(self.viewer(Arc::new(Principal::anonymous()), None));
        }
        Err(NoViewer::SignedOut)
    }

    fn session(&self, id: &str, now_ms: i64) -> Option<Arc<Principal>> {
        let mut all = self.sessions.lock().ok()?;
        match all.get(id) {
            Some(s) if s.expires_ms > now_ms => Some(s.principal.clone()),
            Some(_) => {
                all.remove(id);
                None
            }
            None => None,
        }
    }

    /// A token login: the new session id, or why the token was refused.
    pub fn login(&self, token: &str, now_ms: i64) -> Result<String, String> {
        let bearer = format!("Bearer {}", token.trim());
        let p = self
            .gate
            .authenticate_parts(Some(&bearer), None, Rpc::Console)
            .map_err(|_| "that token matches no principal".to_string())?;
        let id = hex(&random32()?);
        let mut all = self
            .sessions
            .lock()
            .map_err(|_| "sessions lock poisoned".to_string())?;
        all.retain(|_, s| s.expires_ms > now_ms);
        if all.len() >= MAX_SESSIONS {
            let oldest = all
                .iter()
                .min_by_key(|(_, s)| s.expires_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                all.remove(&k);
            }
        }
        all.insert(
            id.clone(),
            Session {
                principal: p,
                expires_ms: now_ms.saturating_add(self.ttl_ms),
            },
        );
        Ok(id)
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        if let Ok(mut all) = self.sessions.lock() {
            all.remove(id);
        }
    }

    /// The `Set-Cookie` value of a session (empty id: the cookie removed).
    pub fn cookie_value(&self, id: &str) -> String {
        let age = if id.is_empty() { 0 } else { self.ttl_ms / 1000 };
        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}")
    }

    /// Whether a form's CSRF token is the viewer's (constant time).
    pub fn csrf_ok(&self, viewer: &Viewer, sent: Option<&str>) -> bool {
        sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(viewer.csrf.as_bytes())))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; satpam_console=abc; b=2".parse().expect("v"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc".into()));
        assert_eq!(cookie(&h, "c"), None);
    }
}
