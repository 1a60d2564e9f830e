//! Partition state kept in Kafka itself: each checkpoint of a partition's
//! shard is written to the same partition of a state topic (compacted,
//! partitioned like the events topic) as chunks, then a `head` record
//! naming them; the previous checkpoint's chunks are tombstoned once the
//! new head is acknowledged. Whichever instance is assigned the partition
//! next reads that partition of the state topic to its end and restores
//! the checkpoint its last head names. No local disk is needed.
//!
//! Record layout on partition p of the state topic (keys are UTF-8):
//! - `c/<checkpoint>/<i>`: chunk i (0-based) of a checkpoint's snapshot bytes;
//! - `head`: JSON [`Head`]: which checkpoint is current, its chunk count,
//!   length and xxh3 of the whole;
//! - a record with no payload is a tombstone (compaction drops the key).
//!
//! A crash between the chunks and the head leaves the old head and its
//! chunks in place (they are only tombstoned after the new head is
//! acknowledged), so a reader always finds a whole checkpoint.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::sink::writer::{Writer, WRITER_HEADER};

/// Bytes per chunk record: well under the broker's default 1 MB record
/// limit, large enough that a 100 MB partition is 400 records.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// How long a state write or read may take before it is given up (the
/// checkpoint then does not commit; the restore then starts the partition
/// from the group's offset with empty state, and says so).
const TIMEOUT: Duration = crate::sink::kafka_client::TIMEOUT;

/// The record naming the current checkpoint of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    /// Checkpoint id: unique per write (the writer's nonce and a counter).
    pub checkpoint: String,
    /// Number of chunk records.
    pub chunks: u32,
    /// Total bytes.
    pub bytes: u64,
    /// xxh3-64 of the whole snapshot.
    pub xxh3: u64,
}

/// Why a state write or read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateTopicError(String);

impl std::fmt::Display for StateTopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateTopicError {}

fn err(what: &str, e: impl std::fmt::Display) -> StateTopicError {
    StateTopicError(format!("state topic: {what}: {e}"))
}

/// The state topic: writes checkpoints, reads the current one back.
pub(crate) struct StateTopic {
    topic: String,
    producer: FutureProducer,
    reader: ClientConfig,
    /// Unique per process, so two writers never name a checkpoint alike.
    nonce: u64,
    counter: std::sync::atomic::AtomicU64,
    /// The current checkpoint of each partition this instance read or wrote:
    /// its chunks are tombstoned once the next head is acknowledged.
    current: std::sync::Mutex<HashMap<i32, Head>>,
    /// Named in each record's `satpam-writer` header.
    writer: std::sync::Arc<Writer>,
}

impl StateTopic {
    /// A state topic named `topic`, written with `producer` settings and
    /// read with `reader` settings (no group, no commits).
    pub(crate) fn new(
        topic: String,
        producer: &ClientConfig,
        reader: ClientConfig,
        writer: std::sync::Arc<Writer>,
    ) -> Result<Self, StateTopicError> {
        let mut pc = producer.clone();
        // A checkpoint is only as good as its slowest replica's copy.
        pc.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.max.bytes", (2 * CHUNK_BYTES).to_string());
        let producer: FutureProducer = pc.create().map_err(|e| err("producer", e))?;
        let nonce = xxh3_64(
            format!(
                "{}-{:?}-{}",
                std::process::id(),
                std::time::SystemTime::now(),
                topic
            )
            .as_bytes(),
        );
        Ok(StateTopic {
            topic,
            producer,
            reader,
            nonce,
            counter: std::sync::atomic::AtomicU64::new(0),
            current: std::sync::Mutex::new(HashMap::new()),
            writer,
        })
    }

