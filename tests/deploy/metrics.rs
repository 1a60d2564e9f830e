//! The real `/metrics` against the dashboard, the alerts and Prometheus naming conventions.

use super::*;

/// Samples of a Prometheus text exposition: name -> label sets; and `# TYPE`s.
#[derive(Default)]
pub(crate) struct Exposition {
    pub(crate) samples: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    pub(crate) types: BTreeMap<String, String>,
}

impl Exposition {
    pub(crate) fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').expect("# TYPE name type");
                e.types.insert(name.to_string(), ty.to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let name_end = line.find(['{', ' ']).expect("sample line");
            let name = line[..name_end].to_string();
            let mut labels = BTreeMap::new();
            if line[name_end..].starts_with('{') {
                let close = line.rfind('}').expect("}");
                let mut rest = &line[name_end + 1..close];
                while let Some(eq) = rest.find("=\"") {
                    let key = rest[..eq].trim_start_matches(',').trim().to_string();
                    let v = &rest[eq + 2..];
                    let mut end = 0;
                    let vb = v.as_bytes();
                    while end < vb.len() && vb[end] != b'"' {
                        end += if vb[end] == b'\\' { 2 } else { 1 };
                    }
                    labels.insert(key, v[..end].to_string());
                    rest = &v[(end + 1).min(v.len())..];
                }
            }
            e.samples.entry(name).or_default().push(labels);
        }
        e
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.samples.contains_key(name)
    }

    /// Whether `name` has a sample whose `label` matches.
    fn label_ok(&self, name: &str, label: &str, op: &str, value: &str) -> bool {
        let Some(sets) = self.samples.get(name) else {
            return false;
        };
        match op {
            "=" => sets
                .iter()
                .any(|l| l.get(label).map(String::as_str) == Some(value)),
            _ => sets.iter().any(|l| l.contains_key(label)),
        }
    }
}

/// Metric families that exist only when Kafka is configured, so the
/// embedded default (no broker) cannot show them: the per-partition lag
/// gauge of a partition exists while it is assigned, from the first
/// librdkafka statistics callback after the assignment. They are checked
/// against the service's telemetry instead.
pub(crate) const KAFKA_ONLY: &[&str] = &["satpam_consumer_partition_lag_messages"];

/// The telemetry's own exposition after it saw one partition's lag, as the
/// Kafka source reports it.
pub(crate) fn kafka_telemetry_exposition() -> Exposition {
    let t = satpam::telemetry::Telemetry::new();
    t.partitions_assigned(&[3]);
    t.set_lags([(3, 42)]);
    Exposition::parse(&t.render())
}

/// Every PromQL expression of the dashboard (panel targets and template
/// queries), with where it is.
pub(crate) fn dashboard_exprs() -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                let here = m
                    .get("title")
                    .and_then(|t| t.as_str())
                    .map(|t| format!("{at} > {t}"))
                    .unwrap_or_else(|| at.to_string());
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "definition", serde_json::Value::String(s)) => {
                            out.push((here.clone(), s.clone()))
                        }
                        ("query", serde_json::Value::String(s)) if s.contains('(') => {
                            out.push((here.clone(), s.clone()))
                        }
                        _ => walk(x, &here, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, at, out)),
            _ => {}
        }
    }
    let d = dashboard();
    let mut out = Vec::new();
    walk(&d, "dashboard", &mut out);
    out
}

pub(crate) fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("deploy/grafana/satpam.json")).expect("dashboard JSON")
}

pub(crate) fn alert_rules() -> Vec<Value> {
    let a = yaml("deploy/prometheus/alerts.yml");
    at(&a, "groups")
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| at(g, "rules").as_sequence().expect("rules").clone())
        .collect()
}

pub(crate) fn alert_exprs() -> Vec<(String, String)> {
    alert_rules()
        .iter()
        .map(|r| (scalar(at(r, "alert")), scalar(at(r, "expr"))))
        .collect()
}

