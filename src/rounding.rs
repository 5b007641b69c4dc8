//! Exact rounding of metric values (metrics.md §0.5): integer arithmetic, then round half
//! up on the exact quotient, never binary floating point.

/// `round_half_up(n × k / d, 1 dp)` as a decimal string with one place, computed in tenths
/// as `(2·10·k·n + d) div (2·d)`. `None` when the denominator is 0.
pub(crate) fn ratio_1dp(numerator: u64, denominator: u64, k: u64) -> Option<String> {
    if denominator == 0 {
        return None;
    }
    let n = numerator as u128;
    let d = denominator as u128;
    let tenths = (2 * 10 * k as u128 * n + d) / (2 * d);
    Some(format!("{}.{}", tenths / 10, tenths % 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_up_exactly() {
        // 1/8 = 12.5% → "12.5"; 1/16 = 6.25% → 6.3 (half up); 1/3 = 33.33…% → 33.3.
        assert_eq!(ratio_1dp(1, 8, 100).as_deref(), Some("12.5"));
        assert_eq!(ratio_1dp(1, 16, 100).as_deref(), Some("6.3"));
        assert_eq!(ratio_1dp(1, 3, 100).as_deref(), Some("33.3"));
        assert_eq!(ratio_1dp(2, 3, 100).as_deref(), Some("66.7"));
        // 251 per 48,120 aged 65+: 521.612…  → 521.6 per 100,000.
        assert_eq!(ratio_1dp(251, 48120, 100_000).as_deref(), Some("521.6"));
        // A .x5 boundary a float gets wrong: 249/2000 × 100 = 12.45 exactly, but the double
        // nearest it is 12.4499…, which a float ROUND takes down to 12.4. Exactly: 12.5.
        assert_eq!(ratio_1dp(249, 2000, 100).as_deref(), Some("12.5"));
        // Averages in days: 7 days over 2 spells = 3.5.
        assert_eq!(ratio_1dp(7, 2, 1).as_deref(), Some("3.5"));
        assert_eq!(ratio_1dp(0, 5, 100).as_deref(), Some("0.0"));
        assert_eq!(ratio_1dp(5, 0, 100), None);
    }
}
