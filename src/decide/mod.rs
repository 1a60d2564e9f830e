//! Decisions: from the rules that fired to an action per account, with
//! minimum evidence, hysteresis, cooldown, country policy and overrides;
//! and the signal that explains each decision.

pub mod account;
pub mod activity;
pub mod charge;
pub mod files;
pub mod ladder;
pub mod overrides;
pub mod policy;
pub mod signal;

use serde::{Deserialize, Serialize};

pub use crate::rules::{DecisionConfig, MinEvidence};
pub use account::{Account, AccountDecision};
pub use activity::{ActiveRule, RuleActivity};
pub use charge::{ChargeLedger, PolicyState};
pub use ladder::{DecisionState, LadderInput, Level, Transition};
pub use overrides::{Override, OverrideError, OverrideMode, Overrides};
pub use policy::{
    Applied, ChargeRate, CountryPolicy, PolicyEntry, PolicyError, PolicyOutcome, Scope,
};
pub use signal::{Evidence, RuleEvidence, Signal};

/// What a signal asks the BSP to do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Action {
    /// Nothing in force.
    #[default]
    None,
    /// Put the account in front of an analyst.
    Flag,
    /// Cap the account's outbound rate.
    Throttle,
    /// Stop the account's traffic.
    Suspend,
    /// Lift an earlier action.
    Restore,
    /// Country policy: charge per AI reply instead of throttling or suspending.
    Charge,
}

impl Action {
    /// Every action, in index order (see [`Action::index`]): the one table
    /// counters and metric series are laid out by.
    pub const ALL: [Action; 6] = [
        Action::None,
        Action::Flag,
        Action::Throttle,
        Action::Suspend,
        Action::Restore,
        Action::Charge,
    ];

    /// The action's position in [`Action::ALL`] (counter arrays index by it).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name, as in metric labels (`satpam_signals_total{action}`).
    pub fn label(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Flag => "flag",
            Action::Throttle => "throttle",
            Action::Suspend => "suspend",
            Action::Restore => "restore",
            Action::Charge => "charge",
        }
    }

    /// Upper-case name, as in signal summaries.
    pub fn name(self) -> &'static str {
        match self {
            Action::None => "NONE",
            Action::Flag => "FLAG",
            Action::Throttle => "THROTTLE",
            Action::Suspend => "SUSPEND",
            Action::Restore => "RESTORE",
            Action::Charge => "CHARGE",
        }
    }

    /// How strong the action is, for "strongest action" reports: none and
    /// restore 0, flag 1, throttle 2, charge 3, suspend 4.
    pub fn severity(self) -> u8 {
        match self {
            Action::None | Action::Restore => 0,
            Action::Flag => 1,
            Action::Throttle => 2,
            Action::Charge => 3,
            Action::Suspend => 4,
        }
    }

    /// Every action a signal can carry.
    pub const SIGNALLED: [Action; 5] = [
        Action::Flag,
        Action::Throttle,
        Action::Suspend,
        Action::Restore,
        Action::Charge,
    ];
}
