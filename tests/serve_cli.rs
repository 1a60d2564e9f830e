//! `satpam serve` as a process without a broker: environment overrides,
//! SIGHUP reload of the rules and of the country policy (a bad file
//! refused, a good one taken), SIGTERM exit.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::{free_addr, metric, wait_until};
use satpam_testkit::process::Served;

fn wait_for(what: &str, f: impl FnMut() -> bool) {
    wait_until(what, Duration::from_secs(20), f);
}

/// Now, in the metric's unit and precision (seconds, to the millisecond).
fn unix_seconds() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    d.as_millis() as f64 / 1e3
}

/// Starts `satpam serve --config <dir>/satpam.toml` (the file holding
/// `toml`) in `dir` with metrics on a free port; returns it, that address
/// and its log file.
fn serve_in(
    dir: &std::path::Path,
    toml: &str,
    log_level: &str,
) -> (Served, std::net::SocketAddr, std::path::PathBuf) {
    let config = dir.join("satpam.toml");
    std::fs::write(&config, toml).expect("config");
    let addr = free_addr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir)
        .env("SATPAM_METRICS__LISTEN", addr.to_string())
        .env("SATPAM_LOG", log_level);
    let log = dir.join("serve.log");
    let child = Served::spawn(cmd, addr, &log, Duration::from_secs(20));
    (child, addr, log)
}

#[test]
fn sighup_reloads_rules_keeping_the_old_on_error_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    // The file sets a port the environment overrides; polling is off, so only SIGHUP reloads.
    let (child, addr, log) = serve_in(
        dir.path(),
        &format!(
            "[engine]\nrules = \"{}\"\nreload_poll_ms = 0\n[grpc]\nlisten = \"\"\n[metrics]\nlisten = \"127.0.0.1:1\"\n",
            rules.display()
        ),
        "warn",
    );
    let reloads = |result: &str| {
        metric(
            addr,
            &format!("satpam_rule_reloads_total{{result=\"{result}\"}}"),
        )
    };
    assert_eq!(reloads("error"), Some(0.0));
    let loaded_at = metric(addr, "satpam_rules_loaded_timestamp_seconds").expect("loaded at");

    std::fs::write(
        &rules,
        "version: broken\nrules:\n  - id: x\n    when: \"nope >\"\n",
    )
    .expect("write");
    child.signal("-HUP");
    wait_for("the refused reload", || reloads("error") == Some(1.0));
    assert_eq!(reloads("ok"), Some(0.0), "the old rules stay");
    assert_eq!(
        metric(addr, "satpam_rules_loaded_timestamp_seconds"),
        Some(loaded_at),
        "a refused reload does not touch the load time"
    );

    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("write");
    let sent = unix_seconds();
    child.signal("-HUP");
    wait_for("the good reload", || reloads("ok") == Some(1.0));
    let seen = unix_seconds();
    let reloaded_at = metric(addr, "satpam_rules_loaded_timestamp_seconds").expect("t");
    assert!(
        loaded_at <= sent && sent <= reloaded_at && reloaded_at <= seen,
        "the load time is the reload's: first load {loaded_at}, SIGHUP at {sent}, \
         reload {reloaded_at}, seen at {seen}"
    );

    let status = child.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(
        stderr.contains("rules reload refused"),
        "the refusal is logged: {stderr}"
    );
    assert!(
        stderr.contains("rules.yaml:3: rules[0]: missing field `version`"),
        "with file and line: {stderr}"
    );
}

#[test]
fn print_config_shows_the_embedded_default_with_overrides() {
    let out = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .args(["serve", "--print-config"])
        .env("SATPAM_KAFKA__BROKERS", "k1:9092")
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("listen = \"127.0.0.1:50051\""), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:9464\""), "{text}");
    assert!(text.contains("brokers = \"k1:9092\""), "{text}");

    let bad = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .args(["serve", "--print-config"])
        .env("SATPAM_GRPC__LISTEN", "not an address")
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("grpc.listen"));
}

/// librdkafka properties are strings whatever they look like: a numeric
/// environment override used to fail with `invalid type: integer 30000,
/// expected a string`, and an all-digit password or group id would have.
#[test]
fn numeric_environment_overrides_of_librdkafka_properties_stay_strings() {
    let out = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .args(["serve", "--print-config"])
        .env("SATPAM_KAFKA__CONSUMER__SESSION.TIMEOUT.MS", "30000")
        .env("SATPAM_KAFKA__PRODUCER__SASL.PASSWORD", "000123")
        .env("SATPAM_KAFKA__GROUP_ID", "0042")
        .env("SATPAM_LIMITS__MAX_FUTURE_MS", "60000")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("\"session.timeout.ms\" = \"30000\""),
        "{text}"
    );
    assert!(text.contains("\"sasl.password\" = \"000123\""), "{text}");
    assert!(text.contains("group_id = \"0042\""), "{text}");
    assert!(text.contains("max_future_ms = 60000"), "{text}");
}

const POLICY_GOOD: &str =
    "version: p2\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n";

/// SIGHUP reloads the country policy like the rules: a broken file refused
/// with its line and the policy in force kept, a good one taken (polling off).
#[test]
fn sighup_reloads_the_policy_keeping_the_old_on_error() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("countries.yaml");
    std::fs::write(&policy, include_str!("../rules/countries.yaml")).expect("policy");
    let (child, addr, log) = serve_in(
        dir.path(),
        &format!(
            "[engine]\npolicy = \"{}\"\nreload_poll_ms = 0\n[grpc]\nlisten = \"\"\n",
            policy.display()
        ),
        "info",
    );
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
    wait_for("the refused policy reload", || {
        reloads("error") == Some(1.0)
    });
    assert_eq!(reloads("ok"), Some(0.0), "the policy in force stays");

    std::fs::write(&policy, POLICY_GOOD).expect("write");
    child.signal("-HUP");
    wait_for("the good policy reload", || reloads("ok") == Some(1.0));

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
