//! The report's plain words for the behaviours behind a decision, each with
//! the numbers the account's features hold (English here, Indonesian in
//! [`super::words_id`]). Only features the active rules read are described;
//! nothing here ever sees message text.

use std::collections::BTreeSet;

use super::facts::Facts;
use super::lang::{count, num, pct, Lang};
use super::numbers::Figures;
use super::words_id;

/// Features that are only denominators of others: described with them.
const DENOMINATORS: &[&str] = &[
    "account.scanned_inbound_1h",
    "account.scanned_outbound_1h",
    "account.inbound_text_1h",
    "account.outbound_text_1h",
    "account.inbound_1h",
    "account.outbound_1h",
    "account.sessions_24h",
    "account.users_1h",
    "account.users_24h",
    "account.handoffs_24h",
    "account.text_share",
];

/// Features where none (0) is itself the finding.
const ZERO_TELLS: &[&str] = &["account.handoff_rate", "account.human_share"];

/// The features the active rules read, strongest rule first, each once;
/// shares at 0 are left out (nothing behind the decision) unless none is
/// the finding.
pub fn behind(f: &Facts) -> Vec<String> {
    let mut seen = BTreeSet::new();
    f.rules
        .iter()
        .flat_map(|r| r.features.keys())
        .filter(|n| n.starts_with("account.") && !DENOMINATORS.contains(&n.as_str()))
        .filter(|n| {
            ZERO_TELLS.contains(&n.as_str()) || f.features.get(*n).is_some_and(|v| *v != 0.0)
        })
        .filter(|n| seen.insert(n.to_string()))
        .cloned()
        .collect()
}

/// One sentence for one feature, with its numbers; `None` when the account
/// has no value for it.
fn sentence(f: &Facts, name: &str, lang: Lang) -> Option<String> {
    let v = *f.features.get(name)?;
    let get = |n: &str| f.features.get(n).copied().unwrap_or(0.0);
    let figures = Figures {
        v,
        no_handoffs: get("account.handoffs_24h") == 0.0,
        handoffs: lang.count(get("account.handoffs_24h")),
        scanned_in: lang.count(get("account.scanned_inbound_1h")),
        scanned_out: lang.count(get("account.scanned_outbound_1h")),
        sessions: lang.count(f.sessions_24h as f64),
    };
    Some(match lang {
        Lang::En => english(name, &figures),
        Lang::Id => words_id::sentence(name, &figures),
    })
}

// Long because it is a table: one arm per feature an analyst reads.
/// A feature's sentence in English.
fn english(name: &str, n: &Figures) -> String {
    let Figures {
        v,
        scanned_in,
        scanned_out,
        sessions,
        ..
    } = n;
    let v = *v;
    match name {
        "account.open_domain_task_share" => format!(
            "{} of the {scanned_in} user messages read in the last hour ask for open-domain work such as writing, explaining, translating, maths or coding.",
            pct(v)
        ),
        "account.business_marker_share" => format!(
            "Only {} of the {scanned_in} user messages read in the last hour mention orders, deliveries, bookings, prices, payments or accounts.",
            pct(v)
        ),
        "account.topics_1h" => format!(
            "Users raised {} different open-domain topics (such as programming, history, health or school work) in the last hour.",
            count(v)
        ),
        "account.topical_share" => format!(
            "{} of the {scanned_in} user messages read in the last hour raise such a topic.",
            pct(v)
        ),
        "account.assistant_opener_share" => format!(
            "{} of the {scanned_out} replies read in the last hour open with a general assistant's stock phrases.",
            pct(v)
        ),
        "account.ai_disclosure_share" => format!(
            "{} of the {scanned_out} replies read in the last hour present the bot as a general AI model.",
            pct(v)
        ),
        "account.structured_share" => format!(
            "{} of the {scanned_out} replies read in the last hour are built like an assistant's answers (lists, headings, code).",
            pct(v)
        ),
        "account.handoff_rate" if n.no_handoffs => format!(
            "No conversation of the {sessions} sessions in the last 24 hours was handed to a person."
        ),
        "account.handoff_rate" => format!(
            "{} of the {sessions} sessions in the last 24 hours were handed to a person (hand-offs: {}).",
            pct(v.min(1.0)),
            n.handoffs
        ),
        "account.human_share" => format!("{} of the replies in the last hour were sent by a person.", pct(v)),
        "account.bot_share" => format!("{} of the replies in the last hour were sent by a bot.", pct(v)),
        "account.turns_per_session" => format!(
            "A session runs {} user messages on average (last hour).",
            num(v)
        ),
        "account.returning_share_24h" => format!(
            "{} of the {sessions} sessions in the last 24 hours were opened by users who came back.",
            pct(v)
        ),
        "account.out_len_p50" => format!(
            "Half the replies in the last hour are longer than {} characters.",
            count(v)
        ),
        "account.very_long_reply_share" => format!(
            "{} of the replies in the last hour run to 800 characters or more.",
            pct(v)
        ),
        "account.long_reply_share" => format!(
            "{} of the replies in the last hour run to 400 characters or more.",
            pct(v)
        ),
        "account.long_prompt_share" => format!(
            "{} of the user messages in the last hour are 100 characters or longer.",
            pct(v)
        ),
        "account.replies_per_inbound" => format!(
            "The bot sends {} replies per user message (last hour).",
            num(v)
        ),
        "account.reply_latency_p50_s" => format!(
            "Half the answers in the last hour took longer than {} seconds.",
            num(v)
        ),
        "account.reply_chars_per_s" => format!(
            "The answers in the last hour came at {} characters per second of waiting (a person types under 10).",
            num(v)
        ),
        "account.template_share" => format!(
            "{} of the business messages in the last hour are templates.",
            pct(v)
        ),
        "account.interactive_share" => format!(
            "{} of the business messages in the last hour are menus or buttons.",
            pct(v)
        ),
        "account.button_reply_share" => format!(
            "{} of the user messages in the last hour are button replies.",
            pct(v)
        ),
        other => format!("{other} is {} at the last event.", num(v)),
    }
}

/// The behaviours behind the decision, one sentence each, in `lang`.
pub fn behaviours(f: &Facts, lang: Lang) -> Vec<String> {
    behind(f)
        .iter()
        .filter_map(|n| sentence(f, n, lang))
        .collect()
}
