//! Reads the signal ids already on the signals topic since a snapshot, so
//! that a restored partition does not produce them twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::SourceSettings;
use crate::sink::kafka::KafkaSink;

/// Signal ids on the signals topic from `from` (partition, offset) to its end.
pub(super) fn read_signal_ids(
    cfg: &SourceSettings,
    sink: &KafkaSink,
    from: &[(i32, i64)],
) -> KafkaResult<Vec<String>> {
    let mut start: HashMap<i32, i64> = HashMap::new();
    for (p, o) in from {
        let e = start.entry(*p).or_insert(*o);
        *e = (*e).min(*o);
    }
    let ends: HashMap<i32, i64> = sink
        .signals_watermarks(Duration::from_secs(10))?
        .into_iter()
        .collect();
    let reader: BaseConsumer = cfg.fence_reader.create()?;
    let mut tpl = TopicPartitionList::new();
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    for (p, end) in &ends {
        let s = start.get(p).copied().unwrap_or(*end);
        tpl.add_partition_offset(&cfg.signals_topic, *p, Offset::Offset(s))?;
        if s < *end {
            remaining.insert(*p, *end);
        }
    }
    let mut ids = Vec::new();
    reader.assign(&tpl)?;
    // Read to the reported end, then on until the topic stays quiet for a
    // moment: some Kafka-protocol brokers (Tansu 0.6) report a high
    // watermark below the last offset, and reading too much is harmless.
    let deadline = Instant::now() + Duration::from_secs(30);
    let quiet = Duration::from_millis(500);
    let mut last_seen = Instant::now();
    while Instant::now() < deadline && (!remaining.is_empty() || last_seen.elapsed() < quiet) {
        let Some(m) = reader.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m?;
        last_seen = Instant::now();
        if let Some(h) = m.headers() {
            for hdr in h.iter() {
                if hdr.key == "satpam-signal-id" {
                    if let Some(v) = hdr.value.and_then(|v| std::str::from_utf8(v).ok()) {
                        ids.push(v.to_string());
                    }
                }
            }
        }
        if remaining
            .get(&m.partition())
            .is_some_and(|end| m.offset() + 1 >= *end)
        {
            remaining.remove(&m.partition());
        }
    }
    if !remaining.is_empty() {
        return Err(rdkafka::error::KafkaError::MessageConsumption(
            rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
        ));
    }
    Ok(ids)
}
