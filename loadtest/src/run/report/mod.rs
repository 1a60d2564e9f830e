//! What a run measured: the JSON object (`--json`), the summary table, and
//! the results file (`--record DIR`) with the machine and the command line.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cpu::{self, CpuUse};
use super::latency::{round3, LatencySummary};
use super::metrics_scrape::StageQuantiles;
use super::traffic::PoolStats;

/// The project's targets: satpam's Kafka throughput at least this share of
/// the raw consume rate ...
pub const TARGET_RATIO: f64 = 0.7;
/// ... and in-service p99 at most this many ms at 70% of saturation.
pub const TARGET_IN_SERVICE_P99_MS: f64 = 1.0;

/// One phase of a run: a sweep step, the main run, the drain, the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `sweep-1`, `main`, `drain`, `baseline`.
    pub name: String,
    /// `open-loop` (fixed rate) or `max` (as fast as the target takes them).
    pub kind: &'static str,
    /// Offered events per second (`None` for max).
    pub offered_rate: Option<f64>,
    /// Events sent in the phase.
    pub events: u64,
    /// Seconds from the phase's start until its last event was handed to the client.
    pub seconds: f64,
    /// Events per second the generator actually handed to the client.
    pub sent_rate: f64,
    /// Events per second the target processed during the phase (satpam's
    /// counter for Kafka, acked events for gRPC).
    pub achieved_rate: f64,
    /// Events sent but not yet processed when the phase ended.
    pub backlog: u64,
    /// The target fell behind: achieved below 90% of what was sent, or a
    /// backlog of more than a second's worth of events.
    pub saturated: bool,
    /// The generator could not send at the offered rate (the harness, not the target, was the limit).
    pub generator_limited: bool,
    /// End-to-end latency (intended send -> signal seen), ms.
    pub latency_ms: Option<LatencySummary>,
    /// The end-to-end latency split at satpam's decision (ms resolution).
    pub latency_split_ms: Option<LatencySplit>,
    /// Ack latency, ms: gRPC, batch intended send -> BatchAck; Kafka, event
    /// intended send -> the broker acknowledged it to loadgen's producer;
    /// webhook, request intended send -> its answer (the request latency).
    pub ack_latency_ms: Option<LatencySummary>,
    /// satpam's in-service latency quantiles scraped at the end of the phase, ms.
    pub in_service_ms: Option<StageQuantiles>,
    /// CPU seconds loadgen itself used during the phase (generator, clients,
    /// readers; the gRPC null server too in the baseline phase).
    pub loadgen_cpu_s: Option<f64>,
    /// CPU seconds during the phase (its start until its last event was
    /// sent) of loadgen and of each `--watch-pid` process, by name.
    pub cpu_s: CpuUse,
}

/// End-to-end latency split at the signal's `decided_at_ms` (satpam's wall
/// clock, millisecond resolution, same machine): how long the event took to
/// be decided, and how long the signal took to arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySplit {
    /// Intended send -> decided (producer, broker, satpam's consumer, queues, engine), ms.
    pub to_decision: LatencySummary,
    /// Decided -> signal seen by loadgen (satpam's producer, broker, loadgen's consumer), ms.
    pub from_decision: LatencySummary,
}

/// The raw baseline of the same run.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// What was measured.
    pub method: String,
    /// Events read (or acked).
    pub events: u64,
    /// Seconds from start to the last event.
    pub seconds: f64,
    /// Events per second between 10% and 90% of the events.
    pub rate: f64,
    /// Every event was read before the timeout.
    pub complete: bool,
    /// CPU seconds over the whole baseline, by process: loadgen (the raw
    /// consumer, or the gRPC client and the null server) and each
    /// `--watch-pid` process (the broker serving the baseline's fetches).
    pub cpu_s: CpuUse,
    /// The same, in microseconds per event.
    pub cpu_us_per_event: CpuUse,
}

