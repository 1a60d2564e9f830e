//! Two rule sets' decisions on the same events, compared: the accounts
//! whose strongest action moves up or down the ladder, counted per
//! transition, per tenant and per rule that made the difference. The
//! backtest behind `satpam rules diff`; it reads signals only (no text).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Serialize, Serializer};

use super::labels::Label;
use crate::decide::{Action, Signal};
use crate::rules::RuleSet;

/// What [`AccountChange::rules`] holds when no changed rule was in either
/// decision and the decision section (thresholds, minimum evidence,
/// hysteresis, cooldown) changed: the ladder made the difference.
pub const LADDER: &str = "decision: thresholds or minimum evidence";

/// What [`AccountChange::rules`] holds when neither a changed rule nor the
/// decision section explains a move, and no rule was active on the
/// stronger side only (a change of pattern sets or topics does that).
pub const INDIRECT: &str = "pattern sets or topics: no changed rule in the decisions";

/// What differs between two rule sets, as far as decisions go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleChanges {
    /// Ids of rules added, removed, or changed in version, score, shadow
    /// mode, hold or condition.
    pub rules: BTreeSet<String>,
    /// Whether the decision section differs.
    pub decision: bool,
}

impl RuleChanges {
    /// The changes from `old` to `new`. A condition counts as changed when
    /// its compiled form or the names of the features it reads differ.
    pub fn between(old: &RuleSet, new: &RuleSet) -> Self {
        let by_id = |set: &'_ RuleSet| -> BTreeMap<String, (usize, Vec<String>)> {
            set.rules()
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let names = r
                        .slots
                        .iter()
                        .map(|s| set.catalog().name(*s).to_string())
                        .collect();
                    (r.id.clone(), (i, names))
                })
                .collect()
        };
        let (o, n) = (by_id(old), by_id(new));
        let same = |id: &String| match (o.get(id), n.get(id)) {
            (Some((i, on)), Some((j, nn))) => {
                let (a, b) = (&old.rules()[*i], &new.rules()[*j]);
                (a.version, a.score, a.shadow, a.hold_ms, &a.condition, on)
                    == (b.version, b.score, b.shadow, b.hold_ms, &b.condition, nn)
            }
            _ => false,
        };
        RuleChanges {
            rules: o
                .keys()
                .chain(n.keys())
                .filter(|id| !same(id))
                .cloned()
                .collect(),
            decision: old.decision() != new.decision(),
        }
    }
}

fn action_name<S: Serializer>(a: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.name())
}

/// One account whose strongest action differs between the two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountChange {
    /// Tenant.
    pub tenant_id: String,
    /// Account.
    pub account_id: String,
    /// Strongest action under the old rules (`NONE`: never actioned).
    #[serde(serialize_with = "action_name")]
    pub old: Action,
    /// Strongest action under the new rules.
    #[serde(serialize_with = "action_name")]
    pub new: Action,
    /// Whether it moved up the ladder (stricter) rather than down.
    pub up: bool,
    /// What made the difference: the changed rules (`id vN`) active in
    /// either side's decision; else [`LADDER`] when the decision section
    /// changed; else the rules active on the stronger side only; else
    /// [`INDIRECT`].
    pub rules: Vec<String>,
    /// The labelled archetype, when labels were given and name the account.
    pub archetype: Option<String>,
    /// The label's `violating` column, likewise.
    pub violating: Option<bool>,
}

/// Accounts that made one move (old action -> new action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// Strongest action under the old rules.
    #[serde(serialize_with = "action_name")]
    pub old: Action,
    /// Strongest action under the new rules.
    #[serde(serialize_with = "action_name")]
    pub new: Action,
    /// Accounts that moved so.
    pub accounts: u64,
}

/// Moves counted under one key (a tenant or a rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The tenant id, or the rule (`id vN`, or [`LADDER`]).
    pub key: String,
    /// Accounts moved up.
    pub up: u64,
    /// Accounts moved down.
    pub down: u64,
}

/// The comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RulesDiff {
    /// Accounts actioned (FLAG or above) under the old rules.
    pub actioned_old: u64,
    /// Accounts actioned under the new rules.
    pub actioned_new: u64,
    /// Accounts actioned on either side with the same strongest action.
    pub unchanged: u64,
    /// Accounts moved up the ladder.
    pub up: u64,
    /// Accounts moved down.
    pub down: u64,
    /// Per (old, new) pair, ordered by the pair.
    pub transitions: Vec<Transition>,
    /// Per tenant, by id.
    pub by_tenant: Vec<Tally>,
    /// Per rule that made the difference, by key.
    pub by_rule: Vec<Tally>,
    /// Every changed account: moves up first, then down, each by tenant and account.
    pub changes: Vec<AccountChange>,
}

