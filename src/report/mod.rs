//! The compliance report for one business account, for the business
//! itself: the risk and the action in force or coming, the behaviours
//! behind it with their numbers, the rules that fired against their
//! thresholds, what to change, and the country policy. It reads the
//! account's state (`Admin.GetAccount`'s `AccountState`: counters and
//! features) only, never message text.
//!
//! [`facts::build`] (the numbers) -> [`document::document`] (the words, in
//! a [`Lang`]: English or Indonesian) -> [`render::markdown`] or
//! [`render::html`]. `satpam report` prints it; the console serves it from
//! the account page.

mod blocks;
pub mod document;
pub mod facts;
mod fired;
mod ladder;
pub mod lang;
mod numbers;
mod policy;
pub mod remedies;
pub mod render;
pub mod words;
mod words_id;

pub use lang::Lang;

use crate::decide::CountryPolicy;
use crate::pb::v1 as pb;
use crate::RuleSet;

/// The report of `state` as one self-contained HTML page in `lang`, its
/// conditions and ladder from `rules` and its timeline from `policy`.
pub fn html(
    state: &pb::AccountState,
    rules: &RuleSet,
    policy: &CountryPolicy,
    lang: Lang,
) -> String {
    render::html(&document::document(
        &facts::build(state, rules, policy),
        lang,
    ))
}
