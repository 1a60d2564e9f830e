//! Per-stage latency as Prometheus classic histograms. Each worker counts
//! into its own [`StageRecorder`] (plain integers, no sharing on the hot
//! path) and folds them into the shared [`StageLatencies`] (atomics) every
//! few thousand events; `/metrics` renders one histogram family with a
//! `stage` label: cumulative `_bucket{le}` counts, `_sum` and `_count`, all
//! since start, so `histogram_quantile(0.99, sum by (le, stage) (rate(...)))`
//! aggregates over a fleet.
//!
//! Why classic buckets: metrics-exporter-prometheus 0.17 renders only the
//! text format, which cannot carry native histograms.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A stage of an event's trip through the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Protobuf decode and validation.
    Decode,
    /// The engine: state, features, rules, decision.
    Process,
    /// Handing a signal to the sinks.
    Emit,
    /// Dequeued from the source to decided (decode + process + emit).
    InService,
}

impl Stage {
    /// Every stage, in label order.
    pub const ALL: [Stage; 4] = [Stage::Decode, Stage::Process, Stage::Emit, Stage::InService];

    /// The `stage` label value.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Process => "process",
            Stage::Emit => "emit",
            Stage::InService => "in_service",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Upper bounds of the buckets, nanoseconds. Decode takes about a
/// microsecond, process and in-service tens to hundreds of microseconds
/// (the budget is 1 ms at p99), emit up to a blocked sink's seconds: 1-2.5-5
/// steps from 1 µs to 10 s, with the 1 ms budget an exact bound.
pub const BUCKETS_NS: [u64; 22] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Buckets plus the `+Inf` one.
const SLOTS: usize = BUCKETS_NS.len() + 1;

/// The bucket a duration falls in: the first bound it does not exceed.
#[inline]
fn slot(ns: u64) -> usize {
    BUCKETS_NS.partition_point(|&b| b < ns)
}

/// The `le` label of a bucket bound, in seconds (`0.0000025`, `1`, ...).
fn le_label(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    format!("{s}")
}

#[derive(Default)]
struct SharedStage {
    buckets: [AtomicU64; SLOTS],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

/// The shared per-stage histograms.
#[derive(Default)]
pub struct StageLatencies {
    stages: [SharedStage; 4],
}

impl StageLatencies {
    /// Empty histograms.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder for one worker.
    pub fn recorder(&self) -> StageRecorder {
        StageRecorder {
            local: [LocalStage::default(); 4],
            pending: 0,
        }
    }

    fn absorb(&self, local: &mut [LocalStage; 4]) {
        for (dst, src) in self.stages.iter().zip(local.iter_mut()) {
            if src.count == 0 {
                continue;
            }
            for (d, s) in dst.buckets.iter().zip(src.buckets.iter()) {
                if *s > 0 {
                    d.fetch_add(*s, Ordering::Relaxed);
                }
            }
            dst.sum_ns.fetch_add(src.sum_ns, Ordering::Relaxed);
            dst.count.fetch_add(src.count, Ordering::Relaxed);
            *src = LocalStage::default();
        }
    }

    /// Events recorded for `stage` since start.
    pub fn count(&self, stage: Stage) -> u64 {
        self.stages[stage.index()].count.load(Ordering::Relaxed)
    }

    /// Events of `stage` that took at most `BUCKETS_NS[i]` (the cumulative
    /// count of bucket `i`; `i == BUCKETS_NS.len()` is `+Inf`).
    pub fn cumulative(&self, stage: Stage, i: usize) -> u64 {
        self.stages[stage.index()].buckets[..=i.min(SLOTS - 1)]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }

    /// Renders `name` as a Prometheus histogram with a `stage` label.
    pub fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for stage in Stage::ALL {
            let s = &self.stages[stage.index()];
            let label = stage.label();
            // Read the buckets first and derive the count from them, so a
            // concurrent fold never shows `+Inf` different from `_count`.
            let mut cumulative = 0u64;
            for (i, b) in s.buckets.iter().enumerate() {
                cumulative += b.load(Ordering::Relaxed);
                let le = BUCKETS_NS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |&ns| le_label(ns));
                let _ = writeln!(
                    out,
                    "{name}_bucket{{stage=\"{label}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = s.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "{name}_sum{{stage=\"{label}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{stage=\"{label}\"}} {cumulative}");
        }
    }
}

#[derive(Clone, Copy, Default)]
struct LocalStage {
    buckets: [u64; SLOTS],
    count: u64,
    sum_ns: u64,
}

/// One worker's latency recorder: counts locally, folds into the shared
/// histograms every [`StageRecorder::FLUSH_EVERY`] events or on [`flush`](Self::flush).
pub struct StageRecorder {
    local: [LocalStage; 4],
    pending: u32,
}

impl StageRecorder {
    /// Events between folds into the shared histograms.
    pub const FLUSH_EVERY: u32 = 4_096;

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, stage: Stage, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let l = &mut self.local[stage.index()];
        l.buckets[slot(ns)] += 1;
        l.count += 1;
        l.sum_ns = l.sum_ns.saturating_add(ns);
    }

