//! `satpam serve`: load the config, start the service, reload rules on
//! SIGHUP, shut down gracefully on SIGTERM or SIGINT.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use satpam::service::otlp::Tracing;
use satpam::service::{self, Config};
use tokio::signal::unix::{signal, SignalKind};

use super::logging::{self, LogFormat};

/// Runs `satpam serve`.
pub fn run(config_path: Option<&Path>, print_config: bool) -> Result<ExitCode> {
    // The environment is read here, once, and handed to the config.
    let config = Config::load(config_path, std::env::vars()).context("config")?;
    if print_config {
        print!("{}", config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    // The environment is read here and handed to the log setup.
    let format = LogFormat::parse(std::env::var("SATPAM_LOG_FORMAT").ok().as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("satpam-rt")
        .build()
        .context("tokio runtime")?;
    // `[tracing]`: built once, in the runtime (its exporter's channel runs
    // there), before the subscriber that carries its layer.
    let traces = {
        let _in_runtime = runtime.enter();
        service::build::tracing(&config).context("tracing")?
    };
    logging::init(
        std::env::var("SATPAM_LOG").ok().as_deref(),
        format,
        traces.as_ref().map(Tracing::tracer),
    );
    if let Some(t) = &traces {
        tracing::info!(
            endpoint = t.endpoint(),
            sample_ratio = t.sample_ratio(),
            "tracing: spans exported over OTLP/gRPC"
        );
    }
    let code = runtime.block_on(serve(config));
    if let Some(t) = traces {
        // The runtime still runs (its worker threads drive the exporter's
        // channel); this thread is not one of them, so it may block.
        t.shutdown();
    }
    code
}

async fn serve(config: Config) -> Result<ExitCode> {
    let kafka = config.kafka.enabled();
    let whole = config.clone();
    let mut running = service::start(config).await?;
    let console = satpam::console::start(&mut running, &whole).await?;
    tracing::info!(
        grpc = %running.grpc_addr().map(|a| a.to_string()).unwrap_or_else(|| "off".into()),
        console = %console.map(|a| format!("http://{a}/")).unwrap_or_else(|| "off".into()),
        metrics = %running.metrics_addr().map(|a| format!("http://{a}/metrics")).unwrap_or_else(|| "off".into()),
        kafka,
        "satpam serving"
    );
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut check = tokio::time::interval(Duration::from_millis(500));
    let mut failed = false;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading rules and the country policy");
                satpam::service::audited_reloads::on_sighup(
                    running.rules(),
                    running.policy(),
                    running.gate().audit(),
                )
                .await;
            }
            _ = check.tick() => {
                if running.kafka_failed() {
                    tracing::error!("the Kafka source stopped; shutting down");
                    failed = true;
                    break;
                }
            }
        }
    }
    let result = running.shutdown().await;
    match result {
        Ok(()) if !failed => {
            tracing::info!("stopped cleanly");
            Ok(ExitCode::SUCCESS)
        }
        Ok(()) => Ok(ExitCode::from(1)),
        Err(e) => {
            tracing::error!(error = %e, "stopped with an error");
            Ok(ExitCode::from(1))
        }
    }
}
