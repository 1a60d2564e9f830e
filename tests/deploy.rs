//! deploy/ against the service it deploys, without a container engine:
//! every metric the Grafana dashboard and the Prometheus alerts read exists
//! in the real `/metrics` output (with the label values they match on); the
//! Dockerfile, compose, Prometheus, Grafana and Kubernetes files parse and
//! name the ports, paths, topics and config keys `satpam serve` really uses;
//! the container configs load with the service's own config loader.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::embedded::Embedded;
use satpam::service::Config;
use yaml_serde::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    yaml_serde::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `v` at a dotted path (`a.b.0.c`; a number indexes a list); panics naming the path.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('.') {
        let next = match (key.parse::<usize>(), cur) {
            (Ok(i), Value::Sequence(s)) => s.get(i),
            _ => cur.get(key),
        };
        cur = next.unwrap_or_else(|| panic!("missing `{path}` (at `{key}`)"));
    }
    cur
}

/// A scalar as text (YAML numbers and booleans included).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(scalar)
        .collect()
}

fn port_of(listen: &str) -> u16 {
    listen
        .parse::<SocketAddr>()
        .unwrap_or_else(|e| panic!("{listen}: {e}"))
        .port()
}

/// The ports the service really listens on: the embedded default's.
fn real_ports() -> (u16, u16) {
    let c = Config::load(None, Vec::new()).expect("embedded default");
    (port_of(&c.grpc.listen), port_of(&c.metrics.listen))
}

