//! `satpam rules diff`: the backtest of a rule change. Replays one events
//! file through the old and the new rules (each on event time, as `eval`
//! does), prints the accounts whose strongest action changes and, with
//! labels, both scorecards and their deltas.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::eval::diff::RuleChanges;
use satpam::eval::{compare, evaluate, read_labels_csv, EvalRun, Label};

mod args;
mod figures;
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

/// One side of the comparison: the events replayed through `loaded`.
fn side(args: &DiffArgs, loaded: Loaded, labels: &[Label], what: &str) -> Result<EvalRun> {
    let (mut reader, bar) = super::progress::open_events(&args.events, what)
        .with_context(|| format!("cannot open {}", args.events.display()))?;
    let run = evaluate(
        std::iter::from_fn(|| reader.next_record()),
        labels.to_vec(),
        loaded.rules,
        loaded.policy,
        loaded.overrides,
        |_| {},
    );
    bar.finish_and_clear();
    Ok(run)
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
    let changes = RuleChanges::between(&old.rules, &new.rules);
    let old = side(args, old, &labels, "old rules")?;
    let new = side(args, new, &labels, "new rules")?;
    let diff = compare(&old.strongest, &new.strongest, &changes, &labels);
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
