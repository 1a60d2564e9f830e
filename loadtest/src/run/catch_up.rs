//! The catch-up phase (`--catch-up N`): satpam alone against the raw
//! consume baseline over the same records.
//!
//! 1. **Produce**: N events as fast as the producer goes, with no satpam
//!    consuming (loadgen starts it later; nothing else may consume the topic).
//! 2. **Start offsets**: a new consumer group gets this run's first offset
//!    in each partition committed (the high watermark where the run put
//!    nothing), so satpam reads exactly these records, whatever the topic
//!    held before.
//! 3. **Catch-up**: loadgen starts `satpam serve` in that group and counts
//!    `satpam_events_total{source="kafka"}` until all N are processed; the
//!    rate is taken between 10% and 90% of them (start-up, the first fetch
//!    and the tail do not count). CPU by process and satpam's CPU by thread.
//! 4. satpam is stopped (SIGTERM), then the baseline reads the same records
//!    with nothing else running.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::baseline;
use super::cpu;
use super::generator::{Pace, PhasePlan};
use super::kafka::{self, DeliveryStats, KafkaProbe, KafkaSettings, KafkaSink};
use super::latency::round3;
use super::metrics_scrape::Scrape;
use super::phases::{PhaseOutcome, Probe, Runner};
use super::report::{BaselineReport, CatchUpReport};
use super::satpam_process::{self, SatpamProcess};
use super::throughput::CountSeries;

/// The environment variable that puts satpam in the catch-up's group
/// (satpam's `SATPAM_<SECTION>__<KEY>` override of `kafka.group_id`).
const GROUP_ENV: &str = "SATPAM_KAFKA__GROUP_ID";

/// How often satpam's counter is read during the catch-up (each scrape
/// costs satpam a walk over its gauges).
const SCRAPE_EVERY: Duration = Duration::from_millis(200);

/// How long satpam may process nothing, with events waiting, before the
/// catch-up gives up.
const STALL: Duration = Duration::from_secs(60);

/// satpam's metrics when the catch-up started and when it ended.
pub type Scrapes = (Option<Scrape>, Option<Scrape>);

/// How to start satpam for the catch-up.
#[derive(Debug, Clone)]
pub struct SatpamCommand {
    /// The `satpam` binary.
    pub bin: PathBuf,
    /// Its config (`[kafka]` on the same broker and topic, `[metrics]` on
    /// loadgen's `--metrics`).
    pub config: PathBuf,
}

/// What a catch-up run measured.
pub struct CatchUpOutcome {
    /// The produce phase (loadgen's producer alone).
    pub produce: PhaseOutcome,
    /// satpam's catch-up.
    pub report: CatchUpReport,
    /// The raw consumer over the same records (unless `--no-baseline`).
    pub baseline: Option<BaselineReport>,
    /// satpam's metrics when the catch-up started and ended.
    pub scrapes: Scrapes,
}

/// While producing, nothing is consumed: the probe counts deliveries only.
struct Delivered(Arc<DeliveryStats>);

