//! Trace spans (OpenTelemetry through `tracing`): one per input batch
//! (a Kafka worker batch, a gRPC Ingest batch, a webhook request), one
//! around the batch's engine processing, one per signal produced. Every
//! input uses these constructors, so the names and attributes are one list.
//!
//! The spans have their own target, [`TARGET`]: the log layer never sees
//! them and only the OTLP layer (`[tracing]`) is interested, so with tracing
//! off a span macro is a cached "not interested" check and nothing more (no
//! allocation, no clock read). Attributes are counts, the source, the
//! tenant and account ids and the action: never message text, never user
//! ids or phone numbers (docs/security.md).

use tracing::field::Empty;
use tracing::Span;

/// The `tracing` target of every trace span (the log layer filters it out).
pub const TARGET: &str = "satpam::trace";

/// Span names, as a collector shows them.
pub mod names {
    /// A batch from the Kafka events topic, as one worker processes it.
    pub const KAFKA_BATCH: &str = "kafka.batch";
    /// One `satpam.v1.Ingest` batch.
    pub const GRPC_BATCH: &str = "grpc.ingest.batch";
    /// One webhook or send-API request.
    pub const WEBHOOK_REQUEST: &str = "webhook.request";
    /// The engine processing of one batch's events.
    pub const ENGINE_BATCH: &str = "engine.batch";
    /// One signal handed to the sinks (Watch, JSONL, the signals topic).
    pub const SIGNAL_PRODUCE: &str = "signal.produce";
}

/// A Kafka worker batch of `events` records.
pub fn kafka_batch(events: usize) -> Span {
    tracing::info_span!(target: TARGET, names::KAFKA_BATCH, otel.kind = "consumer", satpam.source = "kafka", satpam.events = events)
}

/// An Ingest batch `batch_id` of `events` events.
pub fn grpc_batch(batch_id: u64, events: usize) -> Span {
    tracing::info_span!(target: TARGET, names::GRPC_BATCH, otel.kind = "server", satpam.source = "grpc", satpam.batch_id = batch_id, satpam.events = events)
}

/// A webhook request to `route` (`notifications` or `send`); the event
/// count is recorded once the body is mapped ([`record_events`]).
pub fn webhook_request(route: &'static str) -> Span {
    tracing::info_span!(target: TARGET, names::WEBHOOK_REQUEST, otel.kind = "server", satpam.source = "webhook", satpam.route = route, satpam.events = Empty)
}

/// Records a span's event count when it is known only later.
pub fn record_events(span: &Span, events: usize) {
    span.record("satpam.events", events);
}

/// The engine processing of a batch of `events` events; its tenant count
/// is recorded by [`Tenants::finish`].
pub fn engine_batch(events: usize) -> Span {
    tracing::info_span!(target: TARGET, names::ENGINE_BATCH, satpam.events = events, satpam.tenants = Empty, satpam.signals = Empty)
}

/// One signal handed to the sinks.
pub fn signal_produce(tenant_id: &str, account_id: &str, action: &'static str) -> Span {
    tracing::info_span!(target: TARGET, names::SIGNAL_PRODUCE, otel.kind = "producer", satpam.tenant_id = tenant_id, satpam.account_id = account_id, satpam.action = action)
}

/// Counts a batch's distinct tenants and signals for its engine span, only
/// when the span is recorded: with tracing off, [`Tenants::add`] is one
/// branch and nothing is allocated.
pub struct Tenants {
    /// Hashes of the tenant ids seen; `None` when the span is off.
    seen: Option<Vec<u64>>,
    signals: u64,
}

impl Tenants {
    /// A tally for `span` (nothing is kept when it is disabled).
    pub fn new(span: &Span) -> Tenants {
        Tenants {
            seen: (!span.is_disabled()).then(Vec::new),
            signals: 0,
        }
    }

    /// Notes one event's tenant.
    pub fn add(&mut self, tenant_id: &str) {
        if let Some(seen) = &mut self.seen {
            seen.push(xxhash_rust::xxh3::xxh3_64(tenant_id.as_bytes()));
        }
    }

    /// Notes one signal produced.
    pub fn signal(&mut self) {
        self.signals += 1;
    }

    /// Records the distinct tenant and signal counts on `span`.
    pub fn finish(self, span: &Span) {
        if let Some(mut seen) = self.seen {
            seen.sort_unstable();
            seen.dedup();
            span.record("satpam.tenants", seen.len() as u64);
            span.record("satpam.signals", self.signals);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_subscriber_spans_are_off_and_nothing_is_tallied() {
        let span = engine_batch(3);
        assert!(span.is_disabled());
        let mut t = Tenants::new(&span);
        t.add("bsp-1");
        assert!(t.seen.is_none());
        t.finish(&span);
    }
}