    /// The topic's name.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes `bytes` as partition `partition`'s current checkpoint and
    /// waits for the broker's acknowledgement of every record; then
    /// tombstones the previous checkpoint's chunks (best effort: a leftover
    /// chunk is never read, and the next write tombstones it again). The
    /// head is not written unless `still_ours()` after the chunks: a
    /// checkpoint whose partition was lost meanwhile stays unnamed.
    pub(crate) fn write(
        &self,
        partition: i32,
        bytes: &[u8],
        still_ours: &dyn Fn() -> bool,
    ) -> Result<(), StateTopicError> {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let checkpoint = format!("{:016x}-{n}", self.nonce);
        let (records, head) = checkpoint_records(&checkpoint, bytes, CHUNK_BYTES);
        let head_json = serde_json::to_vec(&head).map_err(|e| err("head", e))?;
        let writer = self.writer.header_value();
        let headers = || {
            OwnedHeaders::new().insert(Header {
                key: WRITER_HEADER,
                value: Some(&writer),
            })
        };
        let mut pending = Vec::with_capacity(records.len());
        for (key, chunk) in &records {
            let rec = FutureRecord::to(&self.topic)
                .partition(partition)
                .key(key.as_str())
                .payload(*chunk)
                .headers(headers());
            pending.push(
                self.producer
                    .send_result(rec)
                    .map_err(|(e, _)| err("chunk", e))?,
            );
        }
        for f in pending {
            acked(f, "chunk")?;
        }
        if !still_ours() {
            return Err(err(
                "head",
                "the partition was lost while its chunks were written",
            ));
        }
        let rec = FutureRecord::to(&self.topic)
            .partition(partition)
            .key("head")
            .payload(&head_json)
            .headers(headers());
        let f = self
            .producer
            .send_result(rec)
            .map_err(|(e, _)| err("head", e))?;
        acked(f, "head")?;
        let previous = self
            .current
            .lock()
            .ok()
            .and_then(|mut c| c.insert(partition, head));
        if let Some(old) = previous {
            self.tombstone(partition, &old);
        }
        Ok(())
    }

    fn tombstone(&self, partition: i32, old: &Head) {
        let writer = self.writer.header_value();
        for i in 0..old.chunks {
            let key = format!("c/{}/{i}", old.checkpoint);
            let rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic)
                .partition(partition)
                .key(key.as_str())
                .headers(OwnedHeaders::new().insert(Header {
                    key: WRITER_HEADER,
                    value: Some(writer.as_str()),
                }));
            // Not waited for: a tombstone that is lost leaves one stale
            // chunk that no head names.
            let _ = self.producer.send_result(rec);
        }
    }

    /// The current checkpoint of each of `partitions`, read in one pass
    /// with one reader: every partition to its end, then the bytes its last
    /// head names (checked against the head's length and hash). A partition
    /// with no head maps to `Ok(None)`; one whose checkpoint is damaged to
    /// its error.
    #[allow(clippy::type_complexity)]
    pub(crate) fn read_many(
        &self,
        partitions: &[i32],
    ) -> Result<HashMap<i32, Result<Option<Vec<u8>>, StateTopicError>>, StateTopicError> {
        let mut out = HashMap::new();
        if partitions.is_empty() {
            return Ok(out);
        }
        let reader: BaseConsumer = self.reader.create().map_err(|e| err("reader", e))?;
        let mut tpl = TopicPartitionList::new();
        let mut remaining: HashMap<i32, i64> = HashMap::new();
        for &p in partitions {
            let (low, high) = reader
                .fetch_watermarks(&self.topic, p, TIMEOUT)
                .map_err(|e| err("watermarks", e))?;
            if high <= low {
                out.insert(p, Ok(None));
                continue;
            }
            tpl.add_partition_offset(&self.topic, p, Offset::Beginning)
                .map_err(|e| err("assign", e))?;
            remaining.insert(p, high);
        }
        if remaining.is_empty() {
            return Ok(out);
        }
        reader.assign(&tpl).map_err(|e| err("assign", e))?;
        let mut live: HashMap<i32, HashMap<Vec<u8>, Vec<u8>>> = HashMap::new();
        let deadline = Instant::now() + TIMEOUT;
        // Read each to its reported end, then on until the topic stays quiet
        // for a moment: Tansu 0.6 reports a high watermark below the last
        // offset (see fence_reader), and reading on is harmless.
        let quiet = Duration::from_millis(300);
        let mut last_seen = Instant::now();
        while !remaining.is_empty() || last_seen.elapsed() < quiet {
            if Instant::now() > deadline {
                return Err(err("read", "timed out before the end of the partitions"));
            }
            let Some(m) = reader.poll(Duration::from_millis(50)) else {
                continue;
            };
            let m = m.map_err(|e| err("read", e))?;
            last_seen = Instant::now();
            let p = m.partition();
            if remaining
                .get(&p)
                .is_some_and(|high| m.offset() + 1 >= *high)
            {
                remaining.remove(&p);
            }
            let Some(key) = m.key() else { continue };
            let map = live.entry(p).or_default();
            match m.payload() {
                Some(v) => map.insert(key.to_vec(), v.to_vec()),
                None => map.remove(key),
            };
        }
        for (p, map) in live {
            out.insert(p, self.assemble(p, &map));
        }
        for &p in partitions {
            out.entry(p).or_insert(Ok(None));
        }
        Ok(out)
    }

    /// The checkpoint the head of `live` (one partition's live records)
    /// names; remembered as the partition's current one.
    fn assemble(
        &self,
        partition: i32,
        live: &HashMap<Vec<u8>, Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, StateTopicError> {
        let Some((head, bytes)) = current_checkpoint(live)? else {
            return Ok(None);
        };
        // Stale chunks of older checkpoints are tombstoned by the next write.
        if let Ok(mut c) = self.current.lock() {
            c.insert(partition, head);
        }
        Ok(Some(bytes))
    }

    /// Flushes what is in flight (at shutdown).
    pub(crate) fn flush(&self) {
        let _ = self.producer.flush(Duration::from_secs(10));
    }
}

