//! The backtest page: the form (a candidate rules file pasted or read from
//! disk into the text area by a few lines of embedded script, an events
//! file and optional labels picked from the backtest directory's listing),
//! the running backtest's progress (the page refreshes itself), and the
//! latest result: the accounts whose strongest action changes, by
//! transition, tenant and rule, and the scorecard deltas with labels.
//! Accounts and rules only: the replayed text is never shown.

use crate::console::auth::Viewer;
use crate::console::backtest::{Job, Outcome};
use crate::console::html::{esc, url, Html};
use crate::console::Console;

use super::{action_name, time};

/// Changed accounts listed on the page.
pub const LISTED: usize = 200;

/// The value of the events choice that names the events topic (no listed
/// file can have it: `@` and `-` are fine in names, but the listing keeps
/// event files by extension, and this has none).
pub const TOPIC_CHOICE: &str = "@events-topic";

/// Reads a chosen file into the text area (no upload: the form posts text).
const READ_FILE_JS: &str = "<script>document.getElementById('rules-file').addEventListener('change',function(e){var f=e.target.files[0];if(!f)return;document.getElementById('rules-name').value=f.name;f.text().then(function(t){document.getElementById('rules-text').value=t;document.getElementById('rules-loaded').textContent='read '+f.name+' ('+t.length+' characters)';});});</script>";

/// What the form shows again after a refusal.
#[derive(Default)]
pub struct FormState<'a> {
    /// The candidate's text.
    pub rules: &'a str,
    /// The candidate's file name.
    pub name: &'a str,
    /// The events file picked, or [`TOPIC_CHOICE`].
    pub events: &'a str,
    /// The hours of the events topic asked for.
    pub hours: &'a str,
    /// The labels file picked.
    pub labels: &'a str,
    /// Why the last start was refused (shown above the form).
    pub error: Option<&'a str>,
}

/// The page's body; `refresh` is set when a backtest is running.
pub fn render(console: &Console, viewer: &Viewer, form: &FormState<'_>) -> (String, bool) {
    let b = &console.backtests;
    let mut h = Html::default();
    h.raw("<h1>Backtest</h1><p>Replays recorded traffic through the rules in force (version <b>")
        .text(console.shards.context().rules().version())
        .raw("</b>) and a candidate, and shows the accounts whose strongest action would change. One backtest runs at a time on this instance.</p>");
    if let Some(e) = form.error {
        h.raw("<pre class=\"error\" id=\"backtest-error\">")
            .text(e)
            .raw("</pre>");
    }
    let latest = b.latest();
    let running = latest.as_ref().is_some_and(|j| !j.finished());
    if let Some(job) = latest {
        job_html(&mut h, &job);
    }
    if !b.enabled() {
        h.raw("<p class=\"note\" id=\"backtest-off\">Backtests are off: set <code>[console] backtest_dir</code> to a directory of recorded events (<code>*.jsonl</code>, <code>*.pb</code>) and labels (<code>*.csv</code>), or configure <code>[kafka]</code> to replay the last hours of the events topic.</p>");
    } else if viewer.principal.has(crate::access::auth::Role::Override)
        && viewer.principal.tenants.is_all()
    {
        h.raw("<h2>Run a backtest</h2>");
        form_html(&mut h, console, viewer, form);
    } else {
        h.raw("<p class=\"note\">Starting a backtest needs the <code>override</code> role for every tenant; you can read the latest result.</p>");
    }
    (h.into_string(), running)
}

fn form_html(h: &mut Html, console: &Console, viewer: &Viewer, form: &FormState<'_>) {
    let listing = match console.backtests.list() {
        Ok(l) => l,
        Err(e) => {
            h.raw("<p class=\"error\">")
                .text(&e.to_string())
                .raw("</p>");
            return;
        }
    };
    h.raw("<form method=\"post\" action=\"/backtest\" id=\"backtest-form\"><fieldset><legend>Candidate rules</legend><input type=\"hidden\" name=\"csrf\" value=\"")
        .text(&viewer.csrf)
        .raw("\"><label for=\"rules-file\">read a rules file (YAML)</label><input type=\"file\" id=\"rules-file\" accept=\".yaml,.yml\"> <span id=\"rules-loaded\" class=\"note\"></span><input type=\"hidden\" name=\"name\" id=\"rules-name\" value=\"")
        .text(if form.name.is_empty() { "candidate.yaml" } else { form.name })
        .raw("\"><label for=\"rules-text\">or paste it</label><textarea name=\"rules\" id=\"rules-text\" rows=\"8\" cols=\"100\" spellcheck=\"false\">")
        .text(form.rules)
        .raw("</textarea></fieldset><fieldset><legend>Recorded traffic</legend><label for=\"events\">events file</label><select name=\"events\" id=\"events\">");
    for name in &listing.events {
        option(h, name, name == form.events);
    }
    if let Some(topic) = console.backtests.topic() {
        h.raw("<option value=\"")
            .text(TOPIC_CHOICE)
            .raw(if form.events == TOPIC_CHOICE {
                "\" selected>"
            } else {
                "\">"
            })
            .text(&format!("events topic {topic}: the last hours below"))
            .raw("</option></select><label for=\"hours\">hours of the events topic to replay (when it is picked; at most ")
            .text(&crate::console::backtest::MAX_TOPIC_HOURS.to_string())
            .raw(")</label><input type=\"number\" name=\"hours\" id=\"hours\" min=\"0.01\" max=\"")
            .text(&crate::console::backtest::MAX_TOPIC_HOURS.to_string())
            .raw("\" step=\"any\" value=\"")
            .text(if form.hours.is_empty() { "1" } else { form.hours })
            .raw("\">");
    } else {
        h.raw("</select>");
    }
    h.raw("<label for=\"labels\">labels (optional: precision and recall deltas)</label><select name=\"labels\" id=\"labels\"><option value=\"\">none</option>");
    for name in &listing.labels {
        option(h, name, name == form.labels);
    }
    h.raw("</select></fieldset><button id=\"run-backtest\">Run backtest</button></form>")
        .raw(READ_FILE_JS);
}

