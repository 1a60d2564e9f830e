//! The numbers a compliance report states, taken from one account's state
//! (`Admin.GetAccount`'s `AccountState`: counters and features, never
//! text), the rules' conditions and ladder, and the country policy.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decide::policy::format_date;
use crate::decide::CountryPolicy;
use crate::pb::v1 as pb;
use crate::rules::explain::{checks, Check};
use crate::RuleSet;

/// One rung of the ladder.
#[derive(Debug, Clone, Serialize)]
pub struct Rung {
    /// FLAG, THROTTLE or SUSPEND.
    pub action: &'static str,
    /// The score at or above which it applies.
    pub score: f64,
    /// Sessions (24 h) it needs at least.
    pub sessions: u64,
    /// Distinct users (24 h) it needs at least.
    pub users: u64,
}

/// A rule active in the account's decision.
#[derive(Debug, Clone, Serialize)]
pub struct FiredRule {
    /// Rule id.
    pub id: String,
    /// Rule version.
    pub version: u32,
    /// What it catches (from the rules file; empty when it is not there).
    pub description: String,
    /// Its score contribution.
    pub score: f64,
    /// Event time it last fired, `YYYY-MM-DD HH:MM UTC`.
    pub last_fired: String,
    /// The features its condition read, as they were when it last fired.
    pub features: BTreeMap<String, f64>,
    /// Its comparisons against their thresholds.
    pub checks: Vec<Check>,
}

/// One step of the market's policy timeline.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyStep {
    /// First day it applies (`always` for the first).
    pub from: String,
    /// enforce, charge, allow or flag_only.
    pub outcome: String,
    /// The policy entry's id.
    pub rule: String,
}

/// The policy the account is judged against.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyFacts {
    /// The account's main market (ISO 3166-1 alpha-2), empty when unknown.
    pub country: String,
    /// The outcome in force at the account's last event.
    pub outcome: String,
    /// The policy entry that chose it.
    pub rule: String,
    /// Where that entry applies.
    pub scope: String,
    /// The policy file's version.
    pub version: String,
    /// The entry's source, when the local policy file has it.
    pub source: String,
    /// The market's timeline in the local policy file.
    pub timeline: Vec<PolicyStep>,
}

/// Everything a report states, in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// Tenant.
    pub tenant_id: String,
    /// Account.
    pub account_id: String,
    /// The account's last event, `YYYY-MM-DD HH:MM UTC`.
    pub as_of: String,
    /// The rules the conditions and the ladder come from (version).
    pub rule_set_version: String,
    /// The action in force: NONE, FLAG, THROTTLE, SUSPEND or CHARGE.
    pub action: &'static str,
    /// The combined score of the active rules, in [0, 1].
    pub score: f64,
    /// The ladder: FLAG, THROTTLE, SUSPEND.
    pub ladder: Vec<Rung>,
    /// A rung in force holds while the score stays above its threshold less this.
    pub hysteresis: f64,
    /// Minutes under that line before a rung steps down.
    pub cooldown_min: i64,
    /// Conversation sessions, last 24 hours.
    pub sessions_24h: u64,
    /// Distinct users, last 24 hours.
    pub users_24h: u64,
    /// Events, last hour.
    pub events_1h: u64,
    /// The account's window features at its last event (`account.*`).
    pub features: BTreeMap<String, f64>,
    /// The rules active in its decision, strongest first.
    pub rules: Vec<FiredRule>,
    /// The country policy.
    pub policy: PolicyFacts,
    /// An analyst's override in force: `allow` or `deny`.
    pub override_mode: Option<&'static str>,
}

fn action_name(wire: i32) -> &'static str {
    match pb::Action::try_from(wire).unwrap_or(pb::Action::Unspecified) {
        pb::Action::Unspecified => "NONE",
        pb::Action::Flag => "FLAG",
        pb::Action::Throttle => "THROTTLE",
        pb::Action::Suspend => "SUSPEND",
        pb::Action::Restore => "RESTORE",
        pb::Action::Charge => "CHARGE",
    }
}

/// `YYYY-MM-DD HH:MM UTC` of an instant.
pub fn minute(ms: i64) -> String {
    let day = format_date(ms);
    let in_day = ms.rem_euclid(86_400_000) / 60_000;
    format!("{day} {:02}:{:02} UTC", in_day / 60, in_day % 60)
}

// Long because it gathers every fact of the report in one place, in the
// order the report shows them.
/// The facts of `state`, with the conditions and the ladder of `rules` and
/// the timeline of `policy`.
pub fn build(state: &pb::AccountState, rules: &RuleSet, policy: &CountryPolicy) -> Facts {
    let d = rules.decision();
    let ladder = ["FLAG", "THROTTLE", "SUSPEND"]
        .into_iter()
        .zip([d.flag, d.throttle, d.suspend])
        .zip(d.min_evidence)
        .map(|((action, score), m)| Rung {
            action,
            score,
            sessions: m.sessions,
            users: m.users,
        })
        .collect();
    let evidence = state.evidence.clone().unwrap_or_default();
    let fired = evidence
        .rules
        .iter()
        .map(|h| {
            let seen: BTreeMap<String, f64> = h
                .features
                .iter()
                .map(|f| (f.name.clone(), f.value))
                .collect();
            let rule = rules.rules().iter().find(|r| r.id == h.rule_id);
            let mut found = Vec::new();
            if let Some(r) = rule.filter(|r| r.version == h.rule_version) {
                checks(&r.condition, rules, &seen, &mut found);
            }
            FiredRule {
                id: h.rule_id.clone(),
                version: h.rule_version,
                description: rule
                    .map(|r| {
                        r.description
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default(),
                score: h.score,
                last_fired: minute(h.last_fired_ms),
                features: seen,
                checks: found,
            }
        })
        .collect();
    let applied = state.policy.clone().unwrap_or_default();
    let country = crate::event::Country::parse(&state.main_country).filter(|c| c.is_known());
    let entry = policy.entries().iter().find(|e| e.id == applied.rule);
    let timeline = policy
        .timeline(country)
        .into_iter()
        .map(|(from, a)| PolicyStep {
            from: if from == i64::MIN {
                "always".to_string()
            } else {
                format_date(from)
            },
            outcome: a.outcome.name().to_string(),
            rule: policy.rule_id(a).to_string(),
        })
        .collect();
    Facts {
        tenant_id: state.tenant_id.clone(),
        account_id: state.account_id.clone(),
        as_of: minute(state.last_event_ms),
        rule_set_version: rules.version().to_string(),
        action: action_name(state.action),
        score: state.score,
        ladder,
        hysteresis: d.hysteresis,
        cooldown_min: d.cooldown_ms / 60_000,
        sessions_24h: evidence.conversations,
        users_24h: evidence.users,
        events_1h: evidence.events,
        features: state
            .features
            .iter()
            .map(|f| (f.name.clone(), f.value))
            .collect(),
        rules: fired,
        policy: PolicyFacts {
            country: state.main_country.clone(),
            outcome: applied.outcome,
            rule: applied.rule,
            scope: applied.r#where,
            version: applied.version,
            source: entry
                .map(|e| {
                    format!(
                        "{}{}",
                        e.source,
                        if e.uncertain { " (uncertain)" } else { "" }
                    )
                })
                .unwrap_or_default(),
            timeline,
        },
        override_mode: state.r#override.as_ref().map(|o| {
            match pb::OverrideMode::try_from(o.mode).unwrap_or(pb::OverrideMode::Unspecified) {
                pb::OverrideMode::Deny => "deny",
                _ => "allow",
            }
        }),
    }
}
