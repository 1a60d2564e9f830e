//! The `[tracing]` section: OpenTelemetry traces over OTLP/gRPC, off unless
//! an endpoint is set.

use serde::{Deserialize, Serialize};

/// `[tracing]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingSection {
    /// The OTLP/gRPC collector, `http://host:4317` (plaintext, no TLS);
    /// empty: tracing off.
    pub otlp_endpoint: String,
    /// The share of traces recorded, 0.0 to 1.0 (parent-based: a trace
    /// whose caller sampled it is kept, whatever the ratio).
    pub sample_ratio: f64,
    /// `service.name` on every span.
    pub service_name: String,
}

impl Default for TracingSection {
    fn default() -> Self {
        TracingSection {
            otlp_endpoint: String::new(),
            sample_ratio: 0.01,
            service_name: "satpam".into(),
        }
    }
}

impl TracingSection {
    /// Whether traces are exported.
    pub fn enabled(&self) -> bool {
        !self.otlp_endpoint.trim().is_empty()
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(format!(
                "tracing.sample_ratio: {} is not between 0.0 and 1.0",
                self.sample_ratio
            ));
        }
        if self.enabled() {
            let e = self.otlp_endpoint.trim();
            // Plaintext gRPC only: the exporter is built without TLS, so the
            // collector runs beside satpam (a sidecar or the node's agent).
            if !e.starts_with("http://") {
                return Err(format!(
                    "tracing.otlp_endpoint: `{e}` is not an http:// URL (TLS to the collector is not supported)"
                ));
            }
            if self.service_name.trim().is_empty() {
                return Err(
                    "tracing.service_name must be set when tracing.otlp_endpoint is".into(),
                );
            }
        }
        Ok(())
    }
}
