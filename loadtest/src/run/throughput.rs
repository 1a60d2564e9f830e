//! Throughput from a series of (count, time) samples: the rate between the
//! moments the count crossed 10% and 90% of a batch of work, so the start-up
//! of a fetch or a stream and the tail of the last batch do not count.
//! The drain and both baselines are measured this way.

use std::time::Instant;

/// Counts observed over time (non-decreasing).
#[derive(Debug, Default, Clone)]
pub struct CountSeries {
    samples: Vec<(u64, Instant)>,
}

impl CountSeries {
    /// Adds an observation.
    pub fn push(&mut self, count: u64, at: Instant) {
        self.samples.push((count, at));
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// When the count reached `target`, interpolated between the samples around it.
    pub fn crossing(&self, target: u64) -> Option<Instant> {
        let i = self.samples.iter().position(|(c, _)| *c >= target)?;
        let (c1, t1) = self.samples[i];
        let Some(&(c0, t0)) = i.checked_sub(1).and_then(|j| self.samples.get(j)) else {
            return Some(t1);
        };
        if c1 <= c0 || t1 <= t0 {
            return Some(t1);
        }
        let f = (target.saturating_sub(c0)) as f64 / (c1 - c0) as f64;
        Some(t0 + (t1 - t0).mul_f64(f.clamp(0.0, 1.0)))
    }

    /// Events per second while the count went from `from + 10% of n` to
    /// `from + 90% of n`; `None` when it did not get there or took no time.
    pub fn rate_10_90(&self, from: u64, n: u64) -> Option<f64> {
        let lo = from + n / 10;
        let hi = from + n - n / 10;
        let (a, b) = (self.crossing(lo)?, self.crossing(hi)?);
        let secs = b.checked_duration_since(a)?.as_secs_f64();
        (secs > 0.0 && hi > lo).then(|| (hi - lo) as f64 / secs)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rate_between_10_and_90_percent_ignores_a_slow_start() {
        let t0 = Instant::now();
        let mut s = CountSeries::default();
        // Nothing for 500 ms (a fetch waiting), then 1,000 events per 100 ms.
        s.push(0, t0);
        s.push(0, t0 + Duration::from_millis(500));
        for i in 1..=10u64 {
            s.push(i * 1_000, t0 + Duration::from_millis(500 + i * 100));
        }
        let r = s.rate_10_90(0, 10_000).expect("rate");
        assert!((r - 10_000.0).abs() < 1.0, "{r}");
        // Interpolated crossing.
        assert_eq!(s.crossing(1_500), Some(t0 + Duration::from_millis(650)));
        assert_eq!(s.crossing(20_000), None);
        assert_eq!(s.rate_10_90(0, 20_000), None);
    }
}
