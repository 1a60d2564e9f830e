//! The queue: the accounts with an action in force on this instance's
//! shards and, with the fleet's actions table (`kafka.actions_topic`), the
//! ones other instances hold, as the signal that set each action tells
//! them; filtered by tenant, action, rule, country and WABA (the numbers
//! the WABA state has seen), sorted by score,
//! time or users, counted per action, a page at a time. A request walks
//! the accounts once and selects its page with a partial selection
//! (`select_nth_unstable_by`), sorting only the rows up to the page's end.

use std::cmp::Ordering;
use std::fmt::Write;
use std::sync::Arc;

use serde::Deserialize;

use super::{action_name, parse_action, time};
use crate::console::auth::Viewer;
use crate::console::html::{esc, url, Html};
use crate::console::Console;
use crate::decide::Action;
use crate::pb::v1 as pb;
use crate::service::actions_table::ActionInForce;

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
    /// The instance that holds the account (`<host>/<pid>/<epoch>`), when
    /// it is not this one: the row is then the fleet's actions table's.
    pub owner: Option<String>,
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
    a.behaviour.users_day_at_last()
}

/// [`Found::counts`] before any account is counted: the actions that can
/// be in force, in the order the page lists them.
const NO_COUNTS: [(Action, usize); 4] = [
    (Action::Flag, 0),
    (Action::Throttle, 0),
    (Action::Suspend, 0),
    (Action::Charge, 0),
];

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
    let mut counts = NO_COUNTS;
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
        admit(act, action, q, &mut counts, &mut rows, || Row {
            tenant: a.tenant_id.clone(),
            account: a.account_id.clone(),
            action: act,
            score: a.slot.activity.score(&rules),
            last_ms: a.behaviour.last_ms(),
            country,
            users: by_users.then(|| users_of(a)),
            owner: None,
        });
    });
    if let Some(table) = &console.actions {
        let held =
            |tenant: &str, account: &str| console.shards.find_account(tenant, account).is_some();
        fleet_rows(
            &table.all(),
            q,
            |t| viewer.principal.tenants.allows(t),
            held,
            &mut counts,
            &mut rows,
        );
    }
    let total = rows.len();
    let per = q.per.unwrap_or(PAGE_SIZE).clamp(1, 200);
    let mut page = page_of(rows, order(&q.sort), q.page, per);
    for r in &mut page {
        if r.users.is_none() {
            if let Some((_, a)) = console.shards.find_account(&r.tenant, &r.account) {
                r.users = Some(users_of(&a));
            }
        }
    }
    Found {
        rows: page,
        total,
        counts,
    }
}

/// The domain action of a wire one, among those that can be in force.
fn in_force(wire: i32) -> Option<Action> {
    match Action::from(pb::Action::try_from(wire).ok()?) {
        Action::None | Action::Restore => None,
        a => Some(a),
    }
}

/// Adds to `rows` (and `counts`) the accounts of the fleet's actions table
/// that this instance does not hold (`held` false) and `allows` lets the
/// viewer see, under the same filters as the local ones, read off the
/// signal that set each action: its score and event time, its users, the
/// policy's country, the rules active then, its WABA.
fn fleet_rows(
    entries: &[Arc<ActionInForce>],
    q: &QueueQuery,
    allows: impl Fn(&str) -> bool,
    held: impl Fn(&str, &str) -> bool,
    counts: &mut [(Action, usize); 4],
    rows: &mut Vec<Row>,
) {
    let wanted = parse_action(&q.action);
    for e in entries {
        let s = &e.signal;
        let Some(act) = in_force(s.action) else {
            continue;
        };
        if (!q.tenant.is_empty() && s.tenant_id != q.tenant)
            || !allows(&s.tenant_id)
            || held(&s.tenant_id, &s.account_id)
        {
            continue;
        }
        let evidence = s.evidence.as_ref();
        if !q.rule.is_empty()
            && !evidence.is_some_and(|ev| ev.rules.iter().any(|r| r.rule_id == q.rule))
        {
            continue;
        }
        if !q.waba.is_empty() && s.waba_id != q.waba {
            continue;
        }
        if !q.country.is_empty() && !s.policy_country.eq_ignore_ascii_case(&q.country) {
            continue;
        }
        admit(act, wanted, q, counts, rows, || Row {
            tenant: s.tenant_id.as_str().into(),
            account: s.account_id.as_str().into(),
            action: act,
            score: s.score,
            last_ms: s.event_time_ms,
            country: s.policy_country.clone(),
            users: Some(evidence.map_or(0, |ev| ev.users)),
            owner: Some(e.writer.clone()),
        });
    }
}

