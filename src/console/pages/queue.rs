//! The queue: the accounts with an action in force on this instance's
//! shards, filtered by tenant, action, rule, country and WABA (the numbers
//! the WABA state has seen), sorted by score,
//! time or users, counted per action, a page at a time. A request walks
//! the accounts once and selects its page with a partial selection
//! (`select_nth_unstable_by`), sorting only the rows up to the page's end.

use std::cmp::Ordering;
use std::fmt::Write;

use serde::Deserialize;

use super::{action_name, parse_action, time};
use crate::console::auth::Viewer;
use crate::console::html::{esc, url, Html};
use crate::console::Console;
use crate::decide::Action;

/// Rows per page (the default of `per`).
pub const PAGE_SIZE: usize = 50;

/// The queue's query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// Only this tenant.
    pub tenant: String,
    /// Only this action (FLAG, THROTTLE, SUSPEND, CHARGE).
    pub action: String,
    /// Only accounts this rule (by id) is active for.
    pub rule: String,
    /// Only accounts whose users are mostly in this country (ISO alpha-2).
    pub country: String,
    /// Only the numbers of this WABA (needs `tenant`: a WABA is kept per tenant).
    pub waba: String,
    /// `score` (the default), `time` or `users`.
    pub sort: String,
    /// The page, from 0.
    pub page: usize,
    /// Rows per page, 1 to 200 (default 50).
    pub per: Option<usize>,
}

/// One account of the queue.
#[derive(Debug, Clone)]
pub struct Row {
    /// Tenant.
    pub tenant: Box<str>,
    /// Account.
    pub account: Box<str>,
    /// Action in force.
    pub action: Action,
    /// Combined score.
    pub score: f64,
    /// Event time of its last event.
    pub last_ms: i64,
    /// Main country, or empty.
    pub country: String,
    /// Distinct users in 24 h (computed for the `users` sort and the page).
    pub users: Option<u64>,
}

/// What one queue request found.
pub struct Found {
    /// The page's rows, in order.
    pub rows: Vec<Row>,
    /// Accounts matching every filter.
    pub total: usize,
    /// Accounts per action matching every filter but the action.
    pub counts: [(Action, usize); 4],
}

fn order(sort: &str) -> fn(&Row, &Row) -> Ordering {
    fn tie(a: &Row, b: &Row) -> Ordering {
        (&a.tenant, &a.account).cmp(&(&b.tenant, &b.account))
    }
    match sort {
        "time" => |a, b| b.last_ms.cmp(&a.last_ms).then_with(|| tie(a, b)),
        "users" => |a, b| b.users.cmp(&a.users).then_with(|| tie(a, b)),
        _ => |a, b| b.score.total_cmp(&a.score).then_with(|| tie(a, b)),
    }
}

fn users_of(a: &crate::decide::Account) -> u64 {
    let mut b = a.behaviour.clone();
    b.totals(b.last_ms()).users_day_rounded()
}

