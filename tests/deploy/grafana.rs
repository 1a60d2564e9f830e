//! The Grafana dashboard: provisionable and complete.

use super::*;

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
