//! The web console in a real headless browser (Debian's `chromium` driven
//! through `chromedriver` over WebDriver): sign in with a token, load the
//! queue of a service fed assistant traffic, filter it, open an account and
//! read its evidence, set a deny override with a reason and see it on the
//! page and in the audit trail, clear it with a reason; then run a
//! backtest of the default pack with THROTTLE at 0.6 instead of 0.7 (the
//! candidate read from a file into the form) over recorded scenario
//! traffic and see the accounts it moves up. Screenshots go to
//! `target/tmp/console-screenshots/`.
//!
//! Ignored by default (it needs chromium and chromium-driver); `.ci/run`
//! installs them and runs it with `--ignored`.

mod common;

use std::path::PathBuf;

use common::console::{
    assistants, ingest, principals, recorded_traffic, start, throttle_at_0_6, ANALYST,
};
use satpam_testkit::webdriver::{chromedriver, Browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn an_analyst_signs_in_filters_the_queue_and_denies_an_account() {
    let driver = chromedriver().expect("chromedriver on PATH (apt-get install chromium-driver)");
    let dir = tempfile::tempdir().expect("dir");
    let recorded = dir.path().join("recorded");
    std::fs::create_dir(&recorded).expect("recorded dir");
    recorded_traffic(&recorded, 120, 4.0);
    let candidate = dir.path().join("throttle-0.6.yaml");
    std::fs::write(&candidate, throttle_at_0_6()).expect("candidate");
    let extra = format!(
        "backtest_dir = {:?}\n{}",
        recorded.display().to_string(),
        principals()
    );
    let s = start(dir.path(), &extra).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    assert!(
        ingest(
            grpc,
            Some(ANALYST),
            assistants(&["web-1", "web-2", "web-3"])
        )
        .await
            > 0
    );
    let base = format!("http://{}", s.console);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let profile = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let b = Browser::start(&driver, &profile);
        b.goto(&format!("{base}/"));
        assert!(
            b.url().ends_with("/login"),
            "signed out: the login page, at {}",
            b.url()
        );
        b.type_into("#token", ANALYST);
        b.click("#sign-in");
        b.wait_text("#who", "ana");
        assert!(b.text("#queue").contains("web-2"), "{}", b.text("#queue"));
        b.screenshot(&shots.join("queue.png"));

        b.type_into("#f-tenant", "bsp-other");
        b.click("#filter");
        b.wait_url("tenant=bsp-other");
        assert_eq!(b.text("#total"), "0", "another tenant has none");
        b.goto(&format!("{base}/"));
        b.type_into("#f-tenant", "bsp-test");
        b.click("#filter");
        b.wait_url("tenant=bsp-test");
        assert_eq!(b.text("#total"), "3");

        b.click("a.account");
        b.wait_url("/account?");
        let account = b.text("#account-id");
        assert!(account.starts_with("web-"), "{account}");
        let action = b.text("#action");
        assert!(
            ["FLAG", "THROTTLE", "SUSPEND"].contains(&action.as_str()),
            "{action}"
        );
        assert!(
            b.text("#history").contains(&action),
            "the signal that set it is in the history"
        );
        assert!(
            b.source().contains("the rule needs it"),
            "conditions in words"
        );
        b.find("#score-chart");
        b.screenshot(&shots.join("account.png"));

        b.type_into("#reason", "general assistant confirmed by review");
        b.click("#decide");
        b.wait_text("#override", "deny");
        let shown = b.text("#override");
        assert!(
            shown.contains("deny") && shown.contains("general assistant confirmed by review"),
            "{shown}"
        );
        b.screenshot(&shots.join("account-denied.png"));

        b.type_into("#clear-reason", "appeal upheld on review");
        b.click("#clear");
        b.wait_text("#override", "none");

        b.goto(&format!("{base}/backtest"));
        b.type_into("#rules-file", &candidate.display().to_string());
        b.wait_text("#rules-loaded", "read throttle-0.6.yaml");
        b.click("#labels option[value='labels.csv']");
        b.click("#run-backtest");
        b.wait_url("/backtest");
        b.wait_text_reloading("#backtest-summary", "moved up", 600);
        let summary = b.text("#backtest-summary");
        assert!(!summary.contains("moved up 0,"), "{summary}");
        assert!(
            b.text("#bt-by-rule")
                .contains("decision: thresholds or minimum evidence"),
            "{}",
            b.text("#bt-by-rule")
        );
        assert!(
            b.text("#bt-changes").contains("up"),
            "changed accounts listed"
        );
        assert!(b.text("#bt-scorecard").contains("recall"));
        b.screenshot(&shots.join("backtest.png"));
        account
    })
    .await
    .map(|account| {
        let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
        assert!(
            audit.lines().any(|l| l.contains("\"override_set\"")
                && l.contains(&format!("\"{account}\""))
                && l.contains("general assistant confirmed by review")
                && l.contains("\"ana\"")),
            "{audit}"
        );
        assert!(
            audit.lines().any(|l| l.contains("\"override_cleared\"")
                && l.contains(&format!("\"{account}\""))
                && l.contains("appeal upheld on review")),
            "{audit}"
        );
    })
    .expect("browser run");
    s.service.shutdown().await.expect("shutdown");
}
