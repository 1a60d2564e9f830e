//! What a run measured: the JSON object (`--json`), the summary table, and
//! the results file (`--record DIR`) with the machine and the command line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
    /// intended send -> the broker acknowledged it to loadgen's producer.
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
    /// CPU seconds from the first event sent until all were processed, by
    /// process: loadgen (the producer or gRPC client) and each
    /// `--watch-pid` process (satpam: processing exactly these events).
    pub cpu_s: CpuUse,
    /// The same, in microseconds per event.
    pub cpu_us_per_event: CpuUse,
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
    /// `kafka` or `grpc`.
    pub target: &'static str,
    /// Brokers and topic, or the gRPC address.
    pub endpoint: String,
    /// Main phase: `open-loop` or `max`.
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
    /// Highest rate satpam sustained in the sweep, events/s.
    pub saturation_rate: Option<f64>,
    /// satpam throughput / baseline_rate; see `ratio_basis`.
    pub ratio: Option<f64>,
    /// Which satpam throughput `ratio` divides: `drain`, `max` (a main phase
    /// at `--rate max`), `saturation` or `achieved` (a lower bound unless
    /// the main phase saturated).
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

impl Report {
    /// Fills `ratio` and `targets` from the figures.
    pub fn finish(&mut self, main_at_70pct_of_saturation: bool) {
        let satpam = if let Some(d) = self.drain_rate {
            Some((d, "drain"))
        } else if self.mode == "max" {
            Some((self.achieved_rate, "max"))
        } else if let Some(s) = self.saturation_rate {
            Some((s, "saturation"))
        } else {
            Some((self.achieved_rate, "achieved"))
        };
        if let (Some((rate, basis)), Some(base)) = (satpam, self.baseline_rate) {
            if base > 0.0 {
                self.ratio = Some(round3(rate / base));
                self.ratio_basis = Some(basis);
            }
        }
        self.targets = Targets {
            ratio_ge_0_7: if self.target == "kafka" {
                self.ratio.map(|r| r >= TARGET_RATIO)
            } else {
                None
            },
            in_service_p99_le_1ms_at_70pct: if main_at_70pct_of_saturation {
                self.in_service_ms
                    .map(|q| q.p99 <= TARGET_IN_SERVICE_P99_MS)
            } else {
                None
            },
        };
    }

