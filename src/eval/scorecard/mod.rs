//! Builds the scorecard from signals as they come, then summarises.

use std::collections::HashMap;

use serde::Serialize;

use super::labels::Label;
use crate::decide::{Action, Signal};

#[derive(Debug, Clone, Default)]
struct AccountOutcome {
    first_event_ms: Option<i64>,
    first_enforced_ms: Option<i64>,
    strongest: Action,
    flagged: bool,
    signals: u32,
    /// The policy exempted it (allow or flag_only at its last event, never
    /// actioned beyond a flag): `Some(reached throttle level or above)`.
    exempt: Option<bool>,
}

/// One archetype's row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ArchetypeRow {
    /// Archetype name.
    pub archetype: String,
    /// Whether it violates the terms.
    pub violating: bool,
    /// Accounts of the archetype.
    pub accounts: u64,
    /// Accounts ever flagged (or acted on more strongly).
    pub flagged: u64,
    /// Accounts whose strongest action was THROTTLE.
    pub throttled: u64,
    /// Accounts whose strongest action was SUSPEND.
    pub suspended: u64,
    /// Accounts whose strongest action was CHARGE (country policy).
    pub charged: u64,
    /// Share throttled, suspended or charged.
    pub enforced_share: f64,
    /// Median minutes from first event to first THROTTLE/SUSPEND/CHARGE.
    pub ttd_median_min: Option<f64>,
    /// 95th percentile of the same.
    pub ttd_p95_min: Option<f64>,
    /// Signals per account (flapping shows as more than the ladder's steps).
    pub signals_per_account: f64,
}

/// The overall figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overall {
    /// Violating accounts.
    pub violating_accounts: u64,
    /// Legitimate accounts.
    pub legitimate_accounts: u64,
    /// Precision of "throttled, suspended or charged" for violating accounts.
    pub precision_enforced: f64,
    /// Recall of the same.
    pub recall_enforced: f64,
    /// Precision of "suspended".
    pub precision_suspended: f64,
    /// Recall of "suspended".
    pub recall_suspended: f64,
    /// The violating archetype with the lowest recall of "throttled,
    /// suspended or charged" (the first by name among equals); `None` without
    /// violating accounts.
    pub weakest_archetype: Option<String>,
    /// That archetype's recall (0 without violating accounts).
    pub recall_enforced_weakest: f64,
    /// Legitimate accounts flagged.
    pub legitimate_flagged: u64,
    /// Legitimate accounts throttled or charged.
    pub legitimate_throttled: u64,
    /// Their share of legitimate accounts.
    pub legitimate_throttled_share: f64,
    /// Legitimate accounts suspended.
    pub legitimate_suspended: u64,
    /// Median minutes to detect over detected violating accounts.
    pub ttd_median_min: Option<f64>,
    /// 95th percentile.
    pub ttd_p95_min: Option<f64>,
    /// Signals per account with any signal.
    pub signals_per_signalled_account: f64,
    /// Most signals any account got.
    pub max_signals_per_account: u32,
    /// Accounts the country policy exempted (not counted above).
    pub exempt_by_policy: Exempt,
}

/// Accounts whose market's policy was `allow` or `flag_only` at their last
/// event and that were never actioned beyond a flag: the policy, not the
/// detection, decided them, so they are left out of precision, recall and
/// harm, and reported here with what the evidence reached.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Exempt {
    /// Violating accounts exempted.
    pub violating: u64,
    /// Of them, how many the evidence put at the throttle level or above.
    pub violating_detected: u64,
    /// Legitimate accounts exempted.
    pub legitimate: u64,
    /// Of them, at the throttle level or above.
    pub legitimate_detected: u64,
}

/// The scorecard.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scorecard {
    /// Per archetype: the legitimate ones, then the violating ones, each by
    /// name (the order does not depend on the labels' order).
    pub archetypes: Vec<ArchetypeRow>,
    /// Overall.
    pub overall: Overall,
    /// Events processed.
    pub events: u64,
    /// Signals emitted.
    pub signals: u64,
}

/// The targets a scorecard is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// Minimum recall of throttle-or-suspend over violating accounts.
    pub min_recall: f64,
    /// Minimum recall on every violating archetype (None: not checked).
    pub min_recall_per_archetype: Option<f64>,
    /// Maximum legitimate accounts suspended.
    pub max_legitimate_suspended: u64,
    /// Maximum share of legitimate accounts throttled (None: not checked).
    pub max_legitimate_throttled_share: Option<f64>,
    /// Maximum median minutes to detect (None: not checked).
    pub max_ttd_median_min: Option<f64>,
}