impl Probe for Delivered {
    fn processed(&self) -> anyhow::Result<(u64, Instant)> {
        Ok((0, Instant::now()))
    }
    fn sent(&self) -> u64 {
        self.0.delivered.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn interval(&self) -> Duration {
        Duration::from_millis(200)
    }
}

/// Runs the whole catch-up: produce, commit the group's start, satpam
/// alone, the baseline.
pub fn run(
    runner: &mut Runner,
    settings: &KafkaSettings,
    satpam: &SatpamCommand,
    events: u64,
    baseline_timeout: Option<Duration>,
) -> anyhow::Result<CatchUpOutcome> {
    anyhow::ensure!(events > 0, "--catch-up needs at least one event");
    anyhow::ensure!(
        runner.metrics.scrape().is_err(),
        "something already answers at {}: --catch-up starts satpam itself, so stop the one running (it would consume the burst too)",
        runner.metrics.url()
    );
    let run_id = runner.shared.pool.run();
    let mut sink = KafkaSink::new(settings, runner.shared.clone())?;
    let stats = sink.stats();
    let produce = runner.phase(
        "produce",
        PhasePlan {
            pace: Pace::Max,
            events,
            deadline: None,
        },
        &mut sink,
        &Delivered(stats.clone()),
    )?;
    drop(sink);
    let delivered = stats.delivered.load(std::sync::atomic::Ordering::Relaxed);
    let first = stats.first_offsets();
    let group = format!("satpam-loadgen-catch-up-{run_id:08x}");
    commit_start(settings, &group, &first)?;

    runner.progress.phase("catch-up", Some(delivered));
    let log = std::env::temp_dir().join(format!("{group}.log"));
    let started = Instant::now();
    let mut process = SatpamProcess::start(
        &satpam.bin,
        &satpam.config,
        &[(GROUP_ENV, group.clone())],
        log,
        &runner.metrics,
        Duration::from_secs(60),
    )?;
    let startup_s = started.elapsed().as_secs_f64();
    let timed = time_catch_up(runner, &mut process, delivered, startup_s, &group);
    let stopped = process.stop(Duration::from_secs(30));
    let (report, scrapes) = timed?;
    if !stopped {
        runner.notes.push(format!(
            "satpam did not stop within 30 s of SIGTERM after the catch-up; killed (log {})",
            report.log
        ));
    }
    runner.progress.println(&format!(
        "catch-up: {} events at {:.0}/s (10-90%); satpam {}",
        report.events,
        report.rate,
        report
            .cpu_us_per_event
            .get("satpam")
            .map_or("-".into(), |us| format!("{us:.2} us/event"))
    ));

    let baseline = match baseline_timeout {
        None => None,
        Some(timeout) => Some(baseline::kafka_consume_reported(
            runner, settings, run_id, &first, delivered, timeout,
        )?),
    };
    Ok(CatchUpOutcome {
        produce,
        report,
        baseline,
        scrapes,
    })
}

/// Commits, for `group`, this run's first offset in each partition of the
/// events topic (the high watermark where the run put nothing), and reads
/// them back.
fn commit_start(
    settings: &KafkaSettings,
    group: &str,
    first: &HashMap<i32, i64>,
) -> anyhow::Result<()> {
    let consumer: BaseConsumer = settings
        .consumer_config(group)
        .create()
        .context("creating the consumer that commits the catch-up's start")?;
    let topic = &settings.topic;
    let mut tpl = TopicPartitionList::new();
    for p in kafka::partitions(&consumer, topic)? {
        let offset = match first.get(&p) {
            Some(o) => *o,
            None => {
                consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .with_context(|| format!("watermarks of {topic}/{p}"))?
                    .1
            }
        };
        tpl.add_partition_offset(topic, p, Offset::Offset(offset))?;
    }
    consumer
        .commit(&tpl, CommitMode::Sync)
        .with_context(|| format!("committing the start offsets of group {group}"))?;
    let back = consumer
        .committed_offsets(tpl.clone(), Duration::from_secs(10))
        .with_context(|| format!("reading back the offsets of group {group}"))?;
    let want: Vec<(i32, Offset)> = tpl
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    let got: Vec<(i32, Offset)> = back
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    anyhow::ensure!(
        want == got,
        "the broker kept other start offsets for group {group}: {got:?}, not {want:?}"
    );
    Ok(())
}

/// Counts satpam's events until `events` are processed (or it stalls,
/// exits or runs past the settle timeout).
fn time_catch_up(
    runner: &mut Runner,
    process: &mut SatpamProcess,
    events: u64,
    startup_s: f64,
    group: &str,
) -> anyhow::Result<(CatchUpReport, Scrapes)> {
    // Counted from zero: satpam may have processed some before this first look.
    let probe = KafkaProbe::fresh(runner.metrics.clone());
    let scrape_start = runner.scrape();
    let cpu = runner.cpu.with("satpam", process.pid())?;
    let cpu0 = cpu.sample();
    let threads0 = process.threads();
    let started = Instant::now();
    let mut series = CountSeries::default();
    series.push(0, started);
    let mut moved = (0u64, started);
    let mut prev: Option<(u64, Instant)> = None;
    let done_at = loop {
        std::thread::sleep(SCRAPE_EVERY);
        let (p, t) = probe.processed()?;
        series.push(p, t);
        runner
            .progress
            .update(p.min(events), format!("satpam alone, {p} processed"));
        if p >= events {
            // Interpolated between the last two reads, as the drain does.
            break match prev {
                Some((pp, tp)) if p > pp && events > pp => {
                    tp + (t - tp).mul_f64((events - pp) as f64 / (p - pp) as f64)
                }
                _ => t,
            };
        }
        if p != moved.0 {
            moved = (p, t);
        }
        let log = process.log().display().to_string();
        anyhow::ensure!(
            !process.exited(),
            "satpam exited during the catch-up after {p} of {events} events; its log is {log}"
        );
        anyhow::ensure!(
            moved.1.elapsed() < STALL,
            "satpam processed nothing for {} s with {} of {events} events left (group {group}); its log is {log}",
            STALL.as_secs(),
            events - p
        );
        anyhow::ensure!(
            started.elapsed() < runner.settle_timeout,
            "the catch-up did not finish within --settle-timeout ({p} of {events} events); its log is {log}"
        );
        prev = Some((p, t));
    };
    let cpu_s = cpu.since(&cpu0);
    let threads = satpam_process::thread_use(&threads0, &process.threads());
    let scrape_end = runner.scrape();
    let rate = series.rate_10_90(0, events).unwrap_or(0.0);
    let report = CatchUpReport {
        events,
        group: group.to_string(),
        startup_s: round3(startup_s),
        seconds: round3((done_at - started).as_secs_f64()),
        rate: rate.round(),
        cpu_us_per_event: cpu::per_event_us(&cpu_s, events),
        cpu_s,
        satpam_threads_cpu_s: threads,
        log: process.log().display().to_string(),
    };
    Ok((report, (scrape_start, scrape_end)))
}

/// The `satpam` binary beside this loadgen binary (both are built into
/// the same `target/<profile>/`), when `--satpam-bin` is not given.
pub fn default_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("satpam")))
        .filter(|p| Path::new(p).exists())
        .unwrap_or_else(|| PathBuf::from("satpam"))
}
