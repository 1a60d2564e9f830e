//! `satpam-loadgen scenario --family`: `baseline` is the default and
//! byte-identical to leaving the flag out, `adversarial` labels accounts
//! with its own archetypes, and an unknown family is refused by name.

use std::path::Path;
use std::process::Command;

const LOADGEN: &str = env!("CARGO_BIN_EXE_satpam-loadgen");

/// Runs `scenario` into `dir/<tag>.{jsonl,csv}` with `extra` arguments.
fn scenario(dir: &Path, tag: &str, extra: &[&str]) -> std::process::Output {
    let events = dir.join(format!("{tag}.jsonl"));
    let labels = dir.join(format!("{tag}.csv"));
    Command::new(LOADGEN)
        .args([
            "scenario",
            "--accounts",
            "40",
            "--hours",
            "2",
            "--seed",
            "4",
        ])
        .args(["--corpora", "no-such-dir"])
        .arg("--out-events")
        .arg(&events)
        .arg("--out-labels")
        .arg(&labels)
        .args(extra)
        .output()
        .expect("satpam-loadgen runs")
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("output file")
}

#[test]
fn family_flag_selects_the_generator() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    for (tag, extra) in [
        ("default", &[][..]),
        ("baseline", &["--family", "baseline"][..]),
        ("adversarial", &["--family", "adversarial"][..]),
    ] {
        let out = scenario(d, tag, extra);
        assert!(out.status.success(), "{tag}: {out:?}");
    }
    assert_eq!(read(d, "default.jsonl"), read(d, "baseline.jsonl"));
    assert_eq!(read(d, "default.csv"), read(d, "baseline.csv"));
    assert_ne!(read(d, "default.jsonl"), read(d, "adversarial.jsonl"));
    let labels = String::from_utf8(read(d, "adversarial.csv")).expect("utf-8");
    let rows: Vec<&str> = labels.lines().skip(1).collect();
    assert_eq!(rows.len(), 40);
    let baseline_names = ["support_bot", "assistant_distributor", "evasive_assistant"];
    for row in rows {
        let name = row.split(',').nth(1).expect("archetype column");
        assert!(!baseline_names.contains(&name), "{row}");
    }

    let out = scenario(d, "bad", &["--family", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown family `nope` (one of: baseline, adversarial)"),
        "{err}"
    );
}
