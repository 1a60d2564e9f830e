//! `satpam-loadgen run` against a real `satpam serve` process.
//!
//! The gRPC test needs nothing else and runs in the plain `cargo test`. The
//! Kafka test needs a broker and is ignored unless asked for, like the
//! service's own Kafka tests (`.ci/run` runs it after `scripts/broker.sh start`):
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test -p satpam-loadgen --test run -- --ignored
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const LOADGEN: &str = env!("CARGO_BIN_EXE_satpam-loadgen");

/// The `satpam` binary of the same profile, beside `satpam-loadgen`. Cargo
/// builds another package's binaries only for that package's own tests, so
/// this builds it (a no-op when it is up to date).
fn satpam_bin() -> PathBuf {
    let loadgen = Path::new(LOADGEN);
    let dir = loadgen.parent().expect("target/<profile>");
    let target = dir.parent().expect("target dir");
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "satpam", "--bin", "satpam"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("cargo build -p satpam");
    assert!(status.success(), "building satpam failed");
    let bin = dir.join("satpam");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

/// `satpam serve` on free ports; stopped when dropped.
struct Serve {
    child: Child,
    grpc: SocketAddr,
    metrics: SocketAddr,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, extra_toml: &str) -> Serve {
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = dir.join("satpam.toml");
        std::fs::write(
            &config,
            format!(
                "[engine]\nreload_poll_ms = 0\n[grpc]\nlisten = \"{grpc}\"\n\
                 [metrics]\nlisten = \"{metrics}\"\nquantile_window_s = 10\n\
                 [sinks]\njsonl = \"\"\n\
                 # Loops jump 15 days of event time ahead: many short loops pass the\n\
                 # wall clock, and concurrent streams lag a loop behind each other,\n\
                 # which satpam's event-time window would refuse.\n\
                 [limits]\nmax_future_ms = 0\nmax_past_ms = 0\n{extra_toml}"
            ),
        )
        .expect("config");
        let log = dir.join("satpam.log");
        let child = Command::new(satpam_bin())
            .args(["serve", "--config"])
            .arg(&config)
            .env("SATPAM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("satpam serve");
        let s = Serve {
            child,
            grpc,
            metrics,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if get(metrics, "/readyz").is_ok_and(|b| b.contains("ready")) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("satpam did not become ready:\n{}", s.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `satpam=<pid>`, for `--watch-pid`.
    fn watch_pid(&self) -> String {
        format!("satpam={}", self.child.id())
    }

    fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loadgen(args: &[&str]) -> Output {
    Command::new(LOADGEN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("satpam-loadgen")
}

/// Runs `satpam-loadgen run <target_args>` against `serve` for a short
/// open-loop run (2,000 events/s for 5 s, then a drain of 20,000 events,
/// satpam's CPU watched) and returns the JSON it printed.
fn short_run_json(target_args: &[&str], serve: &Serve) -> Value {
    let metrics = serve.metrics_url();
    let watch = serve.watch_pid();
    let mut args = vec!["run"];
    args.extend_from_slice(target_args);
    args.extend_from_slice(&[
        "--metrics",
        &metrics,
        "--rate",
        "2000",
        "--duration",
        "5s",
        "--drain-events",
        "20000",
        "--watch-pid",
        &watch,
        "--json",
    ]);
    let out = loadgen(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loadgen failed: {stderr}\nsatpam log:\n{}",
        serve.log_text()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object on stdout: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// What every run must report.
fn check_common(v: &Value, target: &str) {
    assert_eq!(v["target"], target);
    assert_eq!(v["offered_rate"], 2000.0);
    for key in ["achieved_rate", "baseline_rate", "drain_rate", "ratio"] {
        assert!(
            v[key].as_f64().is_some_and(|x| x > 0.0),
            "{key} > 0: {}",
            v[key]
        );
    }
    for q in ["p50", "p99", "p999", "max"] {
        assert!(v["latency_ms"][q].is_number(), "latency_ms.{q}: {v}");
    }
    assert!(
        v["signals_seen"].as_u64().is_some_and(|n| n > 0),
        "signals arrived: {v}"
    );
    let sent = v["events_sent"].as_u64().expect("events_sent");
    assert_eq!(v["events_processed"].as_u64(), Some(sent), "all processed");
    assert_eq!(v["late_events"], 0);
    assert_eq!(v["duplicate_events"], 0);
    assert!(v["in_service_ms"]["p99"].is_number(), "{v}");
    assert!(v["machine"]["nproc"].as_u64().is_some_and(|n| n >= 1));
    assert!(v["command"]
        .as_str()
        .is_some_and(|c| c.starts_with("satpam-loadgen run --target")));
    let names: Vec<&str> = v["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"main"), "{names:?}");
}

/// CPU time by process: satpam's (watched) over the drain, in which it
/// processed every event of the burst, and loadgen's over the baseline.
fn check_cpu(v: &Value) {
    let drain = &v["drain"];
    let satpam = drain["cpu_s"]["satpam"]
        .as_f64()
        .expect("drain.cpu_s.satpam");
    assert!(satpam > 0.0, "satpam worked during the drain: {drain}");
    let per = drain["cpu_us_per_event"]["satpam"]
        .as_f64()
        .expect("per event");
    let events = drain["events"].as_f64().expect("drain.events");
    assert!(
        (per - satpam * 1e6 / events).abs() <= 0.01 + per * 1e-3,
        "{per} us/event from {satpam} s over {events} events"
    );
    assert!(drain["cpu_s"]["loadgen"].is_number(), "{drain}");
    let baseline = &v["baseline"];
    assert!(
        baseline["cpu_s"]["loadgen"]
            .as_f64()
            .is_some_and(|s| s > 0.0),
        "loadgen's client worked during the baseline: {baseline}"
    );
    assert!(
        baseline["cpu_us_per_event"]["satpam"].is_number(),
        "{baseline}"
    );
    for phase in v["phases"].as_array().expect("phases") {
        assert!(phase["cpu_s"]["satpam"].is_number(), "{phase}");
    }
}

#[test]
fn grpc_run_reports_throughput_latency_and_baseline() {
    let dir = tempfile::tempdir().expect("dir");
    let serve = Serve::start(dir.path(), "");
    let grpc = serve.grpc.to_string();
    let record = dir.path().join("results");
    let v = short_run_json(
        &[
            "--target",
            "grpc",
            "--grpc",
            &grpc,
            // Several streams: concurrent batches share satpam's gRPC shards.
            "--streams",
            "4",
            "--record",
            record.to_str().expect("utf-8 path"),
        ],
        &serve,
    );
    check_common(&v, "grpc");
    check_cpu(&v);
    assert_eq!(v["ratio_basis"], "drain");
    assert_eq!(v["rejected_events"], 0);
    for q in ["p50", "p99", "p999", "max"] {
        assert!(v["ack_latency_ms"][q].is_number(), "ack_latency_ms.{q}");
    }
    let files: Vec<PathBuf> = std::fs::read_dir(&record)
        .expect("results dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("results file");
    assert!(
        files[0].to_string_lossy().ends_with("-grpc-2000.md"),
        "{files:?}"
    );
    for want in [
        "machine:",
        "command: `satpam-loadgen run --target grpc",
        "\"baseline_rate\"",
        "  CPU over the drain: loadgen ",
        ", satpam ",
        "  CPU over the baseline: loadgen ",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    for (args, want) in [
        (
            &[
                "run",
                "--target",
                "kafka",
                "--rate",
                "2000",
                "--duration",
                "10x",
            ][..],
            "unknown unit",
        ),
        (
            &["run", "--target", "kafka", "--rate", "fast"][..],
            "events per second",
        ),
        (&["run", "--target", "kafka"][..], "--rate"),
        (&["run", "--target", "udp", "--rate", "1"][..], "udp"),
        (
            &[
                "run",
                "--target",
                "kafka",
                "--rate",
                "1",
                "--watch-pid",
                "satpam",
            ][..],
            "expected NAME=PID",
        ),
        (
            &[
                "run",
                "--target",
                "kafka",
                "--rate",
                "1",
                "--watch-pid",
                "satpam=4294967295",
            ][..],
            "--watch-pid satpam=4294967295: no such process here",
        ),
    ] {
        let out = loadgen(args);
        assert!(!out.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// The broker under test (`SATPAM_TEST_BROKERS`, set by `.ci/run`).
fn brokers() -> String {
    std::env::var("SATPAM_TEST_BROKERS").expect(
        "SATPAM_TEST_BROKERS is not set: start a broker with `scripts/broker.sh start` and export SATPAM_TEST_BROKERS=127.0.0.1:19092",
    )
}

#[test]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
fn kafka_run_reports_throughput_latency_and_a_raw_consume_baseline() {
    let brokers = brokers();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("lg-{}-{nanos}", std::process::id());
    let (events, signals) = (format!("{name}.events"), format!("{name}.signals"));
    let out = loadgen(&[
        "topics",
        "--brokers",
        &brokers,
        "--topic",
        &events,
        "--signals-topic",
        &signals,
        "--partitions",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().expect("dir");
    // Tansu holds a fetch for its whole fetch.wait.max.ms; both satpam and
    // the baseline use the same short wait.
    let serve = Serve::start(
        dir.path(),
        &format!(
            "[kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{name}\"\nevents_topic = \"{events}\"\n\
             signals_topic = \"{signals}\"\ndead_letter_topic = \"{events}.dlq\"\n\
             [kafka.consumer]\n\"fetch.wait.max.ms\" = \"10\"\n"
        ),
    );
    let v = short_run_json(
        &[
            "--target",
            "kafka",
            "--brokers",
            &brokers,
            "--topic",
            &events,
            "--signals-topic",
            &signals,
            "--consumer-property",
            "fetch.wait.max.ms=10",
        ],
        &serve,
    );
    check_common(&v, "kafka");
    check_cpu(&v);
    assert_eq!(v["baseline"]["complete"], true, "{v}");
    assert_eq!(
        v["baseline"]["events"], v["events_sent"],
        "the baseline reads exactly this run's events"
    );
    assert!(v["targets"]["ratio_ge_0_7"].is_boolean());
}
