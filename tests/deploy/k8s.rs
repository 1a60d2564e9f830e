//! Kubernetes: the manifests against the real ports, paths and config.

use super::*;

pub(crate) fn kustomization() -> Value {
    yaml("deploy/k8s/kustomization.yaml")
}

/// The configMapGenerator entry `name`: its files.
pub(crate) fn generated_files(name: &str) -> (Vec<String>, Value) {
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
    assert_eq!(
        c.kafka.state_store_kind(),
        Some(satpam::config::StateStoreKind::Kafka),
        "partition state on the state topic: a rescheduled pod loses nothing"
    );
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
