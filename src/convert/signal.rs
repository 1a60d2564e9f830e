//! The output edge: decisions into wire form, once. (The input edge, wire
//! events into domain events, is the parent module; this half comes after
//! `decide` in the flow, so it lives apart.)

use crate::decide::{Action, Evidence, Signal};
use crate::pb::v1 as pb;

impl From<Action> for pb::Action {
    fn from(a: Action) -> Self {
        match a {
            Action::None => pb::Action::Unspecified,
            Action::Flag => pb::Action::Flag,
            Action::Throttle => pb::Action::Throttle,
            Action::Suspend => pb::Action::Suspend,
            Action::Restore => pb::Action::Restore,
            Action::Charge => pb::Action::Charge,
        }
    }
}

impl From<pb::Action> for Action {
    fn from(a: pb::Action) -> Self {
        match a {
            pb::Action::Unspecified => Action::None,
            pb::Action::Flag => Action::Flag,
            pb::Action::Throttle => Action::Throttle,
            pb::Action::Suspend => Action::Suspend,
            pb::Action::Restore => Action::Restore,
            pb::Action::Charge => Action::Charge,
        }
    }
}

/// Evidence in wire form.
pub fn evidence_to_pb(e: &Evidence) -> pb::Evidence {
    pb::Evidence {
        rules: e
            .rules
            .iter()
            .map(|r| pb::RuleHit {
                rule_id: r.rule_id.clone(),
                rule_version: r.rule_version,
                score: r.score,
                last_fired_ms: r.last_fired_ms,
                hits: r.hits,
                features: r
                    .features
                    .iter()
                    .map(|(name, value)| pb::FeatureValue {
                        name: name.clone(),
                        value: *value,
                    })
                    .collect(),
            })
            .collect(),
        conversations: e.conversations,
        users: e.users,
        events: e.events,
        reason: e.reason.clone(),
    }
}

impl From<&Signal> for pb::EnforcementSignal {
    fn from(s: &Signal) -> Self {
        pb::EnforcementSignal {
            signal_id: s.signal_id.clone(),
            tenant_id: s.tenant_id.clone(),
            account_id: s.account_id.clone(),
            action: pb::Action::from(s.action) as i32,
            score: s.score,
            throttle_mps: s.throttle_mps.unwrap_or(0.0),
            evidence: Some(evidence_to_pb(&s.evidence)),
            rule_set_version: s.rule_set_version.clone(),
            event_time_ms: s.event_time_ms,
            decided_at_ms: s.decided_at_ms,
            trigger_event_id: s.trigger_event_id.clone(),
            previous_action: pb::Action::from(s.previous_action) as i32,
            policy_country: s
                .policy_country
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            policy_version: s.policy_version.clone(),
            policy_rule: s.policy_rule.clone(),
            policy_outcome: s.policy_outcome.name().to_string(),
            waba_id: s.waba_id.clone(),
            level: s.level.name().to_string(),
            numbers: s
                .numbers
                .iter()
                .map(|(account_id, events_24h)| pb::WabaNumber {
                    account_id: account_id.clone(),
                    events_24h: *events_24h,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each action to the wire and back is itself, and the wire's six
    /// values are six distinct actions (the two matches are inverses).
    #[test]
    fn actions_round_trip_through_the_wire() {
        let all = Action::ALL;
        for a in all {
            assert_eq!(Action::from(pb::Action::from(a)), a, "{a:?}");
        }
        assert_eq!(Action::from(pb::Action::Unspecified), Action::None);
        let wire: std::collections::BTreeSet<i32> =
            all.iter().map(|a| pb::Action::from(*a) as i32).collect();
        assert_eq!(wire.len(), all.len());
    }
}
