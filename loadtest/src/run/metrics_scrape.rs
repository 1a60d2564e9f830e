//! Scraping satpam's `/metrics` (Prometheus text) over plain HTTP/1.0: the
//! events counter by source, the in-service latency histogram, and the
//! late and duplicate counters that tell whether the traffic was sane.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::latency::round3;

/// Where satpam's metrics are.
#[derive(Debug, Clone)]
pub struct MetricsEndpoint {
    host_port: String,
    path: String,
}

impl MetricsEndpoint {
    /// Parses `http://host:port/path` (the path defaults to `/metrics`).
    pub fn parse(url: &str) -> Result<MetricsEndpoint, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}`: only http:// URLs are supported"))?;
        let (host_port, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/metrics"),
        };
        if host_port.is_empty() || !host_port.contains(':') {
            return Err(format!("`{url}`: expected http://host:port/metrics"));
        }
        Ok(MetricsEndpoint {
            host_port: host_port.to_string(),
            path: path.to_string(),
        })
    }

    /// GETs the exposition now.
    pub fn scrape(&self) -> std::io::Result<Scrape> {
        let addr =
            self.host_port.to_socket_addrs()?.next().ok_or_else(|| {
                std::io::Error::other(format!("{} does not resolve", self.host_port))
            })?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {} HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.path, self.host_port
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let at = Instant::now();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
        if !head.starts_with("HTTP/1.") || head.split_whitespace().nth(1) != Some("200") {
            return Err(std::io::Error::other(format!(
                "GET {}: {}",
                self.path,
                head.lines().next().unwrap_or("")
            )));
        }
        Ok(Scrape {
            text: body.to_string(),
            at,
        })
    }

    /// A display form of the URL.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.host_port, self.path)
    }
}

/// One scrape of the exposition.
#[derive(Debug, Clone)]
pub struct Scrape {
    text: String,
    /// When the response was complete.
    pub at: Instant,
}

impl Scrape {
    /// A scrape of `text` taken now.
    #[cfg(test)]
    pub fn from_text(text: &str) -> Scrape {
        Scrape {
            text: text.to_string(),
            at: Instant::now(),
        }
    }

    /// The value of the sample named exactly `name` (labels included).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                l.rsplit_once(' ')
                    .filter(|(n, _)| *n == name)
                    .and_then(|(_, v)| v.parse().ok())
            })
    }

    /// `satpam_events_total{source="..."}` (0 when absent).
    pub fn events(&self, source: &str) -> f64 {
        self.value(&format!("satpam_events_total{{source=\"{source}\"}}"))
            .unwrap_or(0.0)
    }

    /// `satpam_events_total` summed over its sources (0 when absent).
    pub fn events_all(&self) -> f64 {
        self.text
            .lines()
            .filter(|l| l.starts_with("satpam_events_total{"))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    }

    /// Late plus duplicate events of `source` (both should stay 0 under load).
    pub fn late_and_duplicates(&self, source: &str) -> (f64, f64) {
        (
            self.value(&format!("satpam_late_events_total{{source=\"{source}\"}}"))
                .unwrap_or(0.0),
            self.value(&format!(
                "satpam_duplicate_events_total{{source=\"{source}\"}}"
            ))
            .unwrap_or(0.0),
        )
    }

    /// The cumulative `satpam_stage_latency_seconds_bucket` counts of
    /// `stage`, by upper bound in seconds (`+Inf` as infinity), ascending.
    fn buckets(&self, stage: &str) -> Vec<(f64, f64)> {
        let prefix = format!("satpam_stage_latency_seconds_bucket{{stage=\"{stage}\",le=\"");
        let mut out: Vec<(f64, f64)> = self
            .text
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(&prefix)?;
                let (le, rest) = rest.split_once('"')?;
                let v: f64 = rest.rsplit(' ').next()?.parse().ok()?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, v))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// The latency quantiles of `stage` over the events satpam recorded
    /// between `since` and this scrape (since start without `since`), in ms,
    /// from its histogram buckets the way Prometheus' `histogram_quantile`
    /// computes them: linear within the bucket, so precise only to the
    /// bucket's width. None when no event was recorded in between.
    pub fn stage_ms(&self, since: Option<&Scrape>, stage: &str) -> Option<StageQuantiles> {
        let now = self.buckets(stage);
        let before = since.map(|s| s.buckets(stage)).unwrap_or_default();
        let delta: Vec<(f64, f64)> = now
            .iter()
            .map(|&(le, v)| {
                let b = before
                    .iter()
                    .find(|(l, _)| *l == le)
                    .map_or(0.0, |&(_, v)| v);
                (le, (v - b).max(0.0))
            })
            .collect();
        let total = delta.last().filter(|(le, _)| le.is_infinite())?.1;
        if total <= 0.0 {
            return None;
        }
        let highest_finite = delta
            .iter()
            .rev()
            .find(|(le, _)| le.is_finite())
            .map_or(0.0, |&(le, _)| le);
        let quantile = |q: f64| {
            let rank = q * total;
            let mut lower = (0.0, 0.0);
            for &(le, c) in &delta {
                if c >= rank {
                    if le.is_infinite() {
                        return highest_finite;
                    }
                    let (lo, lo_c) = lower;
                    if c <= lo_c {
                        return le;
                    }
                    return lo + (le - lo) * (rank - lo_c) / (c - lo_c);
                }
                lower = (le, c);
            }
            highest_finite
        };
        // The largest: the upper bound of the highest bucket that grew.
        let mut max = 0.0;
        let mut prev = 0.0;
        for &(le, c) in &delta {
            if c > prev {
                max = if le.is_finite() { le } else { highest_finite };
            }
            prev = c;
        }
        let ms = |s: f64| round3(s * 1_000.0);
        Some(StageQuantiles {
            p50: ms(quantile(0.5)),
            p99: ms(quantile(0.99)),
            p999: ms(quantile(0.999)),
            max: ms(max),
        })
    }
}

/// A stage's latency as satpam's histogram reports it over a phase, ms
/// (interpolated within buckets; see [`Scrape::stage_ms`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageQuantiles {
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
    /// The upper bound of the highest bucket any event fell in, ms.
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# TYPE satpam_events_total counter
satpam_events_total{source=\"kafka\"} 1234
satpam_events_total{source=\"grpc\"} 5
satpam_late_events_total{source=\"kafka\"} 0
satpam_duplicate_events_total{source=\"kafka\"} 2
# TYPE satpam_stage_latency_seconds histogram
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.00001\"} 100
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.0001\"} 1100
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.001\"} 1190
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.01\"} 1200
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"+Inf\"} 1200
satpam_stage_latency_seconds_sum{stage=\"in_service\"} 0.1
satpam_stage_latency_seconds_count{stage=\"in_service\"} 1200
";

    const LATER: &str = "\
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.00001\"} 100
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.0001\"} 2100
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.001\"} 2190
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"0.01\"} 2200
satpam_stage_latency_seconds_bucket{stage=\"in_service\",le=\"+Inf\"} 2201
";

    #[test]
    fn reads_counters_and_quantiles() {
        let s = Scrape::from_text(EXPOSITION);
        assert_eq!(s.events("kafka"), 1234.0);
        assert_eq!(s.events("grpc"), 5.0);
        assert_eq!(
            s.events_all(),
            1239.0,
            "kafka and grpc, not the late counter"
        );
        assert_eq!(Scrape::from_text("# nothing\n").events_all(), 0.0);
        assert_eq!(s.late_and_duplicates("kafka"), (0.0, 2.0));
        // Since start: 1200 events; p50 at rank 600 is in (10 µs, 100 µs]
        // with 100 below: 10 + 90 * 500/1000 = 55 µs.
        let q = s.stage_ms(None, "in_service").expect("quantiles");
        assert_eq!(q.p50, 0.055);
        // p99 at rank 1188 in (100 µs, 1 ms] with 1100 below: 100 + 900 * 88/90.
        assert_eq!(q.p99, 0.98);
        // p99.9 at rank 1198.8 in (1 ms, 10 ms] with 1190 below: 1 + 9 * 8.8/10.
        assert_eq!(q.p999, 8.92);
        assert_eq!(q.max, 10.0);
        assert!(s.stage_ms(None, "decode").is_none());
        // Between two scrapes: 1001 events, 1000 of them in (10 µs, 100 µs],
        // one over the highest bound (reported as that bound).
        let later = Scrape::from_text(LATER);
        let q = later.stage_ms(Some(&s), "in_service").expect("quantiles");
        assert_eq!(q.p50, 0.055);
        assert_eq!(q.max, 10.0);
        assert!(
            s.stage_ms(Some(&s), "in_service").is_none(),
            "no events in between"
        );
    }

    #[test]
    fn endpoints_parse() {
        let e = MetricsEndpoint::parse("http://satpam:9464/metrics").expect("url");
        assert_eq!(e.url(), "http://satpam:9464/metrics");
        let e = MetricsEndpoint::parse("http://127.0.0.1:9464").expect("url");
        assert_eq!(e.url(), "http://127.0.0.1:9464/metrics");
        assert!(MetricsEndpoint::parse("https://x:1/metrics").is_err());
        assert!(MetricsEndpoint::parse("http://nohost/metrics").is_err());
    }
}
