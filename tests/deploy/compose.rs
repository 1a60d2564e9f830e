//! The compose stack: Kafka, the topics, the ports and health.

use super::*;

pub(crate) fn env_map(v: &Value) -> BTreeMap<String, String> {
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
pub(crate) fn container_ports(service: &Value) -> BTreeSet<u16> {
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
pub(crate) const EXPORTER_PORT: u16 = 9308;

/// The `--flag=value` arguments of compose's kafka-exporter, with compose's
/// `$$` escapes undone.
pub(crate) fn exporter_flags() -> BTreeMap<String, String> {
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

    // kafka-init creates exactly the config's topics; events with 12
    // partitions, the state topic with as many, the three tables of the
    // fleet compacted.
    let init = at(services, "kafka-init");
    assert_eq!(
        scalar(at(init, "depends_on.kafka.condition")),
        "service_healthy"
    );
    let script = strings(at(init, "command")).join("\n");
    let mut created = BTreeMap::new();
    let mut compacted = BTreeSet::new();
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
        if line.contains("--config cleanup.policy=compact") {
            compacted.insert(arg("--topic"));
        }
    }
    assert!(script.contains("/opt/kafka/bin/kafka-topics.sh"));
    let tables: BTreeSet<String> = [
        c.kafka.state_topic_name(),
        c.kafka.overrides_topic_name(),
        format!("{}.actions", c.kafka.group_id),
    ]
    .into();
    let mut want: BTreeSet<String> = [
        c.kafka.events_topic.clone(),
        c.kafka.signals_topic.clone(),
        c.kafka.dead_letter_topic.clone(),
    ]
    .into();
    want.extend(tables.iter().cloned());
    assert_eq!(created.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(created[&c.kafka.events_topic], "12");
    assert_eq!(compacted, tables, "the fleet's tables are compacted");
    assert_eq!(
        created[&c.kafka.state_topic_name()],
        created[&c.kafka.events_topic],
        "the state topic is partitioned like the events"
    );
    assert_eq!(created[&c.kafka.overrides_topic_name()], "1");
    assert_eq!(created[&format!("{}.actions", c.kafka.group_id)], "1");

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
