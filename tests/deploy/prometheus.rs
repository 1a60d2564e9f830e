//! Prometheus: the scrape config and the alerts an operator needs.

use super::*;

#[test]
fn prometheus_scrapes_satpam_and_loads_the_alerts() {
    let p = yaml("deploy/prometheus/prometheus.yml");
    let (_, metrics) = real_ports();
    assert_eq!(scalar(at(&p, "global.scrape_interval")), "15s");
    let job = at(&p, "scrape_configs.0");
    assert_eq!(scalar(at(job, "job_name")), "satpam");
    assert_eq!(scalar(at(job, "metrics_path")), "/metrics");
    assert_eq!(scalar(at(job, "scrape_interval")), "15s");
    assert_eq!(
        strings(at(job, "static_configs.0.targets")),
        [format!("satpam:{metrics}")]
    );
    let compose = yaml("deploy/compose.yaml");
    assert!(
        at(&compose, "services").get("satpam").is_some(),
        "the target is the compose service"
    );
    for f in strings(at(&p, "rule_files")) {
        assert!(
            Path::new(ROOT).join("deploy/prometheus").join(&f).is_file(),
            "{f}"
        );
    }
    assert_eq!(strings(at(&p, "rule_files")), ["alerts.yml"]);

    let exporter = at(&p, "scrape_configs.1");
    assert_eq!(scalar(at(exporter, "job_name")), "kafka-exporter");
    assert_eq!(
        strings(at(exporter, "static_configs.0.targets")),
        [format!("kafka-exporter:{EXPORTER_PORT}")]
    );
    assert!(at(&compose, "services").get("kafka-exporter").is_some());
}

#[test]
fn the_alerts_cover_what_an_operator_needs() {
    let rules = alert_rules();
    let guide = read("deploy/README.md").to_ascii_lowercase();
    let mut names = BTreeSet::new();
    for r in &rules {
        let name = scalar(at(r, "alert"));
        assert!(names.insert(name.clone()), "duplicate {name}");
        let for_ = scalar(at(r, "for"));
        assert!(
            for_.ends_with('m') || for_.ends_with('s'),
            "{name}: for {for_}"
        );
        let severity = scalar(at(r, "labels.severity"));
        assert!(
            ["warning", "critical"].contains(&severity.as_str()),
            "{name}: {severity}"
        );
        for a in ["summary", "description", "runbook"] {
            assert!(
                !scalar(at(r, &format!("annotations.{a}"))).is_empty(),
                "{name}: {a}"
            );
        }
        let runbook = scalar(at(r, "annotations.runbook"));
        let anchor = runbook
            .strip_prefix("deploy/README.md#")
            .expect("runbook in the guide");
        assert_eq!(anchor, name.to_ascii_lowercase(), "{name}");
        assert!(
            guide.contains(&format!("#### {anchor}\n")),
            "deploy/README.md has a section for {name}"
        );
    }
    // (alert, fragments its expression must hold, its `for`)
    let wanted: &[(&str, &[&str], &str)] = &[
        (
            "SatpamConsumerLagGrowing",
            &[
                "sum by (consumergroup, topic) (kafka_consumergroup_lag_sum{",
                "> 100000 and sum by (consumergroup, topic) (deriv(kafka_consumergroup_lag_sum{",
            ],
            "10m",
        ),
        ("SatpamDeadLetters", &["satpam_dead_letters_total"], "15m"),
        (
            "SatpamDecodeFailures",
            &["satpam_decode_failures_total", "satpam_events_total"],
            "10m",
        ),
        (
            "SatpamNoEvents",
            &["sum(rate(satpam_events_total[5m])) == 0"],
            "10m",
        ),
        (
            "SatpamLatencyOverBudget",
            &[
                "histogram_quantile(0.99, sum by (le, stage) (rate(satpam_stage_latency_seconds_bucket{stage=\"in_service\"}[5m])))",
                "> 0.001",
            ],
            "10m",
        ),
        ("SatpamFleetSilent", &["absent(satpam_build_info)"], "5m"),
        (
            "SatpamLagUnmeasured",
            &["absent(kafka_consumergroup_lag_sum{"],
            "15m",
        ),
        (
            "SatpamRuleReloadFailed",
            &["increase(satpam_rule_reloads_total{result=\"error\"}[15m]) > 0"],
            "1m",
        ),
    ];
    for (name, fragments, for_) in wanted {
        let r = rules
            .iter()
            .find(|r| scalar(at(r, "alert")) == *name)
            .unwrap_or_else(|| panic!("alert {name}"));
        let expr: String = scalar(at(r, "expr"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for f in *fragments {
            assert!(expr.contains(f), "{name}: `{f}` not in `{expr}`");
        }
        assert_eq!(scalar(at(r, "for")), *for_, "{name}");
    }

    // The exporter's series are read for the config's group and events topic
    // (satpam's own metrics are checked against /metrics elsewhere).
    let c = container_config();
    let exprs = alert_exprs()
        .into_iter()
        .chain(dashboard_exprs())
        .collect::<Vec<_>>();
    let mut exporter_reads = 0;
    for (where_, e) in &exprs {
        for (i, _) in e.match_indices("kafka_consumergroup_lag_sum{") {
            exporter_reads += 1;
            let m = &e[i..];
            let m = &m[..m.find('}').expect("}")];
            for want in [
                format!("consumergroup=\"{}\"", c.kafka.group_id),
                format!("topic=\"{}\"", c.kafka.events_topic),
            ] {
                assert!(m.contains(&want), "{where_}: {m} lacks {want}");
            }
        }
        assert!(
            !e.contains("kafka_consumergroup_lag_sum ")
                && !e.contains("kafka_consumergroup_lag_sum)"),
            "{where_}: the exporter's lag without the group and topic: {e}"
        );
    }
    assert!(exporter_reads >= 4, "{exporter_reads}");
}
