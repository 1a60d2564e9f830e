//! `satpam-loadgen run`: offers scenario traffic to a running satpam over
//! Kafka or gRPC at a fixed rate (open loop) or in a rate sweep, and
//! measures throughput, end-to-end and ack latency (from intended send
//! times), satpam's in-service latency, and a raw client baseline in the
//! same run. See loadtest/README.md for what every figure means.
//!
//! A run is a sequence of phases: sweep steps (with `--sweep`), the main
//! phase (at `--rate`, or 70% of the saturation the sweep found), the drain
//! (a backlog for Kafka, max batched rate for gRPC), then the baseline.
//! A catch-up run (`--catch-up`, Kafka) is another sequence: the burst
//! produced, satpam started on it alone, then the baseline ([`catch_up`]).

pub mod args;
pub mod baseline;
pub mod catch_up;
pub mod cpu;
pub mod generator;
pub mod grpc;
pub mod http_floor;
pub mod kafka;
pub mod latency;
pub mod metrics_scrape;
pub mod parse;
pub mod phases;
pub mod prerender;
pub mod progress;
pub mod report;
pub mod satpam_process;
pub mod schedule;
pub mod shared;
pub mod target;
pub mod throughput;
pub mod traffic;
pub mod webhook;
pub mod webhook_request;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use satpam_scenario::{Scenario, ScenarioConfig, TextBank, DEFAULT_START_MS};

pub use args::{topics, RunArgs, TargetKind, TopicsArgs};
use generator::{Pace, PhasePlan};
use metrics_scrape::{MetricsEndpoint, Scrape};
use parse::Rate;
use phases::{PhaseOutcome, Runner};
use progress::Progress;
use report::{
    rfc3339, CatchUpReport, DrainReport, LatencySplit, Machine, Report, ScenarioReport, Targets,
};
use shared::Shared;
use target::{Closing, Target};
use throughput::CountSeries;
use traffic::Pool;

/// The traffic of a run.
struct Traffic {
    pool: Arc<Pool>,
    text_source: String,
    hours: f64,
}

/// Generates the scenario and encodes it into a pool.
fn build_traffic(args: &RunArgs, progress: &Progress) -> anyhow::Result<Traffic> {
    let planned = match (
        &args.sweep,
        args.rate.and_then(Rate::per_sec),
        args.catch_up,
    ) {
        (_, _, Some(events)) => Some(events),
        (None, Some(r), None) => Some((r * args.duration.as_secs_f64()) as u64),
        _ => None,
    };
    let (auto_accounts, auto_hours) = traffic::auto_size(planned);
    let accounts = args.accounts.unwrap_or(auto_accounts);
    let hours = args.hours.unwrap_or(auto_hours);
    anyhow::ensure!(accounts >= 1, "--accounts must be at least 1");
    anyhow::ensure!(
        hours.is_finite() && hours > 0.0,
        "--hours must be a positive number"
    );
    progress.phase("traffic", None);
    progress.update(
        0,
        format!("generating {accounts} accounts x {hours} h and encoding"),
    );
    let built = Instant::now();
    let (bank, text_source) = TextBank::load_or_builtin(Some(&args.corpora))?;
    let scenario = Scenario::generate(
        &ScenarioConfig {
            accounts,
            hours,
            seed: args.seed,
            metadata_only: args.metadata_only,
            start_ms: DEFAULT_START_MS,
        },
        Arc::new(bank),
    );
    let run_id = traffic::new_run_id();
    let pool = Arc::new(Pool::build(
        &scenario,
        run_id,
        args.loop_gap.as_millis() as i64,
    )?);
    progress.println(&format!(
        "traffic: {} events over {} accounts ({} violating), {:.1} h per loop, {:.0} B/event, built in {:.1} s; run {run_id:08x}",
        pool.len(),
        pool.accounts(),
        pool.stats().violating_accounts,
        pool.stats().span_hours,
        pool.stats().mean_event_bytes,
        built.elapsed().as_secs_f64()
    ));
    Ok(Traffic {
        pool,
        text_source: text_source.to_string(),
        hours,
    })
}

/// What the sweep, main and drain phases measured.
struct Measured {
    outcomes: Vec<PhaseOutcome>,
    main_index: usize,
    saturation_rate: Option<f64>,
    drain: Option<DrainReport>,
    drain_events: u64,
}

