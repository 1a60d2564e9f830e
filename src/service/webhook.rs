//! The WhatsApp Cloud API webhook receiver: `GET` subscription check,
//! `POST` notifications verified against the apps' secrets, mapped
//! ([`crate::webhook`]) and then either processed in this process (no
//! Kafka) or produced to the events topic (Kafka) before the answer. The
//! answers and why are in `docs/webhooks.md`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::clock::{Clock, SystemClock};
use crate::config::WebhookSection;
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::pipeline::Pipeline;
use crate::sink::kafka::{DeadLetterOrigin, Delivery};
use crate::telemetry::spans::{self, Tenants};
use crate::telemetry::{Source, WebhookResult};
use crate::webhook::map::template_category;
use crate::webhook::parse::ParseError;
use crate::webhook::portfolio::PortfolioTable;
use crate::webhook::send::{map_send_template, SendContext, SendError, Sent};
use crate::webhook::signature::{find_signer, HEADER};
use crate::webhook::templates::TemplateTable;
use crate::webhook::{map_body, parse_body};

/// One configured Meta app, ready to check requests.
struct App {
    tenant_id: String,
    secret: Vec<u8>,
    verify_token: String,
}

/// The receiver's shared state.
pub struct Receiver {
    apps: Vec<App>,
    shards: Arc<Shards>,
    pipeline: Arc<Pipeline>,
    /// The events topic, when Kafka is configured: events are produced there.
    events_topic: Option<String>,
    /// Event time of send-API requests that do not say when they were sent.
    clock: Arc<dyn Clock>,
    /// Which portfolio owns which WABA, as `account_update`s said.
    portfolios: PortfolioTable,
    /// Which category each WABA's templates are in, as template webhooks said.
    templates: TemplateTable,
}

/// Why a body's events are not durable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotDurable(String);

