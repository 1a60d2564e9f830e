//! `satpam eval`: the detection scorecard of a labelled events file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::eval::{evaluate, read_labels_csv, EvalRun, Targets};

use super::load::load;
use super::report;
use crate::EngineFiles;

/// Which targets to hold the scorecard to.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TargetSet {
    /// Traffic with text: recall >= 0.98, evasive >= 0.90, no legitimate suspension, <= 0.5% throttled, median TTD <= 10 min.
    Text,
    /// Metadata-only traffic: recall >= 0.90, no legitimate suspension.
    Metadata,
}

impl TargetSet {
    /// The figures of this set.
    pub fn targets(self) -> Targets {
        match self {
            TargetSet::Text => Targets::TEXT,
            TargetSet::Metadata => Targets::METADATA,
        }
    }
}

/// Runs the evaluation; with `targets`, exits 1 when one is missed.
pub fn run(
    events: &Path,
    labels: &Path,
    files: &EngineFiles,
    json: bool,
    targets: Option<TargetSet>,
) -> Result<ExitCode> {
    let loaded = load(files)?;
    let labels = read_labels_csv(
        BufReader::new(
            File::open(labels).with_context(|| format!("cannot open {}", labels.display()))?,
        ),
        &labels.display().to_string(),
    )?;
    let (mut reader, bar) = super::progress::open_events(events, "eval")
        .with_context(|| format!("cannot open {}", events.display()))?;
    let run = evaluate(
        std::iter::from_fn(|| reader.next_record()),
        labels,
        loaded.rules,
        loaded.policy,
        loaded.overrides,
        |_| {},
    );
    bar.finish_and_clear();
    finish(&run, json, targets)
}

/// Prints the scorecard and checks targets.
pub fn finish(run: &EvalRun, json: bool, targets: Option<TargetSet>) -> Result<ExitCode> {
    let misses = targets
        .map(|t| t.targets().misses(&run.scorecard))
        .unwrap_or_default();
    if json {
        let mut v = serde_json::to_value(&run.scorecard)?;
        v["events_per_sec"] = run.summary.events_per_sec().into();
        v["malformed"] = run.summary.malformed.into();
        v["rule_set_version"] = run.summary.rule_set_version.clone().into();
        v["target_misses"] = serde_json::to_value(&misses)?;
        println!("{v}");
    } else {
        print!("{}", run.scorecard.render());
        report::rule_hits(&run.summary);
        println!(
            "{} events in {:.1} s: {:.0} events/s (one core, engine only)",
            run.summary.engine.events,
            run.summary.elapsed_s,
            run.summary.events_per_sec()
        );
        if targets.is_some() {
            if misses.is_empty() {
                println!("targets: all met");
            } else {
                for m in &misses {
                    println!("target missed: {m}");
                }
            }
        }
    }
    Ok(if misses.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
