//! The Kafka producer for signals and dead letters: idempotent, acks=all.
//! Every record carries a [`Delivery`] that is completed by the broker's
//! acknowledgement, so offsets are committed only past events whose effects
//! are durable.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::table_key::account_key;
use super::writer::{Writer, WRITER_HEADER};
use crate::decide::{Action, Signal};
use crate::rules::Subject;
use crate::telemetry::Telemetry;

/// Effects in flight for one input partition: a worker waits for them to be
/// acknowledged before it commits the partition's offset.
#[derive(Debug, Default)]
pub struct PartitionEffects {
    pending: AtomicU64,
    failed: AtomicBool,
}

impl PartitionEffects {
    /// Records still waiting for the broker.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Whether any record was refused for good (the offset must not pass it).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Waits until every record is acknowledged; false on failure or timeout.
    pub fn wait_acked(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.pending() > 0 {
            if self.failed() || std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        !self.failed()
    }
}

/// Who waits for a record's acknowledgement.
pub enum Delivery {
    /// A Kafka partition's effects counter.
    Partition(Arc<PartitionEffects>),
    /// A task (gRPC Ingest waits before acking its batch).
    Notify(tokio::sync::oneshot::Sender<Result<(), String>>),
}

impl Delivery {
    fn complete(self, result: Result<(), String>) {
        match self {
            Delivery::Partition(p) => {
                if result.is_err() {
                    p.failed.store(true, Ordering::Release);
                }
                p.pending.fetch_sub(1, Ordering::AcqRel);
            }
            Delivery::Notify(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

/// Counts failed deliveries and completes [`Delivery`]s.
pub struct DeliveryContext {
    telemetry: Arc<Telemetry>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Box<Delivery>) {
        match result {
            Ok(_) => opaque.complete(Ok(())),
            Err((e, _)) => {
                self.telemetry.delivery_failures.increment(1);
                if skip_for_good(e, &opaque) {
                    opaque.complete(Ok(()));
                } else {
                    tracing::error!(error = %e, "record not acknowledged by the broker");
                    opaque.complete(Err(e.to_string()));
                }
            }
        }
    }
}

/// Where a dead letter came from.
pub struct DeadLetterOrigin<'a> {
    /// `kafka` or `grpc`.
    pub source: &'a str,
    /// Input topic, when from Kafka.
    pub topic: &'a str,
    /// Input partition (-1 for gRPC).
    pub partition: i32,
    /// Input offset (-1 for gRPC).
    pub offset: i64,
}

/// The producer of signals and dead letters.
pub struct KafkaSink {
    producer: ThreadedProducer<DeliveryContext>,
    signals_topic: String,
    dead_letter_topic: String,
    /// Largest dead-letter payload sent whole (see [`dead_letter_body`]).
    dead_letter_limit: usize,
    /// This process as the writer named in every record's header.
    writer: Arc<Writer>,
    /// The fleet's actions topic, when kept (see [`KafkaSink::with_actions_topic`]).
    actions_topic: Option<String>,
}

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;
/// Room left in a record for its key, headers and framing.
const RECORD_OVERHEAD: usize = 4_096;

/// Whether a producer error refuses this one record for good (its size or
/// content), not the topic or the connection: retrying it after a restart
/// would fail the same way at the same offset.
pub fn is_permanent_record_error(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::PolicyViolation
    )
}

/// A record of a partition (Kafka source) refused for good is logged,
/// counted and skipped, so that the partition's checkpoint goes on and no
/// instance crash-loops on it; a gRPC caller is told instead.
fn skip_for_good(e: &KafkaError, delivery: &Delivery) -> bool {
    let permanent = e
        .rdkafka_error_code()
        .is_some_and(is_permanent_record_error);
    if permanent && matches!(delivery, Delivery::Partition(_)) {
        tracing::error!(error = %e, "a record was refused for good (its size or content); counted in satpam_signal_delivery_failures_total and skipped so that its partition does not stop at it");
        return true;
    }
    false
}

/// What a dead letter carries: the original bytes when they fit in
/// `limit`, else their first `limit` bytes and the headers
/// `satpam-original-size` (bytes) and `satpam-original-sha256` (SHA-256 of
/// the original, 64 lowercase hex digits), so that the record can still be
/// matched with its original on the events topic.
pub fn dead_letter_body(payload: &[u8], limit: usize) -> (&[u8], Option<(String, String)>) {
    if payload.len() <= limit {
        return (payload, None);
    }
    (
        &payload[..limit],
        Some((payload.len().to_string(), sha256_hex(payload))),
    )
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl KafkaSink {
    /// An idempotent producer to `brokers`; `extra` properties override the defaults.
    pub fn new(
        brokers: &str,
        signals_topic: &str,
        dead_letter_topic: &str,
        extra: &std::collections::BTreeMap<String, String>,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, KafkaError> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "60000");
        for (k, v) in extra {
            cfg.set(k, v);
        }
        let producer = cfg.create_with_context(DeliveryContext { telemetry })?;
        let max = extra
            .get("message.max.bytes")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);
        Ok(KafkaSink {
            producer,
            signals_topic: signals_topic.to_string(),
            dead_letter_topic: dead_letter_topic.to_string(),
            dead_letter_limit: max.saturating_sub(RECORD_OVERHEAD).max(1),
            writer: Arc::new(Writer::this_process()),
            actions_topic: None,
        })
    }

