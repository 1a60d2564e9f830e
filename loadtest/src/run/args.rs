//! The command line of `satpam-loadgen run` and `satpam-loadgen topics`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;

use super::cpu;
use super::kafka::{self, KafkaSettings};
use super::parse::{parse_duration, parse_rate, parse_sweep, Rate, Sweep};

/// How the webhook target groups notifications into bodies (`--webhook-batch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Batching {
    /// One body per business phone number.
    Number,
    /// Many numbers' notifications in one body, as Meta aggregates them.
    Connection,
}

/// The statuses a send-API message is reported with (`--statuses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusSet {
    /// `delivered` only.
    Delivered,
    /// `sent`, `delivered` and `read`.
    All,
}

/// Which interface of satpam to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// Produce to the events topic; signals from the signals topic.
    Kafka,
    /// gRPC Ingest streams; signals from Signals.Watch.
    Grpc,
    /// Signed webhook and send-API bodies POSTed to the webhook receiver;
    /// signals from Signals.Watch.
    Webhook,
}

impl TargetKind {
    /// `kafka` or `grpc`.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Kafka => "kafka",
            TargetKind::Grpc => "grpc",
            TargetKind::Webhook => "webhook",
        }
    }
}

/// Arguments of `satpam-loadgen run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Which interface to load.
    #[arg(long, value_enum)]
    pub target: TargetKind,
    /// Offered events per second (`20000`, `20k`), or `max` (as fast as the
    /// target takes them). Ignored with --sweep, whose main phase runs at
    /// 70% of the saturation rate it finds.
    #[arg(long, value_parser = parse_rate, required_unless_present_any = ["sweep", "catch_up"])]
    pub rate: Option<Rate>,
    /// How long the main phase offers events (`30s`, `10m`, `1h`, `1m30s`).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub duration: Duration,

    /// The broker and the topics.
    #[command(flatten)]
    pub kafka: KafkaTopicArgs,
    /// Create the events, signals and `<topic>.dlq` topics with this many
    /// partitions first (existing topics are left alone).
    #[arg(long)]
    pub create_topics: Option<i32>,
    /// Producer `compression.type` (none, lz4, zstd, gzip, snappy).
    #[arg(long, default_value = "none")]
    pub compression: String,
    /// Extra librdkafka producer property, `key=value` (repeatable).
    #[arg(long = "producer-property", value_parser = parse_property)]
    pub producer: Vec<(String, String)>,
    /// Extra librdkafka consumer property for the signals reader and the
    /// baseline, `key=value` (repeatable).
    #[arg(long = "consumer-property", value_parser = parse_property)]
    pub consumer: Vec<(String, String)>,

    /// satpam's gRPC address.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub grpc: String,
    /// gRPC Ingest streams, one connection each; an account stays in one stream.
    #[arg(long, default_value_t = 4)]
    pub streams: usize,
    /// Events per gRPC batch at most (satpam's grpc.max_batch is 10,000).
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// gRPC batches per stream awaiting their ack, at most; webhook requests
    /// per connection waiting to be sent, at most.
    #[arg(long, default_value_t = 8)]
    pub inflight: usize,

    /// satpam's webhook receiver (`webhook.listen`); signals still come from
    /// `--grpc`'s Signals.Watch.
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub webhook: String,
    /// The receiver's webhook path (`webhook.path`).
    #[arg(long, default_value = "/webhooks/whatsapp")]
    pub webhook_path: String,
    /// The send-API tap's prefix (`webhook.send_path`).
    #[arg(long, default_value = "/sendapi")]
    pub send_path: String,
    /// Webhook connections (HTTP/1.1 keep-alive, one request at a time each);
    /// an account stays on one.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Inbound events (and echoes) per webhook body at most; Meta sends one
    /// or a few. Outbound events go one per send-API request.
    #[arg(long, default_value_t = 1)]
    pub events_per_body: usize,
    /// Webhook: render and sign the requests of the run's first N events
    /// before the timed phases (0: render live), one body per phone number
    /// with up to `--events-per-body` messages, so that the run measures
    /// satpam rather than loadgen's rendering; see loadtest/README.md.
    #[arg(long, default_value_t = 0)]
    pub prerender: u64,
    /// Webhook, with `--prerender`: how notifications share a body. `number`:
    /// one body per business phone number. `connection`: Meta's aggregated
    /// batches, the notifications of many numbers (one entry each) in one
    /// body of up to `--events-per-body` updates (messages and statuses).
    #[arg(long, value_enum, default_value = "number")]
    pub webhook_batch: Batching,
    /// Webhook: the statuses each send-API message is later reported with.
    /// `delivered`: one. `all`: `sent`, `delivered` and `read`, as Meta
    /// reports a message that is read.
    #[arg(long, value_enum, default_value = "delivered")]
    pub statuses: StatusSet,
    /// Environment variable holding the app secret the bodies are signed
    /// with (one of satpam's `[[webhook.apps]]`, which names the tenant); read
    /// from the environment so that it stays out of the recorded command line.
    #[arg(long, default_value = "SATPAM_LOADGEN_APP_SECRET")]
    pub app_secret_env: String,
    /// Longest an event waits to be batched, ms: the producer's `linger.ms`
    /// for Kafka, the batch linger for gRPC, the body linger for webhooks.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,

    /// satpam's Prometheus endpoint: the events counter (Kafka throughput)
    /// and the in-service latency quantiles are read there.
    #[arg(long, default_value = "http://127.0.0.1:9464/metrics")]
    pub metrics: String,

    /// Rate sweep before the main phase: `auto` (from --sweep-start, times
    /// --sweep-factor per step, until satpam saturates) or a list
    /// (`10000,20000,40000`). The main phase then runs at 70% of the
    /// saturation rate.
    #[arg(long, value_parser = parse_sweep)]
    pub sweep: Option<Sweep>,
    /// First rate of an automatic sweep.
    #[arg(long, value_parser = parse_rate, default_value = "5000")]
    pub sweep_start: Rate,
    /// Growth per step of an automatic sweep.
    #[arg(long, default_value_t = 1.5)]
    pub sweep_factor: f64,
    /// Highest rate an automatic sweep tries.
    #[arg(long, value_parser = parse_rate, default_value = "2M")]
    pub sweep_max: Rate,
    /// Length of each sweep step.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub step: Duration,

    /// Events in the drain phase (Kafka: a backlog produced as fast as
    /// possible, timed until satpam has processed it; gRPC: sent at max
    /// batched rate). Default: 10 s at the main rate, at least 200,000. 0: no drain.
    #[arg(long)]
    pub drain_events: Option<u64>,
    /// Catch-up run (Kafka): produce this many events with no satpam
    /// consuming, then start satpam (`--satpam-bin serve --config
    /// --satpam-config`) in a new consumer group at this run's first
    /// offsets and time it alone over exactly those records; then the raw
    /// baseline over the same records. No sweep, main or drain phase; the
    /// ratio is catch-up / baseline. See loadtest/README.md.
    #[arg(long, conflicts_with_all = ["sweep", "rate", "drain_events"], requires = "satpam_config")]
    pub catch_up: Option<u64>,
    /// The satpam binary `--catch-up` starts (default: `satpam` beside
    /// this loadgen binary, else on the PATH).
    #[arg(long, requires = "catch_up")]
    pub satpam_bin: Option<PathBuf>,
    /// The config `--catch-up` starts satpam with: `[kafka]` on `--brokers`
    /// and `--topic`, `[metrics] listen` at `--metrics`. Its group id is
    /// replaced by a new one (`SATPAM_KAFKA__GROUP_ID`).
    #[arg(long, requires = "catch_up")]
    pub satpam_config: Option<PathBuf>,
    /// Skip the raw baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Give up on the baseline read after this long.
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub baseline_timeout: Duration,
    /// Longest wait for satpam to work off a backlog between phases.
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub settle_timeout: Duration,
    /// After the last event is processed, wait this long for late signals.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub signal_grace: Duration,

    /// Accounts in the scenario (default: sized to the run, 50 to 5,000).
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Hours of event time in the scenario, looped beyond (default: sized to the run).
    #[arg(long)]
    pub hours: Option<f64>,
    /// Scenario seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory with the corpora; the built-in texts when it does not exist.
    #[arg(long, default_value = "../shared/data/corpora")]
    pub corpora: PathBuf,
    /// Withhold message text (empty text, text_length set).
    #[arg(long)]
    pub metadata_only: bool,
    /// Event time between the end of one loop over the scenario and the
    /// start of the next. The default is longer than satpam's default idle
    /// limits, so each loop meets empty state and the violating accounts are
    /// detected again (signals keep coming); `1m` continues the accounts.
    #[arg(long, value_parser = parse_duration, default_value = "15d")]
    pub loop_gap: Duration,

    /// Also report the CPU time of this process on this machine, per phase,
    /// over the drain and over the baseline, as `NAME=PID` (repeatable):
    /// `--watch-pid satpam=$(pgrep -x satpam) --watch-pid broker=$(cat
    /// target/broker/pid)`. loadgen's own CPU is always reported.
    #[arg(long = "watch-pid", value_name = "NAME=PID", value_parser = cpu::parse_watch)]
    pub watch_pid: Vec<(String, u32)>,

    /// Print one JSON object on stdout (the summary table goes to stderr;
    /// no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Write a results file (`YYYY-MM-DD-<target>-<rate>.md`) into this directory.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

