//! Latency histograms (hdrhistogram, microseconds) and their summaries in
//! milliseconds.
//!
//! Every sample is measured from the event's (or batch's) *intended* send
//! time on the open-loop schedule, not from when it was actually sent: that
//! is the correction for coordinated omission. `record_correct` is not used
//! on top, since it would correct twice.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Longest latency recorded, microseconds (one hour); longer ones saturate.
const MAX_US: u64 = 3_600_000_000;

/// A latency histogram with microsecond resolution and 3 significant digits.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        // Constant, valid bounds: construction cannot fail.
        LatencyHistogram(
            Histogram::new_with_bounds(1, MAX_US, 3)
                .unwrap_or_else(|_| Histogram::new(3).expect("hdr")),
        )
    }
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        self.0.saturating_record(us);
    }

    /// p50, p99, p99.9 and max in ms; `None` without samples.
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.0.is_empty() {
            return None;
        }
        let ms = |us: u64| round3(us as f64 / 1_000.0);
        Some(LatencySummary {
            samples: self.0.len(),
            p50: ms(self.0.value_at_quantile(0.5)),
            p99: ms(self.0.value_at_quantile(0.99)),
            p999: ms(self.0.value_at_quantile(0.999)),
            max: ms(self.0.max()),
        })
    }
}

/// Latency quantiles in milliseconds, 3 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples behind the quantiles.
    pub samples: u64,
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
    /// Largest, ms.
    pub max: f64,
}

/// `x` rounded to 3 decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_quantiles_in_ms() {
        let mut h = LatencyHistogram::default();
        assert!(h.summary().is_none());
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summary().expect("samples");
        assert_eq!(s.samples, 10_000);
        assert!((s.p50 - 5.0).abs() < 0.01, "{s:?}");
        assert!((s.p99 - 9.9).abs() < 0.01, "{s:?}");
        assert!((s.p999 - 9.99).abs() < 0.01, "{s:?}");
        assert!((s.max - 10.0).abs() < 0.01, "{s:?}");
        // Three decimals at most.
        for v in [s.p50, s.p99, s.p999, s.max] {
            assert_eq!(round3(v), v);
        }
    }

    #[test]
    fn stalls_show_in_the_tail_when_measured_from_intended_times() {
        // 1,000 events due every ms; the sender stalls 100 ms at event 500
        // and then catches up. From actual send times only one event looks
        // slow; from intended times the 100 events it held back do.
        let mut from_intended = LatencyHistogram::default();
        for i in 0..1_000u64 {
            let intended_ms = i;
            let sent_ms = if (500..600).contains(&i) { 600 } else { i };
            let service_ms = 1;
            from_intended.record(Duration::from_millis(sent_ms + service_ms - intended_ms));
        }
        let s = from_intended.summary().expect("samples");
        assert!(s.p99 >= 90.0, "{s:?}");
        assert!((s.p50 - 1.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn huge_values_saturate_instead_of_failing() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_secs(10 * 3_600));
        h.record(Duration::ZERO);
        assert_eq!(h.summary().map(|s| s.samples), Some(2));
    }
}
