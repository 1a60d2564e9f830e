//! `satpam.v1.Ingest`: a bidirectional stream of event batches, one ack per
//! batch, in order. A batch is acked once every event in it is processed
//! and, with Kafka configured, its signals are acknowledged by the broker.
//! Invalid events are refused in the ack (and dead-lettered to Kafka when
//! configured); the stream goes on. The caller needs the `ingest` role; an
//! event of a tenant outside the caller's is refused in the ack (not
//! dead-lettered: it is the caller's error), the rest of the batch goes on.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::access::auth::{Gate, Role, Rpc, Scope, TenantScope};
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::pipeline::{Handled, Pipeline, WorkerState};
use crate::sink::kafka::{DeadLetterOrigin, Delivery};
use crate::telemetry::spans::{self, Tenants};
use crate::telemetry::Source;

/// The Ingest service.
pub struct IngestService {
    shards: Arc<Shards>,
    pipeline: Arc<Pipeline>,
    max_batch: usize,
    gate: Arc<Gate>,
    /// The events topic valid events are produced to (a fleet); None:
    /// decided here, in the gRPC shards.
    events_topic: Option<Arc<str>>,
}

impl IngestService {
    /// Ingest into `shards` through `pipeline`; larger batches than
    /// `max_batch` are refused; callers are checked by `gate`.
    pub fn new(
        shards: Arc<Shards>,
        pipeline: Arc<Pipeline>,
        max_batch: usize,
        gate: Arc<Gate>,
    ) -> Self {
        IngestService {
            shards,
            pipeline,
            max_batch,
            gate,
            events_topic: None,
        }
    }

    /// Valid events go to `topic` (keyed by account) rather than to this
    /// instance's shards, when the pipeline has a Kafka producer.
    pub fn producing_to(mut self, topic: &str) -> Self {
        if self.pipeline.kafka.is_some() {
            self.events_topic = Some(Arc::from(topic));
        }
        self
    }
}

/// Broker acknowledgements a batch waits for before its ack.
type Waits = Vec<tokio::sync::oneshot::Receiver<Result<(), String>>>;

/// Dead-letters a refused event (Kafka only); the broker's acknowledgement
/// joins `waits`.
fn dead_letter(pipeline: &Pipeline, message: &pb::MessageEvent, reason: &str, waits: &mut Waits) {
    if let Some(k) = &pipeline.kafka {
        // Only a refused message is encoded again for the dead-letter topic.
        let bytes = prost::Message::encode_to_vec(message);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let origin = DeadLetterOrigin {
            source: "grpc",
            topic: "",
            partition: -1,
            offset: -1,
        };
        if k.send_dead_letter(None, &bytes, reason, &origin, Delivery::Notify(tx))
            .is_ok()
        {
            waits.push(rx);
        }
    }
}

/// Produces a valid event to `topic` keyed by its account; the broker's
/// acknowledgement joins `waits` (a record the producer would not take
/// fails the batch there: its sender is dropped).
fn produce(pipeline: &Pipeline, topic: &str, account_id: &str, bytes: &[u8], waits: &mut Waits) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if let Some(k) = &pipeline.kafka {
        if let Err(e) = k.send_event(topic, account_id, bytes, Delivery::Notify(tx)) {
            tracing::warn!(error = %e, "an ingested event was not produced; its batch fails");
        }
    }
    waits.push(rx);
}

/// The caller's tenants, and the gate that counts refusals.
struct Caller<'a> {
    tenants: &'a TenantScope,
    gate: &'a Gate,
}

type AckStream = Pin<Box<dyn Stream<Item = Result<pb::BatchAck, Status>> + Send>>;

