//! The engine's aggregate levels above the number: the WABA and the
//! business portfolio. Every event that names its `waba_id` (its
//! `business_id`) also feeds the (tenant, WABA) (the (tenant, portfolio))
//! aggregate, whose windows become the `waba.*` (`portfolio.*`) features
//! before the rules run; rules that read them keep their activity on the
//! aggregate, which has a ladder of its own. A decision of a level yields a
//! signal with `level = waba` (`portfolio`) listing its busiest numbers.
//!
//! One event yields at most one signal, the lowest level's: when the
//! account's ladder moved on it, the WABA's and the portfolio's wait for
//! their next event; when the WABA's did, the portfolio's waits (their rule
//! activity is still recorded). Everything is event time; signals are
//! outputs only and never feed back into features.

use super::loaded::Loaded;
use super::{Engine, Scratch, Wabas};
use crate::decide::signal::signal_id;
use crate::decide::{Action, Evidence, LadderInput, Signal};
use crate::engine::rule_evidence;
use crate::event::{Direction, Event, Sender};
use crate::features::catalog::Group;
use crate::features::{clear_group, extract_group, GroupInput};
use crate::rules::{RuleSet, Subject};
use crate::scan::ScanFacts;
use crate::state::{key_of, portfolio_key, waba_key, ConversationUpdate};

/// How many numbers an aggregate-level signal lists (the busiest over 24 hours).
pub const TOP_NUMBERS: usize = 20;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The id of the event's aggregate of level `g` (empty: none).
fn id_of(g: Group, e: &Event) -> &str {
    match g {
        Group::Waba => &e.waba_id,
        Group::Portfolio => &e.business_id,
    }
}

/// The state key of aggregate `id` of level `g`.
fn key_of_group(g: Group, tenant_id: &str, id: &str) -> u128 {
    match g {
        Group::Waba => waba_key(tenant_id, id),
        Group::Portfolio => portfolio_key(tenant_id, id),
    }
}

/// The subject an aggregate-level signal's id is derived from: never equal
/// to an account id's (ids refuse control characters), nor the other
/// level's.
fn signal_subject(g: Group, id: &str) -> String {
    match g {
        Group::Waba => format!("\u{1}waba\u{1}{id}"),
        Group::Portfolio => format!("\u{1}portfolio\u{1}{id}"),
    }
}

/// What the engine made of an event before the aggregates see it.
#[derive(Clone, Copy)]
pub(super) struct Seen<'a> {
    /// What it changed in its conversation.
    pub conv: &'a ConversationUpdate,
    /// What the text scan found.
    pub scan: &'a ScanFacts,
    /// xxh3-64 of the user id.
    pub user_hash: u64,
    /// xxh3-64 of the account (number) id, for the levels' number tables.
    pub account_hash: u64,
}

impl Engine {
    /// The aggregates of level `g` of this shard.
    fn groups(&self, g: Group) -> &Wabas {
        match g {
            Group::Waba => &self.wabas,
            Group::Portfolio => &self.portfolios,
        }
    }

    /// Feeds `e` into its aggregate of level `g` and fills that level's
    /// features (all 0 for an event without one). Returns its key.
    pub(super) fn observe_group(
        &self,
        g: Group,
        e: &Event,
        seen: &Seen<'_>,
        rules: &RuleSet,
        scratch: &mut Scratch,
    ) -> Option<u128> {
        let Seen {
            conv,
            scan,
            user_hash,
            account_hash,
        } = *seen;
        let id = id_of(g, e);
        if id.is_empty() {
            clear_group(g, rules.pattern_sides(), &mut scratch.features);
            scratch.group_evidence[g as usize] = (0, 0, 0);
            return None;
        }
        let key = key_of_group(g, &e.tenant_id, id);
        self.groups(g).with_waba(key, &e.tenant_id, id, |w| {
            // A late event still counts in the windows that cover it.
            let _ = w.behaviour.observe(e, conv, scan, user_hash);
            w.numbers
                .observe(&e.account_id, account_hash, e.timestamp_ms);
            if e.direction == Direction::Outbound && e.sender == Sender::MetaBusinessAgent {
                w.slot.policy.saw_business_agent(e.timestamp_ms);
            }
            let at_ms = w.behaviour.last_ms();
            let totals = w.behaviour.totals(at_ms);
            let input = GroupInput {
                totals: &totals,
                numbers_active_1h: w.numbers.active_since(at_ms.saturating_sub(HOUR_MS)),
                numbers_active_24h: w.numbers.active_since(at_ms.saturating_sub(DAY_MS)),
            };
            extract_group(g, &input, rules.pattern_sides(), &mut scratch.features);
            scratch.group_evidence[g as usize] = (
                totals.sessions_day(),
                totals.users_day_rounded(),
                totals.events_hour(),
            );
        });
        Some(key)
    }

