//! The engine's WABA level: every event of a number that names its WABA
//! also feeds the (tenant, WABA) aggregate, whose windows become the
//! `waba.*` features before the rules run; rules that read them keep their
//! activity on the WABA, and the WABA has a ladder of its own. A WABA-level
//! decision yields a signal with `level = waba` listing the busiest numbers.
//!
//! One event yields at most one signal: when the account's ladder moved on
//! it, the WABA's ladder waits for the WABA's next event (its rule
//! activity is still recorded). Everything is event time; signals are
//! outputs only and never feed back into features.

use xxhash_rust::xxh3::xxh3_64;

use super::{Engine, Scratch};
use crate::decide::signal::signal_id;
use crate::decide::{Action, CountryPolicy, Evidence, LadderInput, Signal};
use crate::engine::rule_evidence;
use crate::event::{Direction, Event, Sender};
use crate::features::{clear_waba, extract_waba, WabaInput};
use crate::rules::{RuleSet, Subject};
use crate::scan::ScanFacts;
use crate::state::{key_of, waba_key, ConversationUpdate};

/// How many numbers a WABA-level signal lists (the busiest over 24 hours).
pub const TOP_NUMBERS: usize = 20;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The subject a WABA-level signal's id is derived from: never equal to an
/// account id's (ids refuse control characters).
fn waba_subject(waba_id: &str) -> String {
    format!("\u{1}waba\u{1}{waba_id}")
}

impl Engine {
    /// Feeds `e` into its WABA's aggregate and fills the `waba.*` features
    /// (all 0 for an event without a WABA). Returns the WABA's key.
    pub(super) fn observe_waba(
        &self,
        e: &Event,
        conv: &ConversationUpdate,
        scan: &ScanFacts,
        user_hash: u64,
        rules: &RuleSet,
        scratch: &mut Scratch,
    ) -> Option<u128> {
        if e.waba_id.is_empty() {
            clear_waba(rules.pattern_sides(), &mut scratch.features);
            scratch.waba_evidence = (0, 0, 0);
            return None;
        }
        let key = waba_key(&e.tenant_id, &e.waba_id);
        let account_hash = xxh3_64(e.account_id.as_bytes());
        self.wabas.with_waba(key, &e.tenant_id, &e.waba_id, |w| {
            // A late event still counts in the windows that cover it.
            let _ = w.behaviour.observe(e, conv, scan, user_hash);
            w.numbers
                .observe(&e.account_id, account_hash, e.timestamp_ms);
            if e.direction == Direction::Outbound && e.sender == Sender::MetaBusinessAgent {
                w.slot.policy.saw_business_agent(e.timestamp_ms);
            }
            let at_ms = w.behaviour.last_ms();
            let totals = w.behaviour.totals(at_ms);
            let input = WabaInput {
                totals: &totals,
                numbers_active_1h: w.numbers.active_since(at_ms.saturating_sub(HOUR_MS)),
                numbers_active_24h: w.numbers.active_since(at_ms.saturating_sub(DAY_MS)),
            };
            extract_waba(&input, rules.pattern_sides(), &mut scratch.features);
            scratch.waba_evidence = (
                totals.sessions_day(),
                totals.users_day_rounded(),
                totals.events_hour(),
            );
        });
        Some(key)
    }

    /// Records the WABA-level rules that fired on `e` in its WABA's
    /// activity, without a ladder step (the account decided on this event).
    pub(super) fn record_waba(&self, key: u128, e: &Event, rules: &RuleSet, scratch: &Scratch) {
        self.wabas.with_waba(key, &e.tenant_id, &e.waba_id, |w| {
            let at_ms = w.behaviour.last_ms();
            w.slot.activity.record(
                rules,
                &scratch.fired,
                Subject::Waba,
                scratch.features.values(),
                at_ms,
            );
        });
    }

    /// Records the WABA-level rules that fired on `e` and steps the WABA's
    /// ladder; a signal when the WABA's action changed.
    pub(super) fn decide_waba(
        &self,
        key: u128,
        e: &Event,
        rules: &RuleSet,
        policy: &CountryPolicy,
        scratch: &Scratch,
        now_ms: i64,
    ) -> Option<Box<Signal>> {
        let overrides = self.ctx.overrides.load();
        // An override whose account id is the WABA id applies to the WABA.
        let override_in_force = overrides.get_by_key(key_of(&e.tenant_id, &e.waba_id), now_ms);
        let (sessions, users, events) = scratch.waba_evidence;
        self.wabas.with_waba(key, &e.tenant_id, &e.waba_id, |w| {
            let at_ms = w.behaviour.last_ms();
            w.slot.activity.record(
                rules,
                &scratch.fired,
                Subject::Waba,
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
                    &waba_subject(&e.waba_id),
                    t.action,
                    &e.event_id,
                    rules.version(),
                ),
                tenant_id: e.tenant_id.clone(),
                account_id: e.waba_id.clone(),
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
                level: Subject::Waba,
                waba_id: e.waba_id.clone(),
                numbers: w.numbers.top(at_ms, TOP_NUMBERS),
            }))
        })
    }
}
