//! The scorecard figures a backtest compares (`satpam rules diff` and the
//! console's backtest page): precision, recall, harm to legitimate accounts
//! and time to detect, old against new.

use super::Scorecard;

/// One compared figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    /// What it is, in words.
    pub name: &'static str,
    /// Under the old rules (NaN: not defined).
    pub old: f64,
    /// Under the new rules (NaN: not defined).
    pub new: f64,
    /// Decimals shown.
    pub decimals: usize,
}

impl Figure {
    /// `new - old`, when both are defined.
    pub fn delta(&self) -> Option<f64> {
        (self.old.is_finite() && self.new.is_finite()).then_some(self.new - self.old)
    }
}

/// The scorecard figures compared, old against new.
pub fn figures(old: &Scorecard, new: &Scorecard) -> Vec<Figure> {
    let (o, n) = (&old.overall, &new.overall);
    let ttd = |c: &Scorecard| c.overall.ttd_median_min.unwrap_or(f64::NAN);
    let f = |name, old, new, decimals| Figure {
        name,
        old,
        new,
        decimals,
    };
    vec![
        f(
            "precision (throttled/suspended/charged)",
            o.precision_enforced,
            n.precision_enforced,
            4,
        ),
        f(
            "recall (throttled/suspended/charged)",
            o.recall_enforced,
            n.recall_enforced,
            4,
        ),
        f(
            "recall (suspended)",
            o.recall_suspended,
            n.recall_suspended,
            4,
        ),
        f(
            "legitimate flagged",
            o.legitimate_flagged as f64,
            n.legitimate_flagged as f64,
            0,
        ),
        f(
            "legitimate throttled or charged",
            o.legitimate_throttled as f64,
            n.legitimate_throttled as f64,
            0,
        ),
        f(
            "legitimate suspended",
            o.legitimate_suspended as f64,
            n.legitimate_suspended as f64,
            0,
        ),
        f("median time to detect, min", ttd(old), ttd(new), 1),
    ]
}
