//! The audit topic: each record as JSON, keyed by tenant (empty for
//! service-wide records), produced with acks=all; a record the broker does
//! not take is logged (without its content) and counted as a failure.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::record::AuditRecord;
use crate::telemetry::Telemetry;

/// Counts records the broker did not take.
struct Deliveries {
    telemetry: Arc<Telemetry>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.telemetry.auth.audit_failures.increment(1);
            tracing::error!(error = %e, "audit topic: a record was not acknowledged");
        }
    }
}

/// A producer to the audit topic.
pub struct AuditTopic {
    producer: ThreadedProducer<Deliveries>,
    topic: String,
}

impl AuditTopic {
    /// A producer to `topic` on `brokers`, with the service's extra producer properties.
    pub fn new(
        brokers: &str,
        topic: &str,
        extra: &BTreeMap<String, String>,
        telemetry: Arc<Telemetry>,
    ) -> Result<AuditTopic, rdkafka::error::KafkaError> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "60000");
        for (k, v) in extra {
            cfg.set(k, v);
        }
        Ok(AuditTopic {
            producer: cfg.create_with_context(Deliveries { telemetry })?,
            topic: topic.to_string(),
        })
    }

    /// Queues one record; false when it could not be queued.
    pub fn send(&self, r: &AuditRecord) -> bool {
        let Ok(payload) = serde_json::to_vec(r) else {
            return false;
        };
        self.producer
            .send(
                BaseRecord::to(&self.topic)
                    .key(r.tenant_id.as_bytes())
                    .payload(&payload),
            )
            .is_ok()
    }

    /// Waits up to `timeout` for queued records to be acknowledged.
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(timeout) {
            tracing::error!(error = %e, "audit topic: records not acknowledged at shutdown");
        }
    }
}