/// Processes one batch; returns its ack and the broker acknowledgements to await.
fn process_batch(
    shards: &Shards,
    pipeline: &Pipeline,
    w: &mut WorkerState,
    caller: &Caller<'_>,
    events_topic: Option<&str>,
    batch: pb::EventBatch,
) -> (pb::BatchAck, Waits) {
    let counters = pipeline.telemetry.source(Source::Grpc);
    let mut ack = pb::BatchAck {
        batch_id: batch.batch_id,
        ..Default::default()
    };
    let mut waits = Vec::new();
    counters.events.increment(batch.events.len() as u64);
    let span = spans::engine_batch(batch.events.len());
    let _in_span = span.enter();
    let mut tenants = Tenants::new(&span);
    for (i, m) in batch.events.into_iter().enumerate() {
        let dequeued = Instant::now();
        tenants.add(&m.tenant_id);
        if !caller.tenants.allows(&m.tenant_id) {
            caller.gate.count_tenant_refusal(Rpc::Ingest);
            ack.rejected += 1;
            ack.rejections.push(pb::Rejection {
                index: i as u32,
                reason: "permission denied: the event's tenant_id is outside the caller's tenants"
                    .into(),
            });
            continue;
        }
        if let Some(topic) = events_topic {
            // A fleet: validated here (refusals in the ack), decided by the
            // partition's owner, which also judges the event's time.
            let bytes = prost::Message::encode_to_vec(&m);
            let account_id = m.account_id.clone();
            match crate::convert::event_or_refusal(m) {
                Ok(_) => {
                    produce(pipeline, topic, &account_id, &bytes, &mut waits);
                    ack.accepted += 1;
                }
                Err(crate::convert::Refusal { reason, message }) => {
                    counters.validation_failures.increment(1);
                    counters.dead_lettered.increment(1);
                    let reason = reason.to_string();
                    dead_letter(pipeline, &message, &reason, &mut waits);
                    ack.rejected += 1;
                    ack.rejections.push(pb::Rejection {
                        index: i as u32,
                        reason,
                    });
                }
            }
            continue;
        }
        // The shard judges the event's time before the message is taken apart,
        // so that a refused one is dead-lettered as it came.
        let engine = shards.grpc_shard(&m.tenant_id, &m.account_id);
        let event = match crate::convert::event_or_refusal_with(m, |m| {
            engine.check_event_time(m.timestamp_ms).map_err(|e| {
                counters.event_time_refused.increment(1);
                crate::convert::ValidationError::EventTime(e)
            })
        }) {
            Ok(e) => e,
            Err(crate::convert::Refusal { reason, message }) => {
                if !matches!(reason, crate::convert::ValidationError::EventTime(_)) {
                    counters.validation_failures.increment(1);
                }
                counters.dead_lettered.increment(1);
                let reason = reason.to_string();
                dead_letter(pipeline, &message, &reason, &mut waits);
                ack.rejected += 1;
                ack.rejections.push(pb::Rejection {
                    index: i as u32,
                    reason,
                });
                continue;
            }
        };
        let handled = pipeline.handle(engine, &event, Source::Grpc, w, dequeued, || {
            let (tx, rx) = tokio::sync::oneshot::channel();
            waits.push(rx);
            Some(Delivery::Notify(tx))
        });
        if let Handled::Refused(reason) = handled {
            // The shard's watermark moved since the check (another stream):
            // refused in the ack; the client holds the message.
            ack.rejected += 1;
            ack.rejections.push(pb::Rejection {
                index: i as u32,
                reason: format!("refused event: {reason}"),
            });
            continue;
        }
        ack.accepted += 1;
        match handled {
            Handled::Processed(Some(_)) => {
                ack.signals += 1;
                tenants.signal();
            }
            Handled::Duplicate => ack.duplicates += 1,
            Handled::Processed(None) | Handled::Late | Handled::Refused(_) => {}
        }
    }
    tenants.finish(&span);
    (ack, waits)
}

#[tonic::async_trait]
impl pb::ingest_server::Ingest for IngestService {
    type IngestStream = AckStream;

    async fn ingest(
        &self,
        request: Request<Streaming<pb::EventBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        let principal = self
            .gate
            .check(&request, Rpc::Ingest, Role::Ingest, Scope::Any)?;
        let gate = self.gate.clone();
        let tenants = Arc::new(principal.tenants.clone());
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(32);
        let shards = self.shards.clone();
        let pipeline = self.pipeline.clone();
        let max_batch = self.max_batch;
        let events_topic = self.events_topic.clone();
        tokio::spawn(async move {
            let mut w = pipeline.worker();
            loop {
                let batch = match inbound.message().await {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(status) => {
                        // A batch over grpc.max_message_bytes (OUT_OF_RANGE) or a
                        // broken stream: the client is told why, if it still listens.
                        tracing::debug!(code = ?status.code(), "ingest stream ended with an error");
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                if batch.events.len() > max_batch {
                    let _ = tx
                        .send(Err(Status::invalid_argument(format!(
                            "batch {} has {} events; at most {max_batch} are accepted",
                            batch.batch_id,
                            batch.events.len()
                        ))))
                        .await;
                    break;
                }
                // The batch's trace span: processing, then the broker's acks.
                let span = spans::grpc_batch(batch.batch_id, batch.events.len());
                let in_blocking = span.clone();
                // CPU work of a bounded size (max_batch events, microseconds
                // each), done on a blocking thread so that it never holds up
                // the async runtime's other streams.
                let (sh, pl) = (shards.clone(), pipeline.clone());
                let (g, t) = (gate.clone(), tenants.clone());
                let topic = events_topic.clone();
                let done = tokio::task::spawn_blocking(move || {
                    let _in_span = in_blocking.enter();
                    let caller = Caller {
                        tenants: &t,
                        gate: &g,
                    };
                    let (ack, waits) =
                        process_batch(&sh, &pl, &mut w, &caller, topic.as_deref(), batch);
                    (w, ack, waits)
                })
                .await;
                let (ack, waits) = match done {
                    Ok((back, ack, waits)) => {
                        w = back;
                        (ack, waits)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "an ingest batch's processing failed");
                        let _ = tx
                            .send(Err(Status::internal("the batch's processing failed")))
                            .await;
                        return;
                    }
                };
                let mut failed = None;
                for rx in waits {
                    match rx.await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => failed = Some(e),
                        Err(_) => failed = Some("producer dropped the record".into()),
                    }
                }
                if let Some(e) = failed {
                    let _ = tx
                        .send(Err(Status::unavailable(format!(
                            "batch {}: an event, signal or dead letter was not acknowledged by Kafka: {e}",
                            ack.batch_id
                        ))))
                        .await;
                    break;
                }
                pipeline.telemetry.ingest_batches.increment(1);
                // Latency counts reach /metrics once per batch (a fold is a
                // few dozen atomic adds), not only every FLUSH_EVERY events.
                w.latency.flush(&pipeline.telemetry.latency);
                if tx.send(Ok(ack)).await.is_err() {
                    break;
                }
                drop(span);
            }
            w.latency.flush(&pipeline.telemetry.latency);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
