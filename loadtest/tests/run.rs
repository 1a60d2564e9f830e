//! `satpam-loadgen run` against a real `satpam serve` process.
//!
//! The gRPC test needs nothing else and runs in the plain `cargo test`. The
//! Kafka test needs a broker and is ignored unless asked for, like the
//! service's own Kafka tests (`.ci/run` runs it after `scripts/broker.sh start`):
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test -p satpam-loadgen --test run -- --ignored
//! ```

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use satpam_testkit::http::free_addr;
use satpam_testkit::kafka::{brokers, unique};
use satpam_testkit::process::Served;
use serde_json::Value;

const LOADGEN: &str = env!("CARGO_BIN_EXE_satpam-loadgen");

/// The `satpam` binary of the same profile, beside `satpam-loadgen`. Cargo
/// builds another package's binaries only for that package's own tests, so
/// this builds it (a no-op when it is up to date). `SATPAM_TEST_SATPAM_BIN`
/// names one already built instead (CI: the one `cargo test --workspace`
/// built, which `cargo build -p satpam` would build again with other
/// features).
fn satpam_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SATPAM_TEST_SATPAM_BIN") {
        return PathBuf::from(bin);
    }
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

/// `satpam serve` on free ports; stopped (SIGTERM) when dropped.
struct Serve {
    grpc: SocketAddr,
    served: Served,
}

impl Deref for Serve {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl Serve {
    fn start(dir: &Path, extra_toml: &str) -> Serve {
        let (grpc, metrics) = (free_addr(), free_addr());
        let config = dir.join("satpam.toml");
        std::fs::write(
            &config,
            format!(
                "[engine]\nreload_poll_ms = 0\n[grpc]\nlisten = \"{grpc}\"\n\
                 [metrics]\nlisten = \"{metrics}\"\n\
                 [sinks]\njsonl = \"\"\n\
                 # Loops jump 15 days of event time ahead: many short loops pass the\n\
                 # wall clock, and concurrent streams lag a loop behind each other,\n\
                 # which satpam's event-time window would refuse.\n\
                 [limits]\nmax_future_ms = 0\nmax_past_ms = 0\n{extra_toml}"
            ),
        )
        .expect("config");
        let mut cmd = Command::new(satpam_bin());
        cmd.args(["serve", "--config"])
            .arg(&config)
            .env("SATPAM_LOG", "warn");
        let served = Served::spawn(
            cmd,
            metrics,
            &dir.join("satpam.log"),
            Duration::from_secs(60),
        );
        Serve { grpc, served }
    }

    /// `satpam=<pid>`, for `--watch-pid`.
    fn watch_pid(&self) -> String {
        format!("satpam={}", self.pid())
    }

    fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics)
    }
}

/// The app secret of the webhook test (loadgen reads it from the environment).
const APP_SECRET: &str = "loadgen-test-secret";

fn loadgen(args: &[&str]) -> Output {
    Command::new(LOADGEN)
        .args(args)
        .env("SATPAM_LOADGEN_APP_SECRET", APP_SECRET)
        .stdin(Stdio::null())
        .output()
        .expect("satpam-loadgen")
}

/// CPU seconds `pid` has used so far, read from `/proc/<pid>/stat` by the
/// test itself (utime + stime over `getconf CLK_TCK`), independently of
/// loadgen's own reading.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf");
    let hz: f64 = String::from_utf8_lossy(&hz.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK");
    ticks as f64 / hz
}

/// A run's JSON, and satpam's CPU seconds over the whole run as the test
/// measured them.
struct RunOutput {
    v: Value,
    satpam_cpu_s: f64,
}

/// Runs `satpam-loadgen run <target_args>` against `serve` for a short
/// open-loop run (2,000 events/s for 5 s, then a drain of 8,000 events,
/// satpam's CPU watched) and returns the JSON it printed.
fn short_run_json(target_args: &[&str], serve: &Serve) -> RunOutput {
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
        "8000",
        "--watch-pid",
        &watch,
        "--json",
    ]);
    let cpu_before = cpu_seconds(serve.pid());
    let out = loadgen(&args);
    let satpam_cpu_s = cpu_seconds(serve.pid()) - cpu_before;
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
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    RunOutput { v, satpam_cpu_s }
}