/// Waits for one record's acknowledgement.
/// The records of one checkpoint: its chunks (`c/<checkpoint>/<i>`, at
/// most `chunk_bytes` each; one empty chunk for empty bytes) and the head
/// naming them.
pub(crate) fn checkpoint_records<'a>(
    checkpoint: &str,
    bytes: &'a [u8],
    chunk_bytes: usize,
) -> (Vec<(String, &'a [u8])>, Head) {
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(chunk_bytes.max(1)).collect()
    };
    let head = Head {
        checkpoint: checkpoint.to_string(),
        chunks: chunks.len() as u32,
        bytes: bytes.len() as u64,
        xxh3: xxh3_64(bytes),
    };
    let records = chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| (format!("c/{checkpoint}/{i}"), c))
        .collect();
    (records, head)
}

/// The checkpoint the `head` of one partition's live records (key ->
/// value, tombstoned keys removed) names, checked against the head's
/// length and hash; `None` without a head.
pub(crate) fn current_checkpoint(
    live: &HashMap<Vec<u8>, Vec<u8>>,
) -> Result<Option<(Head, Vec<u8>)>, StateTopicError> {
    let Some(head) = live.get(b"head".as_slice()) else {
        return Ok(None);
    };
    let head: Head = serde_json::from_slice(head).map_err(|e| err("head", e))?;
    let mut bytes = Vec::with_capacity(head.bytes.min(1 << 30) as usize);
    for i in 0..head.chunks {
        let key = format!("c/{}/{i}", head.checkpoint);
        let chunk = live.get(key.as_bytes()).ok_or_else(|| {
            err(
                "checkpoint",
                format!("chunk {i} of {} missing", head.chunks),
            )
        })?;
        bytes.extend_from_slice(chunk);
    }
    if bytes.len() as u64 != head.bytes || xxh3_64(&bytes) != head.xxh3 {
        return Err(err(
            "checkpoint",
            "its bytes do not match the head's length and hash",
        ));
    }
    Ok(Some((head, bytes)))
}

fn acked(f: rdkafka::producer::DeliveryFuture, what: &str) -> Result<(), StateTopicError> {
    crate::sink::kafka_client::acked(f, TIMEOUT).map_err(|e| err(what, e))
}

/// Creates the state topic when it does not exist, with the events topic's
/// partition count (partition p's state lives on p) and
/// `cleanup.policy=compact`.
pub(crate) fn ensure_topic(
    client: &ClientConfig,
    events_topic: &str,
    state_topic: &str,
) -> Result<(), StateTopicError> {
    use crate::sink::kafka_client::{ensure_compacted_topic, partitions_of};
    let events = partitions_of(client, events_topic).map_err(|e| err("events topic", e))?;
    if events == 0 {
        return Err(err(
            "events topic",
            format!("{events_topic} does not exist (create it first: its partition count sets the state topic's)"),
        ));
    }
    ensure_compacted_topic(client, state_topic, events).map_err(|e| err("create", e))
}

