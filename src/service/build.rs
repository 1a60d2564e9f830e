//! Config -> parts: everything the service runs, built and checked before
//! anything is bound or spawned: the rules, the policy and the overrides
//! loaded, the shards over one engine context, the signal hub with its
//! JSONL sink, the Kafka producer, the pipeline, the gate (principals and
//! audit trail) and the TLS server configs. An error here leaves nothing
//! running; [`super::run::start`] binds and spawns from the parts.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use tokio_rustls::rustls::ServerConfig;

use crate::access::auth::Gate;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::decide::files::{DecisionFiles, MissingOverrides};
use crate::engine::{EngineConfig, EngineContext};
use crate::pipeline::shards::Shards;
use crate::pipeline::{Fence, Pipeline};
use crate::service::actions_table::ActionsTopic;
use crate::service::policy_reload::PolicyManager;
use crate::service::reload::{OverridesManager, RulesManager};
use crate::sink::jsonl::JsonlSink;
use crate::sink::kafka::KafkaSink;
use crate::sink::SignalHub;
use crate::telemetry::Telemetry;

/// What a service is made of, before it runs.
pub struct Parts {
    /// Metrics handles, registered once.
    pub telemetry: Arc<Telemetry>,
    /// The rules in force and their reloads.
    pub rules: Arc<RulesManager>,
    /// The country policy in force and its reloads.
    pub policy: Arc<PolicyManager>,
    /// Analyst overrides and their file.
    pub overrides: Arc<OverridesManager>,
    /// With Kafka, the fleet's actions in force (the actions topic).
    pub actions: Option<Arc<ActionsTopic>>,
    /// Every shard of the instance.
    pub shards: Arc<Shards>,
    /// Signals to Watch streams and the JSONL sink.
    pub hub: Arc<SignalHub>,
    /// The signals and dead-letter producer, with Kafka configured.
    pub kafka_sink: Option<Arc<KafkaSink>>,
    /// One event through a shard, with its sinks and telemetry.
    pub pipeline: Arc<Pipeline>,
    /// Who may call what, and the audit trail.
    pub gate: Arc<Gate>,
    /// `[grpc.tls]` (the gRPC listener and Admin's own); `None`: plaintext.
    pub grpc_tls: Option<Arc<ServerConfig>>,
    /// `[metrics.tls]`; `None`: plaintext.
    pub metrics_tls: Option<Arc<ServerConfig>>,
}

/// The OpenTelemetry tracer provider `[tracing]` describes, or `None` when
/// tracing is off. Built once, at the top of `satpam serve`, before the log
/// subscriber (which carries the span layer) and before [`build`]; needs a
/// Tokio runtime entered.
pub fn tracing(config: &Config) -> anyhow::Result<Option<crate::service::otlp::Tracing>> {
    crate::service::otlp::Tracing::build(&config.tracing)
}

/// Builds the parts of the service `config` describes.
pub fn build(config: &Config) -> anyhow::Result<Parts> {
    let telemetry = Telemetry::new();
    for ignored in config.ignored_keys() {
        tracing::warn!("{ignored}");
    }
    let e = &config.engine;
    let ctx = context(config)?;
    let rules = Arc::new(
        RulesManager::new(ctx.clone(), e.rules.clone(), telemetry.clone()).with_compile_timeout(
            Duration::from_millis(config.limits.rules_compile_timeout_ms),
        ),
    );
    let policy = Arc::new(PolicyManager::new(
        ctx.clone(),
        e.policy.clone(),
        telemetry.clone(),
    ));
    let overrides = Arc::new(overrides(config, &ctx)?);
    let actions = actions(config)?;
    let shards = Arc::new(Shards::new(ctx.clone(), e.grpc_shards));

    let jsonl = match &config.sinks.jsonl {
        Some(p) => Some(
            JsonlSink::open(p)
                .map_err(|err| anyhow::anyhow!("sinks.jsonl {}: {err}", p.display()))?,
        ),
        None => None,
    };
    let hub = Arc::new(SignalHub::new(
        config.grpc.watch_buffer,
        jsonl,
        telemetry.clone(),
    ));
    let kafka_sink = kafka_sink(config, &telemetry)?;
    let pipeline = Arc::new(Pipeline {
        hub: hub.clone(),
        kafka: kafka_sink.clone(),
        telemetry: telemetry.clone(),
        fence: Fence::default(),
    });

    let gate = crate::access::auth::build::gate(config, telemetry.clone())?;
    let grpc_tls = config
        .grpc
        .tls
        .server_config("grpc.tls", &[b"h2"])
        .map_err(anyhow::Error::msg)?;
    let metrics_tls = config
        .metrics
        .tls
        .server_config("metrics.tls", &[b"http/1.1"])
        .map_err(anyhow::Error::msg)?;
    Ok(Parts {
        telemetry,
        rules,
        policy,
        overrides,
        actions,
        shards,
        hub,
        kafka_sink,
        pipeline,
        gate,
        grpc_tls,
        metrics_tls,
    })
}