    /// Records the level-`g` rules that fired on `e` in its aggregate's
    /// activity, without a ladder step (a lower level decided on this event).
    pub(super) fn record_group(
        &self,
        g: Group,
        key: u128,
        e: &Event,
        rules: &RuleSet,
        scratch: &Scratch,
    ) {
        self.groups(g)
            .with_waba(key, &e.tenant_id, id_of(g, e), |w| {
                let at_ms = w.behaviour.last_ms();
                w.slot.activity.record(
                    rules,
                    &scratch.fired,
                    Subject::of_group(g),
                    scratch.features.values(),
                    at_ms,
                );
            });
    }

    // Long because it is one ladder step and the signal it makes, in the
    // order the account's own (in `process`) is written.
    /// Records the level-`g` rules that fired on `e` and steps the
    /// aggregate's ladder; a signal when its action changed.
    pub(super) fn decide_group(
        &self,
        g: Group,
        key: u128,
        e: &Event,
        loaded: &Loaded,
        scratch: &Scratch,
        now_ms: i64,
    ) -> Option<Box<Signal>> {
        let Loaded {
            rules,
            policy,
            overrides,
            ..
        } = loaded;
        let id = id_of(g, e);
        let subject = Subject::of_group(g);
        // An override whose account id is the aggregate's id applies to it
        // (no key to hash when no override is loaded, the usual case).
        let override_in_force = if overrides.is_empty() {
            None
        } else {
            overrides.get_by_key(key_of(&e.tenant_id, id), now_ms)
        };
        let (sessions, users, events) = scratch.group_evidence[g as usize];
        self.groups(g).with_waba(key, &e.tenant_id, id, |w| {
            let at_ms = w.behaviour.last_ms();
            w.slot.activity.record(
                rules,
                &scratch.fired,
                subject,
                scratch.features.values(),
                at_ms,
            );
            let score = w.slot.activity.score(rules);
            let applied =
                super::applied_policy_of(policy, &w.slot.policy, w.behaviour.main_country(), at_ms);
            let input = LadderInput {
                score,
                sessions,
                users,
                now_ms: at_ms,
                override_mode: override_in_force.map(|o| o.mode),
                policy: applied.outcome,
            };
            let t = w.slot.decision.step(rules.decision(), &input)?;
            let reason = match override_in_force {
                Some(o) => format!("{}: {}", t.reason, o.reason),
                None => t.reason.to_string(),
            };
            Some(Box::new(Signal {
                signal_id: signal_id(
                    &e.tenant_id,
                    &signal_subject(g, id),
                    t.action,
                    &e.event_id,
                    rules.version(),
                ),
                tenant_id: e.tenant_id.clone(),
                account_id: id.to_string(),
                action: t.action,
                previous_action: t.previous,
                score,
                throttle_mps: (t.action == Action::Throttle)
                    .then_some(rules.decision().throttle_mps),
                evidence: Evidence {
                    rules: rule_evidence(&w.slot.activity, rules),
                    conversations: sessions,
                    users,
                    events,
                    reason,
                },
                rule_set_version: rules.version().to_string(),
                event_time_ms: e.timestamp_ms,
                decided_at_ms: now_ms,
                trigger_event_id: e.event_id.clone(),
                policy_country: w.behaviour.main_country(),
                policy_version: policy.version().to_string(),
                policy_rule: policy.rule_id(applied).to_string(),
                policy_outcome: applied.outcome,
                level: subject,
                waba_id: e.waba_id.clone(),
                numbers: w.numbers.top(at_ms, TOP_NUMBERS),
            }))
        })
    }
}