impl Receiver {
    /// A receiver for `section`'s apps; with `events_topic` (and the
    /// pipeline's Kafka producer) events go to that topic.
    pub fn new(
        section: &WebhookSection,
        shards: Arc<Shards>,
        pipeline: Arc<Pipeline>,
        events_topic: Option<String>,
    ) -> Self {
        let events_topic = events_topic.filter(|_| pipeline.kafka.is_some());
        Receiver {
            apps: section
                .apps
                .iter()
                .map(|a| App {
                    tenant_id: a.tenant_id.clone(),
                    secret: a.app_secret.as_bytes().to_vec(),
                    verify_token: a.verify_token.clone(),
                })
                .collect(),
            shards,
            pipeline,
            events_topic,
            portfolios: PortfolioTable::default(),
            templates: TemplateTable::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same receiver reading send-API receive times from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The app whose secret signed `body`; a refusal is counted.
    fn signer(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<&App, crate::webhook::signature::SignatureError> {
        let sig = headers.get(HEADER).and_then(|v| v.to_str().ok());
        find_signer(self.apps.iter().map(|a| a.secret.as_slice()), body, sig)
            .map(|i| &self.apps[i])
            .inspect_err(|_| self.count(WebhookResult::BadSignature))
    }

    /// Validates and processes (or produces) `events`; returns once they are
    /// processed, or produced and acknowledged by the broker.
    pub async fn deliver(&self, events: Vec<pb::MessageEvent>) -> Result<(), NotDurable> {
        let t = &self.pipeline.telemetry;
        let counters = t.source(Source::Webhook);
        counters.events.increment(events.len() as u64);
        let mut waits = Vec::new();
        let kafka = self
            .pipeline
            .kafka
            .as_ref()
            .zip(self.events_topic.as_deref());
        let mut w = self.pipeline.worker();
        spans::record_events(&tracing::Span::current(), events.len());
        // The engine runs here only without the events topic (with it, the
        // trace ends at the produce and the Kafka worker starts its own).
        let span = match kafka {
            None => spans::engine_batch(events.len()),
            Some(_) => tracing::Span::none(),
        };
        let in_span = span.enter();
        let mut tenants = Tenants::new(&span);
        for m in events {
            let dequeued = Instant::now();
            tenants.add(&m.tenant_id);
            let bytes = kafka.map(|_| prost::Message::encode_to_vec(&m));
            let account_id = m.account_id.clone();
            match crate::convert::event_or_refusal(m) {
                Err(refusal) => {
                    counters.validation_failures.increment(1);
                    if let Some((k, _)) = kafka {
                        counters.dead_lettered.increment(1);
                        let bytes = prost::Message::encode_to_vec(&*refusal.message);
                        let (tx, rx) = oneshot::channel();
                        let origin = DeadLetterOrigin {
                            source: "webhook",
                            topic: "",
                            partition: -1,
                            offset: -1,
                        };
                        let reason = refusal.reason.to_string();
                        if k.send_dead_letter(None, &bytes, &reason, &origin, Delivery::Notify(tx))
                            .is_ok()
                        {
                            waits.push(rx);
                        }
                    }
                }
                Ok(event) => match (kafka, bytes) {
                    (Some((k, topic)), Some(bytes)) => {
                        let (tx, rx) = oneshot::channel();
                        k.send_event(topic, &account_id, &bytes, Delivery::Notify(tx))
                            .map_err(|e| NotDurable(format!("event not produced: {e}")))?;
                        waits.push(rx);
                    }
                    _ => {
                        let engine = self.shards.grpc_shard(&event.tenant_id, &event.account_id);
                        let handled = self.pipeline.handle(
                            engine,
                            &event,
                            Source::Webhook,
                            &mut w,
                            dequeued,
                            || None,
                        );
                        if matches!(handled, crate::pipeline::Handled::Processed(Some(_))) {
                            tenants.signal();
                        }
                    }
                },
            }
        }
        tenants.finish(&span);
        drop(in_span);
        w.flush(t);
        for rx in waits {
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(NotDurable(format!("not acknowledged by Kafka: {e}"))),
                Err(_) => return Err(NotDurable("producer dropped the record".into())),
            }
        }
        Ok(())
    }

    /// Dead-letters a signed body that could not be read (Kafka only) and waits for the broker.
    async fn dead_letter_body(&self, body: &[u8], reason: &str) {
        let Some(k) = &self.pipeline.kafka else {
            return;
        };
        self.pipeline
            .telemetry
            .source(Source::Webhook)
            .dead_lettered
            .increment(1);
        let (tx, rx) = oneshot::channel();
        let origin = DeadLetterOrigin {
            source: "webhook",
            topic: "",
            partition: -1,
            offset: -1,
        };
        if k.send_dead_letter(None, body, reason, &origin, Delivery::Notify(tx))
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    fn count(&self, r: WebhookResult) {
        self.pipeline.telemetry.webhook.request(r).increment(1);
    }
}

/// The value of `key` in a query string, percent-decoded.
fn query_param(uri: &Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET`: Meta's subscription check.
async fn verify(State(r): State<Arc<Receiver>>, uri: Uri) -> Response {
    let mode = query_param(&uri, "hub.mode");
    let token = query_param(&uri, "hub.verify_token").unwrap_or_default();
    let challenge = query_param(&uri, "hub.challenge");
    let known = !token.is_empty()
        && r.apps.iter().fold(false, |found, a| {
            found
                | (!a.verify_token.is_empty()
                    && bool::from(a.verify_token.as_bytes().ct_eq(token.as_bytes())))
        });
    match (mode.as_deref(), challenge) {
        (Some("subscribe"), Some(c)) if known && c.len() <= 256 => {
            r.count(WebhookResult::VerifyOk);
            ([(header::CONTENT_TYPE, "text/plain")], c).into_response()
        }
        _ => {
            r.count(WebhookResult::VerifyRefused);
            (StatusCode::FORBIDDEN, "verification refused\n").into_response()
        }
    }
}

/// `POST`: a notification.
async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let app = match r.signer(&headers, &body) {
        Ok(a) => a,
        Err(e) => return (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response(),
    };
    let t = &r.pipeline.telemetry;
    let parsed = match parse_body(&body) {
        Ok(b) => b,
        Err(e @ ParseError::NotJson(_)) => {
            r.count(WebhookResult::Malformed);
            t.source(Source::Webhook).decode_failures.increment(1);
            r.dead_letter_body(&body, &e.to_string()).await;
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
        Err(e @ ParseError::UnknownShape(_)) => {
            // Signed by Meta but not a webhook we read: a retry cannot
            // succeed, so it is acknowledged and counted (docs/webhooks.md).
            r.count(WebhookResult::UnknownShape);
            return (StatusCode::OK, format!("ignored: {e}\n")).into_response();
        }
    };
    let mapped = map_body(&parsed, &app.tenant_id);
    for s in &mapped.statuses {
        t.webhook.status(s.status).increment(1);
    }
    t.webhook
        .other_fields
        .increment(mapped.other_fields.len() as u64);
    t.webhook.notices.increment(u64::from(mapped.notices));
    t.webhook
        .learn_portfolios(&r.portfolios, &app.tenant_id, &mapped.portfolios);
    t.webhook.learn_templates(
        &r.templates,
        &app.tenant_id,
        &mapped.templates,
        &mapped.statuses,
    );
    let mut events = mapped.into_events();
    r.portfolios.stamp(&mut events);
    match r.deliver(events).await {
        Ok(()) => {
            r.count(WebhookResult::Ok);
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e) => {
            r.count(WebhookResult::Unavailable);
            tracing::error!(error = %e, "webhook events not durable; answering 503");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
    }
}

/// `POST <send_path>/<phone-number-id>/messages`: a send-API request body,
/// signed like a webhook with the app's secret.
async fn send_tap(
    State(r): State<Arc<Receiver>>,
    Path(phone_number_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = match r.signer(&headers, &body) {
        Ok(a) => a,
        Err(e) => return (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response(),
    };
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let timestamp_ms = header("x-satpam-timestamp-ms")
        .parse::<i64>()
        .ok()
        .filter(|t| *t > 0)
        .unwrap_or_else(|| r.clock.now_ms());
    let ctx = SendContext {
        tenant_id: &app.tenant_id,
        phone_number_id: &phone_number_id,
        waba_id: header("x-satpam-waba-id"),
        message_id: header("x-satpam-message-id"),
        timestamp_ms,
    };
    let Sent {
        mut event,
        template,
    } = match map_send_template(&body, &ctx) {
        Ok(s) => s,
        Err(e @ SendError::NotJson(_)) => {
            r.count(WebhookResult::Malformed);
            r.pipeline
                .telemetry
                .source(Source::Webhook)
                .decode_failures
                .increment(1);
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
        Err(e @ SendError::NotAMessage(_)) => {
            r.pipeline.telemetry.webhook.send_refused.increment(1);
            return (StatusCode::OK, format!("ignored: {e}\n")).into_response();
        }
    };
    // The portfolio: as the BSP names it, else as an account_update did.
    event.business_id = header("x-satpam-business-id").to_string();
    r.portfolios.stamp(std::slice::from_mut(&mut event));
    // The template's category: as the BSP names it, else as a template
    // webhook of the WABA did.
    if let Some(c) = template_category(header("x-satpam-template-category")) {
        event.template_category = c as i32;
    }
    r.templates.stamp(&mut event, template.as_ref());
    r.templates.remember(&event, template.as_ref());
    match r.deliver(vec![event]).await {
        Ok(()) => {
            r.count(WebhookResult::Ok);
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e) => {
            r.count(WebhookResult::Unavailable);
            tracing::error!(error = %e, "send-API event not durable; answering 503");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
    }
}

/// `POST` notifications inside their trace span.
async fn receive_traced(r: State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    receive(r, headers, body)
        .instrument(spans::webhook_request("notifications"))
        .await
}

/// The send-API tap inside its trace span.
async fn send_tap_traced(
    r: State<Arc<Receiver>>,
    id: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send_tap(r, id, headers, body)
        .instrument(spans::webhook_request("send"))
        .await
}

/// The router of `section`'s paths.
pub fn router(section: &WebhookSection, receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route(&section.path, get(verify).post(receive_traced))
        .route(
            &format!("{}/{{phone_number_id}}/messages", section.send_path),
            post(send_tap_traced),
        )
        .layer(DefaultBodyLimit::max(section.max_body_bytes))
        .with_state(receiver)
}

/// Binds `section.listen` and serves until `stop` turns true.
pub async fn spawn(
    section: &WebhookSection,
    receiver: Receiver,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let tls = section
        .tls
        .server_config("webhook.tls", &[b"http/1.1"])
        .map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(&section.listen)
        .await
        .map_err(|err| anyhow::anyhow!("webhook.listen {}: {err}", section.listen))?;
    let addr = listener.local_addr()?;
    let app = router(section, Arc::new(receiver));
    let handle = tokio::spawn(crate::service::tls_listen::serve_http(
        listener, tls, app, "webhook", stop,
    ));
    tracing::info!(%addr, path = %section.path, "webhook receiver listening");
    Ok((addr, handle))
}