fn f64_of(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

/// Latency quantiles: present, not negative, in order.
fn check_quantiles(q: &Value, what: &str) {
    let x: Vec<f64> = ["p50", "p99", "p999", "max"]
        .iter()
        .map(|k| f64_of(&q[k], &format!("{what}.{k}")))
        .collect();
    assert!(
        x[0] >= 0.0 && x.windows(2).all(|w| w[0] <= w[1]),
        "{what}: p50 <= p99 <= p999 <= max: {q}"
    );
}

/// What every run must report: the run's shape by value (2,000/s for 5 s is
/// 10,000 events, then the 8,000 of the drain), and the figures that must
/// agree with one another.
fn check_common(v: &Value, target: &str) {
    assert_eq!(v["target"], target);
    assert_eq!(v["mode"], "open-loop");
    assert_eq!(v["offered_rate"], 2000.0);
    let phases = v["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases.iter().filter_map(|p| p["name"].as_str()).collect();
    // The gRPC baseline is a phase of its own; Kafka's reads the run's events back.
    let want: &[&str] = match target {
        "kafka" => &["main", "drain"],
        // The webhook baseline parses bodies in loadgen: not a phase.
        "webhook" => &["main", "max"],
        _ => &["main", "max", "baseline"],
    };
    assert_eq!(names, want, "{v}");
    let (main, drain_phase) = (&phases[0], &phases[1]);
    assert_eq!(main["events"], 10_000, "2,000/s for 5 s");
    assert_eq!(main["offered_rate"], 2000.0);
    assert_eq!(v["duration_s"], main["seconds"]);
    assert_eq!(drain_phase["events"], 8_000, "--drain-events");
    assert_eq!(v["drain"]["events"], 8_000);
    let sent = v["events_sent"].as_u64().expect("events_sent");
    assert_eq!(sent, 18_000, "main and drain phases");
    assert_eq!(v["events_processed"].as_u64(), Some(sent), "all processed");
    assert_eq!(v["late_events"], 0);
    assert_eq!(v["duplicate_events"], 0);

    // Rates: the headline figures are the phases' and sections' own.
    assert_eq!(v["sent_rate"], main["sent_rate"]);
    assert_eq!(v["achieved_rate"], main["achieved_rate"]);
    let achieved = f64_of(&v["achieved_rate"], "achieved_rate");
    let offered = f64_of(&v["sent_rate"], "sent_rate");
    assert!(
        achieved > 0.0 && achieved <= offered * 1.01,
        "satpam cannot process more than was sent: {achieved} of {offered}"
    );
    assert_eq!(v["drain_rate"], v["drain"]["rate"]);
    assert_eq!(v["baseline_rate"], v["baseline"]["rate"]);
    let (drain, base) = (
        f64_of(&v["drain_rate"], "drain_rate"),
        f64_of(&v["baseline_rate"], "baseline_rate"),
    );
    assert!(drain > 0.0 && base > 0.0, "{v}");
    let ratio = f64_of(&v["ratio"], "ratio");
    assert!(
        (ratio - drain / base).abs() <= 0.0005 + 1e-9,
        "ratio {ratio} is drain {drain} over baseline {base}"
    );
    assert_eq!(v["ratio_basis"], "drain");

    // Signals: the per-action counts add up, and each one had its latency taken.
    let seen = v["signals_seen"].as_u64().expect("signals_seen");
    assert!(seen > 0, "signals arrived: {v}");
    let by_action: u64 = v["signals_by_action"]
        .as_object()
        .expect("signals_by_action")
        .values()
        .map(|n| n.as_u64().expect("count"))
        .sum();
    assert_eq!(by_action, seen, "signals_by_action adds up to signals_seen");
    let sampled: u64 = phases
        .iter()
        .filter_map(|p| p["latency_ms"]["samples"].as_u64())
        .sum();
    assert_eq!(sampled, seen, "one end-to-end latency per signal");
    assert_eq!(v["latency_ms"], main["latency_ms"]);
    check_quantiles(&v["latency_ms"], "latency_ms");
    check_quantiles(&v["in_service_ms"], "in_service_ms");
    for p in phases {
        if !p["latency_ms"].is_null() {
            check_quantiles(&p["latency_ms"], "phase latency_ms");
        }
        check_quantiles(&p["ack_latency_ms"], "phase ack_latency_ms");
    }

    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(v["machine"]["nproc"].as_u64(), Some(nproc as u64));
    assert!(v["command"]
        .as_str()
        .is_some_and(|c| c.starts_with(&format!("satpam-loadgen run --target {target}"))));
}

/// CPU time by process, against the test's own reading of satpam's CPU over
/// the whole run: no phase, nor the drain, can have used more than that,
/// and the per-event figure cannot exceed it spread over the drain's events.
/// satpam works in the drain (it processes the backlog) and idles in the
/// gRPC baseline (loadgen's null server takes those events).
fn check_cpu(run: &RunOutput) {
    let (v, measured) = (&run.v, run.satpam_cpu_s);
    // Each figure is rounded to 0.01 s and read at tick granularity.
    let slack = 0.05;
    let drain = &v["drain"];
    let satpam = f64_of(&drain["cpu_s"]["satpam"], "drain.cpu_s.satpam");
    assert!(
        satpam > 0.0 && satpam <= measured + slack,
        "satpam's CPU over the drain, {satpam} s, within its CPU over the run, {measured} s"
    );
    let phases = v["phases"].as_array().expect("phases");
    let over_phases: f64 = phases
        .iter()
        .map(|p| f64_of(&p["cpu_s"]["satpam"], "phase cpu_s.satpam"))
        .sum();
    assert!(
        over_phases <= measured + slack * phases.len() as f64,
        "satpam's CPU over the phases, {over_phases} s, within {measured} s"
    );
    let events = f64_of(&drain["events"], "drain.events");
    let per = f64_of(&drain["cpu_us_per_event"]["satpam"], "per event");
    assert!(
        per > 0.0 && per <= (measured + slack) * 1e6 / events,
        "{per} us/event over {events} events with {measured} s of CPU"
    );
    for p in phases {
        assert_eq!(p["loadgen_cpu_s"], p["cpu_s"]["loadgen"], "{p}");
    }
    let baseline = &v["baseline"];
    assert!(
        f64_of(&baseline["cpu_s"]["loadgen"], "baseline loadgen CPU") > 0.0,
        "loadgen's client worked during the baseline: {baseline}"
    );
    assert!(f64_of(&drain["cpu_s"]["loadgen"], "drain loadgen CPU") >= 0.0);
}

#[test]
fn grpc_run_reports_throughput_latency_and_baseline() {
    let dir = tempfile::tempdir().expect("dir");
    let serve = Serve::start(dir.path(), "");
    let grpc = serve.grpc.to_string();
    let record = dir.path().join("results");
    let run = short_run_json(
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
    let v = &run.v;
    check_common(v, "grpc");
    check_cpu(&run);
    assert_eq!(v["rejected_events"], 0);
    check_quantiles(&v["ack_latency_ms"], "ack_latency_ms");
    // The baseline's events go to loadgen's null server, not to satpam.
    let idle = f64_of(&v["baseline"]["cpu_s"]["satpam"], "baseline satpam CPU");
    let busy = f64_of(&v["drain"]["cpu_s"]["satpam"], "drain satpam CPU");
    assert!(
        idle < busy / 2.0,
        "satpam idles in the gRPC baseline: {idle} s, {busy} s over the drain"
    );
    assert_eq!(
        v["targets"]["ratio_ge_0_7"],
        Value::Null,
        "a Kafka-only target"
    );
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
fn webhook_run_posts_every_event_once_and_reports_requests_and_a_parse_baseline() {
    webhook_run(&["--events-per-body", "4"], 4);
}

/// As live, with every request rendered before the timed phases: bodies of
/// up to 10 messages of one phone number, nothing held back at the end.
#[test]
fn webhook_run_prerendered_posts_every_event_once() {
    webhook_run(&["--events-per-body", "10", "--prerender", "18000"], 10);
}

/// Meta's aggregated batches: many numbers' notifications in one body of up
/// to 40 updates, each send-API message reported sent, delivered and read.
#[test]
fn webhook_run_in_meta_batches_reports_every_status_once() {
    webhook_run(
        &[
            "--events-per-body",
            "40",
            "--prerender",
            "18000",
            "--webhook-batch",
            "connection",
            "--statuses",
            "all",
        ],
        40,
    );
}

/// A webhook run with `extra` arguments, up to `per_body` events per body.
fn webhook_run(extra: &[&str], per_body: u64) {
    let dir = tempfile::tempdir().expect("dir");
    let webhook = free_addr();
    let serve = Serve::start(
        dir.path(),
        &format!(
            "[webhook]\nlisten = \"{webhook}\"\n\
             [[webhook.apps]]\ntenant_id = \"bsp-load\"\napp_secret = \"{APP_SECRET}\"\n"
        ),
    );
    let (grpc, webhook) = (serve.grpc.to_string(), webhook.to_string());
    let run = short_run_json(
        &[
            "--target",
            "webhook",
            "--webhook",
            &webhook,
            "--grpc",
            &grpc,
            "--connections",
            "4",
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
        &serve,
    );
    let v = &run.v;
    check_common(v, "webhook");
    check_cpu(&run);
    let sent = v["events_sent"].as_u64().expect("events_sent");
    // satpam counted exactly the events loadgen sent, none lost, none
    // twice, and one delivery report for each `delivered` status.
    let metric = |name: &str| satpam_testkit::http::metric(serve.metrics, name).unwrap_or(0.0);
    let state = |s: &str| metric(&format!("satpam_webhook_statuses_total{{status=\"{s}\"}}"));
    let (s_sent, delivered, read) = (state("sent"), state("delivered"), state("read"));
    let statuses = s_sent + delivered + read;
    assert_eq!(
        metric("satpam_events_total{source=\"webhook\"}"),
        sent as f64 + statuses
    );
    let all = extra.contains(&"all");
    if all {
        assert!(delivered > 0.0, "statuses reported");
        assert_eq!(
            (s_sent, read),
            (delivered, delivered),
            "each message in all three states"
        );
    } else {
        assert_eq!((s_sent, read), (0.0, 0.0), "delivered only");
    }
    assert_eq!(
        metric("satpam_duplicate_events_total{source=\"webhook\"}"),
        0.0
    );
    assert_eq!(
        metric("satpam_validation_failures_total{source=\"webhook\"}"),
        0.0
    );
    let w = &v["webhook"];
    assert_eq!(w["refused"], 0, "{w}");
    let requests = w["requests"].as_u64().expect("requests");
    assert_eq!(
        metric("satpam_webhook_requests_total{result=\"ok\"}"),
        requests as f64,
        "every request answered 200"
    );
    // Up to `per_body` events per webhook body, one per send-API body.
    assert!(
        requests < sent && requests * per_body >= sent,
        "{requests} requests for {sent} events"
    );
    // Each send-API message is reported delivered at most once, in a later
    // body: fewer than the events, and (one body per number) the requests.
    assert!(
        delivered > 0.0 && delivered < sent as f64,
        "{delivered} statuses"
    );
    if !extra.contains(&"connection") {
        assert!(delivered <= requests as f64, "{delivered} statuses");
    }
    assert_eq!(w["reports"].as_u64(), Some(statuses as u64), "{w}");
    let per = f64_of(&w["events_per_request"], "events_per_request");
    assert!((per - sent as f64 / requests as f64).abs() < 0.001, "{w}");
    let updates = f64_of(&w["updates_per_request"], "updates_per_request");
    assert!(
        (updates - (sent as f64 + statuses) / requests as f64).abs() < 0.001,
        "{w}"
    );
    // The floor: the baseline's bodies to a null server, every one answered.
    let floor = &w["http_floor"];
    assert!(
        f64_of(&floor["requests_rate"], "floor requests_rate") > 0.0,
        "{floor}"
    );
    assert_eq!(floor["events"], v["baseline"]["events"], "{floor}");
    // satpam's own count over the drain: the events and the statuses in it.
    assert!(f64_of(&v["drain"]["satpam_events_rate"], "satpam_events_rate") > 0.0);
    assert!(f64_of(&w["parse_map_rate"], "parse_map_rate") > 0.0);
    let b = &v["baseline"];
    assert_eq!(b["complete"], true, "{b}");
    // The first 10,000 events (the drain's 8,000, at least 10,000);
    // pre-rendered: the bodies as sent that were due within them.
    let base = b["events"].as_u64().expect("baseline events");
    assert!(
        base == 10_000 || (extra.contains(&"--prerender") && base > 0 && base < 10_000),
        "the first 10,000 events: {base}"
    );
    assert!(b["method"]
        .as_str()
        .is_some_and(|m| m.contains("HMAC-SHA256")));
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
        (
            &["run", "--target", "kafka", "--catch-up", "1000"][..],
            "--satpam-config",
        ),
        (
            &[
                "run",
                "--target",
                "kafka",
                "--catch-up",
                "1000",
                "--rate",
                "10",
                "--satpam-config",
                "x.toml",
            ][..],
            "cannot be used with",
        ),
        (
            &[
                "run",
                "--target",
                "grpc",
                "--catch-up",
                "1000",
                "--satpam-config",
                "x.toml",
            ][..],
            "--catch-up is for --target kafka",
        ),
    ] {
        let out = loadgen(args);
        assert!(!out.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// A unique name starting `prefix`, and its events and signals topics,
/// created with 3 partitions by `satpam-loadgen topics`.
fn fresh_topics(brokers: &str, prefix: &str) -> (String, String, String) {
    let name = unique(prefix);
    let (events, signals) = (format!("{name}.events"), format!("{name}.signals"));
    let out = loadgen(&[
        "topics",
        "--brokers",
        brokers,
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
    (name, events, signals)
}

#[test]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
fn kafka_run_reports_throughput_latency_and_a_raw_consume_baseline() {
    let brokers = brokers();
    let (name, events, signals) = fresh_topics(&brokers, "lg");
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
    let run = short_run_json(
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
    let v = &run.v;
    check_common(v, "kafka");
    check_cpu(&run);
    assert_eq!(v["baseline"]["complete"], true, "{v}");
    assert_eq!(
        v["baseline"]["events"], v["events_sent"],
        "the baseline reads exactly this run's events"
    );
    let ratio = f64_of(&v["ratio"], "ratio");
    assert_eq!(
        v["targets"]["ratio_ge_0_7"],
        Value::Bool(ratio >= 0.7),
        "the target verdict follows the ratio: {ratio}"
    );
}

#[test]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
fn kafka_catch_up_times_satpam_alone_over_the_baselines_records() {
    let brokers = brokers();
    let (name, events, signals) = fresh_topics(&brokers, "lgcu");
    let dir = tempfile::tempdir().expect("dir");
    let (grpc, metrics) = (free_addr(), free_addr());
    let config = dir.path().join("satpam.toml");
    // The group id here is never used: loadgen starts satpam in a new one.
    std::fs::write(
        &config,
        format!(
            "[engine]\nreload_poll_ms = 0\n[grpc]\nlisten = \"{grpc}\"\n\
             [metrics]\nlisten = \"{metrics}\"\n[sinks]\njsonl = \"\"\n\
             [limits]\nmax_future_ms = 0\nmax_past_ms = 0\n\
             [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{name}\"\nevents_topic = \"{events}\"\n\
             signals_topic = \"{signals}\"\ndead_letter_topic = \"{events}.dlq\"\n\
             [kafka.consumer]\n\"fetch.wait.max.ms\" = \"10\"\n"
        ),
    )
    .expect("config");
    let bin = satpam_bin();
    let metrics_url = format!("http://{metrics}/metrics");
    let config = config.display().to_string();
    let bin = bin.display().to_string();
    let catch_up = |n: &str| {
        loadgen(&[
            "run",
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
            "--metrics",
            &metrics_url,
            "--catch-up",
            n,
            "--satpam-config",
            &config,
            "--satpam-bin",
            &bin,
            "--json",
        ])
    };
    // Twice on the same topic: the second run's satpam must read only the
    // second burst, not the first one still on the topic.
    for n in [20_000u64, 30_000] {
        let out = catch_up(&n.to_string());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["mode"], "catch-up", "{v}");
        let c = &v["catch_up"];
        assert_eq!(c["events"], n, "{v}");
        assert_eq!(v["events_sent"], n, "{v}");
        assert!(f64_of(&c["rate"], "catch_up.rate") > 0.0, "{v}");
        assert!(
            c["group"]
                .as_str()
                .is_some_and(|g| g.starts_with("satpam-loadgen-catch-up-")),
            "{v}"
        );
        assert!(
            f64_of(&c["cpu_s"]["satpam"], "satpam's CPU") > 0.0,
            "satpam is watched without --watch-pid: {v}"
        );
        let threads = c["satpam_threads_cpu_s"].as_array().expect("threads");
        assert!(
            threads.iter().any(|t| t[0]
                .as_str()
                .is_some_and(|n| n.starts_with("satpam-worker"))),
            "the workers' CPU is among satpam's threads: {v}"
        );
        assert_eq!(v["baseline"]["complete"], true, "{v}");
        assert_eq!(v["baseline"]["events"], n, "the same records: {v}");
        assert_eq!(v["ratio_basis"], "catch-up", "{v}");
        let ratio = f64_of(&v["ratio"], "ratio");
        let want = f64_of(&c["rate"], "rate") / f64_of(&v["baseline_rate"], "baseline");
        assert!((ratio - want).abs() < 0.002, "{ratio} vs {want}");
        assert_eq!(v["late_events"], 0, "{v}");
        assert_eq!(v["duplicate_events"], 0, "{v}");
        // satpam was stopped: its metrics no longer answer.
        assert!(
            std::net::TcpStream::connect(metrics).is_err(),
            "satpam still runs after the catch-up"
        );
    }
}
