//! Markets: user countries, languages, time zones and tenants per account.

use rand::Rng;

use super::texts::Lang;

/// ISO 3166-1 alpha-2 codes the generator uses; events store an index into this.
/// The first 20 are the baseline family's; the adversarial family adds the
/// rest (appending keeps the baseline's indices).
pub(crate) const COUNTRIES: [&str; 26] = [
    "ID", "IN", "BR", "MX", "IT", "ES", "DE", "US", "GB", "NG", "PH", "FR", "TR", "ZA", "AR", "CO",
    "EG", "PK", "SA", "AE", "KE", "VN", "TH", "BD", "MY", "PE",
];

/// Base weights of the global (non-Indonesian, non-Italian) market.
const GLOBAL_WEIGHTS: [f64; 20] = [
    6.0, 14.0, 12.0, 8.0, 3.0, 5.0, 4.0, 6.0, 4.0, 6.0, 5.0, 3.0, 4.0, 3.0, 4.0, 4.0, 4.0, 3.0,
    3.0, 2.0,
];

/// UTC offsets (whole hours) of each country's main time zone.
const UTC_OFFSET_H: [i64; 20] = [
    7, 5, -3, -6, 1, 1, 1, -5, 0, 1, 8, 1, 3, 2, -3, -5, 2, 5, 3, 4,
];

pub(crate) const ID: u8 = 0;
const IT: u8 = 4;

/// An account's user-country mix (cumulative weights) and time zone.
#[derive(Clone, Debug)]
pub(crate) struct CountryMix {
    cumulative: Vec<(u8, f64)>,
    /// UTC offset of the account's home market, hours.
    pub utc_offset_h: i64,
}

impl CountryMix {
    /// Draws an account's market: ~33% Indonesian, ~5% Italian, the rest global.
    pub fn draw<R: Rng>(rng: &mut R) -> CountryMix {
        let u: f64 = rng.random();
        let (home, home_share) = if u < 0.33 {
            (ID, rng.random_range(0.85..0.97))
        } else if u < 0.38 {
            (IT, rng.random_range(0.80..0.95))
        } else {
            (
                weighted(rng, &GLOBAL_WEIGHTS) as u8,
                rng.random_range(0.35..0.80),
            )
        };
        let mut w = [0.0; 20];
        for (i, base) in GLOBAL_WEIGHTS.iter().enumerate() {
            w[i] = base * rng.random_range(0.2..3.0);
        }
        w[home as usize] = 0.0;
        let rest: f64 = w.iter().sum();
        let mut cumulative = Vec::with_capacity(20);
        let mut acc = 0.0;
        for (i, wi) in w.iter().enumerate() {
            let share = if i == home as usize {
                home_share
            } else {
                (1.0 - home_share) * wi / rest
            };
            acc += share;
            cumulative.push((i as u8, acc));
        }
        CountryMix {
            cumulative,
            utc_offset_h: UTC_OFFSET_H[home as usize],
        }
    }

    /// Draws a user's country index.
    pub fn user_country<R: Rng>(&self, rng: &mut R) -> u8 {
        let total = self.cumulative.last().map_or(1.0, |c| c.1);
        let u = rng.random::<f64>() * total;
        self.cumulative
            .iter()
            .find(|c| u < c.1)
            .map_or(self.cumulative[0].0, |c| c.0)
    }
}

/// Text language for a user in `country`: Indonesian for ID, else English.
pub(crate) fn lang_of(country: u8) -> Lang {
    if country == ID {
        Lang::Id
    } else {
        Lang::En
    }
}

/// Index drawn proportionally to `weights`.
pub(crate) fn weighted<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

/// Tenants (BSP customers) are `bsp-01`..`bsp-20`, Zipf-like sizes.
pub(crate) fn draw_tenant<R: Rng>(rng: &mut R) -> u8 {
    let weights: Vec<f64> = (1..=20).map(|i| 1.0 / f64::from(i).powf(0.8)).collect();
    weighted(rng, &weights) as u8 + 1
}