/// Sweep (optional), main phase, drain.
fn measure(args: &RunArgs, runner: &mut Runner, target: &mut Target) -> anyhow::Result<Measured> {
    let kafka = args.target == TargetKind::Kafka;
    let (sink, probe) = target.parts();
    let mut outcomes = Vec::new();
    let mut saturation_rate = None;
    if let Some(sweep) = &args.sweep {
        let auto = (
            args.sweep_start.per_sec().unwrap_or(5_000.0),
            args.sweep_factor,
            args.sweep_max.per_sec().unwrap_or(f64::MAX),
        );
        let (steps, sat) = runner.sweep(sweep, auto, args.step, sink, probe)?;
        outcomes = steps;
        saturation_rate = sat;
    }
    let main_rate = match (saturation_rate, args.rate) {
        (Some(s), _) => Rate::PerSec((s * 0.7).max(1.0)),
        (None, Some(r)) => r,
        (None, None) => {
            let best = outcomes
                .iter()
                .map(|o| o.report.achieved_rate)
                .fold(1.0, f64::max);
            runner.notes.push(format!(
                "main phase at 70% of the highest rate reached ({best:.0}/s), not of a saturation rate"
            ));
            Rate::PerSec(best * 0.7)
        }
    };
    let plan = match main_rate {
        Rate::PerSec(r) => PhasePlan {
            pace: Pace::Open(r),
            events: (r * args.duration.as_secs_f64()).ceil() as u64,
            deadline: None,
        },
        Rate::Max => PhasePlan {
            pace: Pace::Max,
            events: u64::MAX,
            deadline: Some(args.duration),
        },
    };
    let main = runner.phase("main", plan, sink, probe)?;
    let main_index = outcomes.len();
    outcomes.push(main);
    runner.settle(probe)?;

    let drain_events = args.drain_events.unwrap_or_else(|| {
        let r = main_rate.per_sec().or(saturation_rate).unwrap_or(100_000.0);
        ((r * 10.0) as u64).max(200_000)
    });
    let mut drain = None;
    if drain_events > 0 && main_rate != Rate::Max {
        let name = if kafka { "drain" } else { "max" };
        let (o, d) = runner.drain(name, drain_events, kafka, sink, probe)?;
        outcomes.push(o);
        drain = d;
    }
    Ok(Measured {
        outcomes,
        main_index,
        saturation_rate,
        drain,
        drain_events,
    })
}

/// Runs `satpam-loadgen run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.streams >= 1, "--streams must be at least 1");
    anyhow::ensure!(
        (1..=100_000).contains(&args.batch),
        "--batch must be between 1 and 100000"
    );
    anyhow::ensure!(args.inflight >= 1, "--inflight must be at least 1");
    anyhow::ensure!(
        args.sweep_factor > 1.0,
        "--sweep-factor must be greater than 1"
    );
    anyhow::ensure!(
        args.catch_up.is_none() || args.target == TargetKind::Kafka,
        "--catch-up is for --target kafka"
    );
    // Checked before the traffic is built: a wrong pid fails at once.
    let cpu = cpu::CpuWatch::new(&args.watch_pid)?;
    anyhow::ensure!(
        args.catch_up.is_none() || !args.watch_pid.iter().any(|(n, _)| n == "satpam"),
        "--catch-up starts satpam and watches it as `satpam` itself: leave out --watch-pid satpam=..."
    );
    let date = rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let command = args::command_line();
    let machine = Machine::detect();
    let progress = Progress::new(args.json);
    let metrics = MetricsEndpoint::parse(&args.metrics).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("loadgen-rt")
        .build()
        .context("tokio runtime")?;
    let rt = runtime.handle().clone();

    let traffic = build_traffic(&args, &progress)?;
    let shared = Arc::new(Shared::new(traffic.pool.clone()));
    let mut runner = Runner {
        shared: shared.clone(),
        progress,
        metrics: metrics.clone(),
        cpu,
        settle_timeout: args.settle_timeout,
        next_seq: 0,
        notes: Vec::new(),
        series: CountSeries::default(),
    };
    let measurement = match args.catch_up {
        Some(events) => measure_catch_up(&args, &rt, &mut runner, events)?,
        None => measure_live(&args, &rt, &mut runner, &shared)?,
    };
    runner.progress.finish();

    let mut machine = machine;
    machine.loadavg_end = report::loadavg();
    let header = Header {
        date,
        command,
        machine,
        endpoint: measurement.endpoint.clone(),
    };
    let report = assemble(&args, header, &shared, &traffic, &mut runner, measurement);
    let table = report.table();
    if args.json {
        eprint!("{table}");
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{table}");
    }
    if let Some(dir) = &args.record {
        let path = report
            .record(dir)
            .with_context(|| format!("writing the results file into {}", dir.display()))?;
        eprintln!("results: {}", path.display());
    }
    drop(runtime);
    Ok(())
}

