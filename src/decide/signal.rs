//! The signal: one decision about one account or one WABA, explained
//! without any text.

use xxhash_rust::xxh3::xxh3_128;

use super::{Action, PolicyOutcome};
use crate::event::Country;
use crate::rules::Subject;

/// One rule behind a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvidence {
    /// Rule id.
    pub rule_id: String,
    /// Rule version.
    pub rule_version: u32,
    /// Its score contribution.
    pub score: f64,
    /// Event time it last fired.
    pub last_fired_ms: i64,
    /// Firings while active.
    pub hits: u64,
    /// Its condition's features as they were when it last fired.
    pub features: Vec<(String, f64)>,
}

/// Why a decision was taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The active enforcing rules.
    pub rules: Vec<RuleEvidence>,
    /// Conversation sessions, 24 hours.
    pub conversations: u64,
    /// Distinct users, 24 hours.
    pub users: u64,
    /// Events, 1 hour.
    pub events: u64,
    /// The ladder step, override or policy.
    pub reason: String,
}

/// A decision about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Deterministic id.
    pub signal_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Account.
    pub account_id: String,
    /// What to do.
    pub action: Action,
    /// The action in force before.
    pub previous_action: Action,
    /// Account score.
    pub score: f64,
    /// For THROTTLE: the allowed rate.
    pub throttle_mps: Option<f64>,
    /// Why.
    pub evidence: Evidence,
    /// The rule set that decided.
    pub rule_set_version: String,
    /// Event time of the trigger.
    pub event_time_ms: i64,
    /// When it was decided, by the engine's clock.
    pub decided_at_ms: i64,
    /// The triggering event.
    pub trigger_event_id: String,
    /// The country whose policy applied.
    pub policy_country: Option<Country>,
    /// The version of the policy file that applied.
    pub policy_version: String,
    /// The policy entry (or built-in rule) that chose the outcome.
    pub policy_rule: String,
    /// The policy outcome in force at the trigger.
    pub policy_outcome: PolicyOutcome,
    /// Which level decided: the account (one number), or its WABA (then
    /// `account_id` holds the WABA id and `numbers` the numbers behind it).
    pub level: Subject,
    /// The WABA of the triggering event (empty when it named none).
    pub waba_id: String,
    /// For a WABA-level decision, the WABA's busiest numbers over 24 hours
    /// with their events, busiest first, at most [`crate::engine::TOP_NUMBERS`].
    pub numbers: Vec<(String, u64)>,
}

/// The deterministic id of a decision: the same input always gives the same id.
pub fn signal_id(
    tenant: &str,
    account: &str,
    action: Action,
    trigger_event_id: &str,
    rule_set_version: &str,
) -> String {
    let mut buf = Vec::with_capacity(
        tenant.len() + account.len() + trigger_event_id.len() + rule_set_version.len() + 16,
    );
    for part in [
        tenant,
        account,
        action.name(),
        trigger_event_id,
        rule_set_version,
    ] {
        buf.extend_from_slice(part.as_bytes());
        buf.push(0);
    }
    format!("sig-{:032x}", xxh3_128(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden signal ids. Consumers deduplicate on them and a restarted
    /// service fences on them, so they must never change for the same
    /// decision. The expected values were computed outside this code, with
    /// Python's `xxhash`: `"sig-" + xxh3_128_hexdigest(b"".join(p + b"\0"
    /// for p in [tenant, account, ACTION, trigger, rule_set_version]))`.
    #[test]
    fn ids_are_pinned() {
        for (t, a, action, e, v, want) in [
            (
                "t",
                "a",
                Action::Flag,
                "e1",
                "v1",
                "sig-062bf914fc95edb69ad50ddf3aef6864",
            ),
            (
                "t",
                "a",
                Action::Throttle,
                "e1",
                "v1",
                "sig-e4b2ad0c06b8e14b6ad7114b5e0cf303",
            ),
            (
                "bsp-1",
                "628123",
                Action::Suspend,
                "wamid.HBgL",
                "default-2026.11",
                "sig-c9c88a73d2160f5032d78834b32d462e",
            ),
        ] {
            assert_eq!(
                signal_id(t, a, action, e, v),
                want,
                "{t} {a} {action:?} {e} {v}"
            );
        }
    }

    #[test]
    fn ids_are_distinct() {
        let a = signal_id("t", "a", Action::Flag, "e1", "v1");
        assert_ne!(a, signal_id("t", "a", Action::Throttle, "e1", "v1"));
        assert_ne!(a, signal_id("t", "a", Action::Flag, "e2", "v1"));
        assert_ne!(
            signal_id("t", "ab", Action::Flag, "", "v"),
            signal_id("t", "a", Action::Flag, "b", "v")
        );
        assert_eq!(a.len(), 36);
    }
}
