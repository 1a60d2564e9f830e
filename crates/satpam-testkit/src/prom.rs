//! The Prometheus text exposition, parsed strictly enough to catch format
//! errors.

/// Parses `text` (panicking on anything malformed: a line the
/// `prometheus-parse` crate refuses, a bad value or metric name, no samples
/// at all) and returns the samples as (name with labels, value).
pub fn parse(text: &str) -> Vec<(String, f64)> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text format");
    assert!(!scrape.samples.is_empty(), "no samples");
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').expect("`name value` line");
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "bad value in {line:?}"
        );
        let metric = name.split('{').next().unwrap_or("");
        assert!(
            metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
    }
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (n, v) = l.rsplit_once(' ')?;
            Some((n.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The value of the sample named exactly `name` (labels included).
pub fn sample(samples: &[(String, f64)], name: &str) -> Option<f64> {
    samples.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_their_labels_and_values() {
        let s = parse("# TYPE a counter\na{x=\"1\"} 3\nb 0.5\n");
        assert_eq!(sample(&s, "a{x=\"1\"}"), Some(3.0));
        assert_eq!(sample(&s, "b"), Some(0.5));
        assert_eq!(sample(&s, "a"), None);
    }

    #[test]
    #[should_panic(expected = "bad value")]
    fn a_bad_value_is_caught() {
        parse("a 1\nb one\n");
    }
}
