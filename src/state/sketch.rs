//! Fixed-memory approximate distinct counting: linear counting over a bitmap.
//!
//! A bitmap of `64 * N` bits estimates a distinct count `n` as
//! `-m ln(z / m)` where `m` is the bit count and `z` the zero bits. It is
//! exact-ish for small counts (what minimum-evidence checks need) and
//! saturates at about `m ln m`; a full bitmap reports that ceiling.

/// Sets the bit of `hash` in `bits`.
pub fn insert<const N: usize>(bits: &mut [u64; N], hash: u64) {
    let m = (64 * N) as u64;
    let bit = hash % m;
    bits[(bit / 64) as usize] |= 1u64 << (bit % 64);
}

/// Whether the bit of `hash` is set in `bits`.
pub fn contains<const N: usize>(bits: &[u64; N], hash: u64) -> bool {
    let m = (64 * N) as u64;
    let bit = hash % m;
    bits[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
}

/// The linear-counting estimate of the distinct values inserted in `bits`.
///
/// The estimate depends only on how many bits are set, so for the bitmap
/// sizes the state uses (128 and 256 bits: the users of the hour and of the
/// day) it is read from a table of [`estimate_of`] over every count, filled
/// once; the hot path runs it several times per event, and a logarithm
/// and a rounding cost more than the lookup. The table holds the very
/// values the formula gives, so the two agree to the bit.
pub fn estimate<const N: usize>(bits: &[u64; N]) -> f64 {
    let ones = popcount(bits);
    let table: &[f64] = match N {
        2 => &ESTIMATES_128[..],
        4 => &ESTIMATES_256[..],
        _ => &[],
    };
    match table.get(ones as usize) {
        Some(&v) => v,
        None => estimate_of(64 * N as u32, ones),
    }
}

/// The linear-counting estimate for a bitmap of `m` bits with `ones` set:
/// `-m ln(zeros / m)`, rounded, or the ceiling `m ln m` when none is zero.
pub fn estimate_of(m: u32, ones: u32) -> f64 {
    let m = f64::from(m);
    let zeros = m - f64::from(ones);
    if zeros <= 0.0 {
        return m * m.ln();
    }
    (-m * (zeros / m).ln()).round()
}

/// [`estimate_of`] for every count of a 128-bit bitmap.
static ESTIMATES_128: std::sync::LazyLock<[f64; 129]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|ones| estimate_of(128, ones as u32)));

/// [`estimate_of`] for every count of a 256-bit bitmap.
static ESTIMATES_256: std::sync::LazyLock<[f64; 257]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|ones| estimate_of(256, ones as u32)));

/// The number of set bits (for small universes such as topic masks).
pub fn popcount<const N: usize>(bits: &[u64; N]) -> u32 {
    bits.iter().map(|w| w.count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_64;

    /// The estimate on fixed input: `n` distinct values (xxh3-64 of `i` as
    /// 8 little-endian bytes, each inserted twice) in a 256-bit bitmap. The
    /// set bits and estimates were computed outside this code (Python's
    /// `xxhash` and `-m ln(zeros / m)`); each estimate is within the 10% (or
    /// 1) that minimum-evidence checks rely on.
    #[test]
    fn estimates_on_fixed_input_are_pinned_and_close() {
        for (n, ones, want) in [
            (0u64, 0u32, 0.0),
            (1, 1, 1.0),
            (3, 3, 3.0),
            (10, 10, 10.0),
            (30, 27, 29.0),
            (100, 88, 108.0),
            (300, 179, 308.0),
        ] {
            let mut bits = [0u64; 4];
            for i in 0..n {
                insert(&mut bits, xxh3_64(&i.to_le_bytes()));
                // Duplicates change nothing.
                insert(&mut bits, xxh3_64(&i.to_le_bytes()));
            }
            assert_eq!(popcount(&bits), ones, "n={n}: bits set");
            let est = estimate(&bits);
            assert_eq!(est, want, "n={n}");
            assert!(
                (est - n as f64).abs() <= (n as f64 * 0.1).max(1.0),
                "n={n} est={est}"
            );
        }
    }

    /// The tables give what the formula gives, for every count of every
    /// size they cover, and sizes without a table use the formula.
    #[test]
    fn table_lookups_equal_the_formula_to_the_bit() {
        fn with_ones<const N: usize>(ones: u32) -> [u64; N] {
            let mut bits = [0u64; N];
            for i in 0..ones {
                bits[(i / 64) as usize] |= 1 << (i % 64);
            }
            bits
        }
        /// `estimate` over an N-word map with `ones` set, against the formula.
        fn agrees<const N: usize>(ones: u32) {
            let m = 64 * N as u32;
            let got = estimate(&with_ones::<N>(ones));
            assert_eq!(got.to_bits(), estimate_of(m, ones).to_bits(), "{m}: {ones}");
        }
        (0..=128).for_each(agrees::<2>);
        (0..=256).for_each(agrees::<4>);
        [0, 1, 40, 63, 64].into_iter().for_each(agrees::<1>);
        // The formula itself, pinned: 10 of 128 set; a full 256-bit map.
        assert_eq!(estimate_of(128, 10), 10.0);
        assert_eq!(estimate_of(256, 256), 256.0 * 256f64.ln());
    }

    #[test]
    fn full_bitmap_reports_the_ceiling() {
        // 128 bits: 128 ln 128.
        assert_eq!(estimate(&[u64::MAX; 2]), 621.059873781711);
        // One zero bit left: -128 ln(1/128), the same figure rounded.
        assert_eq!(estimate(&[u64::MAX, u64::MAX - 1]), 621.0);
    }

    #[test]
    fn contains_what_was_inserted() {
        let mut bits = [0u64; 2];
        insert(&mut bits, 77);
        assert!(contains(&bits, 77));
        assert_eq!(popcount(&bits), 1);
    }
}
