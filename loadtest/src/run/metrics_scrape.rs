//! Scraping satpam's `/metrics` (Prometheus text) over plain HTTP/1.0: the
//! events counter by source, the in-service latency quantiles, and the
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

    /// The stage latency quantiles satpam reports for `stage`, in ms.
    pub fn stage_ms(&self, stage: &str) -> Option<StageQuantiles> {
        let q = |q: &str| {
            self.value(&format!(
                "satpam_stage_latency_seconds{{stage=\"{stage}\",quantile=\"{q}\"}}"
            ))
            .map(|s| round3(s * 1_000.0))
        };
        Some(StageQuantiles {
            p50: q("0.5")?,
            p99: q("0.99")?,
            p999: q("0.999")?,
            max: q("1")?,
        })
    }
}

/// A stage's latency as satpam reports it (over its quantile window), ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageQuantiles {
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
    /// Largest in the window, ms.
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
# TYPE satpam_stage_latency_seconds summary
satpam_stage_latency_seconds{stage=\"in_service\",quantile=\"0.5\"} 0.0000123
satpam_stage_latency_seconds{stage=\"in_service\",quantile=\"0.9\"} 0.00002
satpam_stage_latency_seconds{stage=\"in_service\",quantile=\"0.99\"} 0.000456
satpam_stage_latency_seconds{stage=\"in_service\",quantile=\"0.999\"} 0.0012
satpam_stage_latency_seconds{stage=\"in_service\",quantile=\"1\"} 0.0105
";

    #[test]
    fn reads_counters_and_quantiles() {
        let s = Scrape::from_text(EXPOSITION);
        assert_eq!(s.events("kafka"), 1234.0);
        assert_eq!(s.events("grpc"), 5.0);
        assert_eq!(s.late_and_duplicates("kafka"), (0.0, 2.0));
        let q = s.stage_ms("in_service").expect("quantiles");
        assert_eq!(q.p50, 0.012);
        assert_eq!(q.p99, 0.456);
        assert_eq!(q.p999, 1.2);
        assert_eq!(q.max, 10.5);
        assert!(s.stage_ms("decode").is_none());
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