/// The rows of query `q` that `viewer` may see.
pub fn find(console: &Console, viewer: &Viewer, q: &QueueQuery) -> Found {
    let rules = console.shards.context().rules();
    let rule_index = (!q.rule.is_empty()).then(|| {
        rules
            .rules()
            .iter()
            .position(|r| r.id == q.rule)
            .map(|i| i as u16)
    });
    let action = parse_action(&q.action);
    let by_users = q.sort == "users";
    // Empty when the WABA is unknown: the filter then matches nothing.
    let waba = (!q.waba.is_empty()).then(|| console.shards.waba_numbers(&q.tenant, &q.waba));
    let mut counts = [
        (Action::Flag, 0),
        (Action::Throttle, 0),
        (Action::Suspend, 0),
        (Action::Charge, 0),
    ];
    let mut rows = Vec::new();
    console.shards.for_each_account(|_, a| {
        let act = a.slot.decision.action();
        if act == Action::None || act == Action::Restore {
            return;
        }
        if (!q.tenant.is_empty() && *a.tenant_id != *q.tenant)
            || !viewer.principal.tenants.allows(&a.tenant_id)
        {
            return;
        }
        if let Some(want) = rule_index {
            let active = want.is_some_and(|w| a.slot.activity.active().iter().any(|r| r.rule == w));
            if !active {
                return;
            }
        }
        if waba.as_ref().is_some_and(|w| !w.contains(&*a.account_id)) {
            return;
        }
        let country = a
            .behaviour
            .main_country()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default();
        if !q.country.is_empty() && !country.eq_ignore_ascii_case(&q.country) {
            return;
        }
        if let Some(c) = counts.iter_mut().find(|(k, _)| *k == act) {
            c.1 += 1;
        }
        if !q.action.is_empty() && action != Some(act) {
            return;
        }
        rows.push(Row {
            tenant: a.tenant_id.clone(),
            account: a.account_id.clone(),
            action: act,
            score: a.slot.activity.score(&rules),
            last_ms: a.behaviour.last_ms(),
            country,
            users: by_users.then(|| users_of(a)),
        });
    });
    let total = rows.len();
    let per = q.per.unwrap_or(PAGE_SIZE).clamp(1, 200);
    let mut page = page_of(rows, order(&q.sort), q.page, per);
    for r in &mut page {
        if r.users.is_none() {
            if let Some((_, a)) = console.shards.find_account(&r.tenant, &r.account) {
                r.users = Some(
                    a.behaviour
                        .clone()
                        .totals(a.behaviour.last_ms())
                        .users_day_rounded(),
                );
            }
        }
    }
    Found {
        rows: page,
        total,
        counts,
    }
}

/// Rows `page * per ..` of `rows` in `cmp` order: two partial selections
/// (the first `end` rows, then the page's first row among them) and a sort
/// of the page's rows only, so any page costs O(rows + per log per).
pub fn page_of<T>(
    mut rows: Vec<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    page: usize,
    per: usize,
) -> Vec<T> {
    let total = rows.len();
    let start = page.saturating_mul(per).min(total);
    let end = start.saturating_add(per).min(total);
    if end > 0 && end < total {
        rows.select_nth_unstable_by(end - 1, &cmp);
        rows.truncate(end);
    }
    if start > 0 && start < rows.len() {
        rows.select_nth_unstable_by(start, &cmp);
    }
    let mut out: Vec<T> = rows.drain(start..end).collect();
    out.sort_unstable_by(&cmp);
    out
}

fn link(q: &QueueQuery, page: usize) -> String {
    let mut s = format!(
        "/?tenant={}&action={}&rule={}&country={}&waba={}&sort={}&page={page}",
        url(&q.tenant),
        url(&q.action),
        url(&q.rule),
        url(&q.country),
        url(&q.waba),
        url(&q.sort)
    );
    if let Some(p) = q.per {
        let _ = write!(s, "&per={p}");
    }
    s
}

fn select(name: &str, current: &str, options: &[(&str, &str)]) -> String {
    let mut s = format!("<select name=\"{name}\" id=\"f-{name}\">");
    for (value, label) in options {
        let sel = if *value == current { " selected" } else { "" };
        let _ = write!(
            s,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(value),
            esc(label)
        );
    }
    s.push_str("</select>");
    s
}

