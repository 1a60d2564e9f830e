//! The console's routes and the page handlers: the role each route needs
//! (mirroring the Admin gate: `read` to see, `override` to decide), with
//! the viewer, role and CSRF checks of [`super::request`].

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::appeals::{AppealStatus, AppealStep};
use super::auth::Viewer;
use super::html::{message, page, respond, url, CSS};
use super::pages;
use super::request::{allowed, field, now_ms, poster, viewer, Fields, Refusal, Shared};
use super::Console;
use crate::access::audit::{AuditKind, AuditRecord};
use crate::access::auth::{Role, Rpc, Scope};
use crate::decide::{Override, OverrideMode};
use crate::report::Lang;

/// The console's router.
pub fn router(console: Shared) -> Router {
    Router::new()
        .route("/", get(queue))
        .route("/account", get(account))
        .route("/account/report", get(report))
        .route("/account/decision", post(decision))
        .route("/account/appeal", post(appeal))
        .route("/account/clear", post(clear))
        .route("/rules", get(rules))
        .route(
            "/backtest",
            get(super::backtest_routes::page).post(super::backtest_routes::start),
        )
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route(
            "/static/console.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }),
        )
        .with_state(console)
}

async fn queue(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<pages::queue::QueueQuery>,
) -> Response {
    let v = match viewer(&c, &headers, true) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let scope = if q.tenant.is_empty() {
        Scope::Any
    } else {
        Scope::Tenant(&q.tenant, "")
    };
    if let Err(r) = allowed(&c, &v, Role::Read, scope) {
        return *r;
    }
    let body = pages::queue::render(&c, &v, &q);
    respond(StatusCode::OK, page("Queue", Some(&v), &body))
}

async fn account(State(c): State<Shared>, headers: HeaderMap, Query(q): Query<Fields>) -> Response {
    let v = match viewer(&c, &headers, true) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let tenant = q.get("tenant").map(String::as_str).unwrap_or_default();
    let account = q.get("account").map(String::as_str).unwrap_or_default();
    if let Err(r) = allowed(&c, &v, Role::Read, Scope::Tenant(tenant, account)) {
        return *r;
    }
    match pages::account::render(&c, &v, tenant, account) {
        Some(body) => respond(StatusCode::OK, page(&format!("Account {account}"), Some(&v), &body)),
        None => message(
            StatusCode::NOT_FOUND,
            Some(&v),
            "Not tracked here",
            &format!(
                "account `{account}` of tenant `{tenant}` is not tracked by this instance (it owns shards {:?})",
                c.shards.partition_ids()
            ),
        ),
    }
}

/// The account's compliance report (`lang=en|id`, English when absent):
/// the same role as the account page.
async fn report(State(c): State<Shared>, headers: HeaderMap, Query(q): Query<Fields>) -> Response {
    let v = match viewer(&c, &headers, true) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let tenant = q.get("tenant").map(String::as_str).unwrap_or_default();
    let account = q.get("account").map(String::as_str).unwrap_or_default();
    if let Err(r) = allowed(&c, &v, Role::Read, Scope::Tenant(tenant, account)) {
        return *r;
    }
    let Some(lang) = Lang::parse(q.get("lang").map(String::as_str).unwrap_or("en")) else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&v),
            "Unknown language",
            "the report is written in en (English) or id (Bahasa Indonesia)",
        );
    };
    match pages::report::render(&c, tenant, account, lang) {
        Some(html) => respond(StatusCode::OK, html),
        None => message(
            StatusCode::NOT_FOUND,
            Some(&v),
            "Not tracked here",
            &format!("account `{account}` of tenant `{tenant}` is not tracked by this instance"),
        ),
    }
}

fn back_to(tenant: &str, account: &str) -> Response {
    let to = format!("/account?tenant={}&account={}", url(tenant), url(account));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// A POST that changes an account's decision: its viewer (CSRF checked),
/// allowed `override` on the form's tenant and account, which it returns.
fn decider<'f>(
    c: &Console,
    headers: &HeaderMap,
    f: &'f Fields,
) -> Result<(Viewer, &'f str, &'f str), Refusal> {
    let v = poster(c, headers, f)?;
    let (tenant, account) = (field(f, "tenant"), field(f, "account"));
    allowed(c, &v, Role::Override, Scope::Tenant(tenant, account))?;
    Ok((v, tenant, account))
}

