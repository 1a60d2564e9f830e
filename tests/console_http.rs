//! The web console over HTTP: login and sessions, roles (a reader cannot
//! decide), CSRF on every POST, a decision through the audited override
//! path shown on the account page, appeals, escaping of hostile ids, the
//! queue's paging and filters, the banner when auth is off, and the
//! account's compliance report in English and Indonesian.

mod common;

use std::collections::BTreeSet;

use common::console::{
    assistants, call, csrf, get, ingest, login, post, principals, start, tampered, ANALYST, READER,
};
use satpam::access::auth::hash_token;
use satpam_testkit::figures::grouped;
use satpam_testkit::http::encode;

const HOSTILE: &str = "<script>alert(1)</script>";

fn account_path(account: &str) -> String {
    format!("/account?tenant=bsp-test&account={}", encode(account))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_get_the_login_page_and_a_login_sets_a_session_cookie() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), &principals()).await;
    let r = call(s.console, "GET", "/", &[], "").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let r = call(s.console, "GET", "/login", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"token\""), "{}", r.body);
    let r = call(
        s.console,
        "GET",
        "/",
        &[("Authorization", "Bearer nope")],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "an unknown bearer token");
    let r = call(
        s.console,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "token=nope",
    )
    .await;
    assert_eq!(r.status, 401, "an unknown token cannot log in");
    let r = call(
        s.console,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("token={READER}"),
    )
    .await;
    assert_eq!(r.status, 303);
    let cookie = r.header("set-cookie").expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(READER),
        "the cookie holds a session id, not the token"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let r = get(s.console, &session, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<b id=\"who\">rita</b>"), "{}", r.body);
    assert!(!r.body.contains("id=\"auth-off\""));
    // The bearer header works without a session too.
    let r = call(
        s.console,
        "GET",
        "/rules",
        &[("Authorization", &format!("Bearer {READER}"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"shadow-rules\""));
    // Logging out ends the session.
    let token = csrf(&get(s.console, &session, "/").await.body);
    let r = post(s.console, &session, "/logout", &[("csrf", &token)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(get(s.console, &session, "/").await.status, 303);
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_analyst_with_the_forms_token_decides_and_it_is_audited() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), &principals()).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    assert!(ingest(grpc, Some(ANALYST), assistants(&["acc-1"])).await > 0);
    let page = account_path("acc-1");

    let reader = login(s.console, READER).await;
    let body = get(s.console, &reader, &page).await.body;
    assert!(
        !body.contains("id=\"decision\""),
        "a reader sees no decision form"
    );
    let decision = |token: String| {
        vec![
            ("csrf".to_string(), token),
            ("tenant".into(), "bsp-test".into()),
            ("account".into(), "acc-1".into()),
            ("mode".into(), "deny".into()),
            ("reason".into(), "runs a general assistant".into()),
        ]
    };
    let d = decision(csrf(&body));
    let r = post(s.console, &reader, "/account/decision", &as_refs(&d)).await;
    assert_eq!(r.status, 403, "a reader cannot decide: {}", r.body);

    let analyst = login(s.console, ANALYST).await;
    let body = get(s.console, &analyst, &page).await.body;
    assert!(body.contains("id=\"decision\""));
    let mut no_token = decision(String::new());
    no_token.remove(0);
    let r = post(
        s.console,
        &analyst,
        "/account/decision",
        &as_refs(&no_token),
    )
    .await;
    assert_eq!(r.status, 403, "no CSRF token");
    let r = post(
        s.console,
        &analyst,
        "/account/decision",
        &as_refs(&decision(tampered(&csrf(&body)))),
    )
    .await;
    assert_eq!(r.status, 403, "another CSRF token");
    // The reader's token is not the analyst's.
    let reader_token = csrf(&get(s.console, &reader, &page).await.body);
    let r = post(
        s.console,
        &analyst,
        "/account/decision",
        &as_refs(&decision(reader_token)),
    )
    .await;
    assert_eq!(r.status, 403, "a token of another session");
    assert!(!get(s.console, &analyst, &page)
        .await
        .body
        .contains("override-deny"));

    let r = post(
        s.console,
        &analyst,
        "/account/decision",
        &as_refs(&decision(csrf(&body))),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = get(s.console, &analyst, &page).await.body;
    assert!(
        body.contains("<b class=\"override-deny\">deny</b>: runs a general assistant"),
        "{body}"
    );
    let overrides =
        std::fs::read_to_string(dir.path().join("overrides.yaml")).expect("overrides file");
    assert!(overrides.contains("acc-1") && overrides.contains("runs a general assistant"));

    // An appeal step, shown and persisted beside the overrides.
    let r = post(
        s.console,
        &analyst,
        "/account/appeal",
        &[
            ("csrf", &csrf(&body)),
            ("tenant", "bsp-test"),
            ("account", "acc-1"),
            ("status", "under_review"),
            ("note", "business says it is a support bot"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = get(s.console, &analyst, &page).await.body;
    assert!(
        body.contains(
            "<td>under_review</td><td>ana</td><td>business says it is a support bot</td>"
        ),
        "{body}"
    );
    assert!(dir.path().join("overrides.appeals.jsonl").exists());

    s.service.shutdown().await.expect("shutdown");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let set: Vec<_> = lines
        .iter()
        .filter(|l| l["kind"] == "override_set")
        .collect();
    assert_eq!(set.len(), 1, "{audit}");
    assert_eq!(set[0]["who"], "ana");
    assert_eq!(set[0]["rpc"], "console");
    assert_eq!(set[0]["mode"], "deny");
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "denied" && l["who"] == "rita"),
        "{audit}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "appeal" && l["result"] == "accepted"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_are_escaped_on_every_page() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), &principals()).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    assert!(ingest(grpc, Some(ANALYST), assistants(&[HOSTILE])).await > 0);
    let analyst = login(s.console, ANALYST).await;
    let queue = get(s.console, &analyst, "/").await.body;
    let account = get(s.console, &analyst, &account_path(HOSTILE)).await;
    assert_eq!(account.status, 200, "{}", account.body);
    let missing = get(
        s.console,
        &analyst,
        &format!("/account?tenant={}&account=x", encode(HOSTILE)),
    )
    .await;
    assert_eq!(missing.status, 404);
    for body in [&queue, &account.body, &missing.body] {
        assert!(!body.contains("<script>"), "raw markup from an id: {body}");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{body}"
        );
    }
    s.service.shutdown().await.expect("shutdown");
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn accounts_on(body: &str) -> Vec<String> {
    body.split("<a class=\"account\" href=\"")
        .skip(1)
        .filter_map(|rest| {
            let text = &rest[rest.find("\">")? + 2..];
            Some(text[..text.find("</a>")?].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_pages_through_every_account_once_and_filters() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), &principals()).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    let names = ["q-1", "q-2", "q-3", "q-4", "q-5"];
    // Two WABAs: q-1 and q-2 on one, the rest on the other.
    let events = assistants(&names)
        .into_iter()
        .map(|mut e| {
            let a = matches!(e.account_id.as_str(), "q-1" | "q-2");
            e.waba_id = if a { "waba-a" } else { "waba-b" }.into();
            e
        })
        .collect();
    assert!(ingest(grpc, Some(ANALYST), events).await > 0);
    let reader = login(s.console, READER).await;
    let first = get(s.console, &reader, "/?per=2").await.body;
    assert!(first.contains("of <b id=\"total\">5</b>"), "{first}");
    let mut seen = Vec::new();
    for page in 0..3 {
        let body = get(s.console, &reader, &format!("/?per=2&page={page}"))
            .await
            .body;
        let rows = accounts_on(&body);
        assert_eq!(
            rows.len(),
            if page < 2 { 2 } else { 1 },
            "page {page}: {body}"
        );
        assert_eq!(body.contains("id=\"next\""), page < 2);
        seen.extend(rows);
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(unique, names.iter().map(|s| s.to_string()).collect());
    // Every filter narrows: no account of another tenant, action or country.
    for (query, want) in [
        ("tenant=bsp-other", 0),
        ("tenant=bsp-test", 5),
        ("tenant=bsp-test&waba=waba-a", 2),
        ("tenant=bsp-test&waba=waba-b", 3),
        ("tenant=bsp-test&waba=waba-c", 0),
        ("tenant=bsp-other&waba=waba-a", 0),
        ("country=XX", 0),
        ("rule=no-such-rule", 0),
    ] {
        let body = get(s.console, &reader, &format!("/?{query}")).await.body;
        assert_eq!(accounts_on(&body).len(), want, "{query}");
    }
    let counts = get(s.console, &reader, "/").await.body;
    let action = ["FLAG", "THROTTLE", "SUSPEND", "CHARGE"]
        .into_iter()
        .find(|a| !counts.contains(&format!("id=\"count-{a}\">0<")))
        .expect("some action in force");
    let only = get(s.console, &reader, &format!("/?action={action}"))
        .await
        .body;
    let n = accounts_on(&only).len();
    assert!(
        n > 0 && only.contains(&format!("id=\"count-{action}\">{n}<")),
        "{only}"
    );
    for sort in ["score", "time", "users"] {
        let body = get(s.console, &reader, &format!("/?sort={sort}"))
            .await
            .body;
        assert_eq!(accounts_on(&body).len(), 5, "sort {sort}");
    }
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_off_every_page_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), "").await;
    let grpc = s.service.grpc_addr().expect("grpc");
    assert!(ingest(grpc, None, assistants(&["open-1"])).await > 0);
    for path in ["/", "/rules", &account_path("open-1")] {
        let r = call(s.console, "GET", path, &[], "").await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("id=\"auth-off\""), "{path}: {}", r.body);
    }
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_header_names_the_principal() {
    let dir = tempfile::tempdir().expect("dir");
    // start() writes `[console]` last, so the key lands in it.
    let extra = format!("trusted_header = \"X-Forwarded-User\"\n{}", principals());
    let s = start(dir.path(), &extra).await;
    let r = call(s.console, "GET", "/", &[("X-Forwarded-User", "rita")], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<b id=\"who\">rita</b>"), "{}", r.body);
    let r = call(
        s.console,
        "GET",
        "/",
        &[("X-Forwarded-User", "mallory")],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "a name no principal has");
    let r = call(s.console, "GET", "/", &[], "").await;
    assert_eq!(r.status, 303, "without the header: the login page");
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_clears_an_override_with_a_reason_and_it_is_audited() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path(), &principals()).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    assert!(ingest(grpc, Some(ANALYST), assistants(&["acc-9"])).await > 0);
    let page = account_path("acc-9");
    let analyst = login(s.console, ANALYST).await;
    let body = get(s.console, &analyst, &page).await.body;
    assert!(
        !body.contains("id=\"clear-form\""),
        "no override, nothing to clear"
    );
    let account = [("tenant", "bsp-test"), ("account", "acc-9")];
    let token = csrf(&body);
    let mut set = vec![
        ("csrf", token.as_str()),
        ("mode", "allow"),
        ("reason", "verified support bot"),
    ];
    set.extend(account);
    let r = post(s.console, &analyst, "/account/decision", &set).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = get(s.console, &analyst, &page).await.body;
    assert!(body.contains("id=\"clear-form\""), "{body}");
    assert!(body.contains("override-allow"));

    let reader = login(s.console, READER).await;
    let reader_body = get(s.console, &reader, &page).await.body;
    assert!(!reader_body.contains("id=\"clear-form\""));
    let reader_token = csrf(&reader_body);
    let mut by_reader = vec![("csrf", reader_token.as_str()), ("reason", "no")];
    by_reader.extend(account);
    let r = post(s.console, &reader, "/account/clear", &by_reader).await;
    assert_eq!(r.status, 403, "a reader cannot clear");

    let mut no_reason = vec![("csrf", token.as_str()), ("reason", "")];
    no_reason.extend(account);
    let r = post(s.console, &analyst, "/account/clear", &no_reason).await;
    assert_eq!(r.status, 400, "a reason is required: {}", r.body);
    assert!(get(s.console, &analyst, &page)
        .await
        .body
        .contains("override-allow"));

    let mut clear = vec![("csrf", token.as_str()), ("reason", "appeal overturned")];
    clear.extend(account);
    let r = post(s.console, &analyst, "/account/clear", &clear).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = get(s.console, &analyst, &page).await.body;
    assert!(!body.contains("override-allow"), "{body}");
    assert!(!body.contains("id=\"clear-form\""));

    s.service.shutdown().await.expect("shutdown");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert!(
        audit.lines().any(|l| l.contains("\"override_cleared\"")
            && l.contains("\"acc-9\"")
            && l.contains("\"accepted\"")
            && l.contains("appeal overturned")
            && l.contains("\"ana\"")),
        "{audit}"
    );
}

/// The text of the page's element `id="{id}"`.
fn cell<'a>(body: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let at = body.find(&open).map(|i| i + open.len()).expect(id);
    &body[at..at + body[at..].find('<').expect("end of cell")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_links_its_report_in_both_languages_for_its_tenants_readers() {
    const MARKER: &str = "ZQX-MARKER-4417";
    const OTHER: &str = "token-other-tenant";
    let dir = tempfile::tempdir().expect("dir");
    let other = format!(
        "[[auth.principals]]\nname = \"otto\"\ntoken_sha256 = \"{}\"\nroles = [\"read\"]\ntenants = [\"bsp-other\"]\n",
        hash_token(OTHER)
    );
    let s = start(dir.path(), &(principals() + &other)).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    let mut events = common::traffic(common::Script::Assistant, "rep-1", 25, 120, true);
    for e in &mut events {
        e.tenant_id = "bsp-test".to_string();
        e.text = format!("{} {MARKER}", e.text);
    }
    assert!(ingest(grpc, Some(ANALYST), events).await > 0);
    let reader = login(s.console, READER).await;
    let page = get(s.console, &reader, &account_path("rep-1")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let report = "/account/report?tenant=bsp-test&account=rep-1";
    for lang in ["en", "id"] {
        let link = format!("href=\"{}&amp;lang={lang}\"", report.replace('&', "&amp;"));
        assert!(page.body.contains(&link), "no {link} in {}", page.body);
    }
    let n = |id: &str| cell(&page.body, id).parse::<u64>().expect(id);
    let (sessions, users, events) = (n("conversations"), n("users"), n("events"));
    assert!(users > 0 && sessions > 0, "the account has evidence");
    for (lang, want) in [
        (
            "en",
            format!(
                "with {} sessions and {users} users in the last 24 hours ({} events in the last hour).",
                grouped(sessions, ","),
                grouped(events, ",")
            ),
        ),
        (
            "id",
            format!(
                "dengan {} sesi dan {users} pengguna dalam 24 jam terakhir ({} kejadian dalam satu jam terakhir).",
                grouped(sessions, "."),
                grouped(events, ".")
            ),
        ),
    ] {
        let r = get(s.console, &reader, &format!("{report}&lang={lang}")).await;
        assert_eq!(r.status, 200, "{lang}: {}", r.body);
        assert!(r.body.contains(&format!("<html lang=\"{lang}\">")), "{}", r.body);
        assert!(r.body.contains(&want), "{lang}: missing {want:?} in {}", r.body);
        assert!(!r.body.contains(MARKER), "{lang}: message text in the report");
    }
    let r = get(s.console, &reader, &format!("{report}&lang=fr")).await;
    assert_eq!(r.status, 400, "an unknown language");

    let outsider = login(s.console, OTHER).await;
    let r = get(s.console, &outsider, &format!("{report}&lang=id")).await;
    assert_eq!(r.status, 403, "a reader of another tenant: {}", r.body);
    assert!(!r.body.contains("kejadian"), "{}", r.body);
    s.service.shutdown().await.expect("shutdown");
}
