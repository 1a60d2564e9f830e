//! The scorecard figures both outputs compare.

use satpam::eval::Scorecard;

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
