//! What the shadow rules would do, read when the rules page is shown: for
//! every account this instance tracks with a shadow rule active (within
//! its hold), the level the ladder would reach with that rule's score
//! counted, against the level in force. An account a shadow rule would
//! move up a rung is listed under it. Nothing is kept or counted on the
//! hot path: it is a walk over the accounts, now, like the queue's.

use crate::decide::{Action, DecisionState, LadderInput, Level};
use crate::engine::applied_policy;
use crate::pipeline::shards::Shards;

/// One account a shadow rule would move up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Tenant.
    pub tenant: String,
    /// Account.
    pub account: String,
    /// The action in force.
    pub from: Action,
    /// The action with the shadow rule's score counted.
    pub to: Action,
}

/// Per rule (by index in the rule set): the accounts it would move up,
/// at most `keep` listed, and how many in all.
pub fn moves(shards: &Shards, keep: usize) -> Vec<(Vec<Move>, usize)> {
    let ctx = shards.context();
    let rules = ctx.rules();
    let policy = ctx.policy();
    let overrides = ctx.overrides();
    let mut out: Vec<(Vec<Move>, usize)> = vec![(Vec::new(), 0); rules.rules().len()];
    shards.for_each_account(|_, a| {
        let active = a.slot.activity.active();
        // The common case: no shadow rule active, one pass over a short list.
        if !active.iter().any(|r| {
            rules
                .rules()
                .get(usize::from(r.rule))
                .is_some_and(|r| r.shadow)
        }) {
            return;
        }
        let now_ms = a.behaviour.last_ms();
        if overrides.get(&a.tenant_id, &a.account_id, now_ms).is_some() {
            return; // an override decides, whatever the score
        }
        let totals = a.behaviour.clone().totals(now_ms);
        let applied = applied_policy(&policy, a, now_ms);
        let level = a.slot.decision.level();
        for r in active {
            let i = usize::from(r.rule);
            if !rules.rules().get(i).is_some_and(|x| x.shadow) {
                continue;
            }
            let input = LadderInput {
                score: a.slot.activity.score_with(&rules, r.rule),
                sessions: totals.sessions_day(),
                users: totals.users_day_rounded(),
                now_ms,
                override_mode: None,
                policy: applied.outcome,
            };
            let reached = DecisionState::reached(rules.decision(), &input);
            if reached > level && reached != Level::None {
                let slot = &mut out[i];
                slot.1 += 1;
                if slot.0.len() < keep {
                    slot.0.push(Move {
                        tenant: a.tenant_id.to_string(),
                        account: a.account_id.to_string(),
                        from: a.slot.decision.action(),
                        to: reached.action(applied.outcome),
                    });
                }
            }
        }
    });
    for (listed, _) in &mut out {
        listed.sort_by(|a, b| (&a.tenant, &a.account).cmp(&(&b.tenant, &b.account)));
    }
    out
}
