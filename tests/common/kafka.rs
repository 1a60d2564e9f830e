//! Helpers for tests against a real Kafka-protocol broker (Tansu, started by
//! `scripts/broker.sh`): topics, producing events, reading topics, and
//! `satpam serve` as a child process.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use satpam::pb::v1 as pb;

use super::http::{free_port, get_body, metric};

/// The broker under test: `SATPAM_TEST_BROKERS`, set by `.ci/run` after
/// `scripts/broker.sh start`. These tests are `#[ignore]`d in the plain
/// test run and fail loudly when asked to run without a broker.
pub fn brokers() -> String {
    std::env::var("SATPAM_TEST_BROKERS").expect(
        "SATPAM_TEST_BROKERS is not set: start a broker with `scripts/broker.sh start` and export SATPAM_TEST_BROKERS=127.0.0.1:19092",
    )
}

/// A unique name for this test's topics and group.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// Topics of one test.
#[derive(Clone, Debug)]
pub struct Topics {
    pub events: String,
    pub signals: String,
    pub dlq: String,
    pub group: String,
}

/// Creates the events, signals and dead-letter topics (`partitions` each).
pub async fn create_topics(name: &str, partitions: i32) -> Topics {
    let t = Topics {
        events: format!("{name}.events"),
        signals: format!("{name}.signals"),
        dlq: format!("{name}.dlq"),
        group: format!("{name}.group"),
    };
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let topics: Vec<NewTopic> = [&t.events, &t.signals, &t.dlq]
        .iter()
        .map(|n| NewTopic::new(n, partitions, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics");
    for r in results {
        r.expect("topic created");
    }
    t
}

/// An idempotent producer of test events.
pub fn producer() -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Produces events keyed by account_id, then flushes.
pub fn produce(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    events: &[pb::MessageEvent],
) {
    for e in events {
        let bytes = prost::Message::encode_to_vec(e);
        let mut record = BaseRecord::to(topic)
            .key(e.account_id.as_bytes())
            .payload(&bytes);
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// Produces raw bytes with a key.
pub fn produce_raw(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    key: &str,
    bytes: &[u8],
) {
    p.send(BaseRecord::to(topic).key(key.as_bytes()).payload(bytes))
        .map_err(|(e, _)| e)
        .expect("send");
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: HashMap<String, String>,
}

/// Reads every record of `topic` from the start until `done` says so or `timeout` passes.
pub fn read_topic(
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Vec<Record> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        for p in t.partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                .expect("tpl");
        }
    }
    c.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while Instant::now() < deadline && !done(&out) {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|x| {
                            (
                                x.key.to_string(),
                                x.value
                                    .map(|v| String::from_utf8_lossy(v).into_owned())
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Record {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers,
            });
        }
    }
    out
}

/// Decodes signal records.
pub fn signals(records: &[Record]) -> Vec<pb::EnforcementSignal> {
    records
        .iter()
        .map(|r| prost::Message::decode(r.payload.as_slice()).expect("signal protobuf"))
        .collect()
}

/// `satpam serve` as a child process; killed when dropped.
pub struct Serve {
    pub child: Child,
    pub metrics: SocketAddr,
    pub grpc: SocketAddr,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `satpam serve` against `topics` with state in `dir`, waiting until /readyz answers.
    pub fn start(dir: &Path, name: &str, topics: &Topics, extra_toml: &str) -> Serve {
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[grpc]\nlisten = \"{grpc}\"\n[metrics]\nlisten = \"{metrics}\"\n\
                 [sinks]\njsonl = \"{jsonl}\"\n\
                 [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
                 signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\n{commit}{extra_toml}",
                commit = if extra_toml.contains("commit_interval_ms") { "" } else { "commit_interval_ms = 200\n" },
                jsonl = dir.join(format!("{name}-signals.jsonl")).display(),
                brokers = brokers(),
                group = topics.group,
                events = topics.events,
                signals = topics.signals,
                dlq = topics.dlq,
            ),
        )
        .expect("config");
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_satpam"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("SATPAM_LOG", "info,librdkafka=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("satpam serve");
        let s = Serve {
            child,
            metrics,
            grpc,
            log,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(body) = get_body(self.metrics, "/readyz") {
                if body.starts_with("ready") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("satpam did not become ready; log:\n{}", self.log_text());
    }

    /// The process log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A metric sample (exact name with labels), scraped now.
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(self.metrics, name)
    }

    /// Waits until `f` holds for this instance's metrics.
    pub fn wait_metric(&self, name: &str, timeout: Duration, f: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.metric(name).unwrap_or(f64::NAN);
            if f(v) {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{name} = {v} did not reach the expected value; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as i32;
        // SAFETY-free: `kill` from the standard library only sends SIGKILL, so use the command.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() >= deadline {
                panic!("satpam did not stop on SIGTERM; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
