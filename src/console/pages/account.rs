//! The account page: the action in force and the score, the counts behind
//! them, the active rules with their conditions in words, the score over
//! time, every signal the console has seen for the account, the override in
//! force and the appeal; the decision and appeal forms for analysts. Built
//! from `Admin.GetAccount`'s state (counters and features, never text).

use std::collections::BTreeMap;

use crate::console::auth::Viewer;
use crate::console::html::{esc, url, Html};
use crate::console::svg::score_chart;
use crate::console::Console;
use crate::pb::v1 as pb;
use crate::rules::explain::{number, rule_checks};
use crate::service::account_state::{account_state, remote_account_state};

use super::{time, wire_action_name};

fn features(f: &[pb::FeatureValue]) -> BTreeMap<String, f64> {
    f.iter().map(|f| (f.name.clone(), f.value)).collect()
}

fn rule_hits(h: &mut Html, rules: &crate::rules::RuleSet, hits: &[pb::RuleHit]) {
    if hits.is_empty() {
        h.raw("<p class=\"note\">no enforcing rule active</p>");
        return;
    }
    h.raw("<ul class=\"rules\">");
    for r in hits {
        h.raw("<li><b>").text(&r.rule_id).raw(&format!(
            "</b> v{} (score {:.2}, {} hits, last fired {})<ul>",
            r.rule_version,
            r.score,
            r.hits,
            esc(&time(r.last_fired_ms))
        ));
        let seen = features(&r.features);
        let checks = rule_checks(rules, &r.rule_id, r.rule_version, &seen);
        if checks.is_empty() {
            for (name, v) in &seen {
                h.raw("<li>")
                    .text(&format!("{name} was {}", number(*v)))
                    .raw("</li>");
            }
        }
        for c in checks {
            h.raw("<li>").text(&c.words()).raw("</li>");
        }
        h.raw("</ul></li>");
    }
    h.raw("</ul>");
}

/// The state of `tenant`/`account` as `Admin.GetAccount` gives it (the
/// account page and its compliance report read it), or `None` when this
/// instance does not track it. An account another instance holds is
/// answered, as GetAccount answers it, from the fleet's actions table when
/// it has an action in force there (`owner` names that instance).
pub fn state(console: &Console, tenant: &str, account: &str) -> Option<pb::AccountState> {
    let Some((shard, mut entry)) = console.shards.find_account(tenant, account) else {
        let in_force = console.actions.as_ref()?.get(tenant, account)?;
        let ctx = console.shards.context();
        let o = ctx
            .overrides()
            .get(tenant, account, ctx.clock().now_ms())
            .cloned();
        return Some(remote_account_state(&in_force, o));
    };
    let ctx = console.shards.context();
    let overrides = ctx.overrides();
    let now_ms = ctx.clock().now_ms();
    Some(account_state(
        &mut entry,
        shard.number(),
        &ctx.rules(),
        &ctx.policy(),
        overrides.get(tenant, account, now_ms),
    ))
}

/// The links to the account's compliance report, in each language.
fn report_links(h: &mut Html, tenant: &str, account: &str) {
    let at = format!(
        "/account/report?tenant={}&account={}",
        url(tenant),
        url(account)
    );
    h.raw("<p id=\"report\">Compliance report for the business: <a id=\"report-en\" href=\"")
        .text(&format!("{at}&lang=en"))
        .raw("\">Compliance report (English)</a> · <a id=\"report-id\" hreflang=\"id\" href=\"")
        .text(&format!("{at}&lang=id"))
        .raw("\">Compliance report (Bahasa Indonesia)</a></p>");
}