/// deploy/satpam.toml through the service's loader (unknown keys fail).
fn container_config() -> Config {
    Config::from_toml(
        &read("deploy/satpam.toml"),
        "deploy/satpam.toml",
        Vec::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------- PromQL

/// One metric selector in an expression: the name and its label matchers.
#[derive(Debug)]
struct Selector {
    name: String,
    matchers: Vec<(String, String, String)>,
}

/// The `satpam_*` selectors of a PromQL expression: a small tokenizer that
/// skips string literals, reads identifiers, and the `{...}` after a name.
fn selectors(expr: &str) -> Vec<Selector> {
    let b = expr.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let string_end = |mut i: usize| {
        let q = b[i];
        i += 1;
        while i < b.len() && b[i] != q {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        i + 1
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = string_end(i);
        } else if ident(c) && !c.is_ascii_digit() {
            let start = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let name = &expr[start..i];
            if !name.starts_with("satpam_") {
                continue;
            }
            let mut matchers = Vec::new();
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if j < b.len() && b[j] == b'{' {
                let close = expr[j..].find('}').map(|k| j + k).expect("closing }");
                for m in expr[j + 1..close]
                    .split(',')
                    .filter(|m| !m.trim().is_empty())
                {
                    let m = m.trim();
                    let op_at = m.find(['=', '!']).expect("matcher op");
                    let label = m[..op_at].trim().to_string();
                    let rest = &m[op_at..];
                    let op_len = if rest.starts_with("=~")
                        || rest.starts_with("!~")
                        || rest.starts_with("!=")
                    {
                        2
                    } else {
                        1
                    };
                    let value = rest[op_len..].trim().trim_matches('"').to_string();
                    matchers.push((label, rest[..op_len].to_string(), value));
                }
                i = close + 1;
            }
            out.push(Selector {
                name: name.to_string(),
                matchers,
            });
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn the_tokenizer_reads_names_and_matchers_and_skips_strings() {
    let s = selectors(
        r#"sum by (stage) (rate(satpam_stage_latency_seconds_sum{instance=~"$instance", stage="in_service"}[5m])) / 2 and label_replace(up, "x", "satpam_not_a_metric", "", "")"#,
    );
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].name, "satpam_stage_latency_seconds_sum");
    assert_eq!(
        s[0].matchers,
        vec![
            ("instance".into(), "=~".into(), "$instance".into()),
            ("stage".into(), "=".into(), "in_service".into())
        ]
    );
    let t = selectors("topk(10, satpam_rule_hits_total) > satpam_x{a!=\"b\"}");
    let names: Vec<_> = t.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["satpam_rule_hits_total", "satpam_x"]);
    assert_eq!(t[1].matchers, vec![("a".into(), "!=".into(), "b".into())]);
}

// ------------------------------------------------------ the real /metrics

/// Samples of a Prometheus text exposition: name -> label sets; and `# TYPE`s.
#[derive(Default)]
struct Exposition {
    samples: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
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

    fn has(&self, name: &str) -> bool {
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
const KAFKA_ONLY: &[&str] = &["satpam_consumer_partition_lag_messages"];

/// The telemetry's own exposition after it saw one partition's lag, as the
/// Kafka source reports it.
fn kafka_telemetry_exposition() -> Exposition {
    let t = satpam::telemetry::Telemetry::new();
    t.partitions_assigned(&[3]);
    t.set_lags([(3, 42)]);
    Exposition::parse(&t.render())
}

/// Every PromQL expression of the dashboard (panel targets and template
/// queries), with where it is.
fn dashboard_exprs() -> Vec<(String, String)> {
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

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("deploy/grafana/satpam.json")).expect("dashboard JSON")
}

fn alert_rules() -> Vec<Value> {
    let a = yaml("deploy/prometheus/alerts.yml");
    at(&a, "groups")
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| at(g, "rules").as_sequence().expect("rules").clone())
        .collect()
}

fn alert_exprs() -> Vec<(String, String)> {
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

    // What an operator watches is on the dashboard (the issue's list).
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
const RENAMED: &[(&str, &str)] = &[
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

// ------------------------------------------------------------- the config

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
            "kafka.state_dir",
            path(&c.kafka.state_dir),
            "/var/lib/satpam/state".into(),
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
    let typo = read("deploy/satpam.toml").replace("state_dir", "statedir");
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

fn path(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "-".into(), |p| p.display().to_string())
}

// ------------------------------------------------------------ Dockerfile

/// Dockerfile instructions (continuations joined, comments dropped).
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in read("deploy/Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        let (ins, rest) = cur.split_once(' ').unwrap_or((&cur, ""));
        out.push((ins.to_ascii_uppercase(), rest.trim().to_string()));
        cur.clear();
    }
    out
}

fn instructions(d: &[(String, String)], name: &str) -> Vec<String> {
    d.iter()
        .filter(|(i, _)| i == name)
        .map(|(_, r)| r.clone())
        .collect()
}

fn json_argv(s: &str) -> Vec<String> {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not a JSON argv: {s}: {e}"))
}

/// Runs a health-check argv (`satpam health ... --grpc ADDR ...`) with the
/// address replaced by `addr`, after checking the original points at `port`.
fn run_health_argv(argv: &[String], port: u16, addr: SocketAddr) -> std::process::Output {
    assert_eq!(argv.first().map(String::as_str), Some("satpam"), "{argv:?}");
    assert_eq!(argv.get(1).map(String::as_str), Some("health"), "{argv:?}");
    let i = argv.iter().position(|a| a == "--grpc").expect("--grpc");
    assert_eq!(port_of(&argv[i + 1]), port, "{argv:?}");
    let mut args = argv[1..].to_vec();
    args[i] = addr.to_string();
    Command::new(env!("CARGO_BIN_EXE_satpam"))
        .args(&args)
        .output()
        .expect("satpam health")
}

#[test]
fn the_dockerfile_matches_the_service() {
    let d = dockerfile();
    let (grpc, metrics) = real_ports();
    let from = instructions(&d, "FROM");
    assert_eq!(from.len(), 2, "multi-stage: {from:?}");
    assert!(from[0].starts_with("rust:1.95-bookworm "), "{from:?}");
    assert_eq!(from[1], "debian:bookworm-slim");
    let run = instructions(&d, "RUN").join("\n");
    assert!(
        run.contains("cargo build --release --locked -p satpam -p satpam-loadgen --bins"),
        "{run}"
    );
    assert!(run.contains("useradd --system --uid 10001"), "{run}");
    assert!(run.contains("ca-certificates"), "{run}");
    assert_eq!(instructions(&d, "USER"), ["10001:10001"]);
    assert_eq!(instructions(&d, "VOLUME"), ["/var/lib/satpam"]);

    let mut exposed: Vec<u16> = instructions(&d, "EXPOSE")
        .iter()
        .flat_map(|e| {
            e.split_whitespace()
                .map(|p| p.parse().expect("port"))
                .collect::<Vec<u16>>()
        })
        .collect();
    exposed.sort_unstable();
    let mut want = vec![grpc, metrics];
    want.sort_unstable();
    assert_eq!(exposed, want, "EXPOSE is the gRPC and metrics ports");

    // The config the ENTRYPOINT reads is deploy/satpam.toml, and the files it
    // names are the ones copied in.
    let entry = json_argv(&instructions(&d, "ENTRYPOINT")[0]);
    assert_eq!(entry[..3], ["satpam", "serve", "--config"]);
    let config_path = entry[3].clone();
    assert_eq!(config_path, "/etc/satpam/satpam.toml");
    let copies: BTreeMap<String, String> = instructions(&d, "COPY")
        .iter()
        .filter(|c| !c.starts_with("--from"))
        .filter_map(|c| {
            let parts: Vec<&str> = c.split_whitespace().collect();
            (parts.len() == 2).then(|| (parts[0].to_string(), parts[1].to_string()))
        })
        .collect();
    let c = container_config();
    for (src, dest) in [
        ("deploy/satpam.toml", config_path.clone()),
        ("rules/default.yaml", path(&c.engine.rules)),
        ("rules/countries.yaml", path(&c.engine.policy)),
    ] {
        assert_eq!(
            copies.get(src),
            Some(&dest),
            "COPY {src} {dest}: {copies:?}"
        );
    }
    assert!(
        path(&c.kafka.state_dir).starts_with("/var/lib/satpam/"),
        "state on the volume"
    );

    // The build context (repository root) sends what the COPYs need.
    let ignore = read(".dockerignore");
    let kept: Vec<&str> = ignore
        .lines()
        .filter_map(|l| l.trim().strip_prefix('!'))
        .collect();
    for c in instructions(&d, "COPY")
        .iter()
        .filter(|c| !c.starts_with("--from"))
    {
        let parts: Vec<&str> = c.split_whitespace().collect();
        for src in &parts[..parts.len() - 1] {
            let src = src.trim_end_matches('/');
            assert!(
                kept.iter().any(|k| {
                    let k = k.trim_end_matches('/');
                    src == k
                        || src.starts_with(&format!("{k}/"))
                        || k.starts_with(&format!("{src}/"))
                }),
                ".dockerignore drops {src}"
            );
        }
    }

    // Cargo loads every workspace member's manifest, so the build copies
    // each member and the context keeps its manifest.
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members");
    let copied: Vec<String> = instructions(&d, "COPY")
        .iter()
        .filter(|c| !c.starts_with("--from"))
        .flat_map(|c| {
            let parts: Vec<&str> = c.split_whitespace().collect();
            parts[..parts.len() - 1]
                .iter()
                .map(|s| s.trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for m in members
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|m| *m != ".")
    {
        let manifest = format!("{m}/Cargo.toml");
        assert!(
            copied
                .iter()
                .any(|c| *c == manifest || manifest.starts_with(&format!("{c}/"))),
            "the Dockerfile does not copy workspace member {m}: {copied:?}"
        );
        assert!(
            kept.contains(&manifest.as_str()),
            ".dockerignore drops {manifest}"
        );
    }

    // HEALTHCHECK runs `satpam health` on the gRPC port, and that command
    // line works against the real service.
    let hc = instructions(&d, "HEALTHCHECK");
    assert_eq!(hc.len(), 1);
    let cmd = hc[0].split_once("CMD ").expect("HEALTHCHECK ... CMD").1;
    let argv = json_argv(cmd);
    let serve = Embedded::start();
    let out = run_health_argv(&argv, grpc, serve.grpc);
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(serve);
    let free: SocketAddr = format!("127.0.0.1:{}", common::http::free_port())
        .parse()
        .expect("addr");
    let out = run_health_argv(&argv, grpc, free);
    assert_eq!(out.status.code(), Some(1), "unhealthy when nothing answers");
}

// --------------------------------------------------------------- compose

fn env_map(v: &Value) -> BTreeMap<String, String> {
    match v {
        Value::Mapping(m) => m.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Value::Sequence(s) => s
            .iter()
            .map(|x| {
                let t = scalar(x);
                let (k, v) = t.split_once('=').unwrap_or((&t, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Container ports of a compose service's `ports:`.
fn container_ports(service: &Value) -> BTreeSet<u16> {
    strings(at(service, "ports"))
        .iter()
        .map(|p| {
            p.rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port")
        })
        .collect()
}

/// kafka-exporter's default listen port.
const EXPORTER_PORT: u16 = 9308;

/// The `--flag=value` arguments of compose's kafka-exporter, with compose's
/// `$$` escapes undone.
fn exporter_flags() -> BTreeMap<String, String> {
    let compose = yaml("deploy/compose.yaml");
    strings(at(&compose, "services.kafka-exporter.command"))
        .iter()
        .map(|a| {
            let (k, v) = a
                .strip_prefix("--")
                .and_then(|a| a.split_once('='))
                .unwrap_or_else(|| panic!("kafka-exporter argument {a}"));
            (k.to_string(), v.replace("$$", "$"))
        })
        .collect()
}

#[test]
fn compose_wires_kafka_the_topics_the_ports_and_health() {
    let compose = yaml("deploy/compose.yaml");
    let services = at(&compose, "services");
    let c = container_config();
    let (grpc, metrics) = real_ports();
    for s in [
        "kafka",
        "kafka-init",
        "satpam",
        "loadgen",
        "kafka-exporter",
        "prometheus",
        "grafana",
    ] {
        assert!(services.get(s).is_some(), "service {s}");
    }

    // kafka-exporter: the group's lag from the broker, for exactly the
    // config's group and events topic (the lag alert matches on both).
    let flags = exporter_flags();
    assert_eq!(flags["kafka.server"], c.kafka.brokers);
    let only = |re: &str, want: &str| {
        let re = regex::Regex::new(re).expect("exporter filter regex");
        assert!(re.is_match(want), "{re} does not match {want}");
        assert!(!re.is_match(&format!("{want}-x")), "{re} is not anchored");
    };
    only(&flags["group.filter"], &c.kafka.group_id);
    only(&flags["topic.filter"], &c.kafka.events_topic);
    let exporter = at(services, "kafka-exporter");
    assert_eq!(
        scalar(at(exporter, "depends_on.kafka-init.condition")),
        "service_completed_successfully"
    );
    assert_eq!(container_ports(exporter), [EXPORTER_PORT].into());

    // Kafka: KRaft, one node that is broker and controller, reachable as the
    // config's brokers.
    let kafka = at(services, "kafka");
    assert_eq!(scalar(at(kafka, "image")), "apache/kafka:3.9.0");
    let env = env_map(at(kafka, "environment"));
    let e = |k: &str| {
        env.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("kafka env {k}"))
    };
    assert_eq!(e("KAFKA_PROCESS_ROLES"), "broker,controller");
    let node = e("KAFKA_NODE_ID");
    let controller_port = e("KAFKA_LISTENERS")
        .split(',')
        .find_map(|l| l.strip_prefix(&format!("{}://", e("KAFKA_CONTROLLER_LISTENER_NAMES"))))
        .and_then(|a| a.rsplit(':').next().map(str::to_string))
        .expect("controller listener");
    assert_eq!(
        e("KAFKA_CONTROLLER_QUORUM_VOTERS"),
        format!("{node}@kafka:{controller_port}")
    );
    let protocols = e("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP");
    for l in e("KAFKA_LISTENERS").split(',') {
        let name = l.split("://").next().expect("name");
        assert!(
            protocols.contains(&format!("{name}:")),
            "{name} has a protocol"
        );
    }
    assert!(
        e("KAFKA_ADVERTISED_LISTENERS")
            .split(',')
            .any(|l| l.ends_with(&format!("://{}", c.kafka.brokers))),
        "satpam's brokers ({}) are advertised",
        c.kafka.brokers
    );
    assert_eq!(e("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"), "1", "one node");

    // kafka-init creates exactly the config's topics; events with 12 partitions.
    let init = at(services, "kafka-init");
    assert_eq!(
        scalar(at(init, "depends_on.kafka.condition")),
        "service_healthy"
    );
    let script = strings(at(init, "command")).join("\n");
    let mut created = BTreeMap::new();
    for line in script.lines().filter(|l| l.contains("--create")) {
        let arg = |flag: &str| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .iter()
                .position(|w| *w == flag)
                .map(|i| words[i + 1].to_string())
                .unwrap_or_else(|| panic!("{flag} in {line}"))
        };
        assert!(
            line.contains("kafka-topics.sh") || line.contains("$$topics"),
            "{line}"
        );
        created.insert(arg("--topic"), arg("--partitions"));
    }
    assert!(script.contains("/opt/kafka/bin/kafka-topics.sh"));
    let want: BTreeSet<&str> = [
        c.kafka.events_topic.as_str(),
        c.kafka.signals_topic.as_str(),
        c.kafka.dead_letter_topic.as_str(),
    ]
    .into();
    assert_eq!(
        created.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        want
    );
    assert_eq!(created[&c.kafka.events_topic], "12");

    // satpam: the Dockerfile, after the topics, on the real ports, healthy by `satpam health`.
    let satpam = at(services, "satpam");
    assert_eq!(scalar(at(satpam, "build.context")), "..");
    assert_eq!(scalar(at(satpam, "build.dockerfile")), "deploy/Dockerfile");
    assert!(Path::new(ROOT)
        .join("deploy")
        .join(scalar(at(satpam, "build.context")))
        .join(scalar(at(satpam, "build.dockerfile")))
        .is_file());
    assert_eq!(
        scalar(at(satpam, "depends_on.kafka-init.condition")),
        "service_completed_successfully"
    );
    assert_eq!(container_ports(satpam), [grpc, metrics].into());
    let hc = strings(at(satpam, "healthcheck.test"));
    assert_eq!(hc[0], "CMD");
    let serve = Embedded::start();
    let out = run_health_argv(&hc[1..], grpc, serve.grpc);
    assert!(
        out.status.success(),
        "{hc:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(serve);
    let satpam_env = env_map(at(satpam, "environment"));
    for k in satpam_env
        .keys()
        .filter(|k| k.starts_with("SATPAM_") && *k != "SATPAM_LOG")
    {
        let one = [(k.clone(), satpam_env[k].clone())];
        Config::from_toml(&read("deploy/satpam.toml"), "compose env", one)
            .unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let state_volume = strings(at(satpam, "volumes"));
    assert!(
        state_volume.iter().any(|v| v.ends_with(":/var/lib/satpam")),
        "{state_volume:?}"
    );

    // loadgen: the optional profile: satpam-loadgen run against the config's
    // brokers and events topic, reading satpam's metrics on its real port.
    let loadgen = at(services, "loadgen");
    assert_eq!(strings(at(loadgen, "profiles")), ["loadgen"]);
    let argv: Vec<String> = strings(at(loadgen, "entrypoint"))
        .into_iter()
        .chain(strings(at(loadgen, "command")))
        .collect();
    assert_eq!(
        argv.join(" "),
        format!(
            "satpam-loadgen run --target kafka --brokers {} --topic {} --rate 20000 --duration 10m --metrics http://satpam:{metrics}/metrics",
            c.kafka.brokers, c.kafka.events_topic
        )
    );

    // Prometheus reads deploy/prometheus; Grafana the provisioning and the dashboard.
    let prom = at(services, "prometheus");
    let prom_volumes = strings(at(prom, "volumes"));
    assert!(
        prom_volumes.contains(&"./prometheus:/etc/prometheus:ro".to_string()),
        "{prom_volumes:?}"
    );
    assert!(strings(at(prom, "command"))
        .contains(&"--config.file=/etc/prometheus/prometheus.yml".to_string()));
    assert_eq!(container_ports(prom), [9090].into());
    let grafana = at(services, "grafana");
    let mounts: BTreeMap<String, String> = strings(at(grafana, "volumes"))
        .iter()
        .filter(|v| v.starts_with("./"))
        .map(|v| {
            let parts: Vec<&str> = v.split(':').collect();
            (parts[0].to_string(), parts[1].to_string())
        })
        .collect();
    assert_eq!(
        mounts.get("./grafana/provisioning").map(String::as_str),
        Some("/etc/grafana/provisioning")
    );
    let dash_in_container = mounts
        .get("./grafana/satpam.json")
        .expect("dashboard mount");
    let providers = yaml("deploy/grafana/provisioning/dashboards/satpam.yaml");
    let provider_path = scalar(at(&providers, "providers.0.options.path"));
    assert_eq!(
        Path::new(dash_in_container)
            .parent()
            .map(|p| p.display().to_string()),
        Some(provider_path),
        "the provider loads the mounted dashboard"
    );
    for host in mounts.keys() {
        assert!(Path::new(ROOT).join("deploy").join(host).exists(), "{host}");
    }
    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(scalar(at(&datasources, "datasources.0.type")), "prometheus");
    assert_eq!(
        scalar(at(&datasources, "datasources.0.url")),
        "http://prometheus:9090"
    );
}

// ------------------------------------------------------------ Prometheus

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

// --------------------------------------------------------------- Grafana

#[test]
fn the_dashboard_is_provisionable_and_complete() {
    let d = dashboard();
    assert_eq!(d["uid"], "satpam");
    assert!(
        d["schemaVersion"]
            .as_u64()
            .is_some_and(|v| (36..=41).contains(&v)),
        "{}",
        d["schemaVersion"]
    );
    let vars = d["templating"]["list"].as_array().expect("templating");
    let ds = vars
        .iter()
        .find(|v| v["name"] == "datasource")
        .expect("datasource variable");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");

    let panels = d["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let mut cells: BTreeSet<(u64, u64)> = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().expect("title").to_string();
        assert!(
            ids.insert(p["id"].as_u64().expect("id")),
            "duplicate id at {title}"
        );
        titles.insert(title.clone());
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64(),
            g["y"].as_u64(),
            g["w"].as_u64(),
            g["h"].as_u64(),
        );
        let (x, y, w, h) = (x.expect("x"), y.expect("y"), w.expect("w"), h.expect("h"));
        assert!(x + w <= 24, "{title} is wider than the grid");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{title} overlaps another panel at {cx},{cy}"
                );
            }
        }
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "{title} uses the variable"
        );
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}");
            // satpam's metrics, or the group's lag from kafka-exporter.
            assert!(
                t["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("satpam_") || e.contains("kafka_consumergroup_")),
                "{title}"
            );
        }
    }
    for want in [
        "Events/s in by source",
        "Consumer lag",
        "Decode failures, validation failures, dead letters",
        "Signals by action",
        "Top rule hits",
        "Per-stage latency p99",
        "Accounts and conversations tracked",
        "State bytes",
        "Rule reloads",
        "Watch streams",
    ] {
        assert!(titles.contains(want), "panel {want:?}: {titles:?}");
    }
}

// ------------------------------------------------------------ Kubernetes

fn kustomization() -> Value {
    yaml("deploy/k8s/kustomization.yaml")
}

/// The configMapGenerator entry `name`: its files.
fn generated_files(name: &str) -> (Vec<String>, Value) {
    let k = kustomization();
    let g = at(&k, "configMapGenerator")
        .as_sequence()
        .expect("configMapGenerator")
        .iter()
        .find(|g| g.get("name").map(scalar).as_deref() == Some(name))
        .unwrap_or_else(|| panic!("configMapGenerator {name}"))
        .clone();
    (strings(at(&g, "files")), g)
}

#[test]
fn the_k8s_rules_and_policy_are_copies_of_the_built_in_ones() {
    let (files, g) = generated_files("satpam-rules");
    assert_eq!(files, ["rules.yaml", "countries.yaml"]);
    for (copy, original) in [
        ("deploy/k8s/rules.yaml", "rules/default.yaml"),
        ("deploy/k8s/countries.yaml", "rules/countries.yaml"),
    ] {
        assert!(
            read(copy) == read(original),
            "{copy} differs from {original}: `cp {original} {copy}`"
        );
    }
    // Updated in place, so the mounted file changes and the poller reloads it.
    assert_eq!(scalar(at(&g, "options.disableNameSuffixHash")), "true");
    let (config_files, g) = generated_files("satpam-config");
    assert_eq!(config_files, ["satpam.toml"]);
    assert!(
        g.get("options").is_none(),
        "config changes roll the pods (hash suffix)"
    );
}

#[test]
fn the_k8s_manifests_reference_the_real_ports_paths_and_config() {
    let (grpc, metrics) = real_ports();
    let k = kustomization();
    let resources = strings(at(&k, "resources"));
    let listed: BTreeSet<&str> = resources.iter().map(String::as_str).collect();
    // Every manifest in the directory is listed; the rest is ConfigMap data.
    for entry in std::fs::read_dir(Path::new(ROOT).join("deploy/k8s")).expect("deploy/k8s") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".yaml")
            && !["kustomization.yaml", "rules.yaml", "countries.yaml"].contains(&name.as_str())
        {
            assert!(
                listed.contains(name.as_str()),
                "{name} is not in kustomization.yaml"
            );
        }
    }
    let docs: BTreeMap<String, Value> = resources
        .iter()
        .map(|f| {
            let v = yaml(&format!("deploy/k8s/{f}"));
            assert!(
                v.get("metadata").and_then(|m| m.get("namespace")).is_none(),
                "{f} is namespace-less"
            );
            (scalar(at(&v, "kind")), v)
        })
        .collect();
    for (kind, api) in [
        ("Deployment", "apps/v1"),
        ("Service", "v1"),
        ("PodDisruptionBudget", "policy/v1"),
        ("HorizontalPodAutoscaler", "autoscaling/v2"),
    ] {
        assert_eq!(scalar(at(&docs[kind], "apiVersion")), api, "{kind}");
    }

    // The ConfigMap's satpam.toml loads with the service's loader.
    let (files, _) = generated_files("satpam-config");
    let src = read(&format!("deploy/k8s/{}", files[0]));
    let c = Config::from_toml(&src, "deploy/k8s/satpam.toml", Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.kafka.enabled());
    let container = container_config();
    assert_eq!(
        (
            &c.kafka.events_topic,
            &c.kafka.signals_topic,
            &c.kafka.dead_letter_topic
        ),
        (
            &container.kafka.events_topic,
            &container.kafka.signals_topic,
            &container.kafka.dead_letter_topic
        )
    );

    let dep = &docs["Deployment"];
    let spec = at(dep, "spec.template.spec");
    let ctr = at(spec, "containers.0");
    assert_eq!(scalar(at(dep, "spec.replicas")), "2");
    assert_eq!(
        at(dep, "spec.selector.matchLabels"),
        at(dep, "spec.template.metadata.labels")
    );

    // Ports: named, equal to the config's listen ports (which are the real ones).
    let ports: BTreeMap<String, u16> = at(ctr, "ports")
        .as_sequence()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                scalar(at(p, "name")),
                scalar(at(p, "containerPort")).parse().expect("port"),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [("grpc".to_string(), grpc), ("metrics".to_string(), metrics)].into()
    );
    assert_eq!(port_of(&c.grpc.listen), grpc);
    assert_eq!(port_of(&c.metrics.listen), metrics);
    assert!(c.grpc.listen.starts_with("0.0.0.0:") && c.metrics.listen.starts_with("0.0.0.0:"));

    // Probes on gRPC health at the gRPC port.
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        assert_eq!(
            scalar(at(ctr, &format!("{probe}.grpc.port"))),
            grpc.to_string(),
            "{probe}"
        );
    }
    let annotations = at(dep, "spec.template.metadata.annotations");
    let ann = |k: &str| {
        scalar(
            annotations
                .get(k)
                .unwrap_or_else(|| panic!("annotation {k}")),
        )
    };
    assert_eq!(ann("prometheus.io/scrape"), "true");
    assert_eq!(ann("prometheus.io/port"), metrics.to_string());
    assert_eq!(ann("prometheus.io/path"), "/metrics");

    // Security: non-root as the image's user, read-only root, state on an emptyDir.
    assert_eq!(scalar(at(spec, "securityContext.runAsNonRoot")), "true");
    assert_eq!(scalar(at(spec, "securityContext.runAsUser")), "10001");
    assert_eq!(
        scalar(at(ctr, "securityContext.readOnlyRootFilesystem")),
        "true"
    );
    assert_eq!(
        scalar(at(ctr, "securityContext.allowPrivilegeEscalation")),
        "false"
    );
    let grace: u64 = scalar(at(spec, "terminationGracePeriodSeconds"))
        .parse()
        .expect("grace");
    assert!(grace >= 30, "long enough to drain and commit: {grace}");
    assert!(
        at(ctr, "resources.requests.cpu").as_str().is_some(),
        "the HPA needs a CPU request"
    );

    // Mounts: the config directory (no subPath, so updates arrive) holding
    // the files the config names; the state volume under the config's state_dir.
    let mounts: BTreeMap<String, Value> = at(ctr, "volumeMounts")
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .map(|m| (scalar(at(m, "mountPath")), m.clone()))
        .collect();
    let config_mount = &mounts["/etc/satpam"];
    assert!(
        config_mount.get("subPath").is_none(),
        "a directory mount, so ConfigMap updates reach the files"
    );
    let volumes: BTreeMap<String, Value> = at(spec, "volumes")
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(|v| (scalar(at(v, "name")), v.clone()))
        .collect();
    let config_volume = &volumes[&scalar(at(config_mount, "name"))];
    let sources: Vec<String> = at(config_volume, "projected.sources")
        .as_sequence()
        .expect("projected sources")
        .iter()
        .map(|s| scalar(at(s, "configMap.name")))
        .collect();
    assert_eq!(sources, ["satpam-config", "satpam-rules"]);
    let mut in_dir: BTreeSet<String> = generated_files("satpam-config").0.into_iter().collect();
    in_dir.extend(generated_files("satpam-rules").0);
    for (key, p) in [
        ("engine.rules", path(&c.engine.rules)),
        ("engine.policy", path(&c.engine.policy)),
    ] {
        let file = p
            .strip_prefix("/etc/satpam/")
            .unwrap_or_else(|| panic!("{key} = {p}"));
        assert!(
            in_dir.contains(file),
            "{key} = {p} is not in the mounted ConfigMaps"
        );
    }
    // The image's ENTRYPOINT reads /etc/satpam/satpam.toml: the ConfigMap file.
    assert!(in_dir.contains("satpam.toml"));
    let state_mount = &mounts["/var/lib/satpam"];
    let state_volume = &volumes[&scalar(at(state_mount, "name"))];
    assert!(
        state_volume.get("emptyDir").is_some(),
        "state on an emptyDir"
    );
    assert!(path(&c.kafka.state_dir).starts_with("/var/lib/satpam/"));
    assert!(
        path(&c.engine.overrides).starts_with("/var/lib/satpam/"),
        "overrides are writable"
    );

    // Service: both ports, by the container's port names, selecting the pods.
    let svc = &docs["Service"];
    let svc_ports: BTreeMap<String, (String, String)> = at(svc, "spec.ports")
        .as_sequence()
        .expect("service ports")
        .iter()
        .map(|p| {
            (
                scalar(at(p, "name")),
                (scalar(at(p, "port")), scalar(at(p, "targetPort"))),
            )
        })
        .collect();
    assert_eq!(svc_ports["grpc"], (grpc.to_string(), "grpc".to_string()));
    assert_eq!(
        svc_ports["metrics"],
        (metrics.to_string(), "metrics".to_string())
    );
    let pod_labels = at(dep, "spec.template.metadata.labels");
    for (kind, selector) in [
        ("Service", "spec.selector"),
        ("PodDisruptionBudget", "spec.selector.matchLabels"),
    ] {
        assert_eq!(
            at(&docs[kind], selector),
            pod_labels,
            "{kind} selects the pods"
        );
    }
    assert_eq!(
        scalar(at(&docs["PodDisruptionBudget"], "spec.maxUnavailable")),
        "1"
    );

    // HPA: on CPU, on this Deployment, never more pods than event partitions.
    let hpa = &docs["HorizontalPodAutoscaler"];
    assert_eq!(scalar(at(hpa, "spec.scaleTargetRef.kind")), "Deployment");
    assert_eq!(
        scalar(at(hpa, "spec.scaleTargetRef.name")),
        scalar(at(dep, "metadata.name"))
    );
    assert_eq!(scalar(at(hpa, "spec.metrics.0.resource.name")), "cpu");
    let max: u32 = scalar(at(hpa, "spec.maxReplicas")).parse().expect("max");
    let min: u32 = scalar(at(hpa, "spec.minReplicas")).parse().expect("min");
    let replicas: u32 = scalar(at(dep, "spec.replicas")).parse().expect("replicas");
    assert!(
        min <= replicas && replicas <= max,
        "{min} <= {replicas} <= {max}"
    );
    let compose = yaml("deploy/compose.yaml");
    let script = strings(at(&compose, "services.kafka-init.command")).join("\n");
    let events_line = script
        .lines()
        .find(|l| l.contains(&format!("--topic {} ", c.kafka.events_topic)))
        .expect("events topic creation");
    let partitions: u32 = events_line
        .split_whitespace()
        .skip_while(|w| *w != "--partitions")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("partitions");
    assert!(
        max <= partitions,
        "maxReplicas {max} > {partitions} partitions"
    );
}

