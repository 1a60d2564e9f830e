//! Progress bars of `satpam replay` and `satpam eval` through the binary:
//! nothing but the results when stderr is a pipe, a bar when it is a
//! terminal (run under `script`, which gives the command a pseudo-terminal).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use satpam_scenario::{Scenario, ScenarioConfig, TextBank, DEFAULT_START_MS};

/// A small labelled scenario: events.jsonl and labels.csv in `dir`.
fn scenario(dir: &Path) {
    let config = ScenarioConfig {
        accounts: 20,
        hours: 1.0,
        seed: 7,
        metadata_only: false,
        start_ms: DEFAULT_START_MS,
    };
    let s = Scenario::generate(&config, Arc::new(TextBank::builtin()));
    s.write_events_jsonl(std::fs::File::create(dir.join("events.jsonl")).expect("events"))
        .expect("write events");
    s.write_labels_csv(std::fs::File::create(dir.join("labels.csv")).expect("labels"))
        .expect("write labels");
}

const SATPAM: &str = env!("CARGO_BIN_EXE_satpam");

fn commands() -> [(&'static str, Vec<&'static str>); 2] {
    [
        (
            "replay",
            vec!["replay", "--events", "events.jsonl", "--json"],
        ),
        (
            "eval",
            vec![
                "eval",
                "--events",
                "events.jsonl",
                "--labels",
                "labels.csv",
                "--json",
            ],
        ),
    ]
}

#[test]
fn quiet_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    scenario(dir.path());
    for (name, args) in commands() {
        let out = Command::new(SATPAM)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect(name);
        assert!(out.status.success(), "{name}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\u{1b}')
                && !stderr.contains('\r')
                && !stderr.contains(&format!("{name} [")),
            "{name} drew progress on a pipe: {stderr:?}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap_or_else(|e| {
            panic!("{name}: stdout is not the JSON result alone ({e}): {stdout}")
        });
    }
}

#[test]
fn a_bar_on_a_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    scenario(dir.path());
    for (name, args) in commands() {
        // `script -qec CMD /dev/null`: CMD on a pseudo-terminal, its output on ours.
        let cmd = format!("{SATPAM} {} >/dev/null", args.join(" "));
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(dir.path())
            .output()
            .expect("script (util-linux)");
        assert!(out.status.success(), "{name}: {out:?}");
        let tty = String::from_utf8_lossy(&out.stdout);
        assert!(
            tty.contains(&format!("{name} [")),
            "{name}: no bar in {tty:?}"
        );
        assert!(
            tty.contains("MiB") || tty.contains("KiB"),
            "{name}: bytes in {tty:?}"
        );
    }
}
