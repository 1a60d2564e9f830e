//! KEDA: the overlay that scales on the group's lag.

use super::*;

/// The events partitions compose creates for the config's events topic.
pub(crate) fn events_partitions(events_topic: &str) -> u32 {
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
        read("src/source/kafka/settings.rs")
            .contains(&format!("\"auto.offset.reset\", \"{policy}\"")),
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
