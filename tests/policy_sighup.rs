//! `satpam serve` as a process: SIGHUP reloads the country policy like the
//! rules (a broken file refused with its line, the policy in force kept; a
//! good one taken), with polling off so only the signal reloads.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::{free_addr, metric, wait_until};
use satpam_testkit::process::Served;

const GOOD: &str =
    "version: p2\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n";

#[test]
fn sighup_reloads_the_policy_keeping_the_old_on_error() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("countries.yaml");
    std::fs::write(&policy, include_str!("../rules/countries.yaml")).expect("policy");
    let config = dir.path().join("satpam.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\npolicy = \"{}\"\nreload_poll_ms = 0\n[grpc]\nlisten = \"\"\n",
            policy.display()
        ),
    )
    .expect("config");
    let addr = free_addr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .env("SATPAM_METRICS__LISTEN", addr.to_string())
        .env("SATPAM_LOG", "info");
    let log = dir.path().join("serve.log");
    let child = Served::spawn(cmd, addr, &log, Duration::from_secs(20));
    let reloads = |result: &str| {
        metric(
            addr,
            &format!("satpam_policy_reloads_total{{result=\"{result}\"}}"),
        )
    };
    assert_eq!((reloads("ok"), reloads("error")), (Some(0.0), Some(0.0)));

    std::fs::write(
        &policy,
        "version: broken\noutcomes:\n  - id: terms\n    where: default\n    outcome: ban\n",
    )
    .expect("write");
    child.signal("-HUP");
    wait_until("the refused reload", Duration::from_secs(20), || {
        reloads("error") == Some(1.0)
    });
    assert_eq!(reloads("ok"), Some(0.0), "the policy in force stays");

    std::fs::write(&policy, GOOD).expect("write");
    child.signal("-HUP");
    wait_until("the good reload", Duration::from_secs(20), || {
        reloads("ok") == Some(1.0)
    });

    let status = child.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(
        stderr.contains("country policy reload refused"),
        "the refusal is logged: {stderr}"
    );
    assert!(
        stderr.contains("countries.yaml:5: outcomes[0].outcome: unknown variant `ban`"),
        "with file and line: {stderr}"
    );
    assert!(
        stderr.contains("old_version=\"2026-12-01\"") && stderr.contains("version=\"p2\""),
        "the load names the old and new versions: {stderr}"
    );
}
