//! The adversarial family's markets and daily curves: other home countries
//! and shares than the baseline family, and hourly shapes (lunch and
//! evening peaks, office hours, late-night chat) instead of one sine.

use rand::Rng;

use crate::market::{weighted, COUNTRIES, ID};

/// Home-market weights over [`COUNTRIES`] (index-aligned).
const HOME_WEIGHTS: [f64; 26] = [
    22.0, 14.0, 14.0, 8.0, 1.0, 1.0, 2.0, 5.0, 2.0, 7.0, 5.0, 0.5, 3.0, 3.0, 1.0, 3.0, 4.0, 3.0,
    1.0, 1.0, 5.0, 4.0, 2.0, 3.0, 2.0, 1.0,
];

/// UTC offsets (whole hours) of each country's main time zone (index-aligned).
const UTC_OFFSET_H: [i64; 26] = [
    7, 5, -3, -6, 1, 1, 1, -5, 0, 1, 8, 1, 3, 2, -3, -5, 2, 5, 3, 4, 3, 7, 7, 6, 8, -5,
];

/// An account's users: a home country taking most of them, the rest spread
/// over a few diaspora countries.
#[derive(Clone, Debug)]
pub(crate) struct Market {
    home: u8,
    home_share: f64,
    others: Vec<u8>,
    /// UTC offset of the home country, hours.
    pub utc_offset_h: i64,
}

impl Market {
    /// Draws a market; `indonesian` forces Indonesia as the home (UMKM shops).
    pub(crate) fn draw<R: Rng>(rng: &mut R, indonesian: bool) -> Market {
        let home = if indonesian {
            ID
        } else {
            weighted(rng, &HOME_WEIGHTS) as u8
        };
        let home_share = rng.random_range(0.60..0.95);
        let others = (0..rng.random_range(2..=5))
            .map(|_| rng.random_range(0..COUNTRIES.len()) as u8)
            .collect();
        Market {
            home,
            home_share,
            others,
            utc_offset_h: UTC_OFFSET_H[home as usize],
        }
    }

    /// A user's country index.
    pub(crate) fn user_country<R: Rng>(&self, rng: &mut R) -> u8 {
        if self.others.is_empty() || rng.random_bool(self.home_share) {
            self.home
        } else {
            self.others[rng.random_range(0..self.others.len())]
        }
    }
}

/// How conversation starts spread over the local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    /// Lunch and evening peaks (consumers on their phones).
    TwoPeaks,
    /// Late evening peak and an early-morning bump (a daily habit).
    Habit,
    /// Office hours on weekdays, little at night, half on weekends.
    Workday,
    /// Shop hours, 08:00-20:00.
    Shop,
    /// Round the clock with a mild daytime rise (an always-on assistant).
    AllDay,
}

impl Curve {
    fn hourly(self) -> [f64; 24] {
        match self {
            Curve::TwoPeaks => [
                0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.1, 1.4, 1.7, 1.6, 1.1, 1.0,
                1.0, 1.1, 1.3, 1.6, 1.8, 1.7, 1.2, 0.6,
            ],
            Curve::Habit => [
                0.8, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 1.4, 1.1, 0.8, 0.7, 0.7, 0.9, 0.8, 0.7, 0.7,
                0.8, 0.9, 1.1, 1.4, 1.7, 2.0, 2.1, 1.5,
            ],
            Curve::Workday => [
                0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.6, 1.4, 1.9, 2.0, 2.0, 1.5, 1.8, 2.0,
                1.9, 1.7, 1.2, 0.6, 0.4, 0.3, 0.3, 0.2, 0.1,
            ],
            Curve::Shop => [
                0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 1.7, 1.7, 1.6, 1.5, 1.6, 1.7,
                1.7, 1.6, 1.5, 1.4, 1.2, 0.8, 0.4, 0.2, 0.1,
            ],
            Curve::AllDay => [
                0.7, 0.6, 0.5, 0.5, 0.5, 0.6, 0.8, 1.0, 1.1, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2,
                1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.8,
            ],
        }
    }

    /// The largest factor (for thinning).
    pub(crate) fn max(self) -> f64 {
        self.hourly().iter().copied().fold(0.0, f64::max)
    }

    /// The rate factor at `ts` for a market `utc_offset_h` from UTC.
    pub(crate) fn factor(self, ts: i64, utc_offset_h: i64) -> f64 {
        let local_s = ts / 1000 + utc_offset_h * 3600;
        let hour = (local_s.rem_euclid(86_400) / 3600) as usize;
        let f = self.hourly()[hour.min(23)];
        if self == Curve::Workday {
            // 1970-01-01 was a Thursday: day 2 and 3 mod 7 are Saturday and Sunday.
            let day = local_s.div_euclid(86_400).rem_euclid(7);
            if day == 2 || day == 3 {
                return f * 0.5;
            }
        }
        f
    }
}
