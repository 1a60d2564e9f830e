//! Rules: the spec as written, validation and compilation, and the
//! immutable compiled [`RuleSet`] that the hot path evaluates.

pub mod cel;
pub mod compile;
pub mod decision;
pub mod error;
pub mod explain;
pub mod expr;
pub mod limits;
pub mod locate;
pub mod program;
pub mod spec;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a rules file's term is read (case, spaces, a trailing `*`).
pub use crate::scan::matcher::normalise_term;
pub use decision::{DecisionConfig, MinEvidence};
pub use error::{Diagnostic, RuleError};
pub use expr::{BoolExpr, NumExpr};

use crate::features::{Catalog, Side};
use crate::scan::PatternMatcher;

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Unique id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// What it catches.
    pub description: String,
    /// Contribution to the score, in (0, 1].
    pub score: f64,
    /// Shadow rules are evaluated and counted but never change a decision.
    pub shadow: bool,
    /// How long (event time) a firing keeps the rule active for the account.
    pub hold_ms: i64,
    /// The typed condition.
    pub condition: BoolExpr,
    /// Feature slots the condition reads (the evidence it shows).
    pub slots: Vec<u16>,
    /// The level the rule decides at: the business portfolio when its
    /// condition reads a `portfolio.*` feature, else the WABA when it reads
    /// a `waba.*` one, else the account (the phone number).
    pub scope: Subject,
}

/// The level a rule, and the decision it feeds, acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subject {
    /// One phone number (an account).
    #[default]
    Account,
    /// Every number of one WhatsApp Business Account.
    Waba,
    /// Every number of every WABA of one business portfolio.
    Portfolio,
}

impl Subject {
    /// The scope of a condition that reads these feature slots: the
    /// highest aggregate level it reads, else the account.
    pub fn of_slots(slots: &[u16]) -> Subject {
        let groups = || {
            slots
                .iter()
                .filter_map(|s| crate::features::catalog::Group::of_slot(usize::from(*s)))
        };
        if groups().any(|g| g == crate::features::catalog::Group::Portfolio) {
            Subject::Portfolio
        } else if groups().next().is_some() {
            Subject::Waba
        } else {
            Subject::Account
        }
    }

    /// The subject that decides for an aggregate level.
    pub fn of_group(g: crate::features::catalog::Group) -> Subject {
        match g {
            crate::features::catalog::Group::Waba => Subject::Waba,
            crate::features::catalog::Group::Portfolio => Subject::Portfolio,
        }
    }

    /// `account`, `waba` or `portfolio`, as signals and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Account => "account",
            Subject::Waba => "waba",
            Subject::Portfolio => "portfolio",
        }
    }
}

/// A validated, compiled, immutable rule set. `Send + Sync`: share it in an
/// `Arc` and swap a new one in to reload. It counts nothing: the hits of its
/// rules are counted by whoever runs it (telemetry per rule id in the
/// service, the replayer in a replay), keyed by [`RuleSet::serial`].
#[derive(Debug)]
pub struct RuleSet {
    version: String,
    /// xxh3-64 of `version`, computed once (see [`RuleSet::fingerprint`]).
    fingerprint: u64,
    file: String,
    rules: Vec<CompiledRule>,
    matcher: PatternMatcher,
    catalog: Catalog,
    pattern_sets: Vec<(String, Side)>,
    /// The side of each pattern set, in slot order.
    sides: Vec<Side>,
    topics: Vec<String>,
    decision: DecisionConfig,
    /// Process-unique identity of this compiled set (see [`RuleSet::serial`]).
    serial: u64,
    /// The conditions compiled for evaluation.
    program: program::Program,
}

impl RuleSet {
    /// Compiles YAML `src`; `file` names it in diagnostics.
    pub fn from_yaml(src: &str, file: &str) -> Result<RuleSet, RuleError> {
        compile::compile(src, file)
    }

    /// Reads and compiles a rules file.
    pub fn load(path: &Path) -> Result<RuleSet, RuleError> {
        let file = path.display().to_string();
        let too_big = |len: u64| {
            RuleError::new(vec![Diagnostic {
                file: file.clone(),
                line: 0,
                reason: format!(
                    "rules file is {len} bytes; at most {} are accepted",
                    limits::MAX_FILE_BYTES
                ),
            }])
        };
        // Refused before it is read: a 50 MB file is never loaded.
        if let Ok(m) = std::fs::metadata(path) {
            if m.len() > limits::MAX_FILE_BYTES as u64 {
                return Err(too_big(m.len()));
            }
        }
        let src = std::fs::read_to_string(path).map_err(|e| {
            RuleError::new(vec![Diagnostic {
                file: file.clone(),
                line: 0,
                reason: format!("cannot read: {e}"),
            }])
        })?;
        Self::from_yaml(&src, &file)
    }

    /// The built-in default rule pack (`rules/default.yaml`).
    pub fn default_pack() -> RuleSet {
        const SRC: &str = include_str!("../../rules/default.yaml");
        // The default pack is compiled in a test; failing here is a build defect.
        Self::from_yaml(SRC, "rules/default.yaml")
            .unwrap_or_else(|e| panic!("default rule pack: {e}"))
    }

    /// `version@content-hash`, carried on every signal.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The xxh3-64 hash of [`RuleSet::version`], computed once at compile
    /// time: what per-account rule activity is tied to (and what snapshots
    /// hold), so that the hot path never hashes the version string.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The file the rules came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The feature catalog of this rule set.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Pattern-set sides, in slot order.
    pub fn pattern_sides(&self) -> &[Side] {
        &self.sides
    }

    /// Pattern-set names and sides, in slot order.
    pub fn pattern_sets(&self) -> &[(String, Side)] {
        &self.pattern_sets
    }

    /// Topic names, in bit order.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Decision settings.
    pub fn decision(&self) -> &DecisionConfig {
        &self.decision
    }

    /// The text matcher compiled from the pattern sets and topics: the
    /// scan stage runs it (`matcher().scan(text, direction)`) before state.
    pub fn matcher(&self) -> &PatternMatcher {
        &self.matcher
    }

    /// Number of distinct terms in the automaton.
    pub fn term_count(&self) -> usize {
        self.matcher.term_count()
    }

    /// Evaluates every rule over `features`; pushes the index of each rule
    /// that fired (shadow ones included) into `fired`. Nothing is counted
    /// here: indexes are only meaningful with this set, so callers count
    /// them against the set's [`RuleSet::serial`].
    pub fn evaluate(&self, features: &[f64], fired: &mut Vec<u16>) {
        fired.clear();
        self.program.evaluate(features, |i| fired.push(i as u16));
    }

    /// The identity of this compiled set, unique within the process: two
    /// loads of the same file have the same [`RuleSet::version`] but
    /// different serials. Rule indexes (in [`crate::Scratch::fired`]) are
    /// credited to the counters registered for the same serial.
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

/// The next [`RuleSet::serial`] (starts at 1; 0 means "no rule set").
pub(crate) fn next_serial() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pack_compiles_and_documents_every_rule() {
        let r = RuleSet::default_pack();
        assert!(r.rules().len() >= 6);
        assert!(r.rules().iter().all(|x| !x.description.is_empty()));
        assert!(r.rules().iter().any(|x| x.shadow), "ships a shadow example");
        assert!(r.version().starts_with("2026-12-02.4@"), "{}", r.version());
    }
}