/// The engine context: the rules, the policy and the overrides files
/// loaded (the overrides file is the service's own: a missing one is no
/// overrides yet), the wall clock, the state limits.
fn context(config: &Config) -> anyhow::Result<Arc<EngineContext>> {
    let e = &config.engine;
    let loaded = DecisionFiles {
        rules: e.rules.as_deref(),
        policy: e.policy.as_deref(),
        overrides: e.overrides.as_deref(),
    }
    .load(MissingOverrides::Empty)?;
    let ctx = Arc::new(EngineContext::new(
        loaded.rules,
        loaded.policy,
        Arc::new(SystemClock),
        EngineConfig {
            limits: config.state_limits(),
            event_time: config.limits.event_time(),
            ..EngineConfig::default()
        },
    ));
    ctx.swap_overrides(loaded.overrides);
    Ok(ctx)
}

/// The clients of a fleet-wide table topic: a producer (also the admin
/// client that creates the topic) and a reader that reads it whole.
fn table_clients(k: &crate::config::KafkaSection, table: &str) -> (ClientConfig, ClientConfig) {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &k.brokers);
    let mut reader = client.clone();
    for (key, v) in k.producer_properties() {
        client.set(key, v);
    }
    reader
        .set("group.id", format!("{}-{table}", k.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for (key, v) in k.consumer_properties() {
        reader.set(key, v);
    }
    (client, reader)
}

/// The overrides manager: the file, and with Kafka the fleet's overrides
/// topic (read to its end here, then followed).
fn overrides(config: &Config, ctx: &Arc<EngineContext>) -> anyhow::Result<OverridesManager> {
    let manager = OverridesManager::new(ctx.clone(), config.engine.overrides.clone());
    let k = &config.kafka;
    if !k.enabled() {
        return Ok(manager);
    }
    let (client, reader) = table_clients(k, "overrides");
    let topic = crate::service::overrides_topic::OverridesTopic::start(
        k.overrides_topic_name(),
        &client,
        &reader,
        ctx.clone(),
    )?;
    Ok(manager.with_topic(Arc::new(topic)))
}

/// With Kafka and `kafka.actions_topic` set, the fleet's actions in force:
/// the actions topic read to its end here, then followed.
fn actions(config: &Config) -> anyhow::Result<Option<Arc<ActionsTopic>>> {
    let k = &config.kafka;
    let Some(name) = k.actions_topic_name().filter(|_| k.enabled()) else {
        return Ok(None);
    };
    let (client, reader) = table_clients(k, "actions");
    let topic = ActionsTopic::start(&name, &client, &reader)?;
    Ok(Some(Arc::new(topic)))
}

/// The signals and dead-letter producer, with Kafka configured.
fn kafka_sink(
    config: &Config,
    telemetry: &Arc<Telemetry>,
) -> anyhow::Result<Option<Arc<KafkaSink>>> {
    let k = &config.kafka;
    if !k.enabled() {
        return Ok(None);
    }
    let sink = KafkaSink::new(
        &k.brokers,
        &k.signals_topic,
        &k.dead_letter_topic,
        &k.producer_properties(),
        telemetry.clone(),
    )
    .map_err(|err| anyhow::anyhow!("cannot create the Kafka producer: {err}"))?;
    let sink = match k.actions_topic_name() {
        Some(topic) => sink.with_actions_topic(topic),
        None => sink,
    };
    Ok(Some(Arc::new(sink)))
}