/// What the phases of a run measured, before the report is assembled.
struct Measurement {
    /// Brokers and topic, or the gRPC or webhook address.
    endpoint: String,
    measured: Measured,
    closing: Closing,
    /// satpam's metrics at the start and the end (late and duplicate counts).
    scrapes: (Option<Scrape>, Option<Scrape>),
    /// Events sent by the measured phases (the gRPC baseline's are not).
    events_sent: u64,
    events_processed: u64,
    catch_up: Option<CatchUpReport>,
}

/// A run against a satpam that is running: sweep, main, drain, baseline.
fn measure_live(
    args: &RunArgs,
    rt: &tokio::runtime::Handle,
    runner: &mut Runner,
    shared: &Arc<Shared>,
) -> anyhow::Result<Measurement> {
    let scrape_start = runner.scrape();
    if scrape_start.is_none() {
        runner.notes.push(format!(
            "satpam's metrics at {} were not reachable: no in-service latency or late-event counts",
            runner.metrics.url()
        ));
    }
    let mut target = Target::connect(args, rt, shared, &runner.metrics)?;
    let endpoint = target.endpoint();
    let mut measured = measure(args, runner, &mut target)?;

    // Signals of the last events, then the end figures and the baseline.
    std::thread::sleep(args.signal_grace);
    let scrape_end = runner.scrape();
    let events_processed = target.parts().1.processed().map_or(0, |(p, _)| p);
    let events_sent = shared.sent.load(Ordering::Relaxed);
    let baseline_events = if measured.drain_events > 0 {
        measured.drain_events.max(10_000)
    } else {
        200_000
    };
    let mut closing = target.close(args, rt, runner, baseline_events)?;
    measured.outcomes.extend(closing.baseline_phase.take());
    Ok(Measurement {
        endpoint,
        measured,
        closing,
        scrapes: (scrape_start, scrape_end),
        events_sent,
        events_processed,
        catch_up: None,
    })
}

/// A catch-up run: the burst produced, satpam started on it alone, the
/// baseline over the same records.
fn measure_catch_up(
    args: &RunArgs,
    rt: &tokio::runtime::Handle,
    runner: &mut Runner,
    events: u64,
) -> anyhow::Result<Measurement> {
    let settings = target::kafka_settings(args);
    if let Some(p) = args.create_topics {
        rt.block_on(kafka::create_topics(&settings, p))?;
    }
    let satpam = catch_up::SatpamCommand {
        bin: args
            .satpam_bin
            .clone()
            .unwrap_or_else(catch_up::default_bin),
        config: args
            .satpam_config
            .clone()
            .context("--catch-up needs --satpam-config")?,
    };
    let baseline_timeout = (!args.no_baseline).then_some(args.baseline_timeout);
    let outcome = catch_up::run(runner, &settings, &satpam, events, baseline_timeout)?;
    Ok(Measurement {
        endpoint: format!("{} topic {}", settings.brokers, settings.topic),
        measured: Measured {
            outcomes: vec![outcome.produce],
            main_index: 0,
            saturation_rate: None,
            drain: None,
            drain_events: 0,
        },
        closing: Closing {
            baseline: outcome.baseline,
            ..Closing::default()
        },
        scrapes: outcome.scrapes,
        events_sent: runner.shared.sent.load(Ordering::Relaxed),
        events_processed: outcome.report.events,
        catch_up: Some(outcome.report),
    })
}

/// When, how and where a run ran.
struct Header {
    date: String,
    command: String,
    machine: Machine,
    endpoint: String,
}