    /// Counts one event; folds when enough have been recorded, and says
    /// whether it did.
    #[inline]
    pub fn tick(&mut self, shared: &StageLatencies) -> bool {
        self.pending += 1;
        if self.pending >= Self::FLUSH_EVERY {
            self.flush(shared);
            return true;
        }
        false
    }

    /// Folds everything recorded so far into `shared`.
    pub fn flush(&mut self, shared: &StageLatencies) {
        self.pending = 0;
        shared.absorb(&mut self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_lands_in_the_first_bucket_it_does_not_exceed() {
        assert_eq!(slot(0), 0);
        assert_eq!(slot(1_000), 0, "le is inclusive");
        assert_eq!(slot(1_001), 1);
        assert_eq!(slot(1_000_000), 9, "the 1 ms budget is a bound");
        assert_eq!(BUCKETS_NS[9], 1_000_000);
        assert_eq!(slot(10_000_000_001), BUCKETS_NS.len(), "+Inf");
        assert!(BUCKETS_NS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn recorded_values_show_in_the_buckets_after_flush() {
        let shared = StageLatencies::new();
        let mut r = shared.recorder();
        for us in 1..=1000u64 {
            r.record(Stage::Process, Duration::from_micros(us));
        }
        assert_eq!(shared.count(Stage::Process), 0, "nothing before the flush");
        r.flush(&shared);
        assert_eq!(shared.count(Stage::Process), 1000);
        // le=0.00001 (10 µs): 1..=10 µs.
        assert_eq!(shared.cumulative(Stage::Process, 3), 10);
        // le=0.0005: 1..=500 µs.
        assert_eq!(shared.cumulative(Stage::Process, 8), 500);
        assert_eq!(shared.cumulative(Stage::Process, 9), 1000);
        assert_eq!(shared.cumulative(Stage::Process, BUCKETS_NS.len()), 1000);
        assert_eq!(shared.count(Stage::Decode), 0);
        // A second flush adds; the recorder starts over.
        r.record(Stage::Process, Duration::from_secs(30));
        r.flush(&shared);
        assert_eq!(shared.count(Stage::Process), 1001);
        assert_eq!(
            shared.cumulative(Stage::Process, BUCKETS_NS.len() - 1),
            1000
        );
    }

    #[test]
    fn render_is_a_cumulative_histogram_per_stage() {
        let shared = StageLatencies::new();
        let mut r = shared.recorder();
        r.record(Stage::Emit, Duration::from_millis(2));
        r.record(Stage::Emit, Duration::from_micros(3));
        r.flush(&shared);
        let mut out = String::new();
        shared.render("x_seconds", "help", &mut out);
        assert!(out.contains("# TYPE x_seconds histogram"));
        for want in [
            "x_seconds_bucket{stage=\"emit\",le=\"0.000001\"} 0",
            "x_seconds_bucket{stage=\"emit\",le=\"0.000005\"} 1",
            "x_seconds_bucket{stage=\"emit\",le=\"0.001\"} 1",
            "x_seconds_bucket{stage=\"emit\",le=\"0.0025\"} 2",
            "x_seconds_bucket{stage=\"emit\",le=\"10\"} 2",
            "x_seconds_bucket{stage=\"emit\",le=\"+Inf\"} 2",
            "x_seconds_count{stage=\"emit\"} 2",
            "x_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 0",
            "x_seconds_count{stage=\"decode\"} 0",
        ] {
            assert!(out.contains(want), "missing {want} in\n{out}");
        }
        let sum = out
            .lines()
            .find(|l| l.starts_with("x_seconds_sum{stage=\"emit\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .expect("emit sum");
        assert!((sum - 0.002003).abs() < 1e-9, "{sum}");
        assert!(!out.contains("quantile"));
    }
}
