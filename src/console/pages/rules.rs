//! The rules page: the rule set in force (version, file, when it was
//! loaded), each rule with its score and hits since the service started
//! (the `satpam_rule_hits_total` counters), shadow rules listed apart.

use crate::console::html::Html;
use crate::console::Console;

use super::time;

/// The rules page's body.
pub fn render(console: &Console) -> String {
    let rules = console.shards.context().rules();
    let loaded = console.rules.loaded();
    let hits = console.rules.hit_counts(&rules);
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
            "</h2><table id=\"{id}\"><thead><tr><th>Rule</th><th>Version</th><th>Score</th><th>Hits</th><th>What it catches</th></tr></thead><tbody>"
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
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }
    h.into_string()
}
