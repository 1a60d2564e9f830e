//! `satpam-loadgen`: labelled scenario traffic for evaluating satpam, and
//! the load harness (`run`) that offers it to a running satpam over Kafka
//! or gRPC and measures throughput and latency.

mod run;
mod scenario_progress;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use satpam_scenario::{Family, Scenario, ScenarioConfig, TextBank, TextSource, DEFAULT_START_MS};

/// Labelled scenario traffic and load generation for satpam.
#[derive(Parser, Debug)]
#[command(name = "satpam-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Generate labelled scenario traffic: JSONL events plus a labels CSV.
    Scenario(ScenarioArgs),
    /// Offer scenario traffic to a running satpam (Kafka or gRPC) at a fixed
    /// rate or in a sweep; measure throughput, end-to-end and ack latency,
    /// and a raw client baseline in the same run.
    Run(Box<run::RunArgs>),
    /// Create the events, signals and `<topic>.dlq` topics (existing ones
    /// are left alone), before starting satpam against a fresh broker.
    Topics(run::TopicsArgs),
}

/// Arguments of `satpam-loadgen scenario`.
#[derive(clap::Args, Debug)]
struct ScenarioArgs {
    /// Directory with assistant.jsonl, business.jsonl and offtopic.jsonl;
    /// when it does not exist the built-in texts are used.
    #[arg(long, default_value = "../shared/data/corpora")]
    corpora: PathBuf,
    /// Number of business accounts (phone numbers).
    #[arg(long)]
    accounts: usize,
    /// Hours of event time to simulate.
    #[arg(long)]
    hours: f64,
    /// RNG seed; same seed and texts give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start of the stretch, milliseconds since the Unix epoch.
    #[arg(long, default_value_t = DEFAULT_START_MS)]
    start_ms: i64,
    /// Events output file (JSONL, canonical proto3 JSON).
    #[arg(long)]
    out_events: PathBuf,
    /// Labels output file (CSV: account_id,archetype,violating).
    #[arg(long)]
    out_labels: PathBuf,
    /// Withhold message text: empty `text`, `text_length` set.
    #[arg(long)]
    metadata_only: bool,
    /// Traffic family: `baseline` (docs/scenario.md) or `adversarial`
    /// (docs/scenario-adversarial.md; never tuned on).
    #[arg(long, default_value = "baseline", value_parser = parse_family)]
    family: Family,
}

fn parse_family(s: &str) -> Result<Family, String> {
    Family::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        format!("unknown family `{s}` (one of: {})", names.join(", "))
    })
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Scenario(args) => scenario(args),
        Command::Run(args) => run::run(*args),
        Command::Topics(args) => run::topics(args),
    }
}

fn scenario(args: ScenarioArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.hours.is_finite() && args.hours > 0.0,
        "--hours must be a positive number"
    );
    let started = Instant::now();
    if !args.corpora.exists() {
        eprintln!(
            "note: corpus dir {} not found; using the built-in texts",
            args.corpora.display()
        );
    }
    let spinner = scenario_progress::spinner("loading corpora");
    let (bank, source) = TextBank::load_or_builtin(Some(&args.corpora))?;
    let loaded = started.elapsed();
    let config = ScenarioConfig {
        accounts: args.accounts,
        hours: args.hours,
        seed: args.seed,
        metadata_only: args.metadata_only,
        start_ms: args.start_ms,
    };
    spinner.set_message(format!("generating {} accounts", args.accounts));
    let scenario = Scenario::generate_family(&config, args.family, Arc::new(bank));
    spinner.finish_and_clear();
    let generated = started.elapsed();
    // The labels first, whole, under their name only once written: a
    // reader of the events through a pipe (`satpam eval --events FIFO`)
    // reads the labels before the events and may start once they exist.
    let labels_tmp = args.out_labels.with_extension("csv.partial");
    let labels_file =
        File::create(&labels_tmp).with_context(|| format!("creating {}", labels_tmp.display()))?;
    scenario
        .write_labels_csv(labels_file)
        .with_context(|| format!("writing {}", labels_tmp.display()))?;
    std::fs::rename(&labels_tmp, &args.out_labels)
        .with_context(|| format!("writing {}", args.out_labels.display()))?;
    let events_file = File::create(&args.out_events)
        .with_context(|| format!("creating {}", args.out_events.display()))?;
    let bar = scenario_progress::events_bar(scenario.len() as u64);
    let written = scenario
        .write_events_jsonl(scenario_progress::LineCounter::new(
            events_file,
            bar.clone(),
        ))
        .with_context(|| format!("writing {}", args.out_events.display()))?;
    bar.finish_and_clear();
    let total = started.elapsed();

    let stats = scenario.stats();
    eprintln!(
        "scenario: {} accounts, {} h, seed {}, {} family",
        args.accounts, args.hours, args.seed, args.family
    );
    eprintln!(
        "text source: {}{}",
        source,
        if matches!(source, TextSource::Builtin) {
            ""
        } else {
            " (+ built-in)"
        }
    );
    for (i, a) in stats.family.archetypes().iter().enumerate() {
        eprintln!(
            "  {:<22} {:>6} accounts {:>10} events{}",
            a.name(),
            stats.accounts[i],
            stats.events_by_archetype[i],
            if a.is_violating() {
                "  (violating)"
            } else {
                ""
            }
        );
    }
    eprintln!(
        "events: {written} (inbound {}, outbound {}, templates {}){}",
        stats.inbound,
        stats.outbound,
        stats.templates,
        if args.metadata_only {
            ", metadata only"
        } else {
            ""
        }
    );
    eprintln!(
        "wall time: {:.2}s (load {:.2}s, generate {:.2}s, write {:.2}s)",
        total.as_secs_f64(),
        loaded.as_secs_f64(),
        (generated - loaded).as_secs_f64(),
        (total - generated).as_secs_f64()
    );
    Ok(())
}
