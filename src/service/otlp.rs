//! `[tracing]` -> an OpenTelemetry tracer provider: the OTLP/gRPC span
//! exporter (tonic) behind a batch processor, a parent-based ratio
//! sampler and the `service.name` resource. Built once at start, before
//! the log subscriber is installed (the subscriber carries the layer that
//! turns `telemetry::spans` into OTel spans); flushed on shutdown.
//!
//! Only the section is read here: the resource has `service.name` and
//! nothing from the environment. The SDK's batch processor and the OTLP
//! exporter still honour their standard variables (`OTEL_BSP_*`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_HEADERS`), read by
//! the SDK when this builds the provider, at the top of `satpam serve`.

use std::time::Duration;

use anyhow::{Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Tracer};
use opentelemetry_sdk::Resource;

use crate::config::TracingSection;

/// How long shutdown waits for the last spans to be exported.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running tracer provider; spans reach it through [`Tracing::tracer`].
pub struct Tracing {
    provider: SdkTracerProvider,
    endpoint: String,
    ratio: f64,
}

impl Tracing {
    /// The provider `section` describes, or `None` when tracing is off
    /// (no endpoint). Needs a Tokio runtime entered: the exporter's gRPC
    /// channel runs on it. Nothing is connected yet (the channel is lazy).
    pub fn build(section: &TracingSection) -> Result<Option<Tracing>> {
        if !section.enabled() {
            return Ok(None);
        }
        let endpoint = section.otlp_endpoint.trim().to_string();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .with_context(|| format!("tracing.otlp_endpoint {endpoint}"))?;
        let resource = Resource::builder_empty()
            .with_attribute(KeyValue::new(
                "service.name",
                section.service_name.trim().to_string(),
            ))
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                section.sample_ratio,
            ))))
            .with_resource(resource)
            .with_batch_exporter(exporter)
            .build();
        Ok(Some(Tracing {
            provider,
            endpoint,
            ratio: section.sample_ratio,
        }))
    }

    /// The tracer the log subscriber's OpenTelemetry layer records with.
    pub fn tracer(&self) -> Tracer {
        self.provider.tracer("satpam")
    }

    /// The collector's address (for the start-up log line).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The configured sample ratio (for the start-up log line).
    pub fn sample_ratio(&self) -> f64 {
        self.ratio
    }

    /// Exports the spans still queued and stops the exporter. Blocks: call
    /// it off the async runtime's threads (the runtime must still run).
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %e, "tracing: spans not all exported at shutdown");
        }
    }
}