    /// The human summary: one row per phase, then the headline figures.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "satpam-loadgen run: {} {} (run {})",
            self.target, self.endpoint, self.run_id
        );
        let _ = writeln!(
            o,
            "traffic: {} accounts ({} violating), {:.1} h of event time per loop of {} events, {:.0} B/event, texts {}",
            self.scenario.pool.accounts,
            self.scenario.pool.violating_accounts,
            self.scenario.pool.span_hours,
            self.scenario.pool.events,
            self.scenario.pool.mean_event_bytes,
            self.scenario.text_source
        );
        let _ = writeln!(
            o,
            "{:<10} {:>10} {:>10} {:>10} {:>9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "phase",
            "offered/s",
            "sent/s",
            "achieved/s",
            "backlog",
            "sat",
            "e2e p50",
            "e2e p99",
            "e2e p99.9",
            "e2e max",
            "ack p99",
            "svc p99"
        );
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        for p in &self.phases {
            let _ = writeln!(
                o,
                "{:<10} {:>10} {:>10.0} {:>10.0} {:>9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                p.name,
                p.offered_rate
                    .map_or("max".to_string(), |r| format!("{r:.0}")),
                p.sent_rate,
                p.achieved_rate,
                p.backlog,
                if p.saturated { "yes" } else { "" },
                ms(p.latency_ms.map(|l| l.p50)),
                ms(p.latency_ms.map(|l| l.p99)),
                ms(p.latency_ms.map(|l| l.p999)),
                ms(p.latency_ms.map(|l| l.max)),
                ms(p.ack_latency_ms.map(|l| l.p99)),
                ms(p.in_service_ms.map(|q| q.p99)),
            );
        }
        let _ = writeln!(o, "(latencies in ms, from each event's intended send time; svc = satpam's in-service stage)");
        let rate = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} events/s"));
        let _ = writeln!(
            o,
            "main: offered {:.0}/s, sent {:.0}/s, achieved {:.0}/s over {:.1} s{}",
            self.offered_rate,
            self.sent_rate,
            self.achieved_rate,
            self.duration_s,
            if self.saturated { " (saturated)" } else { "" }
        );
        if let Some(s) = self.saturation_rate {
            let _ = writeln!(o, "saturation (sweep): {s:.0} events/s");
        }
        if let Some(d) = &self.drain {
            let _ = writeln!(
                o,
                "drain: {} events, backlog {} when the last was sent, processed at {:.0} events/s (10-90%){}",
                d.events,
                d.backlog_at_producer_done,
                d.rate,
                if d.producer_limited {
                    " (producer-limited: a lower bound)"
                } else {
                    ""
                }
            );
            if !d.cpu_s.is_empty() {
                let _ = writeln!(
                    o,
                    "  CPU over the drain: {}",
                    cpu::describe(&d.cpu_s, d.events, d.seconds)
                );
            }
        }
        if let Some(b) = &self.baseline {
            let _ = writeln!(
                o,
                "baseline: {} over {} events: {}{}",
                b.method,
                b.events,
                rate(Some(b.rate)),
                if b.complete { "" } else { " (incomplete)" }
            );
            if !b.cpu_s.is_empty() {
                let _ = writeln!(
                    o,
                    "  CPU over the baseline: {}",
                    cpu::describe(&b.cpu_s, b.events, b.seconds)
                );
            }
        }
        if let (Some(r), Some(basis)) = (self.ratio, self.ratio_basis) {
            let verdict = match self.targets.ratio_ge_0_7 {
                Some(true) => "  [target >= 0.7: met]",
                Some(false) => "  [target >= 0.7: missed]",
                None => "",
            };
            let _ = writeln!(o, "ratio ({basis} / baseline): {r:.3}{verdict}");
        }
        if let Some(l) = &self.latency_ms {
            let _ = writeln!(
                o,
                "end-to-end (main, {} signals): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                l.samples, l.p50, l.p99, l.p999, l.max
            );
        }
        if let Some(s) = &self.latency_split_ms {
            let _ = writeln!(
                o,
                "  to decision: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; decision to seen: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                s.to_decision.p50,
                s.to_decision.p99,
                s.to_decision.max,
                s.from_decision.p50,
                s.from_decision.p99,
                s.from_decision.max
            );
        }
        if let Some(l) = &self.ack_latency_ms {
            let what = if self.target == "grpc" {
                "gRPC ack (main, batches"
            } else {
                "produce ack (main, events"
            };
            let _ = writeln!(
                o,
                "{what} {}): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                l.samples, l.p50, l.p99, l.p999, l.max
            );
        }
        if let Some(q) = &self.in_service_ms {
            let verdict = match self.targets.in_service_p99_le_1ms_at_70pct {
                Some(true) => "  [target <= 1 ms at 70% of saturation: met]",
                Some(false) => "  [target <= 1 ms at 70% of saturation: missed]",
                None => "",
            };
            let _ = writeln!(
                o,
                "in-service (satpam, end of main): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms{verdict}",
                q.p50, q.p99, q.p999, q.max
            );
        }
        let _ = writeln!(
            o,
            "events sent {}, processed {}, signals seen {}, late {}, duplicates {}, rejected {}",
            self.events_sent,
            self.events_processed,
            self.signals_seen,
            self.late_events,
            self.duplicate_events,
            self.rejected_events
        );
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }

    /// The results file: date, machine, command line, the table and the JSON.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# satpam-loadgen run: {} at {}\n",
            self.target,
            if self.mode == "max" {
                "max rate".to_string()
            } else {
                format!("{:.0} events/s", self.offered_rate)
            }
        );
        let m = &self.machine;
        let _ = writeln!(o, "- date: {}", self.date);
        let _ = writeln!(
            o,
            "- machine: {} CPUs ({}), kernel {}, {:.1} GiB memory; load average {} at the start, {} at the end",
            m.nproc, m.cpu, m.kernel, m.memory_gib, m.loadavg_start, m.loadavg_end
        );
        let _ = writeln!(o, "- command: `{}`", self.command);
        let _ = writeln!(o, "- run id: {}\n", self.run_id);
        let _ = writeln!(o, "```\n{}```\n", self.table());
        let json = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("\"{e}\""));
        let _ = writeln!(o, "```json\n{json}\n```");
        o
    }

    /// Writes the results file into `dir` as `YYYY-MM-DD-<target>-<rate>.md`
    /// (`-2`, `-3`, ... when taken); returns its path.
    pub fn record(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let day = self.date.get(..10).unwrap_or("undated");
        let rate = if self.mode == "max" {
            "max".to_string()
        } else {
            format!("{:.0}", self.offered_rate)
        };
        let stem = format!("{day}-{}-{rate}", self.target);
        let mut path = dir.join(format!("{stem}.md"));
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("{stem}-{n}.md"));
            n += 1;
        }
        std::fs::write(&path, self.markdown())?;
        Ok(path)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(p50: f64) -> LatencySummary {
        LatencySummary {
            samples: 10,
            p50,
            p99: p50 * 2.0,
            p999: p50 * 3.0,
            max: p50 * 4.0,
        }
    }

    pub(crate) fn sample_report() -> Report {
        Report {
            tool: "satpam-loadgen run",
            version: "0.1.0",
            run_id: "1a2b3c4d".into(),
            date: rfc3339(1_795_000_000),
            command: "satpam-loadgen run --target kafka --rate 2000 --duration 5s".into(),
            machine: Machine {
                nproc: 2,
                cpu: "Test CPU".into(),
                kernel: "6.1".into(),
                memory_gib: 24.0,
                loadavg_start: "0.10 0.20 0.30".into(),
                loadavg_end: "1.10 0.40 0.35".into(),
            },
            target: "kafka",
            endpoint: "127.0.0.1:19192 satpam.events".into(),
            mode: "open-loop",
            offered_rate: 2_000.0,
            sent_rate: 2_000.0,
            achieved_rate: 1_990.0,
            saturated: false,
            baseline_rate: Some(100_000.0),
            baseline: None,
            drain_rate: Some(80_000.0),
            drain: None,
            saturation_rate: None,
            ratio: None,
            ratio_basis: None,
            latency_ms: Some(summary(1.5)),
            latency_split_ms: None,
            ack_latency_ms: None,
            in_service_ms: Some(StageQuantiles {
                p50: 0.01,
                p99: 0.2,
                p999: 0.9,
                max: 3.0,
            }),
            duration_s: 5.0,
            events_sent: 10_000,
            events_processed: 10_000,
            signals_seen: 12,
            signals_by_action: BTreeMap::from([("flag".to_string(), 12)]),
            late_events: 0,
            duplicate_events: 0,
            rejected_events: 0,
            scenario: ScenarioReport {
                seed: 1,
                hours: 3.8,
                loop_gap_hours: 360.0,
                text_source: "built-in".into(),
                pool: PoolStats::default(),
            },
            phases: vec![],
            targets: Targets {
                ratio_ge_0_7: None,
                in_service_p99_le_1ms_at_70pct: None,
            },
            notes: vec![],
        }
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = sample_report();
        r.finish(false);
        let v = serde_json::to_value(&r).expect("json");
        for key in [
            "offered_rate",
            "achieved_rate",
            "baseline_rate",
            "ratio",
            "ratio_basis",
            "drain_rate",
            "saturation_rate",
            "events_sent",
            "signals_seen",
            "in_service_ms",
            "phases",
            "machine",
            "command",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for q in ["p50", "p99", "p999", "max"] {
            assert!(v["latency_ms"][q].is_number(), "latency_ms.{q}");
        }
        assert_eq!(v["ratio"], 0.8);
        assert_eq!(v["ratio_basis"], "drain");
        assert_eq!(v["targets"]["ratio_ge_0_7"], true);
        assert!(v["targets"]["in_service_p99_le_1ms_at_70pct"].is_null());
    }

    #[test]
    fn ratio_falls_back_to_saturation_then_achieved() {
        let mut r = sample_report();
        r.drain_rate = None;
        r.saturation_rate = Some(50_000.0);
        r.finish(true);
        assert_eq!(r.ratio, Some(0.5));
        assert_eq!(r.ratio_basis, Some("saturation"));
        assert_eq!(r.targets.ratio_ge_0_7, Some(false));
        assert_eq!(r.targets.in_service_p99_le_1ms_at_70pct, Some(true));
        let mut r = sample_report();
        r.drain_rate = None;
        r.finish(false);
        assert_eq!(r.ratio_basis, Some("achieved"));
        assert_eq!(r.ratio, Some(0.02));
        let mut r = sample_report();
        r.baseline_rate = None;
        r.finish(false);
        assert_eq!(r.ratio, None);
    }

    #[test]
    fn dates_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_769_904_000), "2026-02-01T00:00:00Z");
        assert_eq!(rfc3339(1_769_990_399), "2026-02-01T23:59:59Z");
    }

    #[test]
    fn results_file_names_by_day_target_rate_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("dir");
        let mut r = sample_report();
        r.finish(false);
        let a = r.record(dir.path()).expect("first");
        let b = r.record(dir.path()).expect("second");
        let day = &r.date[..10];
        assert_eq!(
            a.file_name().and_then(|n| n.to_str()),
            Some(format!("{day}-kafka-2000.md").as_str())
        );
        assert_eq!(
            b.file_name().and_then(|n| n.to_str()),
            Some(format!("{day}-kafka-2000-2.md").as_str())
        );
        let text = std::fs::read_to_string(a).expect("read");
        for want in [
            "Test CPU",
            "kernel 6.1",
            "`satpam-loadgen run --target kafka --rate 2000 --duration 5s`",
            "\"baseline_rate\": 100000.0",
            "e2e p99",
        ] {
            assert!(text.contains(want), "missing {want}:\n{text}");
        }
    }
}
