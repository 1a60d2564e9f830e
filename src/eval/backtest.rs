//! A backtest: one events file replayed through the rules in force and a
//! candidate (each on a fresh engine, on event time, with the same scorer
//! as `satpam eval`), and the decisions that change ([`super::compare`]).
//! Shared by `satpam rules diff` and the console's backtest page; the
//! caller opens the events (once per side) and sees progress.

use std::io::{self, BufRead};
use std::sync::Arc;

use super::diff::RuleChanges;
use super::{compare, evaluate, EvalRun, Label, RulesDiff};
use crate::decide::{CountryPolicy, Overrides};
use crate::io::EventReader;
use crate::rules::RuleSet;

/// Which replay is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The rules in force.
    Old,
    /// The candidate.
    New,
}

impl Side {
    /// `old rules` or `new rules`.
    pub fn label(self) -> &'static str {
        match self {
            Side::Old => "old rules",
            Side::New => "new rules",
        }
    }
}

/// What both replays share: the two rule sets, the policy, the overrides
/// and the labels (empty: no scorecard deltas).
pub struct BacktestInput {
    /// The rules in force.
    pub old: Arc<RuleSet>,
    /// The candidate rules.
    pub new: Arc<RuleSet>,
    /// The country policy both sides are judged by.
    pub policy: CountryPolicy,
    /// The analyst overrides both sides apply.
    pub overrides: Overrides,
    /// Labels (`account_id,archetype,violating`); may be empty.
    pub labels: Vec<Label>,
}

/// Both replays and their comparison.
pub struct Backtest {
    /// The replay through the rules in force.
    pub old: EvalRun,
    /// The replay through the candidate.
    pub new: EvalRun,
    /// The accounts whose strongest action differs.
    pub diff: RulesDiff,
}

/// Runs `input` over the events `open` gives for each side (the same file
/// twice); `progress` is called every 65,536 records with the side and the
/// records read so far on it.
pub fn backtest<R: BufRead>(
    input: BacktestInput,
    mut open: impl FnMut(Side) -> io::Result<EventReader<R>>,
    mut progress: impl FnMut(Side, u64),
) -> io::Result<Backtest> {
    let changes = RuleChanges::between(&input.old, &input.new);
    let mut run = |side: Side, rules: Arc<RuleSet>| -> io::Result<EvalRun> {
        let mut reader = open(side)?;
        Ok(evaluate(
            std::iter::from_fn(|| reader.next_record()),
            input.labels.clone(),
            rules,
            input.policy.clone(),
            input.overrides.clone(),
            |n| progress(side, n),
        ))
    };
    let old = run(Side::Old, input.old.clone())?;
    let new = run(Side::New, input.new.clone())?;
    let diff = compare(&old.strongest, &new.strongest, &changes, &input.labels);
    Ok(Backtest { old, new, diff })
}
