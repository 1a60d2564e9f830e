//! Running the service: the parts ([`super::build`]) bound and spawned,
//! and the shutdown order (stop fetching, drain, flush the producer,
//! commit, then close the servers).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::service::admin::AdminService;
use crate::service::policy_reload::PolicyManager;
use crate::service::reload::RulesManager;
use crate::service::watch::WatchService;
use crate::sink::SignalHub;
use crate::source::grpc::IngestService;
use crate::source::kafka::KafkaSource;
use crate::telemetry::Telemetry;

use super::build::{build, Parts};
use super::listeners::Listeners;

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
    /// The actions topic's follower: kept (and so following) while the
    /// service runs.
    actions: Option<Arc<crate::service::actions_table::ActionsTopic>>,
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
    let parts = build(&config)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let ready = Arc::new(AtomicBool::new(false));
    let (health, health_service) = tonic_health::server::health_reporter();
    let mut l = Listeners {
        config: &config,
        parts: &parts,
        stop: shutdown_rx,
        servers: Vec::new(),
    };
    // Admin on a listener of its own (with health), or on grpc.listen.
    let mut admin = Some(pb::admin_server::AdminServer::new(
        AdminService::new(
            parts.shards.clone(),
            parts.rules.clone(),
            parts.overrides.clone(),
            parts.policy.clone(),
            parts.gate.clone(),
        )
        .with_actions(parts.actions.as_ref().map(|a| a.table().clone())),
    ));
    let admin_addr = l.admin(&mut admin, health_service.clone()).await?;
    let grpc_addr = l.grpc(&mut admin, health_service).await?;
    let metrics_addr = l.metrics(ready.clone()).await?;
    let webhook_addr = l.webhook().await?;
    let kafka = l.kafka()?;
    l.reload_poll();
    let servers = l.servers;
    mark_serving(&health).await;
    ready.store(true, Ordering::Release);
    let Parts {
        telemetry,
        rules,
        policy,
        overrides,
        actions,
        shards,
        hub,
        gate,
        ..
    } = parts;
    Ok(RunningService {
        grpc_addr,
        admin_addr,
        gate,
        metrics_addr,
        webhook_addr,
        shutdown_tx,
        servers,
        kafka,
        actions,
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

/// Every service reports SERVING.
async fn mark_serving(health: &tonic_health::server::HealthReporter) {
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

    /// The fleet's actions in force, when `kafka.actions_topic` is set.
    pub fn actions_table(&self) -> Option<Arc<crate::service::actions_table::ActionsTable>> {
        self.actions.as_ref().map(|a| a.table().clone())
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
        if let Some(a) = self.actions.take() {
            let _ = tokio::task::spawn_blocking(move || a.stop()).await;
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