/// The drain measurement: satpam working through a burst of events sent as
/// fast as possible (Kafka: a backlog; gRPC: max batched rate).
#[derive(Debug, Clone, Serialize)]
pub struct DrainReport {
    /// Events in the burst.
    pub events: u64,
    /// Events not yet processed when the last one had been sent (Kafka:
    /// the backlog satpam then drained with the producer idle).
    pub backlog_at_producer_done: u64,
    /// Seconds from the first event sent until all were processed.
    pub seconds: f64,
    /// Events per second satpam processed between 10% and 90% of the burst.
    pub rate: f64,
    /// Kafka: the producer was not faster than satpam (backlog under 10% of
    /// the burst), so `rate` is the producer's and a lower bound for satpam.
    pub producer_limited: bool,
    /// `satpam_events_total` (every source; webhook: messages and delivery
    /// reports) counted by satpam from a scrape before the burst to one after
    /// it was processed, per second of that span (a whole-drain rate, so a
    /// little under the 10-90% one); `None` without the metrics endpoint.
    pub satpam_events_rate: Option<f64>,
    /// CPU seconds from the first event sent until all were processed, by
    /// process: loadgen (the producer or gRPC client) and each
    /// `--watch-pid` process (satpam: processing exactly these events).
    pub cpu_s: CpuUse,
    /// The same, in microseconds per event.
    pub cpu_us_per_event: CpuUse,
}

/// The catch-up measurement (`--catch-up`): satpam started on a new
/// consumer group after the whole burst was produced, timed alone over
/// exactly this run's records.
#[derive(Debug, Clone, Serialize)]
pub struct CatchUpReport {
    /// Events of the burst (what the broker acknowledged).
    pub events: u64,
    /// The new consumer group satpam ran in, its offsets committed at this
    /// run's first offsets before satpam started.
    pub group: String,
    /// Seconds from starting satpam until its `/metrics` answered.
    pub startup_s: f64,
    /// Seconds from `/metrics` answering until every event was processed.
    pub seconds: f64,
    /// Events per second satpam processed between 10% and 90% of the burst.
    pub rate: f64,
    /// CPU seconds from `/metrics` answering until every event was
    /// processed, by process: satpam (always), loadgen (its scrapes) and
    /// each `--watch-pid` process (the broker serving satpam's fetches).
    pub cpu_s: CpuUse,
    /// The same, in microseconds per event.
    pub cpu_us_per_event: CpuUse,
    /// satpam's CPU seconds over the same span by thread name
    /// (`/proc/<pid>/task/*/stat`; threads of one name summed), largest first.
    pub satpam_threads_cpu_s: Vec<(String, f64)>,
    /// satpam's stdout and stderr.
    pub log: String,
}

/// The machine the run was on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub nproc: usize,
    /// CPU model (/proc/cpuinfo).
    pub cpu: String,
    /// Kernel release.
    pub kernel: String,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// /proc/loadavg (1, 5, 15 min) when the run started: the machine may be shared.
    pub loadavg_start: String,
    /// /proc/loadavg when the run ended (loadgen, satpam and the broker included).
    pub loadavg_end: String,
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

impl Machine {
    /// Reads /proc; unknown fields say so.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().find_map(|l| {
                    l.strip_prefix("MemTotal:")
                        .and_then(|r| r.split_whitespace().next())
                        .and_then(|v| v.parse().ok())
                })
            })
            .unwrap_or(0.0);
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
            memory_gib: (mem_kib / 1_048_576.0 * 10.0).round() / 10.0,
            loadavg_start: loadavg(),
            loadavg_end: String::new(),
        }
    }
}

/// What the HTTP floor measured (`super::http_floor`).
#[derive(Debug, Clone, Serialize)]
pub struct HttpFloorReport {
    /// What was measured.
    pub method: String,
    /// Requests answered 200.
    pub requests: u64,
    /// Events (messages) in them.
    pub events: u64,
    /// Seconds from the first request to the last answer.
    pub seconds: f64,
    /// Requests per second.
    pub requests_rate: f64,
    /// Events per second.
    pub events_rate: f64,
    /// CPU seconds, by process (loadgen: the client and the null server).
    pub cpu_s: CpuUse,
    /// The same, in microseconds per request.
    pub cpu_us_per_request: CpuUse,
}

/// The webhook target's own figures.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookFigures {
    /// Requests answered over the whole run (webhook and send-API).
    pub requests: u64,
    /// Requests answered with anything but 200 (0 in a healthy run).
    pub refused: u64,
    /// Events per request over the whole run.
    pub events_per_request: f64,
    /// Statuses in the requests answered 200 (satpam processes each as a
    /// delivery report, and counts it in `satpam_events_total`).
    pub reports: u64,
    /// Updates (events and statuses) per request over the whole run.
    pub updates_per_request: f64,
    /// Main phase requests per second: `achieved_rate / events_per_request`.
    pub requests_rate: f64,
    /// satpam's own parse and mapping of the baseline's webhook bodies on
    /// one loadgen thread, events/s (beside the baseline's JSON + HMAC).
    pub parse_map_rate: Option<f64>,
    /// The same bodies to a null HTTP server: the ceiling this client and
    /// loopback HTTP/1.1 set on this machine.
    pub http_floor: Option<HttpFloorReport>,
}

