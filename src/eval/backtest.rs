//! A backtest: one events file replayed through the rules in force and a
//! candidate (each on a fresh engine, on event time, with the same scorer
//! as `satpam eval`), and the decisions that change ([`super::compare`]).
//! Shared by `satpam rules diff` and the console's backtest page; the
//! caller opens the events (once per side: a file, or a window of the
//! events topic) and sees progress.

use std::io::{self, BufRead};
use std::sync::Arc;

use super::diff::RuleChanges;
use super::{compare, evaluate, EvalRun, Label, RulesDiff};
use crate::decide::{CountryPolicy, Overrides};
use crate::io::{EventReader, RecordError};
use crate::pb::v1::MessageEvent;
use crate::rules::RuleSet;

/// Where a replay reads its events, one at a time, in event-time order.
pub trait EventSource {
    /// The next event, or why a record could not be read (counted as
    /// malformed; reading goes on); `None` at the end.
    fn next_event(&mut self) -> Option<Result<MessageEvent, RecordError>>;

    /// Why the events stopped before their end, if they did: the pass is
    /// then refused rather than compared on part of its events.
    fn interrupted(&self) -> Option<String> {
        None
    }
}

impl<R: BufRead> EventSource for EventReader<R> {
    fn next_event(&mut self) -> Option<Result<MessageEvent, RecordError>> {
        self.next_record()
    }
}

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

/// Runs `input` over the events `open` gives for each side (the same
/// events twice); `progress` is called every 65,536 records with the side
/// and the records read so far on it. A side whose events stop before their
/// end ([`EventSource::interrupted`]) fails the backtest.
pub fn backtest<S: EventSource>(
    input: BacktestInput,
    mut open: impl FnMut(Side) -> io::Result<S>,
    mut progress: impl FnMut(Side, u64),
) -> io::Result<Backtest> {
    let changes = RuleChanges::between(&input.old, &input.new);
    let mut run = |side: Side, rules: Arc<RuleSet>| -> io::Result<EvalRun> {
        let mut source = open(side)?;
        let done = evaluate(
            std::iter::from_fn(|| source.next_event()),
            input.labels.clone(),
            rules,
            input.policy.clone(),
            input.overrides.clone(),
            |n| progress(side, n),
        );
        match source.interrupted() {
            Some(why) => Err(io::Error::other(format!("{}: {why}", side.label()))),
            None => Ok(done),
        }
    };
    let old = run(Side::Old, input.old.clone())?;
    let new = run(Side::New, input.new.clone())?;
    let diff = compare(&old.strongest, &new.strongest, &changes, &input.labels);
    Ok(Backtest { old, new, diff })
}