fn rules_of(s: Option<&Signal>) -> BTreeMap<String, String> {
    s.map(|s| {
        s.evidence
            .rules
            .iter()
            .map(|r| {
                (
                    format!("{} v{}", r.rule_id, r.rule_version),
                    r.rule_id.clone(),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// What made a move from the weaker side's decision `lo` to the stronger `hi`.
fn cause(hi: Option<&Signal>, lo: Option<&Signal>, changes: &RuleChanges) -> Vec<String> {
    let (hi, lo) = (rules_of(hi), rules_of(lo));
    let changed: BTreeSet<String> = hi
        .iter()
        .chain(lo.iter())
        .filter(|(_, id)| changes.rules.contains(*id))
        .map(|(key, _)| key.clone())
        .collect();
    if !changed.is_empty() {
        return changed.into_iter().collect();
    }
    if changes.decision {
        return vec![LADDER.to_string()];
    }
    let only: Vec<String> = hi
        .keys()
        .filter(|k| !lo.contains_key(*k))
        .cloned()
        .collect();
    if only.is_empty() {
        vec![INDIRECT.to_string()]
    } else {
        only
    }
}

fn bump(map: &mut BTreeMap<String, (u64, u64)>, key: &str, up: bool) {
    let e = map.entry(key.to_string()).or_default();
    if up {
        e.0 += 1;
    } else {
        e.1 += 1;
    }
}

fn tallies(map: BTreeMap<String, (u64, u64)>) -> Vec<Tally> {
    map.into_iter()
        .map(|(key, (up, down))| Tally { key, up, down })
        .collect()
}

/// Compares each account's strongest signal under the old rules (`old`)
/// with the new (`new`), as [`super::EvalRun::strongest`] gives them (one
/// per account actioned, FLAG or above). `changes` (see
/// [`RuleChanges::between`]) names the causes; `labels` annotate the moves.
pub fn compare(
    old: &[Signal],
    new: &[Signal],
    changes: &RuleChanges,
    labels: &[Label],
) -> RulesDiff {
    type Key<'a> = (&'a str, &'a str);
    let (old_by, new_by) = (index_of(old), index_of(new));
    let label_of: HashMap<&str, &Label> =
        labels.iter().map(|l| (l.account_id.as_str(), l)).collect();
    let keys: BTreeSet<Key<'_>> = old_by.keys().chain(new_by.keys()).copied().collect();
    let mut diff = RulesDiff {
        actioned_old: old_by.len() as u64,
        actioned_new: new_by.len() as u64,
        ..RulesDiff::default()
    };
    let mut transitions: BTreeMap<(Action, Action), u64> = BTreeMap::new();
    let mut by_tenant = BTreeMap::new();
    let mut by_rule = BTreeMap::new();
    for key in keys {
        let (o, n) = (old_by.get(&key).copied(), new_by.get(&key).copied());
        let (oa, na) = (
            o.map_or(Action::None, |s| s.action),
            n.map_or(Action::None, |s| s.action),
        );
        if oa.severity() == na.severity() {
            diff.unchanged += 1;
            continue;
        }
        let up = na.severity() > oa.severity();
        let (hi, lo) = if up { (n, o) } else { (o, n) };
        let rules = cause(hi, lo, changes);
        *transitions.entry((oa, na)).or_default() += 1;
        bump(&mut by_tenant, key.0, up);
        for r in &rules {
            bump(&mut by_rule, r, up);
        }
        if up {
            diff.up += 1;
        } else {
            diff.down += 1;
        }
        let label = label_of.get(key.1);
        diff.changes.push(AccountChange {
            tenant_id: key.0.to_string(),
            account_id: key.1.to_string(),
            old: oa,
            new: na,
            up,
            rules,
            archetype: label.map(|l| l.archetype.clone()),
            violating: label.map(|l| l.violating),
        });
    }
    diff.changes.sort_by_key(|c| std::cmp::Reverse(c.up));
    diff.transitions = transitions
        .into_iter()
        .map(|((old, new), accounts)| Transition { old, new, accounts })
        .collect();
    diff.by_tenant = tallies(by_tenant);
    diff.by_rule = tallies(by_rule);
    diff
}

fn index_of(v: &[Signal]) -> HashMap<(&str, &str), &Signal> {
    v.iter()
        .map(|s| ((s.tenant_id.as_str(), s.account_id.as_str()), s))
        .collect()
}

#[cfg(test)]
mod tests;