fn option(h: &mut Html, name: &str, selected: bool) {
    h.raw("<option value=\"")
        .text(name)
        .raw(if selected { "\" selected>" } else { "\">" })
        .text(name)
        .raw("</option>");
}

fn job_html(h: &mut Html, job: &Job) {
    h.raw("<h2>Latest backtest</h2><p id=\"backtest-job\">")
        .text(&format!(
            "Events {}{}, started by {} at {}",
            job.events,
            job.labels
                .as_deref()
                .map(|l| format!(" with labels {l}"))
                .unwrap_or_default(),
            job.who,
            time(job.started_ms)
        ))
        .raw("</p>");
    match job.outcome() {
        None => {
            let pct = job.percent();
            h.raw(&format!(
                "<p>Running: <progress id=\"progress\" max=\"100\" value=\"{pct}\">{pct}%</progress> <span id=\"percent\">{pct}%</span>, pass <span id=\"pass\">{}</span> of 2 ({}; {} read; this page refreshes itself)</p>",
                job.pass(),
                if job.pass() == 1 { "the rules in force" } else { "the candidate" },
                job.read_text()
            ));
        }
        Some(Err(e)) => {
            h.raw("<p class=\"error\" id=\"backtest-failed\">")
                .text(&e)
                .raw("</p>");
        }
        Some(Ok(o)) => outcome_html(h, &o),
    }
}

// Long because it is the result's layout, section by section, top to bottom.
fn outcome_html(h: &mut Html, o: &Outcome) {
    let d = &o.diff;
    h.raw("<p id=\"backtest-summary\">")
        .text(&format!(
            "{} events ({} malformed); rules in force version {}, candidate version {}. Accounts actioned (FLAG or above): in force {}, candidate {}; moved up {}, moved down {}, unchanged {}.",
            o.events, o.malformed, o.old_version, o.new_version,
            d.actioned_old, d.actioned_new, d.up, d.down, d.unchanged
        ))
        .raw("</p>");
    if let Some(figures) = &o.figures {
        h.raw("<h3>Scorecard (labels)</h3><table id=\"bt-scorecard\"><thead><tr><th>Figure</th><th>In force</th><th>Candidate</th><th>Delta</th></tr></thead><tbody>");
        for f in figures {
            let num = |v: f64| {
                if v.is_finite() {
                    format!("{v:.prec$}", prec = f.decimals)
                } else {
                    "-".into()
                }
            };
            let delta = f
                .delta()
                .map_or("-".into(), |v| format!("{v:+.prec$}", prec = f.decimals));
            h.raw("<tr><td>").text(f.name).raw(&format!(
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{delta}</td></tr>",
                num(f.old),
                num(f.new)
            ));
        }
        h.raw("</tbody></table>");
    }
    if d.changes.is_empty() {
        h.raw("<p id=\"no-changes\">No decision changes.</p>");
        return;
    }
    h.raw("<h3>Transitions</h3><table id=\"bt-transitions\"><thead><tr><th>In force</th><th>Candidate</th><th>Accounts</th></tr></thead><tbody>");
    for t in &d.transitions {
        h.raw(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            action_name(t.old),
            action_name(t.new),
            t.accounts
        ));
    }
    h.raw("</tbody></table>");
    for (title, id, rows) in [
        ("By tenant", "bt-by-tenant", &d.by_tenant),
        ("By rule that made the difference", "bt-by-rule", &d.by_rule),
    ] {
        h.raw(&format!("<h3>{title}</h3><table id=\"{id}\"><thead><tr><th></th><th>Up</th><th>Down</th></tr></thead><tbody>"));
        for t in rows {
            h.raw("<tr><td>").text(&t.key).raw(&format!(
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                t.up, t.down
            ));
        }
        h.raw("</tbody></table>");
    }
    h.raw(&format!(
        "<h3>Changed accounts{}</h3><table id=\"bt-changes\"><thead><tr><th>Tenant</th><th>Account</th><th>In force</th><th>Candidate</th><th>Move</th><th>Why</th><th>Label</th></tr></thead><tbody>",
        if d.changes.len() > LISTED {
            format!(" (first {LISTED} of {})", d.changes.len())
        } else {
            String::new()
        }
    ));
    for c in d.changes.iter().take(LISTED) {
        let label = match (&c.archetype, c.violating) {
            (Some(a), Some(v)) => format!("{a}, {}", if v { "violating" } else { "legitimate" }),
            _ => String::new(),
        };
        h.raw("<tr><td>")
            .text(&c.tenant_id)
            .raw(&format!(
                "</td><td><a class=\"account\" href=\"/account?tenant={}&amp;account={}\">{}</a></td><td class=\"action-{o}\">{o}</td><td class=\"action-{n}\">{n}</td><td>{}</td><td>",
                url(&c.tenant_id),
                url(&c.account_id),
                esc(&c.account_id),
                if c.up { "up" } else { "down" },
                o = action_name(c.old),
                n = action_name(c.new),
            ))
            .text(&c.rules.join(", "))
            .raw("</td><td>")
            .text(&label)
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}
