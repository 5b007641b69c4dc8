//! Money: parsing and formatting pounds and pence as `rust_decimal::Decimal`, never `f64`.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Parses an amount of money written by a fund manager in a scheme file.
///
/// Accepted: `"657810.00"`, `"657810"`, `"£657,810"`, `"£1,234.5"`, a leading `-` for a credit.
/// Thousands separators must be in the right places; at most two decimal places. Anything
/// else (`"1e3"`, `".5"`, `"12,34"`, `"£"`, `"1.234"`) is refused with a reason.
pub(crate) fn parse_money(text: &str) -> Result<Decimal, String> {
    let s = text.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('£').unwrap_or(s);
    let (whole, pence) = match s.split_once('.') {
        Some((w, p)) => (w, Some(p)),
        None => (s, None),
    };
    let digits: String = if whole.contains(',') {
        let groups: Vec<&str> = whole.split(',').collect();
        let ok = !groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return Err(format!(
                "`{text}` has misplaced thousands separators (write e.g. \"£1,234,567\")"
            ));
        }
        groups.concat()
    } else {
        whole.to_string()
    };
    let digits_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let pence_ok =
        pence.is_none_or(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if !digits_ok || !pence_ok {
        return Err(format!(
            "`{text}` is not an amount of money (write e.g. \"657810.00\" or \"£657,810\")"
        ));
    }
    let plain = match pence {
        Some(p) => format!("{}{digits}.{p}", if negative { "-" } else { "" }),
        None => format!("{}{digits}", if negative { "-" } else { "" }),
    };
    Decimal::from_str(&plain).map_err(|e| format!("`{text}` is out of range: {e}"))
}

/// `£1,234,567` or `£1,234,567.89` (pence shown only when there are any), UK style.
/// Money for a summary, as a board reads it: `£2.4m`, `£657.8k`, `£950` (one decimal, halves
/// away from zero); a minus sign for a negative amount. Exact amounts stay in the tables.
pub(crate) fn format_gbp_short(amount: Decimal) -> String {
    use rust_decimal::RoundingStrategy::MidpointAwayFromZero;
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "−"
    } else {
        ""
    };
    let abs = amount.abs();
    let million = Decimal::from(1_000_000);
    let thousand = Decimal::from(1_000);
    // 999,950 and over reads as £1.0m, not £1000.0k.
    if abs >= million - Decimal::from(50) {
        let m = (abs / million).round_dp_with_strategy(1, MidpointAwayFromZero);
        format!("{sign}£{m:.1}m")
    } else if abs >= thousand - Decimal::new(5, 2) {
        let k = (abs / thousand).round_dp_with_strategy(1, MidpointAwayFromZero);
        format!("{sign}£{k:.1}k")
    } else {
        format!(
            "{sign}£{}",
            abs.round_dp_with_strategy(0, MidpointAwayFromZero)
        )
    }
}

pub(crate) fn format_gbp(amount: Decimal) -> String {
    let rounded = amount.round_dp(2);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let abs = rounded.abs();
    let whole = abs.trunc();
    let pence = ((abs - whole) * Decimal::ONE_HUNDRED).trunc();
    let whole_text = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in whole_text.chars().enumerate() {
        if i > 0 && (whole_text.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if negative { "−" } else { "" };
    if pence.is_zero() {
        format!("{sign}£{grouped}")
    } else {
        format!("{sign}£{grouped}.{pence:0>2}")
    }
}

/// Plain decimal string with exactly two places, as CSV outputs carry money: `657810.00`.
pub(crate) fn plain_2dp(amount: Decimal) -> String {
    let mut r =
        amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        // A tiny stand-in for the `dec!` macro so tests read naturally without another crate.
        macro_rules! dec {
            ($s:literal) => {
                rust_decimal::Decimal::from_str_exact(stringify!($s)).unwrap()
            };
        }
        pub(crate) use dec;
    }

    #[test]
    fn accepts_the_forms_fund_managers_write() {
        assert_eq!(parse_money("657810.00"), Ok(dec!(657810.00)));
        assert_eq!(parse_money("£657,810"), Ok(dec!(657810)));
        assert_eq!(parse_money("£1,234,567.5"), Ok(dec!(1234567.5)));
        assert_eq!(parse_money("-350.25"), Ok(dec!(-350.25)));
        assert_eq!(parse_money(" 12 "), Ok(dec!(12)));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "", "£", "1e3", ".5", "5.", "1.234", "12,34", "1,2345", ",123", "£-5", "ten", "1 000",
        ] {
            assert!(parse_money(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn formats_uk_style() {
        assert_eq!(format_gbp(dec!(657810)), "£657,810");
        assert_eq!(format_gbp(dec!(1234567.5)), "£1,234,567.50");
        assert_eq!(format_gbp(dec!(-350.25)), "−£350.25");
        assert_eq!(format_gbp(dec!(999)), "£999");
        assert_eq!(plain_2dp(dec!(657810)), "657810.00");
        assert_eq!(plain_2dp(dec!(-0.005)), "-0.01");
    }

    #[test]
    fn summary_money_in_thousands_and_millions() {
        use super::format_gbp_short as s;
        let d = |x: &str| x.parse::<Decimal>().unwrap();
        assert_eq!(s(d("2420489.75")), "£2.4m");
        assert_eq!(s(d("657810")), "£657.8k");
        assert_eq!(s(d("999960")), "£1.0m");
        assert_eq!(s(d("999.96")), "£1.0k");
        assert_eq!(s(d("949.5")), "£950");
        assert_eq!(s(d("-27050")), "−£27.1k");
    }
}