// Long because it is the page's layout: filters, counts, table, paging.
/// The queue page's body.
pub fn render(console: &Console, viewer: &Viewer, q: &QueueQuery) -> String {
    let found = find(console, viewer, q);
    let per = q.per.unwrap_or(PAGE_SIZE).clamp(1, 200);
    let mut h = Html::default();
    h.raw("<h1>Queue</h1><p class=\"note\">Accounts with an action in force on <b>this instance</b> (its gRPC shards and Kafka partitions ")
        .text(&format!("{:?}", console.shards.partition_ids()))
        .raw("); a fleet-wide queue comes with issue 12. The WABA filter needs the tenant and matches the numbers this instance's WABA state keeps (the 128 most recently active per WABA and shard).</p>");
    h.raw("<p class=\"counts\" id=\"counts\">");
    for (a, n) in found.counts {
        h.raw(&format!(
            "<span class=\"action-{0}\">{0}: <b id=\"count-{0}\">{n}</b></span>",
            action_name(a)
        ));
    }
    h.raw("</p><form class=\"filters\" method=\"get\" action=\"/\">");
    for (name, value, label) in [
        ("tenant", &q.tenant, "Tenant"),
        ("rule", &q.rule, "Rule id"),
        ("country", &q.country, "Country"),
        ("waba", &q.waba, "WABA (with tenant)"),
    ] {
        h.raw(&format!("<div><label for=\"f-{name}\">{label}</label><input id=\"f-{name}\" name=\"{name}\" value=\""))
            .text(value)
            .raw("\"></div>");
    }
    h.raw("<div><label for=\"f-action\">Action</label>")
        .raw(&select(
            "action",
            &q.action.to_ascii_uppercase(),
            &[
                ("", "any"),
                ("FLAG", "FLAG"),
                ("THROTTLE", "THROTTLE"),
                ("SUSPEND", "SUSPEND"),
                ("CHARGE", "CHARGE"),
            ],
        ))
        .raw("</div><div><label for=\"f-sort\">Sort by</label>")
        .raw(&select(
            "sort",
            &q.sort,
            &[
                ("score", "score"),
                ("time", "last event"),
                ("users", "users (24 h)"),
            ],
        ))
        .raw("</div><div><button id=\"filter\">Filter</button></div></form>");
    let shown_from = if found.rows.is_empty() {
        0
    } else {
        q.page * per + 1
    };
    h.raw(&format!(
        "<p id=\"shown\">{} to {} of <b id=\"total\">{}</b></p>",
        shown_from,
        q.page * per + found.rows.len(),
        found.total
    ));
    h.raw("<table id=\"queue\"><thead><tr><th>Tenant</th><th>Account</th><th>Action</th><th>Score</th><th>Users (24 h)</th><th>Country</th><th>Last event</th></tr></thead><tbody>");
    for r in &found.rows {
        let href = format!(
            "/account?tenant={}&account={}",
            url(&r.tenant),
            url(&r.account)
        );
        h.raw("<tr><td>")
            .text(&r.tenant)
            .raw("</td><td><a class=\"account\" href=\"")
            .text(&href)
            .raw("\">")
            .text(&r.account)
            .raw(&format!(
                "</a></td><td class=\"action-{0}\">{0}</td><td class=\"num\">{1:.3}</td><td class=\"num\">{2}</td><td>",
                action_name(r.action),
                r.score,
                r.users.map(|u| u.to_string()).unwrap_or_default()
            ))
            .text(&r.country)
            .raw("</td><td>")
            .text(&time(r.last_ms))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table><p class=\"pager\">");
    if q.page > 0 {
        h.raw("<a id=\"prev\" href=\"")
            .text(&link(q, q.page - 1))
            .raw("\">previous page</a>");
    }
    if (q.page + 1) * per < found.total {
        h.raw("<a id=\"next\" href=\"")
            .text(&link(q, q.page + 1))
            .raw("\">next page</a>");
    }
    h.raw("</p>");
    h.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of a partial selection are exactly the slices of a full sort,
    /// ties included (the order is total).
    #[test]
    fn pages_are_the_slices_of_a_full_sort() {
        let rows: Vec<(u32, u32)> = (0..1_000u32).map(|i| ((i * 7919) % 97, i)).collect();
        let cmp = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        let mut sorted = rows.clone();
        sorted.sort_by(cmp);
        for per in [1, 7, 50, 200] {
            for page in [0, 1, 3, 1_000 / per, 1_000 / per + 1] {
                let got = page_of(rows.clone(), cmp, page, per);
                let from = (page * per).min(1_000);
                let want = &sorted[from..(from + per).min(1_000)];
                assert_eq!(got, want, "page {page} of {per}");
            }
        }
    }
}