/// Whether the run met the project's targets (`None`: not measured by this run).
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    /// `ratio >= 0.7` (Kafka only).
    pub ratio_ge_0_7: Option<bool>,
    /// In-service p99 <= 1 ms in the main phase, when it ran at 70% of a
    /// saturation rate found by the sweep.
    pub in_service_p99_le_1ms_at_70pct: Option<bool>,
}

/// Everything one run measured; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `satpam-loadgen run`.
    pub tool: &'static str,
    /// This build's version.
    pub version: &'static str,
    /// Run id (in every event id and account id of the run), hex.
    pub run_id: String,
    /// UTC start time, RFC 3339.
    pub date: String,
    /// The exact command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// `kafka`, `grpc` or `webhook`.
    pub target: &'static str,
    /// Brokers and topic, or the gRPC address.
    pub endpoint: String,
    /// Main phase: `open-loop` or `max`; `catch-up` for a catch-up run
    /// (whose main phase is the produced burst).
    pub mode: &'static str,
    /// Main phase offered rate, events/s (the sent rate for `--rate max`).
    pub offered_rate: f64,
    /// Main phase rate the generator achieved, events/s.
    pub sent_rate: f64,
    /// Main phase rate satpam processed, events/s.
    pub achieved_rate: f64,
    /// Main phase fell behind.
    pub saturated: bool,
    /// Raw client rate on this machine in the same run (Kafka: consume-only;
    /// gRPC: a null Ingest server), events/s.
    pub baseline_rate: Option<f64>,
    /// How the baseline was measured.
    pub baseline: Option<BaselineReport>,
    /// satpam's rate on a backlog (Kafka) or at max batched rate (gRPC), events/s.
    pub drain_rate: Option<f64>,
    /// The drain measurement.
    pub drain: Option<DrainReport>,
    /// Catch-up runs only (`--catch-up`): satpam alone over a produced burst.
    pub catch_up: Option<CatchUpReport>,
    /// Webhook only: requests, requests/s, the parse-and-map rate.
    pub webhook: Option<WebhookFigures>,
    /// Highest rate satpam sustained in the sweep, events/s.
    pub saturation_rate: Option<f64>,
    /// satpam throughput / baseline_rate; see `ratio_basis`.
    pub ratio: Option<f64>,
    /// Which satpam throughput `ratio` divides: `catch-up` (`--catch-up`),
    /// `drain`, `max` (a main phase at `--rate max`), `saturation` or
    /// `achieved` (a lower bound unless the main phase saturated).
    pub ratio_basis: Option<&'static str>,
    /// End-to-end latency of the main phase (intended send -> signal seen), ms.
    pub latency_ms: Option<LatencySummary>,
    /// The main phase's end-to-end latency split at satpam's decision, ms.
    pub latency_split_ms: Option<LatencySplit>,
    /// Ack latency of the main phase (gRPC: BatchAck; Kafka: the broker's
    /// produce acknowledgement), ms.
    pub ack_latency_ms: Option<LatencySummary>,
    /// satpam's in-service latency at the end of the main phase, ms.
    pub in_service_ms: Option<StageQuantiles>,
    /// Seconds the main phase ran.
    pub duration_s: f64,
    /// Events sent over the whole run.
    pub events_sent: u64,
    /// Events satpam processed over the whole run (baseline excluded).
    pub events_processed: u64,
    /// Signals of this run seen (signals topic or Watch).
    pub signals_seen: u64,
    /// Signals seen by action.
    pub signals_by_action: BTreeMap<String, u64>,
    /// Late events satpam counted during the run (should be 0).
    pub late_events: u64,
    /// Duplicate events satpam counted during the run (should be 0).
    pub duplicate_events: u64,
    /// Events refused in gRPC acks (should be 0).
    pub rejected_events: u64,
    /// The traffic.
    pub scenario: ScenarioReport,
    /// Every phase, in order.
    pub phases: Vec<PhaseReport>,
    /// The project's targets.
    pub targets: Targets,
    /// Things the reader should know (limits hit, partial measurements).
    pub notes: Vec<String>,
}

/// The traffic a run offered.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Scenario seed.
    pub seed: u64,
    /// Hours of event time generated per loop.
    pub hours: f64,
    /// Event time between loops, hours.
    pub loop_gap_hours: f64,
    /// Where texts came from.
    pub text_source: String,
    /// Pool counts.
    #[serde(flatten)]
    pub pool: PoolStats,
}

/// `secs` since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

mod render;
#[cfg(test)]
mod tests;
