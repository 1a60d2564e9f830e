//! Figures as a report writes them, computed here apart from the report's
//! own formatter, so a test can look for the account's numbers in its text.

/// `n` with `sep` between thousands: `grouped(1240, ",")` is `1,240`,
/// `grouped(1240, ".")` is `1.240` (Indonesian).
pub fn grouped(n: u64, sep: &str) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// A share as a whole percentage: `0.834` is `83%`.
pub fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(7, ","), "7");
        assert_eq!(grouped(1240, ","), "1,240");
        assert_eq!(grouped(1_234_567, "."), "1.234.567");
        assert_eq!(pct(0.834), "83%");
    }
}
