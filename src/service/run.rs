//! Running the service: the parts ([`super::build`]) bound and spawned,
//! and the shutdown order (stop fetching, drain, flush the producer,
//! commit, then close the servers).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;

use crate::config::Config;
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::service::admin::AdminService;
use crate::service::http::{router, HttpState};
use crate::service::policy_reload::PolicyManager;
use crate::service::reload::RulesManager;
use crate::service::tls_listen;
use crate::service::watch::WatchService;
use crate::sink::SignalHub;
use crate::source::grpc::IngestService;
use crate::source::kafka::{KafkaSource, RecordFormat};
use crate::telemetry::Telemetry;

use super::build::{build, Parts};

/// A running service.
pub struct RunningService {
    grpc_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    gate: Arc<crate::access::auth::Gate>,
    metrics_addr: Option<SocketAddr>,
    webhook_addr: Option<SocketAddr>,
    shutdown_tx: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    kafka: Option<KafkaSource>,
    rules: Arc<RulesManager>,
    policy: Arc<PolicyManager>,
    overrides: Arc<crate::service::reload::OverridesManager>,
    hub: Arc<SignalHub>,
    shards: Arc<Shards>,
    telemetry: Arc<Telemetry>,
    ready: Arc<AtomicBool>,
    health: tonic_health::server::HealthReporter,
}

