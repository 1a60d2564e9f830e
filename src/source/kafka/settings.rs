//! What the Kafka source runs with, built once from `[kafka]`
//! (config -> build -> runtime): the topics, the worker and queue sizes,
//! and the librdkafka settings of its two consumers, complete. Nothing in
//! the source reads the config section itself.

use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::config::{KafkaSection, StateStoreKind};

/// The Kafka source's settings.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// The topic of events (one partition = one shard of state).
    pub events_topic: String,
    /// The topic signals go to (read back to fence re-emitted signals).
    pub signals_topic: String,
    /// Worker threads.
    pub workers: usize,
    /// How often offsets (and snapshots) are committed.
    pub commit_interval: Duration,
    /// Where partition state is kept between owners.
    pub store: super::store::StoreSettings,
    /// How often the state topic gets a partition's state (files: every commit).
    pub state_interval: Duration,
    /// The group consumer's librdkafka settings.
    pub consumer: ClientConfig,
    /// The signals-topic reader's librdkafka settings (a group of its own).
    pub fence_reader: ClientConfig,
    /// How long a worker may go without finishing a turn of its loop before
    /// the service stops (the consumer's `max.poll.interval.ms`).
    pub stall_limit: Duration,
}

impl SourceSettings {
    /// The settings `[kafka]` describes.
    pub fn from_config(c: &KafkaSection) -> Self {
        let consumer = consumer_config(c);
        SourceSettings {
            events_topic: c.events_topic.clone(),
            signals_topic: c.signals_topic.clone(),
            workers: c.workers,
            commit_interval: Duration::from_millis(c.commit_interval_ms),
            store: store_settings(c),
            state_interval: Duration::from_millis(c.state_interval_ms),
            stall_limit: super::heartbeat::stall_limit(consumer.get("max.poll.interval.ms")),
            consumer,
            fence_reader: fence_reader_config(c),
        }
    }
}

/// How long librdkafka postpones the next fetch of a partition whose
/// prefetch queue is over its thresholds (`fetch.queue.backoff.ms`). The
/// library's default, 1,000 ms, starves a consumer that is slower than the
/// broker, i.e. any consumer working off a backlog: it empties its queue in
/// well under a second and then waits for the rest of it. Measured against
/// Tansu while catching up a backlog: with the default every thread of the
/// consumer sat idle ~0.7 s of every ~1.6 s, and 10 ms catches up 17% faster
/// (loadtest/results/2026-11-22-kafka-catch-up.md).
const FETCH_QUEUE_BACKOFF_MS: &str = "10";

/// Incremental rebalances (KIP-429): a member joining or leaving moves
/// only the partitions that change owner; the others keep processing, with
/// their state in memory. (Eager `range,roundrobin` revoked every partition
/// of every member on each rebalance, and each was restored from its
/// snapshot.) `[kafka.consumer] "partition.assignment.strategy"` overrides
/// it; a group cannot mix the two protocols, so a fleet switches in one
/// rollout with every member stopped first or with a new `group_id`.
const ASSIGNMENT_STRATEGY: &str = "cooperative-sticky";

/// librdkafka's `queued.max.messages.kbytes` from `kafka.queue_bytes`: each
/// partition's queue holds at most this much before librdkafka stops
/// fetching it (the worker reads records where librdkafka buffered them).
fn queued_kbytes(queue_bytes: usize) -> String {
    // librdkafka's range is 1..=2097151.
    (queue_bytes / 1024).clamp(1, 2_097_151).to_string()
}

/// The consumer's settings: satpam's own, then `[kafka.security]`'s, then
/// `[kafka.consumer]`, which wins.
fn consumer_config(c: &KafkaSection) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &c.brokers)
        .set("group.id", &c.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "5000")
        .set("partition.assignment.strategy", ASSIGNMENT_STRATEGY)
        .set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS)
        .set("queued.max.messages.kbytes", queued_kbytes(c.queue_bytes));
    for (k, v) in c.consumer_properties() {
        cc.set(k, v);
    }
    cc
}

/// The state store `[kafka]` asks for (validated: a `files` store has its directory).
fn store_settings(c: &KafkaSection) -> super::store::StoreSettings {
    use super::store::StoreSettings;
    match (c.state_store_kind(), &c.state_dir) {
        (Some(StateStoreKind::Files), Some(dir)) => StoreSettings::Files(dir.clone()),
        (Some(StateStoreKind::Kafka), _) => {
            let mut producer = ClientConfig::new();
            producer.set("bootstrap.servers", &c.brokers);
            for (k, v) in c.producer_properties() {
                producer.set(k, v);
            }
            let mut reader = ClientConfig::new();
            reader
                .set("bootstrap.servers", &c.brokers)
                .set("group.id", format!("{}-state", c.group_id))
                .set("enable.auto.commit", "false")
                .set("enable.partition.eof", "false");
            for (k, v) in c.consumer_properties() {
                reader.set(k, v);
            }
            StoreSettings::Kafka {
                topic: c.state_topic_name(),
                producer,
                reader,
            }
        }
        _ => StoreSettings::None,
    }
}

/// The signals-topic reader's settings: no commits, its own group, the
/// same security and `[kafka.consumer]` properties as the main consumer.
fn fence_reader_config(c: &KafkaSection) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &c.brokers)
        .set("group.id", format!("{}-fence", c.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in c.consumer_properties() {
        cc.set(k, v);
    }
    cc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_backs_off_briefly_and_kafka_consumer_settings_win() {
        let mut cfg = KafkaSection {
            brokers: "127.0.0.1:9092".into(),
            ..KafkaSection::default()
        };
        let cc = SourceSettings::from_config(&cfg).consumer;
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("10"));
        // kafka.queue_bytes (64 MiB) bounds each partition's queue.
        assert_eq!(cc.get("queued.max.messages.kbytes"), Some("65536"));
        assert_eq!(queued_kbytes(100), "1");
        assert_eq!(queued_kbytes(usize::MAX), "2097151");
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
        assert_eq!(cc.get("group.id"), Some("satpam"));
        assert_eq!(
            cc.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        cfg.consumer
            .insert("fetch.queue.backoff.ms".into(), "250".into());
        cfg.consumer
            .insert("security.protocol".into(), "ssl".into());
        let cc = SourceSettings::from_config(&cfg).consumer;
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("250"));
        assert_eq!(cc.get("security.protocol"), Some("ssl"));
    }

    #[test]
    fn the_fence_reader_has_its_own_group_and_the_same_security() {
        let mut cfg = KafkaSection {
            brokers: "b:9092".into(),
            group_id: "g".into(),
            signals_topic: "sig".into(),
            commit_interval_ms: 250,
            ..KafkaSection::default()
        };
        cfg.consumer
            .insert("security.protocol".into(), "ssl".into());
        let s = SourceSettings::from_config(&cfg);
        assert_eq!(s.fence_reader.get("group.id"), Some("g-fence"));
        assert_eq!(s.fence_reader.get("bootstrap.servers"), Some("b:9092"));
        assert_eq!(s.fence_reader.get("security.protocol"), Some("ssl"));
        assert_eq!(s.fence_reader.get("enable.auto.commit"), Some("false"));
        assert_eq!(s.consumer.get("group.id"), Some("g"));
        assert_eq!(s.signals_topic, "sig");
        assert_eq!(s.commit_interval, Duration::from_millis(250));
    }
}
