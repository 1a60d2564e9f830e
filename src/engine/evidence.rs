//! What the engine reports of an account beside its state: the policy
//! outcome in force for it, and the evidence of its active rules.

use crate::decide::{Account, Applied, CountryPolicy, RuleActivity, RuleEvidence};
use crate::rules::RuleSet;

/// The policy outcome in force for `acct` at `at_ms`: Meta's Business
/// Agent rule when the account used it lately, else the outcome of the
/// account's main market on that day.
pub fn applied_policy(policy: &CountryPolicy, acct: &Account, at_ms: i64) -> Applied {
    applied_policy_of(
        policy,
        &acct.slot.policy,
        acct.behaviour.main_country(),
        at_ms,
    )
}

/// [`applied_policy`] for any decision slot (an account's or a WABA's):
/// its policy state and its main market.
pub(crate) fn applied_policy_of(
    policy: &CountryPolicy,
    state: &crate::decide::PolicyState,
    main_country: Option<crate::event::Country>,
    at_ms: i64,
) -> Applied {
    if state.uses_business_agent(at_ms) {
        Applied::BUSINESS_AGENT
    } else {
        policy.at(main_country, at_ms)
    }
}

/// The evidence of the active enforcing rules, strongest first.
pub fn rule_evidence(activity: &RuleActivity, rules: &RuleSet) -> Vec<RuleEvidence> {
    let all = rules.rules();
    let catalog = rules.catalog();
    let mut out: Vec<RuleEvidence> = activity
        .active()
        .iter()
        .filter_map(|a| all.get(usize::from(a.rule)).map(|r| (a, r)))
        .filter(|(_, r)| !r.shadow)
        .map(|(a, r)| RuleEvidence {
            rule_id: r.id.clone(),
            rule_version: r.version,
            score: r.score,
            last_fired_ms: a.last_fired_ms,
            hits: u64::from(a.hits),
            features: r
                .slots
                .iter()
                .zip(a.features.iter())
                .map(|(s, v)| (catalog.name(*s).to_string(), *v))
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    out
}
