//! The console's backtest page over HTTP: a reader sees it but cannot
//! start one; names outside the directory's listing (`..`, separators,
//! absolute paths, unknown files) are refused; a candidate that does not
//! compile shows the file, line and reason and starts nothing; one backtest
//! runs at a time (the first reads a named pipe the test feeds, so it is
//! still running when the second is posted), and when it ends the page
//! shows the accounts THROTTLE 0.7 -> 0.6 moves up, caused by the decision
//! section, with the scorecard deltas of the labels.

mod common;

use std::io::Write;
use std::path::Path;

use common::console::{
    csrf, get, login, post, principals, recorded_traffic, start, throttle_at_0_6, Served, ANALYST,
    READER,
};

async fn start_with_dir(dir: &Path, recorded: &Path) -> Served {
    let extra = format!(
        "backtest_dir = {:?}\n{}",
        recorded.display().to_string(),
        principals()
    );
    start(dir, &extra).await
}

async fn start_backtest(
    s: &Served,
    cookie: &str,
    rules: &str,
    events: &str,
    labels: &str,
) -> satpam_testkit::http::Reply {
    let token = csrf(&get(s.console, cookie, "/backtest").await.body);
    post(
        s.console,
        cookie,
        "/backtest",
        &[
            ("csrf", &token),
            ("name", "candidate.yaml"),
            ("rules", rules),
            ("events", events),
            ("labels", labels),
        ],
    )
    .await
}

/// Reloads the page until `want` is in it (bounded: a stuck run fails).
async fn wait_for(s: &Served, cookie: &str, want: &str) -> String {
    for _ in 0..3000 {
        let body = get(s.console, cookie, "/backtest").await.body;
        if body.contains(want) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the backtest page never showed {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_the_page_but_cannot_start_a_backtest() {
    let (dir, recorded) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    std::fs::write(recorded.path().join("day.jsonl"), "").expect("events");
    let s = start_with_dir(dir.path(), recorded.path()).await;
    let reader = login(s.console, READER).await;
    let r = get(s.console, &reader, "/backtest").await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("id=\"backtest-form\""), "{}", r.body);
    assert!(r.body.contains("needs the <code>override</code> role"));
    // The page's frame has a CSRF token (the sign-out form): a POST with it
    // is refused for the role, not the token.
    let r = start_backtest(&s, &reader, &throttle_at_0_6(), "day.jsonl", "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = get(s.console, &reader, "/backtest").await;
    assert!(!r.body.contains("id=\"backtest-job\""), "nothing started");
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_outside_the_listing_are_refused_and_start_nothing() {
    let (dir, recorded) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    std::fs::write(recorded.path().join("day.jsonl"), "").expect("events");
    std::fs::write(dir.path().join("secret.jsonl"), "").expect("outside");
    let s = start_with_dir(dir.path(), recorded.path()).await;
    let analyst = login(s.console, ANALYST).await;
    let page = get(s.console, &analyst, "/backtest").await.body;
    assert!(page.contains("<option value=\"day.jsonl\""), "{page}");
    let outside = dir.path().join("secret.jsonl").display().to_string();
    for (events, labels) in [
        ("../secret.jsonl", ""),
        (outside.as_str(), ""),
        ("sub/day.jsonl", ""),
        ("..", ""),
        ("missing.jsonl", ""),
        ("day.jsonl", "../labels.csv"),
    ] {
        let r = start_backtest(&s, &analyst, &throttle_at_0_6(), events, labels).await;
        assert_eq!(r.status, 400, "{events} {labels}: {}", r.body);
        assert!(r.body.contains("id=\"backtest-error\""), "{}", r.body);
    }
    let r = get(s.console, &analyst, "/backtest").await;
    assert!(!r.body.contains("id=\"backtest-job\""), "nothing started");
    s.service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rules_file_shows_its_line_and_reason_and_starts_nothing() {
    let (dir, recorded) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    std::fs::write(recorded.path().join("day.jsonl"), "").expect("events");
    let s = start_with_dir(dir.path(), recorded.path()).await;
    let analyst = login(s.console, ANALYST).await;
    let bad = throttle_at_0_6().replace("throttle: 0.6,", "throttle: high,");
    let line = bad
        .lines()
        .position(|l| l.contains("throttle: high"))
        .expect("the changed line")
        + 1;
    let r = start_backtest(&s, &analyst, &bad, "day.jsonl", "").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains(&format!("candidate.yaml:{line}:")),
        "the compiler's file and line {line}: {}",
        r.body
    );
    assert!(
        r.body.contains("throttle: high"),
        "the text is kept in the form"
    );
    let r = get(s.console, &analyst, "/backtest").await;
    assert!(!r.body.contains("id=\"backtest-job\""), "nothing started");
    s.service.shutdown().await.expect("shutdown");
}

/// Opens the named pipe for writing (blocks until the reader opens it),
/// writes `bytes` and closes it.
async fn feed_pipe(pipe: &Path, bytes: &[u8]) {
    let (pipe, bytes) = (pipe.to_path_buf(), bytes.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&pipe)
            .expect("pipe");
        w.write_all(&bytes).expect("written");
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_backtest_runs_at_a_time_and_shows_the_accounts_a_lower_throttle_moves_up() {
    let (dir, recorded) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    recorded_traffic(recorded.path(), 120, 4.0);
    let pipe = recorded.path().join("live.jsonl");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let s = start_with_dir(dir.path(), recorded.path()).await;
    let analyst = login(s.console, ANALYST).await;
    let rules = throttle_at_0_6();

    let r = start_backtest(&s, &analyst, &rules, "live.jsonl", "labels.csv").await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The first waits on the pipe: the second is refused.
    let r = start_backtest(&s, &analyst, &rules, "day.jsonl", "").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("one runs at a time"), "{}", r.body);
    let running = get(s.console, &analyst, "/backtest").await.body;
    assert!(running.contains("id=\"progress\""), "{running}");
    assert!(
        running.contains("http-equiv=\"refresh\""),
        "it reloads itself"
    );

    let events = std::fs::read(recorded.path().join("day.jsonl")).expect("events");
    feed_pipe(&pipe, &events).await;
    wait_for(&s, &analyst, "id=\"pass\">2<").await;
    feed_pipe(&pipe, &events).await;
    let done = wait_for(&s, &analyst, "id=\"backtest-summary\"").await;
    assert!(
        !done.contains("http-equiv=\"refresh\""),
        "finished: no reload"
    );
    let summary = &done[done.find("id=\"backtest-summary\"").expect("summary")..];
    let up: u64 = summary
        .split("moved up ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("moved up N");
    assert!(up > 0, "a lower THROTTLE moves accounts up: {summary}");
    assert!(done.contains("id=\"bt-changes\""), "{done}");
    assert!(done.contains("class=\"account\" href=\"/account?tenant="));
    let by_rule = &done[done.find("id=\"bt-by-rule\"").expect("by rule")..];
    let by_rule = &by_rule[..by_rule.find("</table>").expect("table end")];
    assert!(
        by_rule.contains("decision: thresholds or minimum evidence"),
        "{by_rule}"
    );
    assert!(done.contains("id=\"bt-scorecard\""), "labels give deltas");
    assert!(done.contains("recall (throttled/suspended/charged)"));

    // Finished: the next one starts.
    let r = start_backtest(&s, &analyst, &rules, "day.jsonl", "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let done = wait_for(&s, &analyst, "id=\"backtest-summary\"").await;
    assert!(
        !done.contains("id=\"bt-scorecard\""),
        "no labels, no scorecard"
    );
    s.service.shutdown().await.expect("shutdown");
}
