//! One account's state as `Admin.GetAccount` returns it: the action, score
//! and evidence, the account's window features, the policy outcome in
//! force, the charges. Built from the account's entry (derived counters,
//! never text) by the Admin service and by `satpam report --events`.

use crate::decide::policy::format_date;
use crate::decide::{Account, CountryPolicy, Evidence, Override, OverrideMode};
use crate::engine::{applied_policy, rule_evidence};
use crate::features::FeatureVector;
use crate::pb::v1 as pb;
use crate::rules::RuleSet;
use crate::service::actions_table::ActionInForce;

/// The state of an account another instance holds, from the fleet's
/// actions table: the action in force, its score, evidence and policy as
/// the signal that set them gave them, and `owner` naming the instance
/// that wrote it. The live features, counts and charges are with the
/// owner (`shard` is -1).
pub fn remote_account_state(a: &ActionInForce, r#override: Option<Override>) -> pb::AccountState {
    let s = &a.signal;
    pb::AccountState {
        tenant_id: s.tenant_id.clone(),
        account_id: s.account_id.clone(),
        action: s.action,
        score: s.score,
        evidence: s.evidence.clone(),
        last_event_ms: s.event_time_ms,
        r#override: r#override.as_ref().map(override_to_pb),
        shard: -1,
        policy: Some(pb::PolicyApplied {
            version: s.policy_version.clone(),
            rule: s.policy_rule.clone(),
            outcome: s.policy_outcome.clone(),
            r#where: s.policy_country.clone(),
        }),
        owner: a.writer.clone(),
        ..Default::default()
    }
}

/// The state of `entry` at its last event, judged by `rules` and `policy`,
/// with the override in force (if any); `shard` names the input shard
/// that holds it.
pub fn account_state(
    entry: &mut Account,
    shard: i32,
    rules: &RuleSet,
    policy: &CountryPolicy,
    r#override: Option<&Override>,
) -> pb::AccountState {
    let at_ms = entry.behaviour.last_ms();
    let totals = entry.behaviour.totals(at_ms);
    let evidence = Evidence {
        rules: rule_evidence(&entry.slot.activity, rules),
        conversations: totals.sessions_day(),
        users: totals.users_day_rounded(),
        events: totals.events_hour(),
        reason: String::new(),
    };
    let applied = applied_policy(policy, entry, at_ms);
    pb::AccountState {
        tenant_id: entry.tenant_id.to_string(),
        account_id: entry.account_id.to_string(),
        action: pb::Action::from(entry.slot.decision.action()) as i32,
        score: entry.slot.activity.score(rules),
        evidence: Some(crate::convert::signal::evidence_to_pb(&evidence)),
        features: account_features(entry, rules),
        last_event_ms: at_ms,
        signals: entry.slot.decision.signals(),
        r#override: r#override.map(override_to_pb),
        main_country: entry
            .behaviour
            .main_country()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        shard,
        policy: Some(pb::PolicyApplied {
            version: policy.version().to_string(),
            rule: policy.rule_id(applied).to_string(),
            outcome: applied.outcome.name().to_string(),
            r#where: policy
                .entry(applied)
                .map_or_else(|| "business agent".to_string(), |e| e.scope.to_string()),
        }),
        charges: entry
            .slot
            .policy
            .charges()
            .map(|l| {
                l.days()
                    .into_iter()
                    .map(|(day, n)| {
                        let rate = policy.at(entry.behaviour.main_country(), day);
                        let rate = policy.charge_rate(rate);
                        pb::ChargeDay {
                            day: format_date(day),
                            messages: n,
                            estimated_cost: rate.map_or(0.0, |r| r.per_message * f64::from(n)),
                            currency: rate.map(|r| r.currency.clone()).unwrap_or_default(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        charged_messages_total: entry.slot.policy.charges().map_or(0, |l| l.total()),
        owner: String::new(),
    }
}

/// The account's window features at its last event: the `account.*` part
/// of the catalog, computed from its counters (no event or text needed).
fn account_features(entry: &mut Account, rules: &RuleSet) -> Vec<pb::FeatureValue> {
    let at_ms = entry.behaviour.last_ms();
    let totals = entry.behaviour.totals(at_ms);
    let mut v = FeatureVector::default();
    crate::features::extract_account(&totals, rules.pattern_sides(), &mut v);
    let delivery = entry.delivery.as_mut().map(|d| d.totals(at_ms));
    crate::features::extract_delivery(delivery.as_ref(), &mut v);
    let catalog = rules.catalog();
    (0..catalog.len())
        .filter_map(|slot| {
            let name = catalog.name(slot as u16);
            name.starts_with("account.").then(|| pb::FeatureValue {
                name: name.to_string(),
                value: v.values().get(slot).copied().unwrap_or(0.0),
            })
        })
        .collect()
}

/// An override on the wire.
pub fn override_to_pb(o: &Override) -> pb::Override {
    pb::Override {
        tenant_id: o.tenant_id.clone(),
        account_id: o.account_id.clone(),
        mode: match o.mode {
            OverrideMode::Allow => pb::OverrideMode::Allow,
            OverrideMode::Deny => pb::OverrideMode::Deny,
        } as i32,
        reason: o.reason.clone(),
        expires_at_ms: o.expires_at_ms.unwrap_or(0),
    }
}
