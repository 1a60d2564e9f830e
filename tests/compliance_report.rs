//! `satpam report` as a BSP runs it: the numbers in the report are the
//! account's evidence, ids are escaped in HTML and Markdown, message text
//! never appears, and a running service gives the same report as a replay.

mod common;

use std::path::Path;
use std::process::Command;

use common::embedded::Embedded;
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::account_state::account_state;

/// In every message text: must appear in no report.
const MARKER: &str = "ZQX-MARKER-7731";

fn satpam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_satpam"))
}

/// An assistant (`big`, 25 users) and a support bot (`shop`) of `tenant`,
/// every text carrying [`MARKER`].
fn events(tenant: &str, big: &str) -> Vec<pb::MessageEvent> {
    let mut events = traffic(Script::Assistant, big, 25, 180, true);
    events.extend(traffic(Script::SupportBot, "shop", 25, 180, true));
    events.sort_by_key(|m| m.timestamp_ms);
    for e in &mut events {
        e.tenant_id = tenant.to_string();
        e.text = format!("{} {MARKER}", e.text);
    }
    events
}

fn write(dir: &Path, events: &[pb::MessageEvent]) -> std::path::PathBuf {
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    let path = dir.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    path
}

fn report(args: &[&str]) -> String {
    let out = satpam().arg("report").args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The account's state as the library has it after the same replay.
fn replayed_state(events: Vec<pb::MessageEvent>, tenant: &str, account: &str) -> pb::AccountState {
    let policy = satpam::decide::CountryPolicy::default();
    let (_, replayer) = common::replay_default_pack(events, policy.clone());
    let (_, engine) = replayer.finish();
    let mut entry = engine.account(tenant, account).expect("tracked");
    account_state(
        &mut entry,
        0,
        &satpam::RuleSet::default_pack(),
        &policy,
        None,
    )
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

#[test]
fn the_reports_numbers_are_the_accounts_evidence() {
    let dir = tempfile::tempdir().expect("dir");
    let evs = events("bsp-test", "big");
    let file = write(dir.path(), &evs);
    let f = file.to_str().expect("utf-8");
    let state = replayed_state(evs, "bsp-test", "big");
    let ev = state.evidence.clone().expect("evidence");
    let feature = |n: &str| {
        state
            .features
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.value)
            .expect(n)
    };

    let json: serde_json::Value = serde_json::from_str(&report(&[
        "--events",
        f,
        "--tenant",
        "bsp-test",
        "--account",
        "big",
        "--format",
        "json",
    ]))
    .expect("json");
    assert_eq!(json["action"], "SUSPEND", "{json}");
    // The script's 25 users, as the evidence counts them.
    assert_eq!(json["users_24h"], 25);
    assert_eq!(json["users_24h"], ev.users);
    assert_eq!(json["sessions_24h"], ev.conversations);
    assert_eq!(json["events_1h"], ev.events);
    assert_eq!(json["score"], state.score);
    for fv in &state.features {
        assert_eq!(json["features"][&fv.name], fv.value, "{}", fv.name);
    }
    let rules: Vec<(String, u64)> = ev
        .rules
        .iter()
        .map(|r| (r.rule_id.clone(), u64::from(r.rule_version)))
        .collect();
    let got: Vec<(String, u64)> = json["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_string(),
                r["version"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, rules);
    assert!(!rules.is_empty());
    for (hit, r) in ev
        .rules
        .iter()
        .zip(json["rules"].as_array().expect("rules"))
    {
        for fv in &hit.features {
            assert_eq!(
                r["features"][&fv.name], fv.value,
                "{} {}",
                hit.rule_id, fv.name
            );
        }
        assert!(
            r["checks"].as_array().is_some_and(|c| !c.is_empty()),
            "{}: no threshold read from its condition",
            hit.rule_id
        );
    }

    let md = report(&["--events", f, "--tenant", "bsp-test", "--account", "big"]);
    for want in [
        "# Compliance report: bsp-test / big".to_string(),
        "Risk level: severe. Action in force: SUSPEND.".to_string(),
        format!(
            "with {} sessions and 25 users in the last 24 hours ({} events in the last hour)",
            ev.conversations, ev.events
        ),
        format!(
            "No conversation of the {} sessions in the last 24 hours was handed to a person.",
            ev.conversations
        ),
        format!(
            "{} of the {} user messages read in the last hour ask for open-domain work",
            pct(feature("account.open_domain_task_share")),
            feature("account.scanned_inbound_1h")
        ),
        "Offer a way to reach a human".to_string(),
        "outcome enforce".to_string(),
        "| 2026-01-15 | enforce | ai-provider-terms |".to_string(),
    ] {
        assert!(md.contains(&want), "missing {want:?} in\n{md}");
    }

    // A legitimate support bot: no rule, nothing to change but the checklist.
    let shop = report(&["--events", f, "--tenant", "bsp-test", "--account", "shop"]);
    assert!(shop.contains("Risk level: low"), "{shop}");
    assert!(
        shop.contains("No rule is active for this account."),
        "{shop}"
    );
}

#[test]
fn ids_are_escaped_and_no_message_text_reaches_any_format() {
    let dir = tempfile::tempdir().expect("dir");
    let tenant = "bsp<b>\"&'x";
    let account = "acc<script>alert(1)</script>|*";
    let file = write(dir.path(), &events(tenant, account));
    let f = file.to_str().expect("utf-8");
    let base = ["--events", f, "--tenant", tenant, "--account", account];
    let html = report(&[&base[..], &["--format", "html"]].concat());
    assert!(
        html.contains("bsp&lt;b&gt;&quot;&amp;&#39;x / acc&lt;script&gt;alert(1)&lt;/script&gt;|*"),
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    // Self-contained: no scripts, no links or sources to fetch.
    for banned in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in\n{html}");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<style>"));

    let md = report(&base);
    assert!(
        md.contains(
            "# Compliance report: bsp\\<b\\>\"&'x / acc\\<script\\>alert(1)\\</script\\>\\|\\*"
        ),
        "{md}"
    );
    let json = report(&[&base[..], &["--format", "json"]].concat());
    for (name, out) in [("html", &html), ("markdown", &md), ("json", &json)] {
        assert!(!out.contains(MARKER), "message text in the {name} report");
        assert!(
            !out.contains("photosynthesis"),
            "message text in the {name} report"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_service_gives_the_replays_report() {
    let serve = Embedded::start();
    let evs = events("bsp-test", "big");
    let batches: Vec<pb::EventBatch> = evs
        .chunks(500)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let ch = common::service::grpc_channel(serve.grpc).await;
    let mut acks = pb::ingest_client::IngestClient::new(ch)
        .ingest(tokio_stream::iter(batches))
        .await
        .expect("ingest")
        .into_inner();
    while let Some(a) = acks.message().await.expect("ack") {
        assert_eq!(a.rejected, 0, "{:?}", a.rejections);
    }
    let file = write(serve.dir.path(), &evs);
    let grpc = serve.grpc.to_string();
    let (from_grpc, from_file) = tokio::task::spawn_blocking(move || {
        let args = [
            "--tenant",
            "bsp-test",
            "--account",
            "big",
            "--format",
            "json",
        ];
        (
            report(&[&args[..], &["--grpc", &grpc]].concat()),
            report(&[&args[..], &["--events", file.to_str().expect("utf-8")]].concat()),
        )
    })
    .await
    .expect("reports");
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&from_grpc).expect("json"),
        serde_json::from_str(&from_file).expect("json"),
    );
    for key in [
        "action",
        "users_24h",
        "sessions_24h",
        "events_1h",
        "features",
        "rules",
        "policy",
        "as_of",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert!(!from_grpc.contains(MARKER));
}
