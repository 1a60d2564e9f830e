//! What the decision stage keeps about each account, held in the state
//! store's account entry as its opaque slot ([`AccountSlot`]).

use serde::{Deserialize, Serialize};

use super::{DecisionState, PolicyState, RuleActivity};
use crate::state::{AccountEntry, AccountSlot};

/// The decision stage's state of one account.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AccountDecision {
    /// Rules that fired recently and what they saw.
    pub activity: RuleActivity,
    /// The action ladder's state.
    pub decision: DecisionState,
    /// What the country policy remembers: Business Agent use, charges.
    pub policy: PolicyState,
}

/// An account's decision state as snapshot format 2 wrote it (before
/// [`PolicyState`]).
#[derive(Deserialize)]
pub struct AccountDecisionV2 {
    activity: RuleActivity,
    decision: DecisionState,
}

impl From<AccountDecisionV2> for AccountDecision {
    fn from(v: AccountDecisionV2) -> Self {
        AccountDecision {
            activity: v.activity,
            decision: v.decision,
            policy: PolicyState::default(),
        }
    }
}

impl AccountSlot for AccountDecision {
    type Format2 = AccountDecisionV2;

    fn in_force(&self) -> bool {
        self.decision.in_force()
    }

    fn heap_bytes(&self) -> usize {
        self.activity.heap_bytes() + self.policy.heap_bytes()
    }
}

/// An account as the engine keeps it: behaviour and decision state.
pub type Account = AccountEntry<AccountDecision>;
