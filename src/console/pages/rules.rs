//! The rules page: the rule set in force (version, file, when it was
//! loaded), each rule with its score and hits since the service started
//! (the `satpam_rule_hits_total` counters), shadow rules listed apart with
//! the accounts each would move up a rung now ([`crate::console::shadow`]).

use crate::console::html::{url, Html};
use crate::console::shadow::{moves, Move};
use crate::console::Console;

use super::{action_name, time};

/// Accounts listed per shadow rule.
pub const LISTED: usize = 20;

fn moved(h: &mut Html, listed: &[Move], all: usize) {
    h.raw(&format!("<b class=\"moved\">{all}</b>"));
    if all == 0 {
        return;
    }
    h.raw("<ul class=\"moves\">");
    for m in listed {
        h.raw(&format!(
            "<li><a class=\"account\" href=\"/account?tenant={}&amp;account={}\">",
            url(&m.tenant),
            url(&m.account)
        ))
        .text(&format!("{} / {}", m.tenant, m.account))
        .raw("</a> ")
        .text(&format!("{} -> {}", action_name(m.from), action_name(m.to)))
        .raw("</li>");
    }
    if all > listed.len() {
        h.raw(&format!("<li>and {} more</li>", all - listed.len()));
    }
    h.raw("</ul>");
}

/// The rules page's body.
pub fn render(console: &Console) -> String {
    let rules = console.shards.context().rules();
    let loaded = console.rules.loaded();
    let hits = console.rules.hit_counts(&rules);
    let shadow_moves = moves(&console.shards, LISTED);
    let mut h = Html::default();
    h.raw("<h1>Rules in force</h1><p>version <b id=\"rules-version\">")
        .text(rules.version())
        .raw("</b> from ")
        .text(&loaded.source)
        .raw(", loaded ")
        .text(&time(loaded.loaded_at_ms))
        .raw("; hits are counted since the service started.</p>");
    let d = rules.decision();
    h.raw(&format!(
        "<p>Ladder: FLAG at {:.2}, THROTTLE at {:.2}, SUSPEND at {:.2}.</p>",
        d.flag, d.throttle, d.suspend
    ));
    for (shadow, title, id) in [
        (false, "Enforcing rules", "rules"),
        (
            true,
            "Shadow rules (evaluated and counted, never change a decision)",
            "shadow-rules",
        ),
    ] {
        h.raw("<h2>").text(title).raw(&format!(
            "</h2><table id=\"{id}\"><thead><tr><th>Rule</th><th>Version</th><th>Score</th><th>Hits</th><th>What it catches</th>{}</tr></thead><tbody>",
            if shadow { "<th>Would move up a rung now</th>" } else { "" }
        ));
        for (i, r) in rules
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.shadow == shadow)
        {
            h.raw("<tr><td>")
                .text(&r.id)
                .raw(&format!(
                    "</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td>",
                    r.version,
                    r.score,
                    hits.get(i).copied().unwrap_or(0)
                ))
                .text(&r.description.split_whitespace().collect::<Vec<_>>().join(" "))
                .raw("</td>");
            if shadow {
                h.raw(&format!(
                    "<td id=\"moves-{}\">",
                    crate::console::html::esc(&r.id)
                ));
                let (listed, all) = shadow_moves
                    .get(i)
                    .map_or((&[][..], 0), |(l, n)| (l.as_slice(), *n));
                moved(&mut h, listed, all);
                h.raw("</td>");
            }
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
        if shadow {
            h.raw("<p class=\"note\" id=\"shadow-note\">Would move up: the accounts this instance tracks where the rule is active (within its hold) and, with its score counted, the ladder would reach a higher level than the one in force (accounts under an override left out). Read now from account state, not a history.</p>");
        }
    }
    h.into_string()
}