    /// Keeps each account's action in force on `topic` as well (compacted,
    /// one partition; see [`KafkaSink::send_signal`]).
    pub fn with_actions_topic(mut self, topic: String) -> Self {
        self.actions_topic = Some(topic);
        self
    }

    /// This process as the writer of records (its rebalance epoch is
    /// counted by the Kafka source).
    pub fn writer(&self) -> &Arc<Writer> {
        &self.writer
    }

    fn send(
        &self,
        mut record: BaseRecord<'_, [u8], [u8], Box<Delivery>>,
    ) -> Result<(), KafkaError> {
        // A full local queue is backpressure: wait for room, never drop.
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, r)) if skip_for_good(&e, &r.delivery_opaque) => {
                    self.producer
                        .context()
                        .telemetry
                        .delivery_failures
                        .increment(1);
                    r.delivery_opaque.complete(Ok(()));
                    return Ok(());
                }
                Err((e, r)) => {
                    r.delivery_opaque.complete(Err(e.to_string()));
                    return Err(e);
                }
            }
        }
    }

    /// Produces a signal (keyed by account) to the signals topic, and
    /// with an actions topic the account's action in force there too: the
    /// same bytes keyed by tenant and account, or a tombstone when the
    /// action is lifted (RESTORE). A WABA- or portfolio-level decision goes
    /// to the signals topic only. `payload` is `signal` in wire form; `delivery`
    /// waits for both records.
    pub fn send_signal(
        &self,
        signal: &Signal,
        payload: &[u8],
        delivery: Delivery,
    ) -> Result<(), KafkaError> {
        let writer = self.writer.header_value();
        let actions = self
            .actions_topic
            .as_deref()
            .filter(|_| signal.level == Subject::Account)
            .map(|topic| {
                let d = match &delivery {
                    Delivery::Partition(p) => Delivery::Partition(p.clone()),
                    // A gRPC caller waits for the signal only.
                    Delivery::Notify(_) => Delivery::Partition(Arc::default()),
                };
                (topic, d)
            });
        if let Delivery::Partition(p) = &delivery {
            p.pending.fetch_add(1, Ordering::AcqRel);
        }
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "satpam-signal-id",
                value: Some(&signal.signal_id),
            })
            .insert(Header {
                key: "satpam-action",
                value: Some(signal.action.name()),
            })
            .insert(Header {
                key: WRITER_HEADER,
                value: Some(&writer),
            });
        self.send(
            BaseRecord::with_opaque_to(&self.signals_topic, Box::new(delivery))
                .key(signal.account_id.as_bytes())
                .payload(payload)
                .headers(headers),
        )?;
        let Some((topic, d)) = actions else {
            return Ok(());
        };
        if let Delivery::Partition(p) = &d {
            p.pending.fetch_add(1, Ordering::AcqRel);
        }
        let key = account_key(&signal.tenant_id, &signal.account_id);
        let headers = OwnedHeaders::new().insert(Header {
            key: WRITER_HEADER,
            value: Some(&writer),
        });
        let record = BaseRecord::with_opaque_to(topic, Box::new(d))
            .partition(0)
            .key(key.as_bytes())
            .headers(headers);
        let lifted = matches!(signal.action, Action::Restore | Action::None);
        self.send(if lifted {
            record
        } else {
            record.payload(payload)
        })
    }

    /// Produces an encoded `MessageEvent` (keyed by account) to `topic`: the
    /// webhook receiver hands its events to the events topic this way.
    pub fn send_event(
        &self,
        topic: &str,
        account_id: &str,
        payload: &[u8],
        delivery: Delivery,
    ) -> Result<(), KafkaError> {
        if let Delivery::Partition(p) = &delivery {
            p.pending.fetch_add(1, Ordering::AcqRel);
        }
        self.send(
            BaseRecord::with_opaque_to(topic, Box::new(delivery))
                .key(account_id.as_bytes())
                .payload(payload),
        )
    }

    /// Produces a message that could not be processed to the dead-letter
    /// topic: the original bytes and key, with the reason and origin in headers.
    pub fn send_dead_letter(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        reason: &str,
        origin: &DeadLetterOrigin<'_>,
        delivery: Delivery,
    ) -> Result<(), KafkaError> {
        if let Delivery::Partition(p) = &delivery {
            p.pending.fetch_add(1, Ordering::AcqRel);
        }
        let partition = origin.partition.to_string();
        let offset = origin.offset.to_string();
        let key = key.map(|k| &k[..k.len().min(self.dead_letter_limit / 4)]);
        let (payload, truncated) = dead_letter_body(payload, self.dead_letter_limit);
        let writer = self.writer.header_value();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "satpam-error",
                value: Some(reason),
            })
            .insert(Header {
                key: WRITER_HEADER,
                value: Some(&writer),
            })
            .insert(Header {
                key: "satpam-source",
                value: Some(origin.source),
            })
            .insert(Header {
                key: "satpam-source-topic",
                value: Some(origin.topic),
            })
            .insert(Header {
                key: "satpam-source-partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "satpam-source-offset",
                value: Some(&offset),
            });
        if let Some((size, hash)) = &truncated {
            headers = headers
                .insert(Header {
                    key: "satpam-original-size",
                    value: Some(size),
                })
                .insert(Header {
                    key: "satpam-original-sha256",
                    value: Some(hash),
                });
        }
        let mut record = BaseRecord::with_opaque_to(&self.dead_letter_topic, Box::new(delivery))
            .payload(payload)
            .headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        self.send(record)
    }

    /// Waits for every record in flight.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }

    /// The signals topic.
    pub fn signals_topic(&self) -> &str {
        &self.signals_topic
    }

    /// The high watermark of every partition of the signals topic.
    pub fn signals_watermarks(&self, timeout: Duration) -> Result<Vec<(i32, i64)>, KafkaError> {
        let client = self.producer.client();
        let md = client.fetch_metadata(Some(&self.signals_topic), timeout)?;
        let mut out = Vec::new();
        for t in md.topics() {
            for p in t.partitions() {
                let (_, high) = client.fetch_watermarks(&self.signals_topic, p.id(), timeout)?;
                out.push((p.id(), high));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_too_large_for_the_producer_is_truncated_with_its_size_and_hash() {
        let small = b"fits".to_vec();
        assert_eq!(dead_letter_body(&small, 4), (&small[..], None));
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (body, meta) = dead_letter_body(&big, 1_000);
        assert_eq!(body, &big[..1_000]);
        let (size, hash) = meta.expect("truncated");
        assert_eq!(size, "10000");
        assert_eq!(hash, sha256_hex(&big));
        assert_eq!(hash.len(), 64);
        // The SHA-256 test vector of "abc" (FIPS 180-2).
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_dead_letter_limit_follows_the_producers_message_max_bytes() {
        // No broker is contacted to build a producer.
        let telemetry = crate::telemetry::Telemetry::new();
        let mut extra = std::collections::BTreeMap::new();
        let sink = KafkaSink::new("127.0.0.1:1", "s", "d", &extra, telemetry.clone())
            .expect("default producer");
        assert_eq!(sink.dead_letter_limit, 1_000_000 - RECORD_OVERHEAD);
        extra.insert("message.max.bytes".to_string(), "200000".to_string());
        let sink = KafkaSink::new("127.0.0.1:1", "s", "d", &extra, telemetry)
            .expect("librdkafka accepts a 200,000-byte limit (tests/kafka_hostile.rs uses it)");
        assert_eq!(sink.dead_letter_limit, 200_000 - RECORD_OVERHEAD);
    }

    #[test]
    fn only_per_record_errors_are_permanent_and_only_partition_records_are_skipped() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::PolicyViolation,
        ] {
            assert!(is_permanent_record_error(code), "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::QueueFull,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::BrokerTransportFailure,
        ] {
            assert!(!is_permanent_record_error(code), "{code:?}");
        }
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let partition = Delivery::Partition(Arc::new(PartitionEffects::default()));
        assert!(skip_for_good(&too_large, &partition));
        let (tx, _rx) = tokio::sync::oneshot::channel();
        assert!(
            !skip_for_good(&too_large, &Delivery::Notify(tx)),
            "gRPC callers are told"
        );
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(!skip_for_good(&timed_out, &partition));
    }
}
