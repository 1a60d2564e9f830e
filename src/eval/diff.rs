//! Two rule sets' decisions on the same events, compared: the accounts
//! whose strongest action moves up or down the ladder, counted per
//! transition, per tenant and per rule that made the difference. The
//! backtest behind `satpam rules diff`; it reads signals only (no text).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Serialize, Serializer};

use super::labels::Label;
use crate::decide::{Action, Signal};

/// What [`AccountChange::rules`] holds when no rule was active on the
/// stronger side only: the decision section (thresholds, minimum evidence,
/// hysteresis) made the difference.
pub const LADDER: &str = "decision (thresholds or minimum evidence)";

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
    /// The rules (`id vN`) active in the stronger side's decision and not
    /// in the weaker side's; [`LADDER`] when there are none.
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

fn rules_of(s: Option<&Signal>) -> BTreeSet<String> {
    s.map(|s| {
        s.evidence
            .rules
            .iter()
            .map(|r| format!("{} v{}", r.rule_id, r.rule_version))
            .collect()
    })
    .unwrap_or_default()
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
/// per account actioned, FLAG or above). `labels` annotate the changes.
pub fn compare(old: &[Signal], new: &[Signal], labels: &[Label]) -> RulesDiff {
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
        let lo_rules = rules_of(lo);
        let mut rules: Vec<String> = rules_of(hi).difference(&lo_rules).cloned().collect();
        if rules.is_empty() {
            rules.push(LADDER.to_string());
        }
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
    diff.changes.sort_by(|a, b| b.up.cmp(&a.up));
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
