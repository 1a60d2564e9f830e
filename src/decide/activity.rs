//! Rules that fired recently for one account. A firing keeps its rule
//! active for the rule's hold time; the account score combines the active
//! enforcing rules.

use serde::{Deserialize, Serialize};

use crate::rules::{RuleSet, Subject};

/// One rule active for an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveRule {
    /// Index of the rule in its rule set.
    pub rule: u16,
    /// Event time of the first firing in this activation.
    pub first_fired_ms: i64,
    /// Event time of the latest firing.
    pub last_fired_ms: i64,
    /// Firings in this activation.
    pub hits: u32,
    /// The values of the rule's features at the latest firing.
    pub features: Box<[f64]>,
}

/// The active rules of one account, tied to one rule-set version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleActivity {
    /// Fingerprint of the rule set the indexes refer to.
    set_fingerprint: u64,
    active: Vec<ActiveRule>,
}

impl RuleActivity {
    /// Records the rules in `fired` (indexes into `rules`) of `scope` at
    /// `now_ms`, with the feature values they saw, and expires rules past
    /// their hold; rules of the other scope are left out (an account's
    /// activity holds its account rules, a WABA's its WABA rules).
    /// Allocates only when a rule becomes active (a firing of an active
    /// rule overwrites its feature values in place).
    pub fn record(
        &mut self,
        rules: &RuleSet,
        fired: &[u16],
        scope: Subject,
        features: &[f64],
        now_ms: i64,
    ) {
        let fp = rules.fingerprint();
        if self.set_fingerprint != fp {
            // Rule indexes of another rule set mean nothing here.
            self.active.clear();
            self.set_fingerprint = fp;
        }
        for &i in fired {
            let Some(rule) = rules.rules().get(usize::from(i)) else {
                continue;
            };
            if rule.scope != scope {
                continue;
            }
            let value = |s: &u16| features.get(usize::from(*s)).copied().unwrap_or(0.0);
            match self.active.iter_mut().find(|a| a.rule == i) {
                Some(a) => {
                    a.last_fired_ms = a.last_fired_ms.max(now_ms);
                    a.hits = a.hits.saturating_add(1);
                    if a.features.len() == rule.slots.len() {
                        for (v, s) in a.features.iter_mut().zip(&rule.slots) {
                            *v = value(s);
                        }
                    } else {
                        a.features = rule.slots.iter().map(value).collect();
                    }
                }
                None => self.active.push(ActiveRule {
                    rule: i,
                    first_fired_ms: now_ms,
                    last_fired_ms: now_ms,
                    hits: 1,
                    features: rule.slots.iter().map(value).collect(),
                }),
            }
        }
        let all = rules.rules();
        self.active.retain(|a| {
            all.get(usize::from(a.rule))
                .is_some_and(|r| now_ms.saturating_sub(a.last_fired_ms) < r.hold_ms)
        });
    }

    /// The account score: `1 - prod(1 - score)` over active enforcing rules.
    pub fn score(&self, rules: &RuleSet) -> f64 {
        let all = rules.rules();
        let keep: f64 = self
            .active
            .iter()
            .filter_map(|a| all.get(usize::from(a.rule)))
            .filter(|r| !r.shadow)
            .map(|r| 1.0 - r.score)
            .product();
        1.0 - keep
    }

    /// The score [`Self::score`] would be were the shadow rule at index
    /// `shadow` (active here) enforcing too.
    pub fn score_with(&self, rules: &RuleSet, shadow: u16) -> f64 {
        let extra = rules
            .rules()
            .get(usize::from(shadow))
            .filter(|r| r.shadow && self.active.iter().any(|a| a.rule == shadow))
            .map_or(0.0, |r| r.score);
        1.0 - (1.0 - self.score(rules)) * (1.0 - extra)
    }

    /// The active rules.
    pub fn active(&self) -> &[ActiveRule] {
        &self.active
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.active.capacity() * std::mem::size_of::<ActiveRule>()
            + self
                .active
                .iter()
                .map(|a| a.features.len() * 8)
                .sum::<usize>()
    }
}