// ---------------------------------------------------------------- guides

#[test]
fn the_readme_links_the_deploy_guide_and_the_guide_covers_the_stack() {
    let readme = read("README.md");
    assert!(
        readme.contains("](deploy/README.md)"),
        "README links deploy/README.md"
    );
    assert!(
        readme.contains("\ndeploy/"),
        "README's Layout lists deploy/"
    );
    let guide = read("deploy/README.md");
    for want in [
        "docker compose -f deploy/compose.yaml up --build",
        "--profile loadgen",
        "kubectl apply -k deploy/k8s",
        "SATPAM_KAFKA__BROKERS",
        "satpam health",
        "admin/admin",
        "http://127.0.0.1:3000",
        "http://127.0.0.1:9090",
        "loadtest/README.md",
        "promtool",
        "No Docker engine",
    ] {
        assert!(
            guide.contains(want),
            "deploy/README.md does not mention {want:?}"
        );
    }
}

// ------------------------------------------------------------------ KEDA

/// The events partitions compose creates for the config's events topic.
fn events_partitions(events_topic: &str) -> u32 {
    let compose = yaml("deploy/compose.yaml");
    let script = strings(at(&compose, "services.kafka-init.command")).join("\n");
    script
        .lines()
        .find(|l| l.contains(&format!("--topic {events_topic} ")))
        .and_then(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "--partitions")
                .nth(1)
                .and_then(|p| p.parse().ok())
        })
        .expect("events topic creation with --partitions")
}