impl Targets {
    /// Targets for traffic with text.
    pub const TEXT: Targets = Targets {
        min_recall: 0.98,
        min_recall_per_archetype: Some(0.90),
        max_legitimate_suspended: 0,
        max_legitimate_throttled_share: Some(0.005),
        max_ttd_median_min: Some(10.0),
    };
    /// Targets for metadata-only traffic.
    pub const METADATA: Targets = Targets {
        min_recall: 0.90,
        min_recall_per_archetype: None,
        max_legitimate_suspended: 0,
        max_legitimate_throttled_share: None,
        max_ttd_median_min: None,
    };

    /// The targets `card` misses, in words; empty when all hold.
    pub fn misses(&self, card: &Scorecard) -> Vec<String> {
        let o = &card.overall;
        let mut out = Vec::new();
        if o.recall_enforced < self.min_recall {
            out.push(format!(
                "recall {:.4} < {}",
                o.recall_enforced, self.min_recall
            ));
        }
        if let (Some(min), Some(name)) = (self.min_recall_per_archetype, &o.weakest_archetype) {
            if o.recall_enforced_weakest < min {
                out.push(format!(
                    "recall on {name} {:.4} < {min}",
                    o.recall_enforced_weakest
                ));
            }
        }
        if o.legitimate_suspended > self.max_legitimate_suspended {
            out.push(format!(
                "{} legitimate accounts suspended (max {})",
                o.legitimate_suspended, self.max_legitimate_suspended
            ));
        }
        if let Some(max) = self.max_legitimate_throttled_share {
            if o.legitimate_throttled_share > max {
                out.push(format!(
                    "legitimate throttled share {:.4} > {max}",
                    o.legitimate_throttled_share
                ));
            }
        }
        if let Some(max) = self.max_ttd_median_min {
            match o.ttd_median_min {
                Some(m) if m <= max => {}
                Some(m) => out.push(format!("median time to detect {m:.1} min > {max}")),
                None => out.push("no violating account detected".to_string()),
            }
        }
        out
    }
}

/// Collects outcomes while events and signals flow.
pub struct ScorecardBuilder {
    labels: Vec<Label>,
    index: HashMap<String, usize>,
    outcomes: Vec<AccountOutcome>,
    events: u64,
    signals: u64,
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(pos.min(sorted.len() - 1)).copied()
}

