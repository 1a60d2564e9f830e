//! Command-line values: durations (`10m`, `30s`, `1m30s`), rates (`20000`,
//! `20k`, `max`) and sweeps (`auto`, `10000,20000,40k`).

use std::time::Duration;

/// How fast to offer events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Open loop: event i is due at t0 + i / rate, events per second.
    PerSec(f64),
    /// As fast as the target takes them (closed loop with bounded in-flight
    /// work): a throughput measurement, not a latency one.
    Max,
}

impl Rate {
    /// The rate in events per second, `None` for [`Rate::Max`].
    pub fn per_sec(self) -> Option<f64> {
        match self {
            Rate::PerSec(r) => Some(r),
            Rate::Max => None,
        }
    }
}

/// What `--sweep` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Sweep {
    /// Rates growing geometrically from `--sweep-start` until the target saturates.
    Auto,
    /// These rates, in this order.
    Rates(Vec<f64>),
}

/// Parses a duration: a number followed by `ms`, `s`, `m`, `h` or `d`, several
/// of them summed (`1m30s`); a bare number is seconds. Must be positive.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return positive_secs(secs, s);
    }
    let mut total = 0.0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}`: a unit (ms, s, m, h, d) must follow {rest}"))?;
        if num_end == 0 {
            return Err(format!(
                "`{s}`: expected a number before `{rest}` (e.g. 30s, 10m, 1h)"
            ));
        }
        let value: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("`{s}`: `{}` is not a number", &rest[..num_end]))?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let factor = match &after[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            u => return Err(format!("`{s}`: unknown unit `{u}` (use ms, s, m, h or d)")),
        };
        total += value * factor;
        rest = &after[unit_end..];
    }
    positive_secs(total, s)
}

fn positive_secs(secs: f64, s: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("`{s}`: the duration must be positive"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

/// Parses a rate in events per second: `20000`, `20k`, `1.5M`, or `max`.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(Rate::Max);
    }
    parse_number(t)
        .map(Rate::PerSec)
        .map_err(|e| format!("`{s}`: {e}"))
}

/// Parses `--sweep`: `auto` or a comma-separated list of rates.
pub fn parse_sweep(s: &str) -> Result<Sweep, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("auto") {
        return Ok(Sweep::Auto);
    }
    let rates = t
        .split(',')
        .map(|p| parse_number(p.trim()).map_err(|e| format!("`{s}`: {e}")))
        .collect::<Result<Vec<f64>, String>>()?;
    if rates.is_empty() {
        return Err(format!("`{s}`: no rates"));
    }
    Ok(Sweep::Rates(rates))
}

/// A positive number with an optional `k` (thousand) or `M` (million) suffix.
fn parse_number(t: &str) -> Result<f64, String> {
    let (digits, factor) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    let v: f64 = digits.parse().map_err(|_| {
        "expected a number of events per second (e.g. 20000, 20k, 1.5M)".to_string()
    })?;
    let v = v * factor;
    if !v.is_finite() || v <= 0.0 {
        return Err("the rate must be positive".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_sums() {
        for (s, secs) in [
            ("10m", 600.0),
            ("30s", 30.0),
            ("90s", 90.0),
            ("1h", 3600.0),
            ("15d", 1_296_000.0),
            ("500ms", 0.5),
            ("1m30s", 90.0),
            ("1.5s", 1.5),
            ("45", 45.0),
            (" 2m ", 120.0),
        ] {
            let d = parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!((d.as_secs_f64() - secs).abs() < 1e-9, "{s}: {d:?}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        for (s, want) in [
            ("", "empty"),
            ("10x", "unknown unit"),
            ("m", "expected a number"),
            ("0s", "positive"),
            ("-5", "positive"),
            ("1.2.3s", "not a number"),
        ] {
            let e = parse_duration(s).expect_err(s);
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn rates_parse_with_suffixes_and_max() {
        assert_eq!(parse_rate("20000"), Ok(Rate::PerSec(20_000.0)));
        assert_eq!(parse_rate("20k"), Ok(Rate::PerSec(20_000.0)));
        assert_eq!(parse_rate("1.5M"), Ok(Rate::PerSec(1_500_000.0)));
        assert_eq!(parse_rate("max"), Ok(Rate::Max));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
        assert_eq!(Rate::Max.per_sec(), None);
    }

    #[test]
    fn sweeps_parse() {
        assert_eq!(parse_sweep("auto"), Ok(Sweep::Auto));
        assert_eq!(
            parse_sweep("10000, 20k,40000"),
            Ok(Sweep::Rates(vec![10_000.0, 20_000.0, 40_000.0]))
        );
        assert!(parse_sweep("10k,,20k").is_err());
    }
}
