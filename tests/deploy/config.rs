//! deploy/satpam.toml through the service's own loader.

use super::*;

#[test]
fn the_container_config_is_a_real_config_with_the_container_paths() {
    let c = container_config();
    let (grpc, metrics) = real_ports();
    assert_eq!((grpc, metrics), (50051, 9464), "the README's ports");
    // (what, got, want)
    let cases: Vec<(&str, String, String)> = vec![
        (
            "grpc.listen",
            c.grpc.listen.clone(),
            format!("0.0.0.0:{grpc}"),
        ),
        (
            "metrics.listen",
            c.metrics.listen.clone(),
            format!("0.0.0.0:{metrics}"),
        ),
        (
            "kafka.brokers",
            c.kafka.brokers.clone(),
            "kafka:9092".into(),
        ),
        (
            "engine.rules",
            path(&c.engine.rules),
            "/etc/satpam/rules.yaml".into(),
        ),
        (
            "engine.policy",
            path(&c.engine.policy),
            "/etc/satpam/countries.yaml".into(),
        ),
        (
            "kafka.state_dir (none)",
            path(&c.kafka.state_dir),
            "-".into(),
        ),
        (
            "kafka.state_store",
            c.kafka.state_store.clone(),
            "kafka".into(),
        ),
        ("sinks.jsonl (off)", path(&c.sinks.jsonl), "-".into()),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "deploy/satpam.toml {what}");
    }
    assert!(c.kafka.enabled());
    let defaults = Config::default().kafka;
    assert_eq!(c.kafka.events_topic, defaults.events_topic);
    assert_eq!(c.kafka.signals_topic, defaults.signals_topic);
    assert_eq!(c.kafka.dead_letter_topic, defaults.dead_letter_topic);
    // The loader rejects what the tests rely on it to reject.
    let typo = read("deploy/satpam.toml").replace("state_store", "statestore");
    assert!(
        Config::from_toml(&typo, "typo", Vec::new()).is_err(),
        "unknown keys fail"
    );

    // The binary takes it too (and SATPAM_ overrides reach it).
    let out = Command::new(env!("CARGO_BIN_EXE_satpam"))
        .args(["serve", "--print-config", "--config"])
        .arg(Path::new(ROOT).join("deploy/satpam.toml"))
        .env("SATPAM_KAFKA__BROKERS", "b1:9092")
        .output()
        .expect("print-config");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("brokers = \"b1:9092\""), "{printed}");
}

pub(crate) fn path(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "-".into(), |p| p.display().to_string())
}
