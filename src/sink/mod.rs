//! Where signals go: the Watch broadcast, a JSONL file and, when Kafka is
//! configured, the signals topic (see [`kafka`]). A signal is converted to
//! its wire form once and shared.

pub mod jsonl;
pub mod kafka;
pub mod kafka_client;
pub mod table_key;
pub mod writer;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::decide::Signal;
use crate::pb::v1 as pb;
use crate::telemetry::Telemetry;

/// A signal in wire form, shared between sinks.
pub type WireSignal = Arc<pb::EnforcementSignal>;

/// Fans signals out to the in-process sinks (Watch streams, JSONL).
pub struct SignalHub {
    watch: broadcast::Sender<WireSignal>,
    jsonl: Option<jsonl::JsonlSink>,
    telemetry: Arc<Telemetry>,
}

impl SignalHub {
    /// A hub whose Watch streams may each fall `watch_buffer` signals behind.
    pub fn new(
        watch_buffer: usize,
        jsonl: Option<jsonl::JsonlSink>,
        telemetry: Arc<Telemetry>,
    ) -> Self {
        let (watch, _) = broadcast::channel(watch_buffer.max(1));
        SignalHub {
            watch,
            jsonl,
            telemetry,
        }
    }

    /// Counts, converts and hands a signal to every in-process sink; returns the wire form.
    pub fn publish(&self, s: &Signal) -> WireSignal {
        self.telemetry.signal(s.action).increment(1);
        let wire: WireSignal = Arc::new(pb::EnforcementSignal::from(s));
        if let Some(j) = &self.jsonl {
            j.write(&wire);
        }
        // No watcher is not an error.
        let _ = self.watch.send(wire.clone());
        wire
    }

    /// A new Watch subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<WireSignal> {
        self.watch.subscribe()
    }

    /// Flushes the file sink.
    pub fn flush(&self) {
        if let Some(j) = &self.jsonl {
            j.flush();
        }
    }
}