#[test]
fn every_metric_the_dashboard_and_alerts_read_is_in_the_real_metrics_output() {
    let serve = Embedded::start();
    let live = Exposition::parse(&serve.scrape());
    let kafka = kafka_telemetry_exposition();

    // The Kafka-only families are what the explanation says: not in the
    // broker-less output, present once the telemetry sees a partition.
    for name in KAFKA_ONLY {
        assert!(
            !live.has(name),
            "{name} is in the embedded output: drop it from KAFKA_ONLY"
        );
        assert!(
            kafka.has(name),
            "{name} is not produced by the telemetry either"
        );
    }

    let mut used = BTreeSet::new();
    let exprs: Vec<(String, String)> = dashboard_exprs()
        .into_iter()
        .map(|(w, e)| (format!("deploy/grafana/satpam.json: {w}"), e))
        .chain(
            alert_exprs()
                .into_iter()
                .map(|(w, e)| (format!("deploy/prometheus/alerts.yml: {w}"), e)),
        )
        .collect();
    assert!(exprs.len() > 20, "expressions found: {}", exprs.len());
    let mut problems = Vec::new();
    for (where_, expr) in &exprs {
        for s in selectors(expr) {
            used.insert(s.name.clone());
            let source = if KAFKA_ONLY.contains(&s.name.as_str()) {
                &kafka
            } else {
                &live
            };
            if !source.has(&s.name) {
                problems.push(format!("{where_}: `{}` is not in /metrics", s.name));
                continue;
            }
            // `_sum`/`_count` are real samples only of a summary or histogram.
            for suffix in ["_sum", "_count", "_bucket"] {
                if let Some(base) = s.name.strip_suffix(suffix) {
                    if !source.types.contains_key(&s.name) {
                        let ty = source.types.get(base).map(String::as_str);
                        if !matches!(ty, Some("summary" | "histogram")) {
                            problems.push(format!("{where_}: `{}`: {base} is {ty:?}", s.name));
                        }
                    }
                }
            }
            for (label, op, value) in &s.matchers {
                // Added by Prometheus at scrape time, or Grafana variables.
                if label == "instance" || label == "job" || value.contains('$') {
                    continue;
                }
                if !source.label_ok(&s.name, label, op, value) {
                    problems.push(format!(
                        "{where_}: `{}{{{label}{op}\"{value}\"}}` matches no series",
                        s.name
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Latency is read only as a fleet-wide histogram_quantile, never as
    // per-instance quantiles (which cannot be aggregated).
    for (where_, expr) in &exprs {
        let flat: String = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.contains("satpam_stage_latency_seconds_bucket") {
            assert!(
                flat.contains("histogram_quantile(") && flat.contains("sum by (le"),
                "{where_}: buckets must be summed by le into histogram_quantile: {flat}"
            );
        }
        assert!(
            !flat.contains("quantile=\""),
            "{where_}: reads a summary quantile: {flat}"
        );
    }
    assert_eq!(
        live.types
            .get("satpam_stage_latency_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    // The 1 ms budget of the latency alert is a bucket bound, so the
    // interpolated p99 crosses it exactly when the 1 ms bucket does.
    assert!(
        live.label_ok("satpam_stage_latency_seconds_bucket", "le", "=", "0.001"),
        "no le=\"0.001\" bucket"
    );

    // What an operator watches is on the dashboard (the list).
    let dashboard_names: BTreeSet<String> = dashboard_exprs()
        .iter()
        .flat_map(|(_, e)| selectors(e).into_iter().map(|s| s.name))
        .collect();
    for want in [
        "satpam_events_total",
        "satpam_consumer_lag_messages",
        "satpam_consumer_partition_lag_messages",
        "satpam_decode_failures_total",
        "satpam_validation_failures_total",
        "satpam_dead_letters_total",
        "satpam_signals_total",
        "satpam_rule_hits_total",
        "satpam_stage_latency_seconds_bucket",
        "satpam_accounts_tracked",
        "satpam_conversations_tracked",
        "satpam_state_bytes",
        "satpam_rule_reloads_total",
        "satpam_watch_streams",
    ] {
        assert!(
            dashboard_names.contains(want),
            "the dashboard does not show {want}"
        );
    }
    assert!(used.len() >= 20, "{used:?}");

    // Every HTTP path the deploy files and guide point at is served.
    let (_, metrics_port) = real_ports();
    let guide = read("deploy/README.md");
    let needle = format!("127.0.0.1:{metrics_port}/");
    let mut paths: BTreeSet<String> = guide
        .match_indices(&needle)
        .map(|(i, _)| {
            let rest = &guide[i + needle.len() - 1..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '`' | ',' | '|'))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect();
    paths.insert(scalar(at(
        &yaml("deploy/prometheus/prometheus.yml"),
        "scrape_configs.0.metrics_path",
    )));
    let deployment = yaml("deploy/k8s/deployment.yaml");
    let annotations = at(&deployment, "spec.template.metadata.annotations");
    paths.insert(scalar(
        annotations
            .get("prometheus.io/path")
            .expect("prometheus.io/path annotation"),
    ));
    for want in ["/metrics", "/readyz", "/healthz"] {
        assert!(
            paths.contains(want),
            "deploy/README.md never shows {want}: {paths:?}"
        );
    }
    for p in &paths {
        let (status, body) = common::http::get(serve.metrics, p).expect("GET");
        assert_eq!(status, 200, "{p} on the real service");
        assert!(!body.is_empty(), "{p}");
    }
}

/// Metric names that changed, with what replaced them: not in `/metrics`
/// any more, and listed in deploy/README.md so dashboards elsewhere can follow.
pub(crate) const RENAMED: &[(&str, &str)] = &[
    ("satpam_consumer_lag_total", "satpam_consumer_lag_messages"),
    (
        "satpam_consumer_lag",
        "satpam_consumer_partition_lag_messages",
    ),
];

#[test]
fn metric_names_follow_prometheus_conventions_and_name_the_build_and_rules() {
    let serve = Embedded::start();
    let text = serve.scrape();
    let live = Exposition::parse(&text);
    let kafka = kafka_telemetry_exposition();
    let mut problems = Vec::new();
    for e in [&live, &kafka] {
        for (name, ty) in &e.types {
            assert!(name.starts_with("satpam_"), "{name}");
            match ty.as_str() {
                "counter" if !name.ends_with("_total") => {
                    problems.push(format!("counter {name} does not end in _total"))
                }
                "gauge" | "histogram" | "summary" if name.ends_with("_total") => {
                    problems.push(format!("{ty} {name} ends in _total"))
                }
                "summary" => problems.push(format!("{name} is a summary (not aggregatable)")),
                _ => {}
            }
            if name.contains("latency") || name.contains("timestamp") {
                assert!(name.ends_with("_seconds"), "{name}: unit seconds");
            }
            if name.contains("bytes") {
                assert!(name.ends_with("_bytes"), "{name}: unit bytes");
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Info gauges: 1, with the labels that name the build and the rules.
    let value = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_string()
    };
    let build = value("satpam_build_info{");
    assert!(build.ends_with(" 1"), "{build}");
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    let rules = satpam::rules::RuleSet::default_pack();
    let (version, hash) = rules.version().rsplit_once('@').expect("version@hash");
    let info = value("satpam_rules_info{");
    assert_eq!(
        info,
        format!("satpam_rules_info{{version=\"{version}\",hash=\"{hash}\"}} 1")
    );

    // Renamed metrics: gone from /metrics, in the guide with their new names.
    let guide = read("deploy/README.md");
    let changed = guide
        .split("### Changed metric names")
        .nth(1)
        .expect("deploy/README.md has a `### Changed metric names` section");
    for (old, new) in RENAMED {
        assert!(!live.has(old) && !kafka.has(old), "{old} is still exported");
        assert!(live.has(new) || kafka.has(new), "{new} is not exported");
        assert!(
            changed.contains(&format!("`{old}`")) && changed.contains(&format!("`{new}`")),
            "the guide does not list {old} -> {new}"
        );
    }
    assert!(
        changed.contains("satpam_stage_latency_seconds"),
        "the summary -> histogram change"
    );
}
