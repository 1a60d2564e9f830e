//! `satpam rules diff`: the backtest of a rule change. Replays one events
//! file through the old and the new rules (each on event time, as `eval`
//! does), prints the accounts whose strongest action changes and, with
//! labels, both scorecards and their deltas.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::eval::diff::RuleChanges;
use satpam::eval::{compare, evaluate, read_labels_csv, EvalRun, Label, RulesDiff, Scorecard};

use super::eval::TargetSet;
use super::load::{load, Loaded};
use crate::EngineFiles;

/// Changed accounts listed in the text output (`--json` lists them all).
pub const LISTED: usize = 100;

/// `satpam rules diff` arguments.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Events (JSONL or length-delimited protobuf), in event-time order.
    #[arg(long)]
    pub events: PathBuf,
    /// The rules in force (YAML).
    #[arg(long)]
    pub old: PathBuf,
    /// The candidate rules (YAML).
    #[arg(long)]
    pub new: PathBuf,
    /// Labels CSV `account_id,archetype,violating` (any archetype names):
    /// adds both scorecards and their deltas.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Country policy table (YAML). Default: the built-in rules/countries.yaml.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Analyst overrides (YAML `overrides: [...]`).
    #[arg(long)]
    pub overrides: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the new rules miss these targets (needs --labels).
    #[arg(long, value_enum, requires = "labels")]
    pub targets: Option<TargetSet>,
}

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
        println!("{}", to_json(args, &old, &new, &diff, scored, &misses)?);
    } else {
        print!(
            "{}",
            super::rules_diff_text::render(args, &old, &new, &diff, scored)
        );
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

/// The scorecard figures compared, as (name, old, new, decimals shown).
pub fn figures(old: &Scorecard, new: &Scorecard) -> Vec<(&'static str, f64, f64, usize)> {
    let (o, n) = (&old.overall, &new.overall);
    let ttd = |c: &Scorecard| c.overall.ttd_median_min.unwrap_or(f64::NAN);
    vec![
        (
            "precision (throttled/suspended/charged)",
            o.precision_enforced,
            n.precision_enforced,
            4,
        ),
        (
            "recall (throttled/suspended/charged)",
            o.recall_enforced,
            n.recall_enforced,
            4,
        ),
        (
            "recall (suspended)",
            o.recall_suspended,
            n.recall_suspended,
            4,
        ),
        (
            "legitimate flagged",
            o.legitimate_flagged as f64,
            n.legitimate_flagged as f64,
            0,
        ),
        (
            "legitimate throttled or charged",
            o.legitimate_throttled as f64,
            n.legitimate_throttled as f64,
            0,
        ),
        (
            "legitimate suspended",
            o.legitimate_suspended as f64,
            n.legitimate_suspended as f64,
            0,
        ),
        ("median time to detect, min", ttd(old), ttd(new), 1),
    ]
}

fn to_json(
    args: &DiffArgs,
    old: &EvalRun,
    new: &EvalRun,
    diff: &RulesDiff,
    scored: bool,
    misses: &[String],
) -> Result<serde_json::Value> {
    let side = |path: &Path, run: &EvalRun| {
        serde_json::json!({
            "rules": path.display().to_string(),
            "version": run.summary.rule_set_version,
            "malformed": run.summary.malformed,
        })
    };
    let mut v = serde_json::json!({
        "events": old.summary.engine.events,
        "old": side(&args.old, old),
        "new": side(&args.new, new),
        "diff": serde_json::to_value(diff)?,
        "target_misses": misses,
    });
    if scored {
        let delta: serde_json::Map<String, serde_json::Value> =
            figures(&old.scorecard, &new.scorecard)
                .into_iter()
                .filter(|(_, o, n, _)| o.is_finite() && n.is_finite())
                .map(|(name, o, n, _)| (name.to_string(), (n - o).into()))
                .collect();
        v["scorecard"] = serde_json::json!({
            "old": serde_json::to_value(&old.scorecard)?,
            "new": serde_json::to_value(&new.scorecard)?,
            "delta": delta,
        });
    }
    Ok(v)
}