/// The broker and satpam's topics, as `run` and `topics` take them.
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaTopicArgs {
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// Events topic (satpam's kafka.events_topic).
    #[arg(long, default_value = "satpam.events")]
    pub topic: String,
    /// Signals topic (satpam's kafka.signals_topic).
    #[arg(long, default_value = "satpam.signals")]
    pub signals_topic: String,
}

/// Arguments of `satpam-loadgen topics`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopicsArgs {
    /// The broker and the topics.
    #[command(flatten)]
    pub kafka: KafkaTopicArgs,
    /// Partitions of each topic.
    #[arg(long, default_value_t = 12)]
    pub partitions: i32,
}

/// Runs `satpam-loadgen topics`.
pub fn topics(args: TopicsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.partitions >= 1, "--partitions must be at least 1");
    let settings = KafkaSettings {
        brokers: args.kafka.brokers,
        topic: args.kafka.topic,
        signals_topic: args.kafka.signals_topic,
        linger_ms: 5,
        compression: "none".into(),
        producer: Vec::new(),
        consumer: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(kafka::create_topics(&settings, args.partitions))?;
    eprintln!(
        "topics {}, {} and {}.dlq: {} partitions each (existing ones left alone)",
        settings.topic, settings.signals_topic, settings.topic, args.partitions
    );
    Ok(())
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}`: expected key=value"))
}

/// The quoted command line.
pub fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 {
                std::path::Path::new(&a)
                    .file_name()
                    .map_or(a.clone(), |n| n.to_string_lossy().into_owned())
            } else {
                a
            };
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
