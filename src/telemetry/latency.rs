//! Per-stage latency with hdrhistogram. Each worker records into its own
//! [`StageRecorder`] (no sharing on the hot path) and folds it into the
//! shared [`StageLatencies`] every few thousand events; `/metrics` renders a
//! Prometheus summary per stage: quantiles over a rolling window, sum and
//! count since start.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

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

/// Quantiles rendered for every stage.
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

const MAX_NS: u64 = 60_000_000_000;

fn histogram() -> Histogram<u64> {
    // 3 significant digits from 1 ns to 60 s; the bounds are constants, so
    // construction cannot fail.
    Histogram::new_with_bounds(1, MAX_NS, 3).unwrap_or_else(|_| Histogram::new(3).expect("hdr"))
}

struct Window {
    current: Vec<Histogram<u64>>,
    previous: Vec<Histogram<u64>>,
    started: Instant,
}

/// The shared, rolling per-stage histograms.
pub struct StageLatencies {
    window: Mutex<Window>,
    span: Duration,
    count: [AtomicU64; 4],
    sum_ns: [AtomicU64; 4],
}

impl StageLatencies {
    /// Quantiles cover the last one to two `span`s.
    pub fn new(span: Duration) -> Self {
        StageLatencies {
            window: Mutex::new(Window {
                current: Stage::ALL.iter().map(|_| histogram()).collect(),
                previous: Stage::ALL.iter().map(|_| histogram()).collect(),
                started: Instant::now(),
            }),
            span,
            count: Default::default(),
            sum_ns: Default::default(),
        }
    }

    /// A recorder for one worker.
    pub fn recorder(&self) -> StageRecorder {
        StageRecorder {
            local: Stage::ALL.iter().map(|_| histogram()).collect(),
            pending: 0,
        }
    }

    fn absorb(&self, local: &mut [Histogram<u64>]) {
        for (i, h) in local.iter().enumerate() {
            self.count[i].fetch_add(h.len(), Ordering::Relaxed);
            // The mean times the count is the sum, to histogram precision.
            let sum = (h.mean() * h.len() as f64) as u64;
            self.sum_ns[i].fetch_add(sum, Ordering::Relaxed);
        }
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        if w.started.elapsed() >= self.span {
            let w = &mut *w;
            std::mem::swap(&mut w.current, &mut w.previous);
            w.current.iter_mut().for_each(Histogram::reset);
            w.started = Instant::now();
        }
        for (dst, src) in w.current.iter_mut().zip(local.iter_mut()) {
            // Same bounds on both sides: add cannot fail.
            let _ = dst.add(&*src);
            src.reset();
        }
    }

    /// The value at quantile `q` of `stage` over the window, in seconds.
    pub fn quantile_s(&self, stage: Stage, q: f64) -> f64 {
        let Ok(w) = self.window.lock() else {
            return 0.0;
        };
        let mut h = w.current[stage.index()].clone();
        let _ = h.add(&w.previous[stage.index()]);
        h.value_at_quantile(q) as f64 / 1e9
    }

    /// Events recorded for `stage` since start.
    pub fn count(&self, stage: Stage) -> u64 {
        self.count[stage.index()].load(Ordering::Relaxed)
    }

    /// Renders `name` as a Prometheus summary with a `stage` label.
    pub fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} summary");
        let Ok(w) = self.window.lock() else {
            return;
        };
        for stage in Stage::ALL {
            let i = stage.index();
            let mut h = w.current[i].clone();
            let _ = h.add(&w.previous[i]);
            let label = stage.label();
            for q in QUANTILES {
                let v = if h.is_empty() {
                    0.0
                } else {
                    h.value_at_quantile(q) as f64 / 1e9
                };
                let _ = writeln!(out, "{name}{{stage=\"{label}\",quantile=\"{q}\"}} {v}");
            }
            let sum = self.sum_ns[i].load(Ordering::Relaxed) as f64 / 1e9;
            let count = self.count[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_sum{{stage=\"{label}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{stage=\"{label}\"}} {count}");
        }
    }
}

/// One worker's latency recorder: records locally, folds into the shared
/// histograms every [`StageRecorder::FLUSH_EVERY`] events or on [`flush`](Self::flush).
pub struct StageRecorder {
    local: Vec<Histogram<u64>>,
    pending: u32,
}

impl StageRecorder {
    /// Events between folds into the shared histograms.
    pub const FLUSH_EVERY: u32 = 4_096;

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, stage: Stage, d: Duration) {
        let ns = (d.as_nanos() as u64).clamp(1, MAX_NS);
        self.local[stage.index()].saturating_record(ns);
    }

    /// Counts one event; folds when enough have been recorded.
    #[inline]
    pub fn tick(&mut self, shared: &StageLatencies) {
        self.pending += 1;
        if self.pending >= Self::FLUSH_EVERY {
            self.flush(shared);
        }
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
    fn recorded_values_show_in_quantiles_after_flush() {
        let shared = StageLatencies::new(Duration::from_secs(60));
        let mut r = shared.recorder();
        for us in 1..=1000u64 {
            r.record(Stage::Process, Duration::from_micros(us));
        }
        assert_eq!(shared.count(Stage::Process), 0, "nothing before the flush");
        r.flush(&shared);
        assert_eq!(shared.count(Stage::Process), 1000);
        let p50 = shared.quantile_s(Stage::Process, 0.5);
        assert!((p50 - 500e-6).abs() < 5e-6, "p50 {p50}");
        let p99 = shared.quantile_s(Stage::Process, 0.99);
        assert!((p99 - 990e-6).abs() < 5e-6, "p99 {p99}");
        assert_eq!(shared.count(Stage::Decode), 0);
    }

    #[test]
    fn render_is_a_summary_per_stage() {
        let shared = StageLatencies::new(Duration::from_secs(60));
        let mut r = shared.recorder();
        r.record(Stage::Emit, Duration::from_millis(2));
        r.flush(&shared);
        let mut out = String::new();
        shared.render("x_seconds", "help", &mut out);
        assert!(out.contains("# TYPE x_seconds summary"));
        assert!(out.contains("x_seconds_count{stage=\"emit\"} 1"));
        assert!(out.contains("x_seconds{stage=\"decode\",quantile=\"0.99\"} 0"));
        let emit_max = out
            .lines()
            .find(|l| l.starts_with("x_seconds{stage=\"emit\",quantile=\"1\"}"))
            .expect("max line");
        let v: f64 = emit_max
            .rsplit(' ')
            .next()
            .expect("v")
            .parse()
            .expect("f64");
        assert!((v - 0.002).abs() < 1e-5, "{emit_max}");
    }
}
