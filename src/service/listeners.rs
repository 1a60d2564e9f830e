//! The listeners and tasks a running service starts from its parts, one
//! method each: Admin's own listener, the gRPC listener (Ingest, Signals,
//! reflection, health and Admin when it has no listener of its own), the
//! metrics and health HTTP listener, the webhook receiver, the Kafka
//! source, and the poll that reloads changed rules and policy files.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;

use crate::config::Config;
use crate::pb::v1 as pb;
use crate::service::admin::AdminService;
use crate::service::http::{router, HttpState};
use crate::service::tls_listen;
use crate::service::watch::WatchService;
use crate::source::grpc::IngestService;
use crate::source::kafka::{KafkaSource, RecordFormat};

use super::build::Parts;

/// Admin's server until a listener takes it.
pub(super) type AdminSlot = Option<pb::admin_server::AdminServer<AdminService>>;

/// Health's gRPC service (over the reporter's opaque implementation).
type HealthService<H> = tonic_health::pb::health_server::HealthServer<H>;

/// What the listeners are started from, and the tasks they spawned.
pub(super) struct Listeners<'a> {
    pub(super) config: &'a Config,
    pub(super) parts: &'a Parts,
    /// Flips to true at shutdown.
    pub(super) stop: watch::Receiver<bool>,
    pub(super) servers: Vec<JoinHandle<()>>,
}

impl Listeners<'_> {
    /// `admin.listen`: Admin (and health) on a listener of its own.
    pub(super) async fn admin<H: tonic_health::pb::health_server::Health>(
        &mut self,
        admin: &mut AdminSlot,
        health: HealthService<H>,
    ) -> anyhow::Result<Option<SocketAddr>> {
        let c = self.config;
        if c.admin.listen.is_empty() {
            return Ok(None);
        }
        let listener = TcpListener::bind(&c.admin.listen)
            .await
            .map_err(|err| anyhow::anyhow!("admin.listen {}: {err}", c.admin.listen))?;
        let addr = listener.local_addr()?;
        let router = grpc_server(c)
            .layer(tls_listen::SubjectLayer)
            .add_service(health)
            .add_optional_service(admin.take());
        self.servers.push(spawn_grpc(
            listener,
            router,
            self.parts.grpc_tls.clone(),
            self.stop.clone(),
        ));
        tracing::info!(addr = %addr, "Admin listening");
        Ok(Some(addr))
    }

    /// `grpc.listen`: Ingest, Signals, health, reflection, and Admin unless
    /// it has a listener of its own.
    pub(super) async fn grpc<H: tonic_health::pb::health_server::Health>(
        &mut self,
        admin: &mut AdminSlot,
        health: HealthService<H>,
    ) -> anyhow::Result<Option<SocketAddr>> {
        let (c, p) = (self.config, self.parts);
        if c.grpc.listen.is_empty() {
            return Ok(None);
        }
        let listener = TcpListener::bind(&c.grpc.listen)
            .await
            .map_err(|err| anyhow::anyhow!("grpc.listen {}: {err}", c.grpc.listen))?;
        let addr = listener.local_addr()?;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|err| anyhow::anyhow!("reflection: {err}"))?;
        let mut ingest = IngestService::new(
            p.shards.clone(),
            p.pipeline.clone(),
            c.grpc.max_batch,
            p.gate.clone(),
        );
        if c.grpc.ingest_to_kafka && c.kafka.enabled() {
            ingest = ingest.producing_to(&c.kafka.events_topic);
        }
        let watch_svc = WatchService::new(
            p.hub.clone(),
            p.telemetry.clone(),
            self.stop.clone(),
            p.gate.clone(),
        );
        // Reflection: open, or for authenticated principals only.
        let (open_reflection, checked_reflection) = if c.auth.restrict_reflection {
            let g = p.gate.clone();
            let check = move |req: tonic::Request<()>| {
                g.authenticate(&req, crate::access::auth::Rpc::Reflection)
                    .map(|_| req)
            };
            (None, Some(InterceptedService::new(reflection, check)))
        } else {
            (Some(reflection), None)
        };
        let router = grpc_server(c)
            .max_concurrent_streams(c.grpc.max_concurrent_streams)
            .layer(tls_listen::SubjectLayer)
            .add_service(health)
            .add_optional_service(open_reflection)
            .add_optional_service(checked_reflection)
            .add_service(
                pb::ingest_server::IngestServer::new(ingest)
                    .max_decoding_message_size(c.grpc.max_message_bytes),
            )
            .add_service(pb::signals_server::SignalsServer::new(watch_svc))
            .add_optional_service(admin.take());
        self.servers.push(spawn_grpc(
            listener,
            router,
            p.grpc_tls.clone(),
            self.stop.clone(),
        ));
        tracing::info!(addr = %addr, "gRPC listening");
        Ok(Some(addr))
    }

    /// `metrics.listen`: /metrics, /healthz, /readyz.
    pub(super) async fn metrics(
        &mut self,
        ready: Arc<AtomicBool>,
    ) -> anyhow::Result<Option<SocketAddr>> {
        let (c, p) = (self.config, self.parts);
        if c.metrics.listen.is_empty() {
            return Ok(None);
        }
        let listener = TcpListener::bind(&c.metrics.listen)
            .await
            .map_err(|err| anyhow::anyhow!("metrics.listen {}: {err}", c.metrics.listen))?;
        let addr = listener.local_addr()?;
        let app = router(HttpState {
            telemetry: p.telemetry.clone(),
            shards: p.shards.clone(),
            ready,
            metrics_gate: c.auth.restrict_metrics.then(|| p.gate.clone()),
        });
        self.servers.push(tokio::spawn(tls_listen::serve_http(
            listener,
            p.metrics_tls.clone(),
            app,
            "metrics",
            self.stop.clone(),
        )));
        tracing::info!(addr = %addr, "metrics on /metrics");
        Ok(Some(addr))
    }

    /// `webhook.listen`: the Cloud API webhook receiver and send-API tap.
    pub(super) async fn webhook(&mut self) -> anyhow::Result<Option<SocketAddr>> {
        let (c, p) = (self.config, self.parts);
        if c.webhook.listen.is_empty() {
            return Ok(None);
        }
        let k = &c.kafka;
        let topic = k.enabled().then(|| k.events_topic.clone());
        let receiver = crate::service::webhook::Receiver::new(
            &c.webhook,
            p.shards.clone(),
            p.pipeline.clone(),
            topic,
        );
        let (addr, handle) =
            crate::service::webhook::spawn(&c.webhook, receiver, self.stop.clone()).await?;
        self.servers.push(handle);
        Ok(Some(addr))
    }

    /// The Kafka source, with Kafka configured.
    pub(super) fn kafka(&self) -> anyhow::Result<Option<KafkaSource>> {
        let (c, p) = (self.config, self.parts);
        let Some(sink) = p.kafka_sink.clone() else {
            return Ok(None);
        };
        let k = &c.kafka;
        KafkaSource::start(
            crate::source::kafka::SourceSettings::from_config(k),
            RecordFormat::from_config(k, &c.webhook),
            p.shards.clone(),
            p.pipeline.clone(),
            sink,
        )
        .map(Some)
        .map_err(|err| anyhow::anyhow!(err))
    }

    /// Reloads the rules and the policy when their files change
    /// (`engine.reload_poll_ms`; 0: only on SIGHUP or Admin).
    pub(super) fn reload_poll(&mut self) {
        let (e, p) = (&self.config.engine, self.parts);
        if e.reload_poll_ms == 0 || (e.rules.is_none() && e.policy.is_none()) {
            return;
        }
        let rules = p.rules.clone();
        let policy = p.policy.clone();
        let audit = p.gate.audit().clone();
        let every = Duration::from_millis(e.reload_poll_ms);
        let stop = stopped(self.stop.clone());
        self.servers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stop => break,
                }
                crate::service::audited_reloads::rules_if_changed(&rules, audit.as_ref()).await;
                crate::service::audited_reloads::policy_if_changed(&policy, audit.as_ref()).await;
            }
        }));
    }
}

