//! Tests of the service's telemetry as a whole.
use super::*;

#[test]
fn handles_registered_up_front_render_before_any_event() {
    let t = Telemetry::new();
    let out = t.render();
    for want in [
        "satpam_events_total{source=\"kafka\"} 0",
        "satpam_dead_letters_total{source=\"grpc\"} 0",
        "satpam_signals_total{action=\"suspend\"} 0",
        "satpam_rule_reloads_total{result=\"error\"} 0",
        "# TYPE satpam_stage_latency_seconds histogram",
        "satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.001\"} 0",
        "satpam_consumer_lag_messages 0",
        "satpam_build_info{version=\"",
    ] {
        assert!(out.contains(want), "missing {want} in\n{out}");
    }
}

#[test]
fn rule_hits_follow_the_rule_set_and_carry_over_reloads() {
    let t = Telemetry::new();
    let rules = RuleSet::default_pack();
    t.register_rules(&rules);
    let hits = t.rule_hits();
    assert_eq!(hits.version(), rules.version());
    t.count_rule_hits(rules.serial(), &[0, 0, 1, 999]);
    let reloaded = RuleSet::default_pack();
    t.register_rules(&reloaded);
    t.count_rule_hits(reloaded.serial(), &[0]);
    let out = t.render();
    let first = &rules.rules()[0].id;
    assert!(
        out.contains(&format!("satpam_rule_hits_total{{rule=\"{first}\"}} 3")),
        "{out}"
    );
    let (version, hash) = rules.version().rsplit_once('@').expect("version@hash");
    assert!(!hash.is_empty());
    assert!(
        out.contains(&format!(
            "satpam_rules_info{{version=\"{version}\",hash=\"{hash}\"}} 1"
        )),
        "{out}"
    );
}

#[test]
fn rules_info_names_only_the_rule_set_in_force() {
    let t = Telemetry::new();
    assert!(!t.render().contains("satpam_rules_info"), "no rules yet");
    let a = RuleSet::from_yaml(
        "version: a\nrules:\n  - id: r\n    version: 1\n    description: d\n    score: 0.5\n    when: account.users_24h > 3\n",
        "a.yaml",
    )
    .expect("rules a");
    let b = RuleSet::from_yaml(
        "version: b\nrules:\n  - id: r\n    version: 1\n    description: d\n    score: 0.5\n    when: account.users_24h > 4\n",
        "b.yaml",
    )
    .expect("rules b");
    t.register_rules(&a);
    t.register_rules(&b);
    let out = t.render();
    let info: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("satpam_rules_info{"))
        .collect();
    assert_eq!(info.len(), 1, "{out}");
    assert!(
        info[0].starts_with("satpam_rules_info{version=\"b\",hash=\""),
        "{}",
        info[0]
    );
    assert!(info[0].ends_with("\"} 1"), "{}", info[0]);
}

#[test]
fn two_telemetries_do_not_share_counts() {
    let a = Telemetry::new();
    let b = Telemetry::new();
    a.source(Source::Kafka).events.increment(5);
    assert!(a
        .render()
        .contains("satpam_events_total{source=\"kafka\"} 5"));
    assert!(b
        .render()
        .contains("satpam_events_total{source=\"kafka\"} 0"));
}