// Long because it is the page's layout, section by section, top to bottom.
/// The page of `tenant`/`account`, or `None` when this instance does not track it.
pub fn render(console: &Console, viewer: &Viewer, tenant: &str, account: &str) -> Option<String> {
    let state = state(console, tenant, account)?;
    let rules = console.shards.context().rules();
    let ev = state.evidence.clone().unwrap_or_default();
    let mut h = Html::default();
    h.raw("<h1>Account <span id=\"account-id\">")
        .text(account)
        .raw("</span></h1><p>tenant <b id=\"tenant-id\">")
        .text(tenant)
        .raw("</b>, ")
        .text(&if !state.owner.is_empty() {
            format!(
                "held by instance {}: shown as the signal that set its action tells it; its live state is on that instance",
                state.owner
            )
        } else if state.shard < 0 {
            format!("gRPC shard {} of this instance", -1 - state.shard)
        } else {
            format!("Kafka partition {} of this instance", state.shard)
        })
        .raw("</p>");
    report_links(&mut h, tenant, account);
    let action = wire_action_name(state.action);
    h.raw(&format!(
        "<table class=\"facts\"><tr><th>Action in force</th><td id=\"action\" class=\"action-{action}\">{action}</td></tr><tr><th>Score</th><td id=\"score\">{:.3}</td></tr>",
        state.score
    ));
    h.raw("<tr><th>Last event</th><td>")
        .text(&time(state.last_event_ms))
        .raw("</td></tr><tr><th>Main country</th><td>")
        .text(&state.main_country)
        .raw(&format!(
            "</td></tr><tr><th>Conversations (24 h)</th><td id=\"conversations\">{}</td></tr><tr><th>Users (24 h)</th><td id=\"users\">{}</td></tr><tr><th>Events (1 h)</th><td id=\"events\">{}</td></tr><tr><th>Signals so far</th><td>{}</td></tr>",
            ev.conversations, ev.users, ev.events, state.signals
        ));
    if let Some(p) = &state.policy {
        h.raw("<tr><th>Country policy</th><td>")
            .text(&format!(
                "{} ({}, rule {}, policy {})",
                p.outcome, p.r#where, p.rule, p.version
            ))
            .raw("</td></tr>");
    }
    h.raw("<tr><th>Override in force</th><td id=\"override\">");
    match &state.r#override {
        Some(o) => {
            let mode = if o.mode == pb::OverrideMode::Deny as i32 {
                "deny"
            } else {
                "allow"
            };
            h.raw(&format!("<b class=\"override-{mode}\">{mode}</b>: "))
                .text(&o.reason);
            if o.expires_at_ms > 0 {
                h.raw(", until ").text(&time(o.expires_at_ms));
            }
        }
        None => {
            h.raw("none");
        }
    }
    h.raw("</td></tr></table><p class=\"note\">An override set here takes effect at the account's next event.</p>");

    h.raw("<h2>Active rules</h2>");
    rule_hits(&mut h, &rules, &ev.rules);

    let signals = console.history.of(tenant, account);
    let mut points: Vec<(i64, f64)> = signals.iter().map(|s| (s.event_time_ms, s.score)).collect();
    points.push((state.last_event_ms, state.score));
    let d = rules.decision();
    h.raw("<h2>Score over time</h2>").raw(&score_chart(
        &points,
        &[
            ("FLAG", d.flag),
            ("THROTTLE", d.throttle),
            ("SUSPEND", d.suspend),
        ],
    ));

    h.raw("<h2>History</h2><p class=\"note\">Signals seen since the console started (the last ")
        .text(&console.history_per_account.to_string())
        .raw(" per account")
        .raw(if console.history.lost() > 0 { "; some were missed in a burst" } else { "" })
        .raw(").</p><table id=\"history\"><thead><tr><th>Event time</th><th>Change</th><th>Score</th><th>Rules and what they saw</th><th>Policy</th><th>Reason</th></tr></thead><tbody>");
    for s in signals.iter().rev() {
        let e = s.evidence.clone().unwrap_or_default();
        h.raw("<tr><td>").text(&time(s.event_time_ms)).raw(&format!(
            "</td><td>{} &rarr; <b>{}</b></td><td class=\"num\">{:.3}</td><td>",
            wire_action_name(s.previous_action),
            wire_action_name(s.action),
            s.score
        ));
        h.raw("rules ").text(&s.rule_set_version);
        rule_hits(&mut h, &rules, &e.rules);
        h.raw("</td><td>")
            .text(&format!("{} {}", s.policy_outcome, s.policy_country))
            .raw("</td><td>")
            .text(&e.reason)
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");

    h.raw("<h2>Appeal</h2><table id=\"appeal\"><thead><tr><th>When</th><th>Status</th><th>Who</th><th>Note</th></tr></thead><tbody>");
    for a in console.appeals.of(tenant, account) {
        h.raw("<tr><td>")
            .text(&time(a.at_ms))
            .raw("</td><td>")
            .text(a.status.name())
            .raw("</td><td>")
            .text(&a.who)
            .raw("</td><td>")
            .text(&a.note)
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");

    let may_decide = viewer.principal.has(crate::access::auth::Role::Override)
        && viewer.principal.tenants.allows(tenant);
    if may_decide {
        forms(&mut h, viewer, tenant, account);
        if state.r#override.is_some() {
            clear_form(&mut h, viewer, tenant, account);
        }
    } else {
        h.raw(
            "<p class=\"note\">Decisions need the <code>override</code> role for this tenant.</p>",
        );
    }
    Some(h.into_string())
}

fn hidden(h: &mut Html, viewer: &Viewer, tenant: &str, account: &str) {
    h.raw("<input type=\"hidden\" name=\"csrf\" value=\"")
        .text(&viewer.csrf)
        .raw("\"><input type=\"hidden\" name=\"tenant\" value=\"")
        .text(tenant)
        .raw("\"><input type=\"hidden\" name=\"account\" value=\"")
        .text(account)
        .raw("\">");
}

fn forms(h: &mut Html, viewer: &Viewer, tenant: &str, account: &str) {
    h.raw("<fieldset><legend>Decision</legend><form id=\"decision\" method=\"post\" action=\"/account/decision\">");
    hidden(h, viewer, tenant, account);
    h.raw("<label for=\"mode\">Mode</label><select id=\"mode\" name=\"mode\"><option value=\"deny\">deny (suspend)</option><option value=\"allow\">allow (no action)</option></select>\
<label for=\"reason\">Reason (required, goes to the audit trail)</label><input id=\"reason\" name=\"reason\" size=\"60\" required>\
<label for=\"expires_hours\">Expires after hours (empty: never)</label><input id=\"expires_hours\" name=\"expires_hours\" size=\"6\">\
<button id=\"decide\">Set override</button></form></fieldset>");
    h.raw("<fieldset><legend>Record an appeal step</legend><form id=\"appeal-form\" method=\"post\" action=\"/account/appeal\">");
    hidden(h, viewer, tenant, account);
    h.raw("<label for=\"status\">Status</label><select id=\"status\" name=\"status\">");
    for s in crate::console::appeals::AppealStatus::ALL {
        h.raw(&format!("<option value=\"{0}\">{0}</option>", s.name()));
    }
    h.raw("</select><label for=\"note\">Note (required)</label><input id=\"note\" name=\"note\" size=\"60\" required><button id=\"record-appeal\">Record</button></form></fieldset>");
}

fn clear_form(h: &mut Html, viewer: &Viewer, tenant: &str, account: &str) {
    h.raw("<fieldset><legend>Clear the override</legend><form id=\"clear-form\" method=\"post\" action=\"/account/clear\">");
    hidden(h, viewer, tenant, account);
    h.raw("<label for=\"clear-reason\">Reason (required, goes to the audit trail)</label><input id=\"clear-reason\" name=\"reason\" size=\"60\" required>\
<button id=\"clear\">Clear override</button></form></fieldset>");
}
