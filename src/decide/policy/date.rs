//! Calendar dates and instants of the policy file, without a time-zone
//! database: `YYYY-MM-DD` is midnight UTC; an RFC 3339 instant
//! (`2026-02-16T00:00:00+01:00`) gives any other moment, e.g. a market's
//! local midnight.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn date_part(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (i64::from(num(y)?), num(m)?, num(d)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant
/// (`YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`) to milliseconds since the Unix
/// epoch. `None` when it is neither.
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    let Some((date, time)) = s.split_once(['T', 't', ' ']) else {
        return date_part(s).map(|d| d * MS_PER_DAY);
    };
    let days = date_part(date)?;
    let (clock, offset_ms) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let (oh, om) = (num(oh)?, num(om)?);
        if oh > 23 || om > 59 || off.len() != 6 {
            return None;
        }
        (c, sign * i64::from(oh * 60 + om) * 60_000)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let (h, mi, se) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let (h, mi, se) = (num(h)?, num(mi)?, num(se)?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let ms = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        let v = num(&digits)?;
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        i64::from(v) * 10_i64.pow(3 - digits.len() as u32)
    };
    Some(days * MS_PER_DAY + i64::from(h * 3600 + mi * 60 + se) * 1000 + ms - offset_ms)
}

/// The UTC date of an instant, `YYYY-MM-DD`.
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day number (days since 1970-01-01) of an instant.
pub fn day_of(ms: i64) -> i32 {
    ms.div_euclid(MS_PER_DAY)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The instant (midnight UTC) a day number starts.
pub fn day_start_ms(day: i32) -> i64 {
    i64::from(day) * MS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_parse_to_known_epochs() {
        // Values from `date -u -d ... +%s` (seconds, times 1000).
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01", Some(0)),
            ("2026-01-15", Some(1_768_435_200_000)),
            ("2026-02-16", Some(1_771_200_000_000)),
            ("2024-02-29", Some(1_709_164_800_000)),
            ("2026-02-16T00:00:00Z", Some(1_771_200_000_000)),
            ("2026-02-16T00:00:00+01:00", Some(1_771_196_400_000)),
            ("2026-02-15T23:00:00-01:00", Some(1_771_200_000_000)),
            ("2026-02-16T12:34:56.789Z", Some(1_771_245_296_789)),
            ("1969-12-31", Some(-86_400_000)),
            ("2026-02-29", None),
            ("2026-13-01", None),
            ("2026-1-15", None),
            ("15/01/2026", None),
            ("2026-02-16T25:00:00Z", None),
            ("2026-02-16T00:00:00", None),
            ("2026-02-16T00:00:00+1:00", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_instant(s), *want, "{s}");
        }
    }

    #[test]
    fn days_round_trip_across_four_centuries() {
        for z in (-146_097..146_097 * 2).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
        assert_eq!(format_date(1_771_245_296_789), "2026-02-16");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(day_of(1_771_200_000_000), 20_500);
        assert_eq!(day_start_ms(20_500), 1_771_200_000_000);
    }
}
