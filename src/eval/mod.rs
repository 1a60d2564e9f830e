//! The detection scorecard: signals against ground-truth labels, per
//! archetype, with account-level precision and recall, harm to legitimate
//! accounts, time to detect and flapping; the targets CI holds it to; and the comparison of two rule
//! sets' decisions on the same events (`satpam rules diff`, the console's
//! backtest).

pub mod backtest;
pub mod diff;
pub mod figures;
pub mod labels;
pub mod run;
pub mod scorecard;

pub use backtest::{backtest, Backtest, BacktestInput, EventSource, Side};
pub use diff::{compare, RulesDiff};
pub use figures::{figures, Figure};
pub use labels::{read_labels_csv, Label};
pub use run::{evaluate, EvalRun};
pub use scorecard::{Scorecard, ScorecardBuilder, Targets};
