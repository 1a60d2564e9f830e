//! `SATPAM_LOG_FORMAT=json` through the binary: `satpam serve` judges events
//! that carry text, refuses a broken rules file on SIGHUP and stops on
//! SIGTERM; every line it logged is one JSON object with the text form's
//! fields, and no message text appears anywhere in the log.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{free_port, get_body};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use tokio_stream::StreamExt;

/// Text that must never reach a log line.
const MARKER: &str = "zebra-quartz-7731";

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_and_never_carry_message_text() {
    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    let grpc = format!("127.0.0.1:{}", free_port());
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .arg("serve")
        .current_dir(dir.path())
        .env("SATPAM_ENGINE__RULES", &rules)
        .env("SATPAM_ENGINE__RELOAD_POLL_MS", "0")
        .env("SATPAM_GRPC__LISTEN", &grpc)
        .env("SATPAM_METRICS__LISTEN", metrics.to_string())
        .env("SATPAM_LOG", "info,satpam=debug")
        .env("SATPAM_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("satpam serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get_body(metrics, "/readyz").is_ok_and(|b| b.starts_with("ready")) {
        assert!(Instant::now() < deadline, "not ready");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Events with text (the marker in every message), and one that fails
    // validation (no account) with the marker in its text too.
    let mut events = traffic(Script::Assistant, "acct-json", 20, 60, true);
    for e in &mut events {
        e.text = format!("{} {MARKER}", e.text);
    }
    let mut bad = events[0].clone();
    bad.account_id.clear();
    bad.event_id = "bad-1".into();
    events.push(bad);
    let ch = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = pb::ingest_client::IngestClient::new(ch);
    let batches: Vec<pb::EventBatch> = events
        .chunks(200)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let n = batches.len();
    let mut acks = client
        .ingest(tokio_stream::iter(batches))
        .await
        .expect("ingest")
        .into_inner();
    let mut got = 0;
    while let Some(a) = acks.next().await {
        a.expect("ack");
        got += 1;
    }
    assert_eq!(got, n);

    // A refused reload logs the file and line.
    std::fs::write(&rules, "version: x\nrules:\n  - id: r\n").expect("broken rules");
    signal(child.id(), "-HUP");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get_body(metrics, "/metrics")
        .is_ok_and(|b| b.contains("satpam_rule_reloads_total{result=\"error\"} 1"))
    {
        assert!(Instant::now() < deadline, "the reload was not refused");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(child.id(), "-TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");

    assert!(
        !stderr.contains(MARKER),
        "message text in the log:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut messages = Vec::new();
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v.get(field).is_some(), "no {field} in {l}");
        }
        messages.push(v);
    }
    let has = |msg: &str| {
        messages
            .iter()
            .any(|v| v["message"].as_str().is_some_and(|m| m.contains(msg)))
    };
    assert!(has("satpam serving"), "{stderr}");
    assert!(has("rules reload refused"), "{stderr}");
    assert!(has("stopped cleanly"), "{stderr}");
    // The event's structured fields are top-level keys, as in the text form.
    let refused = messages
        .iter()
        .find(|v| v["message"] == "rules reload refused; the running rules stay in force")
        .expect("refusal");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("rules.yaml:3")),
        "{refused}"
    );
    assert_eq!(refused["level"], "ERROR");
}

#[test]
fn an_unknown_log_format_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .arg("serve")
        .current_dir(dir.path())
        .env("SATPAM_LOG_FORMAT", "xml")
        .env("SATPAM_GRPC__LISTEN", format!("127.0.0.1:{}", free_port()))
        .env(
            "SATPAM_METRICS__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .output()
        .expect("satpam serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SATPAM_LOG_FORMAT: `xml`: expected `text` or `json`"),
        "{err}"
    );
}