/// The page for an override change the service refused: 400 for the
/// caller's input, 500 for the service's own failure.
fn refused(v: &Viewer, e: &crate::service::reload_error::ReloadError) -> Response {
    let status = if e.is_invalid_input() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    message(status, Some(v), "Refused", &e.to_string())
}

async fn decision(State(c): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let (v, tenant, account) = match decider(&c, &headers, &f) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let mode = match field(&f, "mode") {
        "allow" => OverrideMode::Allow,
        "deny" => OverrideMode::Deny,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&v),
                "Refused",
                "mode must be allow or deny",
            )
        }
    };
    let expires_at_ms = match field(&f, "expires_hours").trim() {
        "" => None,
        h => match h.parse::<f64>() {
            Ok(h) if h > 0.0 && h.is_finite() => {
                Some(now_ms(&c).saturating_add((h * 3_600_000.0) as i64))
            }
            _ => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&v),
                    "Refused",
                    "expiry must be a positive number of hours",
                )
            }
        },
    };
    let o = Override {
        tenant_id: tenant.to_string(),
        account_id: account.to_string(),
        mode,
        reason: field(&f, "reason").to_string(),
        expires_at_ms,
    };
    match crate::service::decisions::set_override(
        &c.overrides,
        c.gate.audit(),
        &v.principal.name,
        Rpc::Console.label(),
        &o,
    ) {
        Ok(()) => back_to(tenant, account),
        Err(e) => refused(&v, &e),
    }
}

async fn clear(State(c): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let (v, tenant, account) = match decider(&c, &headers, &f) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    match crate::service::decisions::clear_override(
        &c.overrides,
        c.gate.audit(),
        &v.principal.name,
        Rpc::Console.label(),
        (tenant, account),
        field(&f, "reason"),
    ) {
        Ok(_) => back_to(tenant, account),
        Err(e) => refused(&v, &e),
    }
}

async fn appeal(State(c): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let (v, tenant, account) = match decider(&c, &headers, &f) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let Some(status) = AppealStatus::parse(field(&f, "status")) else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&v),
            "Refused",
            "unknown appeal status",
        );
    };
    let step = AppealStep {
        at_ms: crate::clock::Clock::now_ms(&crate::clock::SystemClock),
        who: v.principal.name.clone(),
        tenant_id: tenant.to_string(),
        account_id: account.to_string(),
        status,
        note: field(&f, "note").to_string(),
    };
    let result = c.appeals.record(step.clone());
    c.gate.audit().record(AuditRecord {
        who: step.who.clone(),
        kind: AuditKind::Appeal,
        rpc: Rpc::Console.label().into(),
        tenant_id: step.tenant_id.clone(),
        account_id: step.account_id.clone(),
        result: if result.is_ok() {
            "accepted"
        } else {
            "refused"
        }
        .into(),
        reason: match &result {
            Ok(()) => format!("{}: {}", status.name(), step.note),
            Err(e) => e.clone(),
        },
        ..AuditRecord::now()
    });
    match result {
        Ok(()) => back_to(tenant, account),
        Err(e) => message(StatusCode::BAD_REQUEST, Some(&v), "Refused", &e),
    }
}

async fn rules(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let v = match viewer(&c, &headers, true) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Err(r) = allowed(&c, &v, Role::Read, Scope::Any) {
        return *r;
    }
    respond(
        StatusCode::OK,
        page("Rules", Some(&v), &pages::rules::render(&c)),
    )
}

async fn login_page() -> Response {
    respond(
        StatusCode::OK,
        page("Sign in", None, &pages::login::render(None)),
    )
}

async fn login(State(c): State<Shared>, Form(f): Form<Fields>) -> Response {
    match c.auth.login(field(&f, "token"), now_ms(&c)) {
        Ok(id) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/".to_string()),
                (header::SET_COOKIE, c.auth.cookie_value(&id)),
            ],
        )
            .into_response(),
        Err(e) => respond(
            StatusCode::UNAUTHORIZED,
            page("Sign in", None, &pages::login::render(Some(&e))),
        ),
    }
}

async fn logout(State(c): State<Shared>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let v = match poster(&c, &headers, &f) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Some(id) = &v.session {
        c.auth.logout(id);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (header::SET_COOKIE, c.auth.cookie_value("")),
        ],
    )
        .into_response()
}
