//! The Dockerfile against the service: ports, paths, the health check.

use super::*;

/// Dockerfile instructions (continuations joined, comments dropped).
pub(crate) fn dockerfile() -> Vec<(String, String)> {
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

pub(crate) fn instructions(d: &[(String, String)], name: &str) -> Vec<String> {
    d.iter()
        .filter(|(i, _)| i == name)
        .map(|(_, r)| r.clone())
        .collect()
}

pub(crate) fn json_argv(s: &str) -> Vec<String> {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not a JSON argv: {s}: {e}"))
}

/// Runs a health-check argv (`satpam health ... --grpc ADDR ...`) with the
/// address replaced by `addr`, after checking the original points at `port`.
pub(crate) fn run_health_argv(
    argv: &[String],
    port: u16,
    addr: SocketAddr,
) -> std::process::Output {
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
    assert_eq!(
        c.kafka.state_store_kind(),
        Some(satpam::config::StateStoreKind::Kafka),
        "state on the state topic, not in the container"
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