/// The report from what the phases measured.
fn assemble(
    args: &RunArgs,
    header: Header,
    shared: &Shared,
    traffic: &Traffic,
    runner: &mut Runner,
    measurement: Measurement,
) -> Report {
    let Measurement {
        measured,
        mut closing,
        scrapes: (scrape_start, scrape_end),
        events_sent,
        events_processed,
        catch_up,
        ..
    } = measurement;
    let source = args.target.name();
    let (late, dups) = match (&scrape_start, &scrape_end) {
        (Some(a), Some(b)) => {
            let (la, da) = a.late_and_duplicates(source);
            let (lb, db) = b.late_and_duplicates(source);
            ((lb - la).max(0.0) as u64, (db - da).max(0.0) as u64)
        }
        _ => (0, closing.ack_duplicates),
    };
    if late > 0 || dups > 0 {
        runner.notes.push(format!(
            "satpam counted {late} late and {dups} duplicate events: another client is sending the same accounts, or the traffic is wrong"
        ));
    }
    if closing.watch_lagged > 0 {
        runner.notes.push(format!(
            "Signals.Watch cut the watcher {} times for falling behind; signals were missed",
            closing.watch_lagged
        ));
    }
    let foreign = shared.foreign_signals.load(Ordering::Relaxed);
    if foreign > 0 {
        runner.notes.push(format!(
            "{foreign} signals of other runs or clients were ignored"
        ));
    }
    let phases: Vec<_> = measured
        .outcomes
        .iter()
        .map(|o| {
            let mut r = o.report.clone();
            r.latency_ms = shared.e2e(o.run.phase).summary();
            let (to, from) = shared.split(o.run.phase);
            if let (Some(to_decision), Some(from_decision)) = (to.summary(), from.summary()) {
                r.latency_split_ms = Some(LatencySplit {
                    to_decision,
                    from_decision,
                });
            }
            r.ack_latency_ms = shared.acks(o.run.phase).summary();
            r
        })
        .collect();
    let main = phases[measured.main_index].clone();
    let mut report = Report {
        tool: "satpam-loadgen run",
        version: env!("CARGO_PKG_VERSION"),
        run_id: format!("{:08x}", shared.pool.run()),
        date: header.date,
        command: header.command,
        machine: header.machine,
        target: source,
        endpoint: header.endpoint,
        mode: if catch_up.is_some() {
            "catch-up"
        } else {
            main.kind
        },
        offered_rate: main.offered_rate.unwrap_or(main.sent_rate),
        sent_rate: main.sent_rate,
        achieved_rate: main.achieved_rate,
        saturated: main.saturated,
        baseline_rate: closing.baseline.as_ref().map(|b| b.rate),
        baseline: closing.baseline,
        webhook: closing.requests.map(|(requests, refused)| {
            let per = if requests > 0 {
                events_sent as f64 / requests as f64
            } else {
                0.0
            };
            let updates = events_sent + closing.reports;
            report::WebhookFigures {
                requests,
                refused,
                events_per_request: latency::round3(per),
                reports: closing.reports,
                updates_per_request: if requests > 0 {
                    latency::round3(updates as f64 / requests as f64)
                } else {
                    0.0
                },
                requests_rate: if per > 0.0 {
                    (main.achieved_rate / per).round()
                } else {
                    0.0
                },
                parse_map_rate: closing.webhook_map_rate,
                http_floor: closing.http_floor.take(),
            }
        }),
        catch_up,
        drain_rate: measured.drain.as_ref().map(|d| d.rate),
        drain: measured.drain,
        saturation_rate: measured.saturation_rate,
        ratio: None,
        ratio_basis: None,
        latency_ms: main.latency_ms,
        latency_split_ms: main.latency_split_ms,
        ack_latency_ms: main.ack_latency_ms,
        in_service_ms: main.in_service_ms,
        duration_s: main.seconds,
        events_sent,
        events_processed,
        signals_seen: shared.signals.load(Ordering::Relaxed),
        signals_by_action: shared.by_action(),
        late_events: late,
        duplicate_events: dups,
        rejected_events: closing.rejected,
        scenario: ScenarioReport {
            seed: args.seed,
            hours: traffic.hours,
            loop_gap_hours: args.loop_gap.as_secs_f64() / 3_600.0,
            text_source: traffic.text_source.clone(),
            pool: traffic.pool.stats().clone(),
        },
        phases,
        targets: Targets {
            ratio_ge_0_7: None,
            in_service_p99_le_1ms_at_70pct: None,
        },
        notes: std::mem::take(&mut runner.notes),
    };
    report.finish(measured.saturation_rate.is_some());
    report
}