/// Upgrade compatibility of the state topic's records: a partition's
/// records as this version writes them, committed once as
/// `tests/fixtures/state-topic-v1.jsonl` (by [`tests::write_fixture`]; never
/// rewritten), must restore to the same snapshot bytes in every later
/// version. The fixture holds an older checkpoint (the format-3 snapshot
/// fixture in two chunks) and a newer one (the format-4 fixture in three),
/// each named by a head, then the older one's chunks tombstoned.
#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "tests/fixtures/state-topic-v1.jsonl";

    fn path(rel: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The fixture's records in order: (key, value; `None` a tombstone).
    fn fixture_records() -> Vec<(String, Option<Vec<u8>>)> {
        let text = std::fs::read_to_string(path(FIXTURE)).expect("fixture");
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("json line");
                let key = v["key"].as_str().expect("key").to_string();
                (key, v["value_hex"].as_str().map(unhex))
            })
            .collect()
    }

    /// The live records a reader keeps after reading `records` in order.
    fn live(records: &[(String, Option<Vec<u8>>)]) -> HashMap<Vec<u8>, Vec<u8>> {
        let mut live = HashMap::new();
        for (k, v) in records {
            match v {
                Some(v) => live.insert(k.as_bytes().to_vec(), v.clone()),
                None => live.remove(k.as_bytes()),
            };
        }
        live
    }

    #[test]
    fn the_v1_changelog_fixture_restores_to_its_snapshot() {
        let records = fixture_records();
        assert_eq!(
            records.len(),
            2 + 1 + 3 + 1 + 2,
            "chunks, heads, tombstones"
        );
        let (head, bytes) = current_checkpoint(&live(&records))
            .expect("readable")
            .expect("a head");
        assert_eq!(
            head,
            Head {
                checkpoint: "00000000000000a1-1".into(),
                chunks: 3,
                bytes: 5542,
                xxh3: FIXTURE_XXH3,
            }
        );
        let v4 = std::fs::read(path("tests/fixtures/snapshot-v4.bin")).expect("v4");
        assert_eq!(bytes, v4, "the newer checkpoint's bytes, whole");
        // The head record's exact bytes: a change of its JSON is a format change.
        let head_json = &records[6].1.as_ref().expect("head");
        assert_eq!(
            std::str::from_utf8(head_json).expect("utf-8"),
            format!(
                "{{\"checkpoint\":\"00000000000000a1-1\",\"chunks\":3,\"bytes\":5542,\"xxh3\":{FIXTURE_XXH3}}}"
            )
        );
    }

    /// xxh3-64 of `snapshot-v4.bin`, as the fixture's head carries it.
    const FIXTURE_XXH3: u64 = 15_096_131_182_145_693_804;

    #[test]
    fn a_damaged_checkpoint_is_refused_with_the_reason() {
        let records = fixture_records();
        let mut missing = live(&records);
        missing.remove(b"c/00000000000000a1-1/1".as_slice());
        let e = current_checkpoint(&missing).expect_err("a chunk is missing");
        assert_eq!(
            e.to_string(),
            "state topic: checkpoint: chunk 1 of 3 missing"
        );
        let mut altered = live(&records);
        if let Some(c) = altered.get_mut(b"c/00000000000000a1-1/2".as_slice()) {
            c[0] ^= 1;
        }
        let e = current_checkpoint(&altered).expect_err("a byte changed");
        assert_eq!(
            e.to_string(),
            "state topic: checkpoint: its bytes do not match the head's length and hash"
        );
        assert_eq!(current_checkpoint(&HashMap::new()).expect("empty"), None);
    }

    /// Writes the fixture (once: it refuses to overwrite). See the module's
    /// comment: `cargo test --lib -- --ignored state_topic::tests::write_fixture`.
    #[test]
    #[ignore = "writes tests/fixtures/state-topic-v1.jsonl once"]
    fn write_fixture() {
        let out = path(FIXTURE);
        assert!(!out.exists(), "{FIXTURE} exists: it is never rewritten");
        let v3 = std::fs::read(path("tests/fixtures/snapshot-v3.bin")).expect("v3");
        let v4 = std::fs::read(path("tests/fixtures/snapshot-v4.bin")).expect("v4");
        let (old, old_head) = checkpoint_records("00000000000000a1-0", &v3, 4096);
        let (new, new_head) = checkpoint_records("00000000000000a1-1", &v4, 2048);
        let line = |k: &str, v: Option<&[u8]>| {
            serde_json::json!({"key": k, "value_hex": v.map(hex)}).to_string()
        };
        let mut lines = Vec::new();
        for (records, head) in [(&old, &old_head), (&new, &new_head)] {
            lines.extend(records.iter().map(|(k, v)| line(k, Some(v))));
            let json = serde_json::to_vec(head).expect("head");
            lines.push(line("head", Some(&json)));
        }
        lines.extend(old.iter().map(|(k, _)| line(k, None)));
        std::fs::write(&out, lines.join("\n") + "\n").expect("write");
    }
}
