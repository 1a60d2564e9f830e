//! The compliance report of an account, linked from its page: the same
//! self-contained HTML `satpam report --format html` writes, built from
//! this instance's in-process account state (what the account page reads)
//! and the rules and policy in force. Counters and features only, never
//! message text.

use crate::console::Console;
use crate::report::Lang;

use super::account::state;

/// The report of `tenant`/`account` in `lang`, or `None` when this
/// instance does not track the account.
pub fn render(console: &Console, tenant: &str, account: &str, lang: Lang) -> Option<String> {
    let state = state(console, tenant, account)?;
    let ctx = console.shards.context();
    Some(crate::report::html(
        &state,
        &ctx.rules(),
        &ctx.policy(),
        lang,
    ))
}