/// The last step for an account that passed every filter but the action:
/// it counts under its action `act`, and its row (made only then) is kept
/// when the query names no action or names `act` (`wanted`).
fn admit(
    act: Action,
    wanted: Option<Action>,
    q: &QueueQuery,
    counts: &mut [(Action, usize); 4],
    rows: &mut Vec<Row>,
    row: impl FnOnce() -> Row,
) {
    if let Some(c) = counts.iter_mut().find(|(k, _)| *k == act) {
        c.1 += 1;
    }
    if q.action.is_empty() || wanted == Some(act) {
        rows.push(row());
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
    h.raw("<h1>Queue</h1><p class=\"note\">");
    if console.actions.is_some() {
        h.raw("Accounts with an action in force <b>across the fleet</b>: this instance's (its gRPC shards and Kafka partitions ")
            .text(&format!("{:?}", console.shards.partition_ids()))
            .raw(") with their live state, the others as the signal that set the action tells them (marked with the instance that holds them; its users are the signal's). The WABA filter");
    } else {
        h.raw("Accounts with an action in force on <b>this instance</b> (its gRPC shards and Kafka partitions ")
            .text(&format!("{:?}", console.shards.partition_ids()))
            .raw("); set <code>kafka.actions_topic</code> for the fleet's. The WABA filter");
    }
    h.raw(" needs the tenant and matches the numbers this instance's WABA state keeps (the 128 most recently active per WABA and shard), and the signal's WABA for the others.</p>");
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
            .raw("</a>");
        if let Some(owner) = &r.owner {
            h.raw(" <span class=\"owner\">on ")
                .text(owner)
                .raw("</span>");
        }
        h.raw(&format!(
                "</td><td class=\"action-{0}\">{0}</td><td class=\"num\">{1:.3}</td><td class=\"num\">{2}</td><td>",
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

    fn entry(
        tenant: &str,
        account: &str,
        action: pb::Action,
        rule: &str,
        country: &str,
        waba: &str,
    ) -> Arc<ActionInForce> {
        Arc::new(ActionInForce {
            signal: pb::EnforcementSignal {
                tenant_id: tenant.into(),
                account_id: account.into(),
                action: action as i32,
                score: 0.8,
                event_time_ms: 1_700_000_000_000,
                policy_country: country.into(),
                waba_id: waba.into(),
                evidence: Some(pb::Evidence {
                    rules: vec![pb::RuleHit {
                        rule_id: rule.into(),
                        ..Default::default()
                    }],
                    users: 41,
                    ..Default::default()
                }),
                ..Default::default()
            },
            writer: format!("pod-{account}/7/3"),
        })
    }

    /// The fleet's rows: each filter applied to what the signal says,
    /// accounts held here and tenants the viewer may not see left out,
    /// lifted actions never listed, counts per action over every filter
    /// but the action.
    #[test]
    fn fleet_rows_follow_the_filters_and_leave_out_held_and_hidden_accounts() {
        let entries = vec![
            entry("t1", "a", pb::Action::Suspend, "open-domain", "ID", "w1"),
            entry("t1", "b", pb::Action::Flag, "long-answers", "BR", "w2"),
            entry("t1", "held", pb::Action::Suspend, "open-domain", "ID", "w1"),
            entry("t2", "c", pb::Action::Throttle, "open-domain", "ID", "w3"),
            entry(
                "secret",
                "d",
                pb::Action::Suspend,
                "open-domain",
                "ID",
                "w1",
            ),
            entry("t1", "e", pb::Action::Restore, "open-domain", "ID", "w1"),
        ];
        let q = |f: &dyn Fn(&mut QueueQuery)| {
            let mut q = QueueQuery::default();
            f(&mut q);
            q
        };
        // (query, accounts listed, counts FLAG/THROTTLE/SUSPEND/CHARGE)
        let cases: Vec<(QueueQuery, Vec<&str>, [usize; 4])> = vec![
            (q(&|_| {}), vec!["a", "b", "c"], [1, 1, 1, 0]),
            (q(&|q| q.tenant = "t1".into()), vec!["a", "b"], [1, 0, 1, 0]),
            (q(&|q| q.action = "suspend".into()), vec!["a"], [1, 1, 1, 0]),
            (
                q(&|q| q.rule = "open-domain".into()),
                vec!["a", "c"],
                [0, 1, 1, 0],
            ),
            (q(&|q| q.country = "br".into()), vec!["b"], [1, 0, 0, 0]),
            (q(&|q| q.waba = "w3".into()), vec!["c"], [0, 1, 0, 0]),
            (q(&|q| q.tenant = "secret".into()), vec![], [0, 0, 0, 0]),
        ];
        for (query, want, want_counts) in cases {
            let mut counts = NO_COUNTS;
            let mut rows = Vec::new();
            fleet_rows(
                &entries,
                &query,
                |t| t != "secret",
                |_, a| a == "held",
                &mut counts,
                &mut rows,
            );
            let mut got: Vec<&str> = rows.iter().map(|r| &*r.account).collect();
            got.sort_unstable();
            assert_eq!(got, want, "{query:?}");
            assert_eq!(counts.map(|(_, n)| n), want_counts, "{query:?}");
        }
        // A row says what the signal said, and who holds the account.
        let mut rows = Vec::new();
        let mut counts = [(Action::Suspend, 0); 4];
        fleet_rows(
            &entries[..1],
            &QueueQuery::default(),
            |_| true,
            |_, _| false,
            &mut counts,
            &mut rows,
        );
        let r = &rows[0];
        assert_eq!(
            (r.action, r.score, r.last_ms, r.users, r.country.as_str()),
            (Action::Suspend, 0.8, 1_700_000_000_000, Some(41), "ID")
        );
        assert_eq!(r.owner.as_deref(), Some("pod-a/7/3"));
    }

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
