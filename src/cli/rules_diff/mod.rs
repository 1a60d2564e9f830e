//! `satpam rules diff`: the backtest of a rule change. Replays one events
//! file through the old and the new rules (each on event time, as `eval`
//! does), prints the accounts whose strongest action changes and, with
//! labels, both scorecards and their deltas.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::eval::{backtest, read_labels_csv, BacktestInput};

mod args;
mod json;
mod text;

pub use args::DiffArgs;

use super::load::{load, Loaded};
use crate::EngineFiles;

/// The files of one side: its rules with the shared policy and overrides.
fn load_side(args: &DiffArgs, rules: &Path) -> Result<Loaded> {
    load(&EngineFiles {
        rules: Some(rules.to_path_buf()),
        policy: args.policy.clone(),
        overrides: args.overrides.clone(),
    })
}

/// Runs the diff; exit 1 when `--targets` is missed by the new rules.
pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let labels = match &args.labels {
        Some(p) => read_labels_csv(
            BufReader::new(File::open(p).with_context(|| format!("cannot open {}", p.display()))?),
            &p.display().to_string(),
        )?,
        None => Vec::new(),
    };
    // Both files are checked before either replay starts.
    let (old, new) = (load_side(args, &args.old)?, load_side(args, &args.new)?);
    let input = BacktestInput {
        old: old.rules,
        new: new.rules,
        policy: old.policy,
        overrides: old.overrides,
        labels,
    };
    // Each side's bar is finished when the next side opens, the last one here.
    let mut bar: Option<indicatif::ProgressBar> = None;
    let done = backtest(
        input,
        |side| {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let (reader, b) = super::progress::open_events(&args.events, side.label())?;
            bar = Some(b);
            Ok(reader)
        },
        |_, _| {},
    )
    .with_context(|| format!("cannot open {}", args.events.display()))?;
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let (old, new, diff) = (done.old, done.new, done.diff);
    let misses = args
        .targets
        .map(|t| t.targets().misses(&new.scorecard))
        .unwrap_or_default();
    let scored = args.labels.is_some();
    if args.json {
        println!(
            "{}",
            json::to_json(args, &old, &new, &diff, scored, &misses)?
        );
    } else {
        print!("{}", text::render(args, &old, &new, &diff, scored));
        if args.targets.is_some() {
            if misses.is_empty() {
                println!("targets (new rules): all met");
            }
            for m in &misses {
                println!("target missed (new rules): {m}");
            }
        }
    }
    Ok(if misses.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
