//! The `satpam` binary as a user runs it: replay determinism, malformed
//! lines, rule checking.

mod common;

use std::path::Path;
use std::process::Command;

use common::{traffic, Script};

fn satpam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_satpam"))
}

fn write_events(path: &Path, bad_lines_at: &[usize]) {
    let mut events = traffic(Script::Assistant, "bad", 25, 120, true);
    events.extend(traffic(Script::SupportBot, "good", 25, 120, true));
    events.sort_by_key(|m| m.timestamp_ms);
    let mut lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    for &at in bad_lines_at {
        lines.insert(
            at - 1,
            "{\"eventId\": \"x\", \"text\": \"secret words\", \"direction\": 7".to_string(),
        );
    }
    std::fs::write(path, lines.join("\n") + "\n").expect("write events");
}

#[test]
fn replay_twice_gives_byte_identical_signals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.jsonl");
    write_events(&events, &[3, 100]);
    let mut outputs = Vec::new();
    for run in 0..2 {
        let out = dir.path().join(format!("signals{run}.jsonl"));
        let res = satpam()
            .args(["replay", "--events"])
            .arg(&events)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let summary = String::from_utf8_lossy(&res.stdout).to_string();
        assert!(summary.contains("malformed"), "{summary}");
        assert!(
            summary.contains("line 3:") && summary.contains("line 100:"),
            "{summary}"
        );
        assert!(!summary.contains("secret words"), "summary leaked text");
        outputs.push(std::fs::read(&out).expect("signals"));
    }
    assert!(!outputs[0].is_empty(), "expected signals");
    assert_eq!(outputs[0], outputs[1]);
    let text = String::from_utf8_lossy(&outputs[0]);
    assert!(text.contains("\"accountId\":\"bad\""));
    assert!(
        !text.contains("\"accountId\":\"good\""),
        "legitimate account actioned"
    );
    assert!(
        !text.contains("Certainly"),
        "signals must never carry message text"
    );
}

#[test]
fn invalid_events_are_reported_at_their_line_after_blank_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.jsonl");
    let mut events = traffic(Script::SupportBot, "good", 1, 10, true);
    events[1].account_id.clear();
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    // Line 1, two blank lines, then the invalid event on line 4.
    std::fs::write(
        &path,
        format!("{}\n\n\n{}\n", lines[0], lines[1..].join("\n")),
    )
    .expect("write");
    let res = satpam()
        .args(["replay", "--events"])
        .arg(&path)
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&res.stdout);
    assert!(
        out.contains("line 4: invalid event: missing required field `account_id`"),
        "{out}"
    );
}

#[test]
fn replay_reads_length_delimited_protobuf() {
    use prost::Message;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.pb");
    let mut bytes = Vec::new();
    for e in traffic(Script::Assistant, "bad", 25, 120, true) {
        e.encode_length_delimited(&mut bytes).expect("encode");
    }
    std::fs::write(&path, bytes).expect("write");
    let res = satpam()
        .args(["replay", "--json", "--events"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(res.status.success());
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).expect("json summary");
    assert_eq!(v["malformed"], 0);
    assert!(v["signals"]["SUSPEND"].as_u64().unwrap_or(0) >= 1, "{v}");
}

#[test]
fn rules_check_accepts_the_default_pack_and_names_the_line_of_an_error() {
    let ok = satpam()
        .args([
            "rules",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules/default.yaml"),
        ])
        .output()
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: t\nrules:\n  - id: fine\n    version: 1\n    description: ok\n    score: 0.5\n    when: msg.inbound\n  - id: broken\n    version: 1\n    description: typo\n    score: 0.5\n    when: account.user_24h > 3\n",
    )
    .expect("write");
    let res = satpam()
        .args(["rules", "check"])
        .arg(&bad)
        .output()
        .expect("runs");
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("bad.yaml:12:") && err.contains("unknown feature `account.user_24h`"),
        "{err}"
    );
}

#[test]
fn auth_hash_token_prints_the_sha256_of_the_token_from_stdin() {
    use std::io::Write;
    let run = |input: &str| {
        let mut child = satpam()
            .args(["auth", "hash-token"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("satpam auth hash-token");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("output")
    };
    // The trailing newline of `echo` is not part of the token.
    let out = run("abc\n");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
    );
    let empty = run("");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no token on stdin"));
}
