//! The HTTP side: `/metrics` (Prometheus text format), `/healthz` (the
//! process is up) and `/readyz` (it is serving: rules loaded and, with
//! Kafka, the consumer running). With `auth.restrict_metrics`, `/metrics`
//! needs a bearer token of a principal with the `metrics` role.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::access::auth::ClientCertSubject;
use crate::access::auth::{Gate, Role, Rpc, Scope};
use crate::pipeline::shards::Shards;
use crate::telemetry::Telemetry;

/// What the HTTP handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// Metrics.
    pub telemetry: Arc<Telemetry>,
    /// State sizes are read from the shards at scrape time.
    pub shards: Arc<Shards>,
    /// Set once the service is serving; cleared when it shuts down.
    pub ready: Arc<AtomicBool>,
    /// Checks `/metrics` callers when set (`auth.restrict_metrics`).
    pub metrics_gate: Option<Arc<Gate>>,
}

/// The router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn metrics(
    State(s): State<HttpState>,
    subject: Option<axum::Extension<ClientCertSubject>>,
    headers: HeaderMap,
) -> axum::response::Response {
    if let Some(gate) = &s.metrics_gate {
        let auth = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let checked = gate
            .authenticate_parts(
                auth,
                subject.as_ref().map(|s| s.0 .0.as_str()),
                Rpc::Metrics,
            )
            .map_err(|st| (StatusCode::UNAUTHORIZED, st))
            .and_then(|p| {
                gate.authorize(&p, Rpc::Metrics, Role::Metrics, Scope::Any)
                    .map_err(|st| (StatusCode::FORBIDDEN, st))
            });
        if let Err((code, st)) = checked {
            return (code, format!("{}\n", st.message())).into_response();
        }
    }
    let (stats, _) = s.shards.stats();
    let t = &s.telemetry;
    t.accounts.set(stats.accounts as f64);
    t.conversations.set(stats.conversations as f64);
    t.account_bytes.set(stats.account_bytes as f64);
    t.conversation_bytes.set(stats.conversation_bytes as f64);
    let ev = s.shards.context().cap_evictions();
    t.cap_evicted_conversations
        .absolute(ev.conversations.load(Ordering::Relaxed));
    t.cap_evicted_accounts
        .absolute(ev.accounts.load(Ordering::Relaxed));
    t.cap_evicted_wabas
        .absolute(ev.wabas.load(Ordering::Relaxed));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        t.render(),
    )
        .into_response()
}

async fn ready(State(s): State<HttpState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
