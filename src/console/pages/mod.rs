//! The console's pages, one file each: the queue, the account page and its
//! compliance report, the rules, the backtest, the login page. They render from the in-process handles the
//! Admin service reads (shards, rule and override managers), never text.

pub mod account;
pub mod backtest;
pub mod login;
pub mod queue;
pub mod report;
pub mod rules;

use crate::decide::policy::format_date;
use crate::decide::Action;

/// `YYYY-MM-DD HH:MM:SS UTC` of an instant (ms since the epoch).
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "-".into();
    }
    let s = ms.rem_euclid(86_400_000) / 1000;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_date(ms),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The action's name on pages and in filters.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::None => "NONE",
        Action::Flag => "FLAG",
        Action::Throttle => "THROTTLE",
        Action::Suspend => "SUSPEND",
        Action::Restore => "RESTORE",
        Action::Charge => "CHARGE",
    }
}

/// The action named `s` (case-insensitive), among those that can be in force.
pub fn parse_action(s: &str) -> Option<Action> {
    [
        Action::Flag,
        Action::Throttle,
        Action::Suspend,
        Action::Charge,
    ]
    .into_iter()
    .find(|a| action_name(*a).eq_ignore_ascii_case(s))
}

/// The name of a wire action.
pub fn wire_action_name(wire: i32) -> &'static str {
    use crate::pb::v1 as pb;
    action_name(
        pb::Action::try_from(wire)
            .unwrap_or(pb::Action::Unspecified)
            .into(),
    )
}
