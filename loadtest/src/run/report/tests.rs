//! Report tests: figures, targets, the Markdown file.

use super::*;

fn summary(p50: f64) -> LatencySummary {
    LatencySummary {
        samples: 10,
        p50,
        p99: p50 * 2.0,
        p999: p50 * 3.0,
        max: p50 * 4.0,
    }
}

pub(crate) fn sample_report() -> Report {
    Report {
        tool: "satpam-loadgen run",
        version: "0.1.0",
        run_id: "1a2b3c4d".into(),
        date: rfc3339(1_795_000_000),
        command: "satpam-loadgen run --target kafka --rate 2000 --duration 5s".into(),
        machine: Machine {
            nproc: 2,
            cpu: "Test CPU".into(),
            kernel: "6.1".into(),
            memory_gib: 24.0,
            loadavg_start: "0.10 0.20 0.30".into(),
            loadavg_end: "1.10 0.40 0.35".into(),
        },
        target: "kafka",
        endpoint: "127.0.0.1:19192 satpam.events".into(),
        mode: "open-loop",
        offered_rate: 2_000.0,
        sent_rate: 2_000.0,
        achieved_rate: 1_990.0,
        saturated: false,
        baseline_rate: Some(100_000.0),
        baseline: None,
        drain_rate: Some(80_000.0),
        webhook: None,
        catch_up: None,
        drain: None,
        saturation_rate: None,
        ratio: None,
        ratio_basis: None,
        latency_ms: Some(summary(1.5)),
        latency_split_ms: None,
        ack_latency_ms: None,
        in_service_ms: Some(StageQuantiles {
            p50: 0.01,
            p99: 0.2,
            p999: 0.9,
            max: 3.0,
        }),
        duration_s: 5.0,
        events_sent: 10_000,
        events_processed: 10_000,
        signals_seen: 12,
        signals_by_action: BTreeMap::from([("flag".to_string(), 12)]),
        late_events: 0,
        duplicate_events: 0,
        rejected_events: 0,
        scenario: ScenarioReport {
            seed: 1,
            hours: 3.8,
            loop_gap_hours: 360.0,
            text_source: "built-in".into(),
            pool: PoolStats::default(),
        },
        phases: vec![],
        targets: Targets {
            ratio_ge_0_7: None,
            in_service_p99_le_1ms_at_70pct: None,
        },
        notes: vec![],
    }
}

#[test]
fn json_has_the_documented_fields() {
    let mut r = sample_report();
    r.finish(false);
    let v = serde_json::to_value(&r).expect("json");
    for key in [
        "offered_rate",
        "achieved_rate",
        "baseline_rate",
        "ratio",
        "ratio_basis",
        "drain_rate",
        "saturation_rate",
        "events_sent",
        "signals_seen",
        "in_service_ms",
        "phases",
        "machine",
        "command",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for q in ["p50", "p99", "p999", "max"] {
        assert!(v["latency_ms"][q].is_number(), "latency_ms.{q}");
    }
    assert_eq!(v["ratio"], 0.8);
    assert_eq!(v["ratio_basis"], "drain");
    assert_eq!(v["targets"]["ratio_ge_0_7"], true);
    assert!(v["targets"]["in_service_p99_le_1ms_at_70pct"].is_null());
}

#[test]
fn ratio_falls_back_to_saturation_then_achieved() {
    let mut r = sample_report();
    r.drain_rate = None;
    r.saturation_rate = Some(50_000.0);
    r.finish(true);
    assert_eq!(r.ratio, Some(0.5));
    assert_eq!(r.ratio_basis, Some("saturation"));
    assert_eq!(r.targets.ratio_ge_0_7, Some(false));
    assert_eq!(r.targets.in_service_p99_le_1ms_at_70pct, Some(true));
    let mut r = sample_report();
    r.drain_rate = None;
    r.finish(false);
    assert_eq!(r.ratio_basis, Some("achieved"));
    assert_eq!(r.ratio, Some(0.02));
    let mut r = sample_report();
    r.baseline_rate = None;
    r.finish(false);
    assert_eq!(r.ratio, None);
}

#[test]
fn dates_are_utc_rfc3339() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_769_904_000), "2026-02-01T00:00:00Z");
    assert_eq!(rfc3339(1_769_990_399), "2026-02-01T23:59:59Z");
}

#[test]
fn results_file_names_by_day_target_rate_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("dir");
    let mut r = sample_report();
    r.finish(false);
    let a = r.record(dir.path()).expect("first");
    let b = r.record(dir.path()).expect("second");
    let day = &r.date[..10];
    assert_eq!(
        a.file_name().and_then(|n| n.to_str()),
        Some(format!("{day}-kafka-2000.md").as_str())
    );
    assert_eq!(
        b.file_name().and_then(|n| n.to_str()),
        Some(format!("{day}-kafka-2000-2.md").as_str())
    );
    let text = std::fs::read_to_string(a).expect("read");
    for want in [
        "Test CPU",
        "kernel 6.1",
        "`satpam-loadgen run --target kafka --rate 2000 --duration 5s`",
        "\"baseline_rate\": 100000.0",
        "e2e p99",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
}

#[test]
fn a_catch_up_run_divides_the_catch_up_rate_and_names_its_file_so() {
    let dir = tempfile::tempdir().expect("dir");
    let mut r = sample_report();
    r.mode = "catch-up";
    r.catch_up = Some(CatchUpReport {
        events: 1_000_000,
        group: "satpam-loadgen-catch-up-1a2b3c4d".into(),
        startup_s: 0.4,
        seconds: 4.0,
        rate: 75_000.0,
        cpu_s: BTreeMap::from([("satpam".to_string(), 6.0)]),
        cpu_us_per_event: BTreeMap::from([("satpam".to_string(), 6.0)]),
        satpam_threads_cpu_s: vec![
            ("satpam-worker-0".into(), 3.0),
            ("satpam-kafka-po".into(), 1.0),
        ],
        log: "/tmp/satpam.log".into(),
    });
    // The drain rate is there too: the catch-up's rate wins.
    r.finish(false);
    assert_eq!(r.ratio, Some(0.75));
    assert_eq!(r.ratio_basis, Some("catch-up"));
    assert_eq!(r.targets.ratio_ge_0_7, Some(true));
    let table = r.table();
    for want in [
        "catch-up: satpam started on group satpam-loadgen-catch-up-1a2b3c4d",
        "75000 events/s (10-90%)",
        "satpam's threads, CPUs: satpam-worker-0 0.75, satpam-kafka-po 0.25",
        "ratio (catch-up / baseline): 0.750",
    ] {
        assert!(table.contains(want), "missing {want}:\n{table}");
    }
    let path = r.record(dir.path()).expect("record");
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some(format!("{}-kafka-catch-up.md", &r.date[..10]).as_str())
    );
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(
        v["catch_up"]["satpam_threads_cpu_s"][0][0],
        "satpam-worker-0"
    );
}