/// A gRPC server with the listener limits of `[grpc]`: the unary call
/// timeout and HTTP/2 keepalive (a dead peer's streams are closed).
fn grpc_server(config: &Config) -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .timeout(Duration::from_millis(config.grpc.request_timeout_ms))
        .http2_keepalive_interval(Some(Duration::from_millis(
            config.grpc.keepalive_interval_ms,
        )))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
}

/// Serves `router` on `listener` until shutdown.
fn spawn_grpc(
    listener: TcpListener,
    router: tonic::transport::server::Router<GrpcLayers>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = match tls {
            None => {
                let incoming = TcpListenerStream::new(listener);
                router
                    .serve_with_incoming_shutdown(incoming, stopped(stop))
                    .await
            }
            Some(tls) => {
                let rx = tls_listen::accept(listener, tls, "grpc", stop.clone());
                router
                    .serve_with_incoming_shutdown(tls_listen::incoming(rx), stopped(stop))
                    .await
            }
        };
        if let Err(err) = result {
            tracing::error!(error = %err, "gRPC server failed");
        }
    })
}

/// The layers every gRPC router of the service has: the client certificate's
/// subject put on each request (`tls_listen::SubjectLayer`).
type GrpcLayers = tower::layer::util::Stack<tls_listen::SubjectLayer, tower::layer::util::Identity>;

/// Resolves once shutdown is signalled (or its sender is gone).
pub(super) async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            break;
        }
    }
}
