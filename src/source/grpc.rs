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

/// One batch on its way through: its ack and the broker acknowledgements it
/// waits for.
struct BatchRun<'a> {
    pipeline: &'a Pipeline,
    counters: &'a crate::telemetry::SourceCounters,
    ack: pb::BatchAck,
    waits: Waits,
}

impl BatchRun<'_> {
    fn reject(&mut self, index: usize, reason: String) {
        self.ack.rejected += 1;
        self.ack.rejections.push(pb::Rejection {
            index: index as u32,
            reason,
        });
    }

    /// A refused event: counted, dead-lettered (with Kafka), rejected in the ack.
    fn refuse(&mut self, index: usize, refusal: crate::convert::Refusal) {
        let crate::convert::Refusal { reason, message } = refusal;
        if !matches!(reason, crate::convert::ValidationError::EventTime(_)) {
            self.counters.validation_failures.increment(1);
        }
        self.counters.dead_lettered.increment(1);
        let reason = reason.to_string();
        dead_letter(self.pipeline, &message, &reason, &mut self.waits);
        self.reject(index, reason);
    }

    /// A fleet: validated here (refusals in the ack), produced to `topic`
    /// and decided by the partition's owner, which also judges its time.
    fn forward(&mut self, index: usize, topic: &str, m: pb::MessageEvent) {
        let bytes = prost::Message::encode_to_vec(&m);
        let account_id = m.account_id.clone();
        match crate::convert::event_or_refusal(m) {
            Ok(_) => {
                produce(self.pipeline, topic, &account_id, &bytes, &mut self.waits);
                self.ack.accepted += 1;
            }
            Err(refusal) => self.refuse(index, refusal),
        }
    }

    /// One instance: decided here, in the account's gRPC shard.
    fn decide_here(
        &mut self,
        index: usize,
        shards: &Shards,
        w: &mut WorkerState,
        tenants: &mut Tenants,
        m: pb::MessageEvent,
    ) {
        let dequeued = Instant::now();
        // The shard judges the event's time before the message is taken apart,
        // so that a refused one is dead-lettered as it came.
        let engine = shards.grpc_shard(&m.tenant_id, &m.account_id);
        let counters = self.counters;
        let event = match crate::convert::event_or_refusal_with(m, |m| {
            engine.check_event_time(m.timestamp_ms).map_err(|e| {
                counters.event_time_refused.increment(1);
                crate::convert::ValidationError::EventTime(e)
            })
        }) {
            Ok(e) => e,
            Err(refusal) => return self.refuse(index, refusal),
        };
        let waits = &mut self.waits;
        let handled = self
            .pipeline
            .handle(engine, &event, Source::Grpc, w, dequeued, || {
                let (tx, rx) = tokio::sync::oneshot::channel();
                waits.push(rx);
                Some(Delivery::Notify(tx))
            });
        match handled {
            // The shard's watermark moved since the check (another stream):
            // refused in the ack; the client holds the message.
            Handled::Refused(reason) => self.reject(index, format!("refused event: {reason}")),
            Handled::Processed(Some(_)) => {
                self.ack.accepted += 1;
                self.ack.signals += 1;
                tenants.signal();
            }
            Handled::Duplicate => {
                self.ack.accepted += 1;
                self.ack.duplicates += 1;
            }
            Handled::Processed(None) | Handled::Late => self.ack.accepted += 1,
        }
    }
}

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
    let mut run = BatchRun {
        pipeline,
        counters,
        ack: pb::BatchAck {
            batch_id: batch.batch_id,
            ..Default::default()
        },
        waits: Vec::new(),
    };
    counters.events.increment(batch.events.len() as u64);
    let span = spans::engine_batch(batch.events.len());
    let _in_span = span.enter();
    let mut tenants = Tenants::new(&span);
    for (i, m) in batch.events.into_iter().enumerate() {
        tenants.add(&m.tenant_id);
        if !caller.tenants.allows(&m.tenant_id) {
            caller.gate.count_tenant_refusal(Rpc::Ingest);
            run.reject(
                i,
                "permission denied: the event's tenant_id is outside the caller's tenants".into(),
            );
            continue;
        }
        match events_topic {
            Some(topic) => run.forward(i, topic, m),
            None => run.decide_here(i, shards, w, &mut tenants, m),
        }
    }
    tenants.finish(&span);
    (run.ack, run.waits)
}

/// What one Ingest stream's batches run with.
#[derive(Clone)]
struct StreamParts {
    shards: Arc<Shards>,
    pipeline: Arc<Pipeline>,
    gate: Arc<Gate>,
    tenants: Arc<TenantScope>,
    events_topic: Option<Arc<str>>,
}

impl StreamParts {
    /// Runs `batch` on a blocking thread (CPU work of a bounded size,
    /// max_batch events of microseconds each, that must never hold up the
    /// async runtime's other streams); gives back the worker state.
    async fn run(
        &self,
        mut w: WorkerState,
        batch: pb::EventBatch,
        span: tracing::Span,
    ) -> Result<(WorkerState, pb::BatchAck, Waits), Status> {
        let parts = self.clone();
        tokio::task::spawn_blocking(move || {
            let _in_span = span.enter();
            let caller = Caller {
                tenants: &parts.tenants,
                gate: &parts.gate,
            };
            let (ack, waits) = process_batch(
                &parts.shards,
                &parts.pipeline,
                &mut w,
                &caller,
                parts.events_topic.as_deref(),
                batch,
            );
            (w, ack, waits)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "an ingest batch's processing failed");
            Status::internal("the batch's processing failed")
        })
    }
}

/// Waits for every broker acknowledgement of a batch; the first failure.
async fn acknowledged(waits: Waits) -> Result<(), String> {
    let mut failed = Ok(());
    for rx in waits {
        match rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Err(e),
            Err(_) => failed = Err("producer dropped the record".into()),
        }
    }
    failed
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
        let parts = StreamParts {
            shards: self.shards.clone(),
            pipeline: self.pipeline.clone(),
            gate: self.gate.clone(),
            tenants: Arc::new(principal.tenants.clone()),
            events_topic: self.events_topic.clone(),
        };
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(32);
        let max_batch = self.max_batch;
        tokio::spawn(async move {
            let telemetry = parts.pipeline.telemetry.clone();
            let mut w = parts.pipeline.worker();
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
                let (back, ack, waits) = match parts.run(w, batch, span.clone()).await {
                    Ok(done) => done,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                w = back;
                if let Err(e) = acknowledged(waits).await {
                    let _ = tx
                        .send(Err(Status::unavailable(format!(
                            "batch {}: an event, signal or dead letter was not acknowledged by Kafka: {e}",
                            ack.batch_id
                        ))))
                        .await;
                    break;
                }
                telemetry.ingest_batches.increment(1);
                // Latency counts and rule hits reach /metrics once per batch
                // (a fold is a few dozen atomic adds), not only every
                // FLUSH_EVERY events.
                w.flush(&telemetry);
                if tx.send(Ok(ack)).await.is_err() {
                    break;
                }
                drop(span);
            }
            w.flush(&telemetry);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