fn share(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

impl ScorecardBuilder {
    /// A builder for these labels.
    pub fn new(labels: Vec<Label>) -> Self {
        let index = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.account_id.clone(), i))
            .collect();
        let outcomes = vec![AccountOutcome::default(); labels.len()];
        ScorecardBuilder {
            labels,
            index,
            outcomes,
            events: 0,
            signals: 0,
        }
    }

    /// Notes an event of `account_id` at `ts`.
    pub fn event(&mut self, account_id: &str, ts: i64) {
        self.events += 1;
        if let Some(&i) = self.index.get(account_id) {
            let o = &mut self.outcomes[i];
            if o.first_event_ms.is_none_or(|f| ts < f) {
                o.first_event_ms = Some(ts);
            }
        }
    }

    /// Notes a signal.
    pub fn signal(&mut self, s: &Signal) {
        self.signals += 1;
        self.signal_on(&s.account_id, s);
    }

    /// Notes a WABA-level signal as the outcome of each of the WABA's
    /// `numbers` (the signal itself counted once). Call it once the numbers
    /// are known: a number that first spoke after the decision was under it
    /// from its first event.
    pub fn waba_signal<'a>(&mut self, s: &Signal, numbers: impl IntoIterator<Item = &'a str>) {
        self.signals += 1;
        for n in numbers {
            self.signal_on(n, s);
        }
    }

    fn signal_on(&mut self, account_id: &str, s: &Signal) {
        let Some(&i) = self.index.get(account_id) else {
            return;
        };
        let o = &mut self.outcomes[i];
        let at_ms = o
            .first_event_ms
            .map_or(s.event_time_ms, |f| f.max(s.event_time_ms));
        o.signals += 1;
        if s.action.severity() > o.strongest.severity() {
            o.strongest = s.action;
        }
        o.flagged |= s.action == Action::Flag;
        if matches!(
            s.action,
            Action::Throttle | Action::Suspend | Action::Charge
        ) {
            // The earliest enforcement, whichever level decided it.
            o.first_enforced_ms = Some(o.first_enforced_ms.map_or(at_ms, |t| t.min(at_ms)));
        }
    }

    /// Notes that the country policy exempted `account_id` (see [`Exempt`]);
    /// `detected`: the evidence reached the throttle level or above. An
    /// account actioned beyond a flag is never exempt.
    pub fn exempt(&mut self, account_id: &str, detected: bool) {
        if let Some(&i) = self.index.get(account_id) {
            let o = &mut self.outcomes[i];
            if o.strongest.severity() <= Action::Flag.severity() {
                o.exempt = Some(detected);
            }
        }
    }

    // Long because the scorecard's rows, classes and totals are computed
    // in one pass over the same accounts; each block is labelled below.
    /// Summarises.
    pub fn finish(&self) -> Scorecard {
        let mut rows = Vec::new();
        let mut all_ttd = Vec::new();
        let mut classes: Vec<(bool, &str)> = self
            .labels
            .iter()
            .map(|l| (l.violating, l.archetype.as_str()))
            .collect();
        classes.sort_unstable();
        classes.dedup();
        for (violating, name) in classes {
            let members: Vec<(&Label, &AccountOutcome)> = self
                .labels
                .iter()
                .zip(&self.outcomes)
                .filter(|(l, o)| {
                    l.violating == violating && l.archetype == name && o.exempt.is_none()
                })
                .collect();
            let n = members.len() as u64;
            let count = |f: &dyn Fn(&AccountOutcome) -> bool| {
                members.iter().filter(|(_, o)| f(o)).count() as u64
            };
            let mut ttd: Vec<f64> = members
                .iter()
                .filter_map(|(_, o)| {
                    Some((o.first_enforced_ms? - o.first_event_ms?) as f64 / 60_000.0)
                })
                .collect();
            ttd.sort_by(f64::total_cmp);
            if violating {
                all_ttd.extend(ttd.iter().copied());
            }
            let enforced = count(&|o| o.strongest.severity() >= 2);
            rows.push(ArchetypeRow {
                archetype: name.to_string(),
                violating,
                accounts: n,
                flagged: count(&|o| o.flagged || o.strongest.severity() >= 1),
                throttled: count(&|o| o.strongest == Action::Throttle),
                suspended: count(&|o| o.strongest == Action::Suspend),
                charged: count(&|o| o.strongest == Action::Charge),
                enforced_share: share(enforced, n),
                ttd_median_min: quantile(&ttd, 0.5),
                ttd_p95_min: quantile(&ttd, 0.95),
                signals_per_account: share(
                    members.iter().map(|(_, o)| u64::from(o.signals)).sum(),
                    n,
                ),
            });
        }
        all_ttd.sort_by(f64::total_cmp);
        let exempt = {
            let all: Vec<(&Label, bool)> = self
                .labels
                .iter()
                .zip(&self.outcomes)
                .filter_map(|(l, o)| o.exempt.map(|d| (l, d)))
                .collect();
            let n = |v: bool, d: bool| {
                all.iter()
                    .filter(|(l, det)| l.violating == v && (!d || *det))
                    .count() as u64
            };
            Exempt {
                violating: n(true, false),
                violating_detected: n(true, true),
                legitimate: n(false, false),
                legitimate_detected: n(false, true),
            }
        };
        let pairs: Vec<(&Label, &AccountOutcome)> = self
            .labels
            .iter()
            .zip(&self.outcomes)
            .filter(|(_, o)| o.exempt.is_none())
            .collect();
        let cnt = |f: &dyn Fn(&Label, &AccountOutcome) -> bool| {
            pairs.iter().filter(|(l, o)| f(l, o)).count() as u64
        };
        let violating = cnt(&|l, _| l.violating);
        let legit = cnt(&|l, _| !l.violating);
        let enforced_tp = cnt(&|l, o| l.violating && o.strongest.severity() >= 2);
        let enforced_all = cnt(&|_, o| o.strongest.severity() >= 2);
        let suspended_tp = cnt(&|l, o| l.violating && o.strongest == Action::Suspend);
        let suspended_all = cnt(&|_, o| o.strongest == Action::Suspend);
        // Rows with no accounts left (all exempt) do not count as a class.
        let weakest = rows
            .iter()
            .filter(|r| r.violating && r.accounts > 0)
            .min_by(|a, b| a.enforced_share.total_cmp(&b.enforced_share));
        let legit_throttled =
            cnt(&|l, o| !l.violating && matches!(o.strongest, Action::Throttle | Action::Charge));
        let signalled: Vec<u32> = self
            .outcomes
            .iter()
            .map(|o| o.signals)
            .filter(|s| *s > 0)
            .collect();
        let overall = Overall {
            violating_accounts: violating,
            legitimate_accounts: legit,
            precision_enforced: share(enforced_tp, enforced_all),
            recall_enforced: share(enforced_tp, violating),
            precision_suspended: share(suspended_tp, suspended_all),
            recall_suspended: share(suspended_tp, violating),
            weakest_archetype: weakest.map(|r| r.archetype.clone()),
            recall_enforced_weakest: weakest.map_or(0.0, |r| r.enforced_share),
            legitimate_flagged: cnt(&|l, o| !l.violating && o.strongest.severity() >= 1),
            legitimate_throttled: legit_throttled,
            legitimate_throttled_share: share(legit_throttled, legit),
            legitimate_suspended: cnt(&|l, o| !l.violating && o.strongest == Action::Suspend),
            ttd_median_min: quantile(&all_ttd, 0.5),
            ttd_p95_min: quantile(&all_ttd, 0.95),
            signals_per_signalled_account: share(
                signalled.iter().map(|s| u64::from(*s)).sum(),
                signalled.len() as u64,
            ),
            max_signals_per_account: signalled.iter().copied().max().unwrap_or(0),
            exempt_by_policy: exempt,
        };
        Scorecard {
            archetypes: rows,
            overall,
            events: self.events,
            signals: self.signals,
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
}

impl Scorecard {
    /// The scorecard as a text table.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:<22} {:>5} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>8}\n",
            "archetype",
            "viol",
            "accounts",
            "flagged",
            "throttl",
            "suspended",
            "charged",
            "enforced",
            "ttd p50",
            "ttd p95",
            "sig/acc"
        ));
        for r in &self.archetypes {
            s.push_str(&format!(
                "{:<22} {:>5} {:>8} {:>8} {:>8} {:>9} {:>8} {:>7.1}% {:>9} {:>9} {:>8.2}\n",
                r.archetype,
                if r.violating { "yes" } else { "no" },
                r.accounts,
                r.flagged,
                r.throttled,
                r.suspended,
                r.charged,
                r.enforced_share * 100.0,
                opt(r.ttd_median_min),
                opt(r.ttd_p95_min),
                r.signals_per_account
            ));
        }
        let o = &self.overall;
        s.push_str(&format!(
            "\nviolating accounts {} | legitimate accounts {}\n\
             throttled/suspended/charged: precision {:.4} recall {:.4} (weakest archetype: {} {:.4})\n\
             suspended:                   precision {:.4} recall {:.4}\n\
             legitimate: {} flagged, {} throttled or charged ({:.2}%), {} suspended\n\
             time to detect (event time): median {} min, p95 {} min\n\
             signals per signalled account: {:.2} (max {})\n\
             exempt by the country policy (allow or flag_only, not counted above): {} violating ({} at throttle level or above), {} legitimate ({} at throttle level or above)\n",
            o.violating_accounts,
            o.legitimate_accounts,
            o.precision_enforced,
            o.recall_enforced,
            o.weakest_archetype.as_deref().unwrap_or("-"),
            o.recall_enforced_weakest,
            o.precision_suspended,
            o.recall_suspended,
            o.legitimate_flagged,
            o.legitimate_throttled,
            o.legitimate_throttled_share * 100.0,
            o.legitimate_suspended,
            opt(o.ttd_median_min),
            opt(o.ttd_p95_min),
            o.signals_per_signalled_account,
            o.max_signals_per_account,
            o.exempt_by_policy.violating,
            o.exempt_by_policy.violating_detected,
            o.exempt_by_policy.legitimate,
            o.exempt_by_policy.legitimate_detected
        ));
        s
    }
}

#[cfg(test)]
mod tests;
