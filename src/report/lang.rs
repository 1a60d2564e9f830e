//! The report's languages, and how each writes numbers and dates: English
//! (`1,240`, `0.85`, `2025-10-15`) and Indonesian (`1.240`, `0,85`,
//! `15 Oktober 2025`). The figures are the same; only the separators and
//! the date's words change.

/// A language the report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Bahasa Indonesia, for a small-business owner ("Anda").
    Id,
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// `1240` -> `1,240` (English separators).
pub fn count(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0.834` -> `83%`.
pub fn pct(share: f64) -> String {
    format!("{:.0}%", (share * 100.0).clamp(0.0, 100.0))
}

/// A number with at most two decimals, trailing zeros dropped (English
/// decimal point).
pub fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// English separators swapped for Indonesian ones: `1,240.5` -> `1.240,5`.
fn swap_separators(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ',' => '.',
            '.' => ',',
            c => c,
        })
        .collect()
}

impl Lang {
    /// The language of a code: `en` or `id` (case-insensitive).
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "id" => Some(Lang::Id),
            _ => None,
        }
    }

    /// Its code, also the HTML `lang` attribute: `en` or `id`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    /// The English text or the Indonesian one.
    pub fn pick(self, en: &'static str, id: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Id => id,
        }
    }

    /// A whole number with thousands separators.
    pub fn count(self, v: f64) -> String {
        match self {
            Lang::En => count(v),
            Lang::Id => swap_separators(&count(v)),
        }
    }

    /// A number with at most two decimals.
    pub fn num(self, v: f64) -> String {
        match self {
            Lang::En => num(v),
            Lang::Id => swap_separators(&num(v)),
        }
    }

    /// A share as a whole percentage (the same in both languages).
    pub fn pct(self, share: f64) -> String {
        pct(share)
    }

    /// A `YYYY-MM-DD` day: unchanged in English, `15 Oktober 2025` in
    /// Indonesian (text that is not such a day is returned as it is).
    pub fn date(self, day: &str) -> String {
        if self == Lang::En {
            return day.to_string();
        }
        let mut parts = day.splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return day.to_string();
        };
        let month = m
            .parse::<usize>()
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|i| MONTHS_ID.get(i));
        match (d.parse::<u32>(), month, y.len() == 4) {
            (Ok(d), Some(month), true) => format!("{d} {month} {y}"),
            _ => day.to_string(),
        }
    }

    /// A `YYYY-MM-DD HH:MM UTC` instant: unchanged in English,
    /// `15 Oktober 2025 pukul 09.30 UTC` in Indonesian.
    pub fn minute(self, at: &str) -> String {
        if self == Lang::En {
            return at.to_string();
        }
        match at.strip_suffix(" UTC").and_then(|s| s.split_once(' ')) {
            Some((day, hm)) => format!("{} pukul {} UTC", self.date(day), hm.replace(':', ".")),
            None => self.date(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_in_each_language() {
        assert_eq!(Lang::En.count(1240.0), "1,240");
        assert_eq!(Lang::Id.count(1240.0), "1.240");
        assert_eq!(Lang::Id.count(1_234_567.0), "1.234.567");
        assert_eq!(Lang::En.num(0.85), "0.85");
        assert_eq!(Lang::Id.num(0.85), "0,85");
        assert_eq!(Lang::Id.num(3.0), "3");
        assert_eq!(Lang::Id.pct(0.834), "83%");
        assert_eq!(Lang::En.date("2025-10-15"), "2025-10-15");
        assert_eq!(Lang::Id.date("2025-10-15"), "15 Oktober 2025");
        assert_eq!(Lang::Id.date("2026-01-05"), "5 Januari 2026");
        assert_eq!(Lang::Id.date("always"), "always");
        assert_eq!(
            Lang::Id.minute("2026-01-15 09:30 UTC"),
            "15 Januari 2026 pukul 09.30 UTC"
        );
        assert_eq!(Lang::parse("ID"), Some(Lang::Id));
        assert_eq!(Lang::parse("fr"), None);
    }
}
