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

#[path = "deploy/compose.rs"]
mod compose;
#[path = "deploy/config.rs"]
mod config;
#[path = "deploy/dockerfile.rs"]
mod dockerfile;
#[path = "deploy/grafana.rs"]
mod grafana;
#[path = "deploy/guides.rs"]
mod guides;
#[path = "deploy/k8s.rs"]
mod k8s;
#[path = "deploy/keda.rs"]
mod keda;
#[path = "deploy/metrics.rs"]
mod metrics;
#[path = "deploy/prometheus.rs"]
mod prometheus;
#[path = "deploy/promql.rs"]
mod promql;

// Helpers one area shares with another (the dashboard's expressions,
// the alert rules, the exposition parser, the config paths...).
#[allow(unused_imports)]
use {compose::*, config::*, dockerfile::*, k8s::*, metrics::*, promql::*};
