//! What every console handler does first: the shared state and form
//! types, the viewer behind a request (or the refusal), the role check and
//! the CSRF check of a POST. The page routes and the backtest routes both
//! start here.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{NoViewer, Viewer};
use super::html::message;
use super::Console;
use crate::access::auth::{Role, Rpc, Scope};

/// The console as the handlers share it.
pub(super) type Shared = Arc<Console>;
/// A form's or a query's fields.
pub(super) type Fields = HashMap<String, String>;
/// A response that ends a request early (boxed: a `Response` is large).
pub(super) type Refusal = Box<Response>;

/// The console clock's now (event time), ms.
pub(super) fn now_ms(c: &Console) -> i64 {
    c.shards.context().clock().now_ms()
}

/// The viewer, or the response for a caller without one: the login page
/// (303) for a browser with no credentials, 401 for unknown credentials.
pub(super) fn viewer(c: &Console, headers: &HeaderMap, is_get: bool) -> Result<Viewer, Refusal> {
    match c.auth.resolve(headers, now_ms(c)) {
        Ok(v) => Ok(v),
        Err(NoViewer::SignedOut) if is_get => Err(Box::new(
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response(),
        )),
        Err(NoViewer::SignedOut) => Err(Box::new(message(
            StatusCode::UNAUTHORIZED,
            None,
            "Sign in first",
            "this action needs a signed-in principal",
        ))),
        Err(NoViewer::Unknown(why)) => Err(Box::new(message(
            StatusCode::UNAUTHORIZED,
            None,
            "Not signed in",
            &why,
        ))),
    }
}

/// Whether `v` may act with `role` on `scope` (a refusal is counted and audited).
pub(super) fn allowed(
    c: &Console,
    v: &Viewer,
    role: Role,
    scope: Scope<'_>,
) -> Result<(), Refusal> {
    c.gate
        .authorize(&v.principal, Rpc::Console, role, scope)
        .map_err(|st| {
            Box::new(message(
                StatusCode::FORBIDDEN,
                Some(v),
                "Not allowed",
                st.message(),
            ))
        })
}

/// A POST's viewer, its CSRF token checked.
pub(super) fn poster(c: &Console, headers: &HeaderMap, f: &Fields) -> Result<Viewer, Refusal> {
    let v = viewer(c, headers, false)?;
    if !c.auth.csrf_ok(&v, f.get("csrf").map(String::as_str)) {
        return Err(Box::new(message(
            StatusCode::FORBIDDEN,
            Some(&v),
            "Form expired",
            "the form's CSRF token is missing or not this session's: reload the page and try again",
        )));
    }
    Ok(v)
}

/// A field's value, empty when absent.
pub(super) fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or_default()
}
