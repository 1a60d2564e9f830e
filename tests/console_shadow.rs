//! The rules page's shadow rules: what they would have done. A weak
//! enforcing rule leaves assistant accounts without an action; a strong
//! shadow rule active on them would move them up a rung, and the page
//! lists them under it (and not under a shadow rule that would not).

mod common;

use common::console::{assistants, get, ingest, login, principals, start_with, ANALYST, READER};

const RULES: &str = "version: shadow-test
decision:
  thresholds: { flag: 0.5, throttle: 0.7, suspend: 0.88 }
  hysteresis: 0.15
  cooldown_minutes: 60
  throttle_mps: 0.5
  min_evidence:
    flag: { sessions: 1, users: 1 }
    throttle: { sessions: 1, users: 1 }
    suspend: { sessions: 1, users: 1 }
rules:
  - id: weak
    version: 1
    description: an enforcing rule too weak to act alone
    score: 0.3
    when: msg.inbound
  - id: strong_trial
    version: 1
    mode: shadow
    description: a strong trial
    score: 0.9
    when: msg.inbound
  - id: faint_trial
    version: 1
    mode: shadow
    description: a trial too faint to move anything
    score: 0.01
    when: msg.inbound
";

fn cell<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"moves-{id}\""))
        .unwrap_or_else(|| panic!("no cell {id}: {body}"));
    let rest = &body[at..];
    &rest[..rest.find("</td>").expect("cell end")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_rule_lists_the_accounts_it_would_move_up() {
    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).expect("rules");
    let engine = format!("rules = {:?}", rules.display().to_string());
    let s = start_with(dir.path(), &engine, &principals()).await;
    let grpc = s.service.grpc_addr().expect("grpc");
    ingest(grpc, Some(ANALYST), assistants(&["sh-1", "sh-2"])).await;
    let reader = login(s.console, READER).await;
    let queue = get(s.console, &reader, "/").await.body;
    assert!(
        queue.contains("of <b id=\"total\">0</b>"),
        "nothing in force: {queue}"
    );
    let body = get(s.console, &reader, "/rules").await.body;
    let strong = cell(&body, "strong_trial");
    assert!(strong.contains("<b class=\"moved\">2</b>"), "{strong}");
    for a in ["sh-1", "sh-2"] {
        assert!(
            strong.contains(&format!(
                "account={a}\">bsp-test / {a}</a> NONE -&gt; SUSPEND"
            )),
            "{strong}"
        );
    }
    let faint = cell(&body, "faint_trial");
    assert!(faint.contains("<b class=\"moved\">0</b>"), "{faint}");
    assert!(!faint.contains("sh-1"));
    s.service.shutdown().await.expect("shutdown");
}
