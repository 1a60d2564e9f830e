//! The backtest page's routes: `GET /backtest` (the `read` role for every
//! tenant: a backtest's result spans the tenants of the recorded file) and
//! `POST /backtest` (the `override` role for every tenant, the form's CSRF
//! token). A candidate that does not compile is shown with the compiler's
//! file, line and reason, and starts nothing.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;

use super::backtest::{Recorded, Refused, Request};
use super::html::{page_refreshed, respond};
use super::pages::backtest::{render, FormState, TOPIC_CHOICE};
use super::request::{allowed, field, now_ms, poster, viewer, Fields, Shared};
use crate::access::auth::{Role, Scope};
use crate::rules::RuleSet;

/// Seconds between reloads of the page while a backtest runs.
const REFRESH_S: u32 = 1;

fn backtest_page(
    c: &Shared,
    v: &super::auth::Viewer,
    status: StatusCode,
    form: &FormState<'_>,
) -> Response {
    let (body, running) = render(c, v, form);
    respond(
        status,
        page_refreshed("Backtest", Some(v), &body, running.then_some(REFRESH_S)),
    )
}

/// `GET /backtest`.
pub(super) async fn page(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let v = match viewer(&c, &headers, true) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Err(r) = allowed(&c, &v, Role::Read, Scope::AllTenants) {
        return *r;
    }
    backtest_page(&c, &v, StatusCode::OK, &FormState::default())
}

/// `POST /backtest`: compiles the candidate and starts the backtest.
pub(super) async fn start(
    State(c): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let v = match poster(&c, &headers, &f) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Err(r) = allowed(&c, &v, Role::Override, Scope::AllTenants) {
        return *r;
    }
    let name = match field(&f, "name").trim() {
        "" => "candidate.yaml",
        n => n,
    };
    let mut form = FormState {
        rules: field(&f, "rules"),
        name,
        events: field(&f, "events"),
        hours: field(&f, "hours"),
        labels: field(&f, "labels"),
        error: None,
    };
    let events = if form.events == TOPIC_CHOICE {
        // Not a number: refused below by the range check, with its reason.
        let hours = form.hours.trim().parse::<f64>().unwrap_or(f64::NAN);
        Recorded::Topic { hours }
    } else {
        Recorded::File(form.events.to_string())
    };
    let candidate = match RuleSet::from_yaml(form.rules, name) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            let why = format!("the candidate rules did not compile:\n{e}");
            form.error = Some(&why);
            return backtest_page(&c, &v, StatusCode::BAD_REQUEST, &form);
        }
    };
    let ctx = c.shards.context();
    let req = Request {
        who: v.principal.name.clone(),
        now_ms: now_ms(&c),
        events,
        labels: form.labels.to_string(),
        old: ctx.rules(),
        new: candidate,
        policy: (*ctx.policy()).clone(),
        overrides: (*ctx.overrides()).clone(),
    };
    match c.backtests.start(req) {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, "/backtest")],
        )
            .into_response(),
        Err(refused) => {
            let status = match refused {
                Refused::Busy(..) => StatusCode::CONFLICT,
                Refused::Off => StatusCode::NOT_FOUND,
                Refused::BadName(_) | Refused::Input(_) => StatusCode::BAD_REQUEST,
            };
            let why = refused.to_string();
            form.error = Some(&why);
            backtest_page(&c, &v, status, &form)
        }
    }
}