#[test]
fn the_keda_overlay_replaces_the_hpa_and_scales_on_the_groups_lag() {
    let k = yaml("deploy/k8s-keda/kustomization.yaml");
    assert_eq!(
        strings(at(&k, "resources")),
        ["../k8s", "scaledobject.yaml"],
        "the base plus the ScaledObject"
    );
    // The base's HPA is deleted: KEDA's own HPA and the CPU one must not both
    // drive the Deployment.
    let hpa = yaml("deploy/k8s/hpa.yaml");
    let patch: Value =
        yaml_serde::from_str(&scalar(at(&k, "patches.0.patch"))).expect("patch YAML");
    assert_eq!(scalar(at(&patch, "$patch")), "delete");
    for f in ["apiVersion", "kind", "metadata.name"] {
        assert_eq!(scalar(at(&patch, f)), scalar(at(&hpa, f)), "{f}");
    }

    let so = yaml("deploy/k8s-keda/scaledobject.yaml");
    let dep = yaml("deploy/k8s/deployment.yaml");
    assert_eq!(scalar(at(&so, "apiVersion")), "keda.sh/v1alpha1");
    assert_eq!(scalar(at(&so, "kind")), "ScaledObject");
    assert!(at(&so, "metadata").get("namespace").is_none());
    assert_eq!(scalar(at(&so, "spec.scaleTargetRef.kind")), "Deployment");
    assert_eq!(
        scalar(at(&so, "spec.scaleTargetRef.name")),
        scalar(at(&dep, "metadata.name"))
    );
    assert_ne!(
        scalar(at(&so, "spec.advanced.horizontalPodAutoscalerConfig.name")),
        scalar(at(&hpa, "metadata.name")),
        "KEDA's HPA has its own name"
    );

    // The Kafka scaler reads the same brokers, group and topic as the pods.
    let (files, _) = generated_files("satpam-config");
    let c = Config::from_toml(
        &read(&format!("deploy/k8s/{}", files[0])),
        "deploy/k8s/satpam.toml",
        Vec::new(),
    )
    .expect("k8s config");
    let triggers = at(&so, "spec.triggers").as_sequence().expect("triggers");
    assert_eq!(triggers.len(), 1);
    let t = &triggers[0];
    assert_eq!(scalar(at(t, "type")), "kafka");
    assert_eq!(scalar(at(t, "metadata.bootstrapServers")), c.kafka.brokers);
    assert_eq!(scalar(at(t, "metadata.consumerGroup")), c.kafka.group_id);
    assert_eq!(scalar(at(t, "metadata.topic")), c.kafka.events_topic);
    let threshold: u64 = scalar(at(t, "metadata.lagThreshold"))
        .parse()
        .expect("lagThreshold is a number");
    assert!(threshold > 0);
    // The scaler's reset policy is what satpam's consumer does for a new group.
    let policy = scalar(at(t, "metadata.offsetResetPolicy"));
    assert!(
        read("src/source/kafka/mod.rs").contains(&format!("\"auto.offset.reset\", \"{policy}\"")),
        "satpam's consumer does not reset to {policy}"
    );
    assert_eq!(
        scalar(at(t, "metadata.allowIdleConsumers")),
        "false",
        "the scaler caps replicas at the partitions"
    );

    // Never to zero; never more pods than partitions; the base replicas inside.
    let min: u32 = scalar(at(&so, "spec.minReplicaCount"))
        .parse()
        .expect("min");
    let max: u32 = scalar(at(&so, "spec.maxReplicaCount"))
        .parse()
        .expect("max");
    let replicas: u32 = scalar(at(&dep, "spec.replicas")).parse().expect("replicas");
    assert!(
        min >= 1,
        "scaling satpam to zero stops gRPC and trips SatpamFleetSilent"
    );
    assert!(
        min <= replicas && replicas <= max,
        "{min} <= {replicas} <= {max}"
    );
    let partitions = events_partitions(&c.kafka.events_topic);
    assert!(
        max <= partitions,
        "maxReplicaCount {max} > {partitions} partitions"
    );
    // The same scaling behaviour as the CPU HPA.
    assert_eq!(
        at(&so, "spec.advanced.horizontalPodAutoscalerConfig.behavior"),
        at(&hpa, "spec.behavior")
    );

    // KEDA names no satpam metric (its Kafka scaler asks the brokers); any
    // `satpam_` selector someone adds (a prometheus trigger) must exist.
    let text = read("deploy/k8s-keda/scaledobject.yaml");
    let names: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| selectors(l).into_iter().map(|s| s.name))
        .collect();
    if !names.is_empty() {
        let serve = Embedded::start();
        let live = Exposition::parse(&serve.scrape());
        for n in names {
            assert!(live.has(&n), "the ScaledObject reads {n}, not in /metrics");
        }
    }

    // The guide says: one or the other.
    let guide = read("deploy/README.md");
    assert!(guide.contains("kubectl apply -k deploy/k8s-keda"));
    assert!(guide.contains("never both"));
}
