//! `satpam demo`: the first thing a new user runs. Generates labelled BSP
//! traffic in memory, runs it through the engine on event time with a
//! progress bar, and ends with the scorecard, the throughput and the top
//! accounts acted on, each with its evidence.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use satpam::decide::Signal;
use satpam::eval::{evaluate, Label, Targets};
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

use super::load::load;
use crate::EngineFiles;

/// Demo settings.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Simulated business phone numbers.
    #[arg(long, default_value_t = 600)]
    pub accounts: usize,
    /// Hours of event time to simulate.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Corpora folder (assistant/business/offtopic JSONL); built-in texts when absent.
    #[arg(long, default_value = "../shared/data/corpora")]
    pub corpora: PathBuf,
    /// Withhold all text: decide on behaviour alone.
    #[arg(long)]
    pub metadata_only: bool,
    /// Accounts acted on to show with their evidence.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    #[command(flatten)]
    pub files: EngineFiles,
}

// Long because it is the demo's script, printed step by step in order.
/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let loaded = load(&args.files)?;
    let (bank, source) = TextBank::load_or_builtin(Some(&args.corpora))?;
    println!(
        "satpam demo: {} accounts, {} h of event time, seed {}, texts from {source}{}",
        args.accounts,
        args.hours,
        args.seed,
        if args.metadata_only {
            ", text withheld (metadata only)"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let config = ScenarioConfig {
        accounts: args.accounts,
        hours: args.hours,
        seed: args.seed,
        metadata_only: args.metadata_only,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate(&config, Arc::new(bank));
    println!(
        "generated {} events in {:.1} s",
        scenario.len(),
        started.elapsed().as_secs_f64()
    );

    let bar = ProgressBar::new(scenario.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let labels: Vec<Label> = scenario
        .labels()
        .iter()
        .map(|l| Label {
            account_id: l.account_id.clone(),
            archetype: l.archetype.name().to_string(),
            violating: l.violating,
        })
        .collect();
    let run = evaluate(
        scenario.events().map(Ok),
        labels.clone(),
        loaded.rules,
        loaded.policy,
        loaded.overrides,
        |n| bar.set_position(n),
    );
    bar.finish_and_clear();

    println!("\nscorecard");
    print!("{}", run.scorecard.render());
    let targets = if args.metadata_only {
        Targets::METADATA
    } else {
        Targets::TEXT
    };
    let misses = targets.misses(&run.scorecard);
    if misses.is_empty() {
        println!(
            "targets ({}): all met",
            if args.metadata_only {
                "metadata-only"
            } else {
                "text"
            }
        );
    } else {
        for m in &misses {
            println!("target missed: {m}");
        }
    }
    println!(
        "\nthroughput: {} events in {:.1} s = {:.0} events/s on one core (state, features, rules, decisions; no I/O)",
        run.summary.engine.events,
        run.summary.elapsed_s,
        run.summary.events_per_sec()
    );
    println!(
        "state: {} accounts, {} conversations, {:.1} MiB",
        run.summary.store.accounts,
        run.summary.store.conversations,
        (run.summary.store.account_bytes + run.summary.store.conversation_bytes) as f64
            / 1_048_576.0
    );
    let archetype = |id: &str| {
        labels
            .iter()
            .find(|l| l.account_id == id)
            .map_or("?", |l| l.archetype.as_str())
    };
    println!("\naccounts acted on, one per kind of outcome first (the evidence an analyst sees; no message text):");
    // One account per (action, ground truth) first, strongest first; then the rest.
    let mut shown: Vec<&Signal> = Vec::new();
    let mut kinds = std::collections::HashSet::new();
    for s in &run.strongest {
        if shown.len() < args.top && kinds.insert((s.action, archetype(&s.account_id))) {
            shown.push(s);
        }
    }
    for s in &run.strongest {
        if shown.len() < args.top && !shown.iter().any(|x| x.account_id == s.account_id) {
            shown.push(s);
        }
    }
    for s in shown {
        print_signal(s, archetype(&s.account_id));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_signal(s: &Signal, truth: &str) {
    println!(
        "\n  {} / {}  {}  score {:.3}  (ground truth: {truth})",
        s.tenant_id,
        s.account_id,
        s.action.name(),
        s.score
    );
    println!(
        "    {} conversations, {} users (24 h), {} events (1 h); {}{}",
        s.evidence.conversations,
        s.evidence.users,
        s.evidence.events,
        s.evidence.reason,
        s.policy_country
            .map(|c| format!("; policy country {c}"))
            .unwrap_or_default()
    );
    for r in &s.evidence.rules {
        let features: Vec<String> = r
            .features
            .iter()
            .map(|(n, v)| format!("{}={}", n.trim_start_matches("account."), trim(*v)))
            .collect();
        println!(
            "    - {} v{} (+{:.2}): {}",
            r.rule_id,
            r.rule_version,
            r.score,
            features.join(" ")
        );
    }
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
