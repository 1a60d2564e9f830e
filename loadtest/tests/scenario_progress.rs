//! `satpam-loadgen scenario` shows progress only on a terminal: through the
//! binary with stderr piped (the summary alone) and under `script` (a
//! pseudo-terminal: the spinner and the writing bar).

use std::process::Command;

const LOADGEN: &str = env!("CARGO_BIN_EXE_satpam-loadgen");

fn args(dir: &std::path::Path) -> Vec<String> {
    [
        "scenario",
        "--accounts",
        "20",
        "--hours",
        "1",
        "--seed",
        "3",
        "--corpora",
        "no-such-dir",
        "--out-events",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        dir.join("e.jsonl").display().to_string(),
        "--out-labels".into(),
        dir.join("l.csv").display().to_string(),
    ])
    .collect()
}

#[test]
fn quiet_on_a_pipe_and_a_bar_on_a_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(LOADGEN)
        .args(args(dir.path()))
        .output()
        .expect("scenario");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scenario: 20 accounts"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r') && !stderr.contains("writing ["),
        "progress on a pipe: {stderr:?}"
    );

    let cmd = format!("{LOADGEN} {}", args(dir.path()).join(" "));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    assert!(out.status.success(), "{out:?}");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("writing ["), "no bar in {tty:?}");
    assert!(
        tty.contains("generating 20 accounts"),
        "no spinner in {tty:?}"
    );
    assert!(tty.contains("scenario: 20 accounts"), "{tty:?}");
}
