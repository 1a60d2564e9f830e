//! The JSON form of `satpam rules diff` (`--json`).

use std::path::Path;

use anyhow::Result;
use satpam::eval::{figures, EvalRun, RulesDiff};

use super::DiffArgs;

/// One JSON document: both sides, the diff, the target misses and, with
/// labels, both scorecards and their deltas.
pub fn to_json(
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
                .filter_map(|f| f.delta().map(|d| (f.name.to_string(), d.into())))
                .collect();
        v["scorecard"] = serde_json::json!({
            "old": serde_json::to_value(&old.scorecard)?,
            "new": serde_json::to_value(&new.scorecard)?,
            "delta": delta,
        });
    }
    Ok(v)
}