/// Starts the service described by `config` on the current tokio runtime
/// (multi-threaded). Returns once every listener is bound.
pub async fn start(config: Config) -> anyhow::Result<RunningService> {
    let Parts {
        telemetry,
        rules,
        policy,
        overrides,
        shards,
        hub,
        kafka_sink,
        pipeline,
        gate,
        grpc_tls,
        metrics_tls,
    } = build(&config)?;
    let e = &config.engine;
    let k = &config.kafka;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let ready = Arc::new(AtomicBool::new(false));
    let mut servers = Vec::new();

    let (health, health_service) = tonic_health::server::health_reporter();
    let admin = AdminService::new(
        shards.clone(),
        rules.clone(),
        overrides.clone(),
        policy.clone(),
        gate.clone(),
    );
    // Admin on a listener of its own (with health), or on grpc.listen.
    let mut admin = Some(pb::admin_server::AdminServer::new(admin));
    let mut admin_addr = None;
    if !config.admin.listen.is_empty() {
        let listener = TcpListener::bind(&config.admin.listen)
            .await
            .map_err(|err| anyhow::anyhow!("admin.listen {}: {err}", config.admin.listen))?;
        admin_addr = Some(listener.local_addr()?);
        let router = grpc_server(&config)
            .layer(tls_listen::SubjectLayer)
            .add_service(health_service.clone())
            .add_optional_service(admin.take());
        servers.push(spawn_grpc(
            listener,
            router,
            grpc_tls.clone(),
            shutdown_rx.clone(),
        ));
        tracing::info!(addr = %admin_addr.map(|a| a.to_string()).unwrap_or_default(), "Admin listening");
    }
    let mut grpc_addr = None;
    if !config.grpc.listen.is_empty() {
        let listener = TcpListener::bind(&config.grpc.listen)
            .await
            .map_err(|err| anyhow::anyhow!("grpc.listen {}: {err}", config.grpc.listen))?;
        grpc_addr = Some(listener.local_addr()?);
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|err| anyhow::anyhow!("reflection: {err}"))?;
        let mut ingest = IngestService::new(
            shards.clone(),
            pipeline.clone(),
            config.grpc.max_batch,
            gate.clone(),
        );
        if config.grpc.ingest_to_kafka && k.enabled() {
            ingest = ingest.producing_to(&k.events_topic);
        }
        let watch_svc = WatchService::new(
            hub.clone(),
            telemetry.clone(),
            shutdown_rx.clone(),
            gate.clone(),
        );
        // Reflection: open, or for authenticated principals only.
        let (open_reflection, checked_reflection) = if config.auth.restrict_reflection {
            let g = gate.clone();
            let check = move |req: tonic::Request<()>| {
                g.authenticate(&req, crate::access::auth::Rpc::Reflection)
                    .map(|_| req)
            };
            (None, Some(InterceptedService::new(reflection, check)))
        } else {
            (Some(reflection), None)
        };
        let router = grpc_server(&config)
            .max_concurrent_streams(config.grpc.max_concurrent_streams)
            .layer(tls_listen::SubjectLayer)
            .add_service(health_service)
            .add_optional_service(open_reflection)
            .add_optional_service(checked_reflection)
            .add_service(
                pb::ingest_server::IngestServer::new(ingest)
                    .max_decoding_message_size(config.grpc.max_message_bytes),
            )
            .add_service(pb::signals_server::SignalsServer::new(watch_svc))
            .add_optional_service(admin.take());
        servers.push(spawn_grpc(
            listener,
            router,
            grpc_tls.clone(),
            shutdown_rx.clone(),
        ));
        tracing::info!(addr = %grpc_addr.map(|a| a.to_string()).unwrap_or_default(), "gRPC listening");
    }

    let mut metrics_addr = None;
    if !config.metrics.listen.is_empty() {
        let listener = TcpListener::bind(&config.metrics.listen)
            .await
            .map_err(|err| anyhow::anyhow!("metrics.listen {}: {err}", config.metrics.listen))?;
        metrics_addr = Some(listener.local_addr()?);
        let app = router(HttpState {
            telemetry: telemetry.clone(),
            shards: shards.clone(),
            ready: ready.clone(),
            metrics_gate: config.auth.restrict_metrics.then(|| gate.clone()),
        });
        let stop = shutdown_rx.clone();
        servers.push(tokio::spawn(tls_listen::serve_http(
            listener,
            metrics_tls,
            app,
            "metrics",
            stop,
        )));
        tracing::info!(addr = %metrics_addr.map(|a| a.to_string()).unwrap_or_default(), "metrics on /metrics");
    }

    let mut webhook_addr = None;
    if !config.webhook.listen.is_empty() {
        let topic = k.enabled().then(|| k.events_topic.clone());
        let receiver = crate::service::webhook::Receiver::new(
            &config.webhook,
            shards.clone(),
            pipeline.clone(),
            topic,
        );
        let (addr, handle) =
            crate::service::webhook::spawn(&config.webhook, receiver, shutdown_rx.clone()).await?;
        webhook_addr = Some(addr);
        servers.push(handle);
    }

    let kafka = match kafka_sink {
        Some(sink) => Some(
            KafkaSource::start(
                crate::source::kafka::SourceSettings::from_config(k),
                RecordFormat::from_config(k, &config.webhook),
                shards.clone(),
                pipeline.clone(),
                sink,
            )
            .map_err(|err| anyhow::anyhow!(err))?,
        ),
        None => None,
    };

    if e.reload_poll_ms > 0 && (e.rules.is_some() || e.policy.is_some()) {
        let rules = rules.clone();
        let policy = policy.clone();
        let audit = gate.audit().clone();
        let every = Duration::from_millis(e.reload_poll_ms);
        let stop = stopped(shutdown_rx.clone());
        servers.push(tokio::spawn(async move {
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

    health
        .set_serving::<pb::ingest_server::IngestServer<IngestService>>()
        .await;
    health
        .set_serving::<pb::signals_server::SignalsServer<WatchService>>()
        .await;
    health
        .set_serving::<pb::admin_server::AdminServer<AdminService>>()
        .await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    ready.store(true, Ordering::Release);
    Ok(RunningService {
        grpc_addr,
        admin_addr,
        gate,
        metrics_addr,
        webhook_addr,
        shutdown_tx,
        servers,
        kafka,
        rules,
        policy,
        overrides,
        hub,
        shards,
        telemetry,
        ready,
        health,
    })
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
async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            break;
        }
    }
}

impl RunningService {
    /// The bound gRPC address.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// The bound Admin address: `admin.listen`, or the gRPC one when Admin shares it.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr.or(self.grpc_addr)
    }

    /// The auth gate (its audit trail records reloads made outside Admin).
    pub fn gate(&self) -> &Arc<crate::access::auth::Gate> {
        &self.gate
    }

    /// The bound metrics address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The bound webhook address.
    pub fn webhook_addr(&self) -> Option<SocketAddr> {
        self.webhook_addr
    }

    /// The rules manager (SIGHUP reloads through it).
    pub fn rules(&self) -> &Arc<RulesManager> {
        &self.rules
    }

    /// The country policy manager (SIGHUP reloads through it).
    pub fn policy(&self) -> &Arc<PolicyManager> {
        &self.policy
    }

    /// The overrides manager (the console decides through it).
    pub fn overrides(&self) -> &Arc<crate::service::reload::OverridesManager> {
        &self.overrides
    }

    /// The signal broadcast (the console's account history reads it).
    pub fn hub(&self) -> &Arc<SignalHub> {
        &self.hub
    }

    /// A receiver that turns true when shutdown begins, for tasks started
    /// beside the service (the console).
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Tasks started beside the service that [`RunningService::shutdown`]
    /// waits for after signalling them.
    pub fn adopt(&mut self, tasks: Vec<JoinHandle<()>>) {
        self.servers.extend(tasks);
    }

    /// The shards.
    pub fn shards(&self) -> &Arc<Shards> {
        &self.shards
    }

    /// The metrics.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Whether the Kafka source stopped on its own (an error: the service should exit).
    pub fn kafka_failed(&self) -> bool {
        self.kafka.as_ref().is_some_and(KafkaSource::finished)
    }

    /// Graceful shutdown: not ready, stop fetching, drain, flush the
    /// producer, commit; then close the servers and flush the file sink.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.ready.store(false, Ordering::Release);
        self.health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        let mut result = Ok(());
        if let Some(k) = self.kafka.take() {
            match tokio::task::spawn_blocking(move || k.stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(anyhow::anyhow!("kafka source: {e}")),
                Err(e) => result = Err(anyhow::anyhow!("kafka source: {e}")),
            }
        }
        let _ = self.shutdown_tx.send(true);
        for s in self.servers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
        self.hub.flush();
        self.gate.audit().flush();
        result
    }
}
