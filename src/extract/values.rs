//! Reading single values as the data contract says: nulls, dates, codes and whole numbers.

use crate::programme::DateFormat;
use chrono::{Datelike, NaiveDate};

/// A field's value, or `None` for null: empty, or `NULL` in any case, after trimming
/// (`NA`, `N/A` and `-` are values, data-contract.md §0.2).
pub(crate) fn null(s: &str) -> Option<&str> {
    let t = trimmed(s);
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        None
    } else {
        Some(t)
    }
}

/// `s` without leading and trailing whitespace, as `str::trim` gives it. Nearly every field
/// starts and ends with a printable ASCII character, which is never whitespace (a
/// multi-byte character's bytes are all 0x80 or more): then there is nothing to trim, and
/// `trim`'s walk over characters (a thirtieth of a run) is skipped.
pub(crate) fn trimmed(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|b| (0x21..0x7f).contains(b));
    if printable(s.as_bytes().first()) && printable(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// A date every row must have (the contract's "R" dates): the date, or the message that
/// rejects the row — the parser's for a value that is not a date, `missing` for none.
pub(crate) fn required_date(
    s: &str,
    format: DateFormat,
    missing: &str,
) -> Result<NaiveDate, String> {
    match null(s) {
        Some(v) => parse_date(v, format),
        None => Err(missing.to_string()),
    }
}

/// Parses a date in the file's declared format (data-contract.md §0.3): ISO with an
/// optional midnight time part, or dd/mm/yyyy when declared; a real date in 1900–2099.
pub(crate) fn parse_date(s: &str, format: DateFormat) -> Result<NaiveDate, String> {
    let t = trimmed(s);
    // The common case, a plain date in the declared form, without chrono's format parser
    // (millions of dates per run); anything else takes the full path below.
    if let Some(d) = plain_date(t.as_bytes(), format) {
        if (1900..=2099).contains(&d.year()) {
            return Ok(d);
        }
    }
    let parsed = match format {
        DateFormat::Iso => {
            let (date, time) = match t.find([' ', 'T']) {
                Some(i) => (&t[..i], Some(&t[i + 1..])),
                None => (t, None),
            };
            if let Some(time) = time {
                let midnight = time == "00:00:00"
                    || time
                        .strip_prefix("00:00:00.")
                        .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b == b'0'));
                if !midnight {
                    return Err(format!("\"{t}\" has a time that is not midnight"));
                }
            }
            if date.len() != 10 {
                return Err(format!("\"{t}\" is not a yyyy-mm-dd date"));
            }
            NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| format!("\"{t}\" is not a real yyyy-mm-dd date"))?
        }
        DateFormat::DayMonthYear => {
            if t.len() != 10 {
                return Err(format!(
                    "\"{t}\" is not a dd/mm/yyyy date (the format this file declares)"
                ));
            }
            NaiveDate::parse_from_str(t, "%d/%m/%Y").map_err(|_| {
                format!("\"{t}\" is not a real dd/mm/yyyy date (the format this file declares)")
            })?
        }
    };
    if !(1900..=2099).contains(&parsed.year()) {
        return Err(format!("\"{t}\" is outside 1900-01-01 .. 2099-12-31"));
    }
    Ok(parsed)
}

/// `yyyy-mm-dd` (or `dd/mm/yyyy` when declared) in exactly ten ASCII characters, as a real date.
fn plain_date(b: &[u8], format: DateFormat) -> Option<NaiveDate> {
    if b.len() != 10 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = match format {
        DateFormat::Iso if b[4] == b'-' && b[7] == b'-' => (num(0..4)?, num(5..7)?, num(8..10)?),
        DateFormat::DayMonthYear if b[2] == b'/' && b[5] == b'/' => {
            (num(6..10)?, num(3..5)?, num(0..2)?)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Days since 1970-01-01, as polars stores dates. Counted from the common era's first
/// day (1970-01-01 is its 719,163rd day after it): millions of dates a run, and
/// subtracting two `NaiveDate`s costs several times as much.
pub(crate) fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

/// A coded value: trimmed, internal whitespace runs reduced to one space.
pub(crate) fn code(s: &str) -> String {
    normalized(s).into_owned()
}

/// A 128-bit fingerprint of a value: two independent 64-bit hashes (of seeds `seeds`), for
/// keys held by the million without their text (a collision among tens of millions is about
/// a 1e-24 chance).
pub(crate) fn fingerprint128<T: std::hash::Hash + ?Sized>(seeds: (u64, u64), v: &T) -> u128 {
    use std::hash::BuildHasher;
    let a = foldhash::fast::FixedState::with_seed(seeds.0).hash_one(v);
    let b = foldhash::fast::FixedState::with_seed(seeds.1).hash_one(v);
    (u128::from(a) << 64) | u128::from(b)
}

/// `code` without a copy when the value is already in its normal form (single spaces between
/// words, none at the ends), as nearly every value is.
pub(crate) fn normalized(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    // One walk over the bytes: ASCII, no whitespace but single spaces between words.
    let mut prev_space = true;
    let words = b.iter().all(|&c| {
        let ok = match c {
            b' ' => !prev_space,
            c => c.is_ascii() && !c.is_ascii_whitespace(),
        };
        prev_space = c == b' ';
        ok
    });
    let plain = b.is_empty() || (words && !prev_space);
    if plain {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Looks a coded value up in a closed list, case-insensitively; the canonical spelling.
pub(crate) fn canonical<'a>(value: &str, list: &[&'a str]) -> Option<&'a str> {
    let v = code(value);
    list.iter().copied().find(|c| c.eq_ignore_ascii_case(&v))
}

/// The birth years and months a `Der_Birth_Year` / `Der_Birth_Month` pair may give
/// (data-contract.md §1.3, §3): outside them the birth is unknown on that row.
pub(crate) const BIRTH_YEARS: std::ops::RangeInclusive<u64> = 1900..=2099;
pub(crate) const BIRTH_MONTHS: std::ops::RangeInclusive<u64> = 1..=12;

/// A non-negative whole number written in plain digits.
pub(crate) fn whole(s: &str) -> Option<u64> {
    let t = trimmed(s);
    if t.is_empty() {
        return None;
    }
    // Digit by digit: what `parse` gives for plain digits (None past u64), in one walk.
    t.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

/// Days in four years: an age in whole years is floor(days / 365.25) from the 1st of the
/// birth month (metrics.md §0.3), computed exactly in integers as floor(4·days / 1461).
pub(crate) const DAYS_IN_FOUR_YEARS: i64 = 1461;

/// Whole years of age after `days` days from the 1st of the birth month (metrics.md §0.3).
pub(crate) fn years_in(days: i64) -> i64 {
    (4 * days).div_euclid(DAYS_IN_FOUR_YEARS)
}

/// Age in whole years at `d` for someone born on `birth` (the 1st of the birth month).
pub(crate) fn age_at(birth: NaiveDate, d: NaiveDate) -> i64 {
    years_in((d - birth).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_from_1970_as_polars_does() {
        let day = |y, m, d| days(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(day(1969, 12, 31), -1);
        // 2000-03-01: 30 years of 365 days, 7 leap days (1972…1996), then 31 + 29 days.
        assert_eq!(day(2000, 3, 1), 30 * 365 + 7 + 31 + 29);
        assert_eq!(day(1900, 1, 1), -25_567);
    }

    #[test]
    fn fast_paths_read_as_trimming_and_splitting_would() {
        // Ends of every kind: printable ASCII, ASCII whitespace (the vertical tab too, which
        // `is_ascii_whitespace` leaves out), a non-breaking and an ideographic space, and
        // a multi-byte letter.
        let ends = ["", "a", " ", "\t", "\u{b}", "\u{a0}", "\u{3000}", "é", "~"];
        let middles = ["", "x", "Long Term", "a  b", "a\tb", "NULL", "null", "é"];
        for l in ends {
            for m in middles {
                for r in ends {
                    let s = format!("{l}{m}{r}");
                    let t = s.trim();
                    assert_eq!(trimmed(&s), t, "trimmed({s:?})");
                    let want = (!t.is_empty() && !t.eq_ignore_ascii_case("null")).then_some(t);
                    assert_eq!(null(&s), want, "null({s:?})");
                    // The four checks `normalized` made before it walked the bytes once
                    // (the vertical tab, not ASCII whitespace to Rust, is kept as it was).
                    let b = s.as_bytes();
                    let plain = b.first().is_none_or(|c| *c != b' ')
                        && b.last().is_none_or(|c| *c != b' ')
                        && !b.windows(2).any(|w| w == b"  ")
                        && !b.iter().any(|c| c.is_ascii_whitespace() && *c != b' ')
                        && s.is_ascii();
                    let want = if plain {
                        s.clone()
                    } else {
                        s.split_whitespace().collect::<Vec<_>>().join(" ")
                    };
                    assert_eq!(normalized(&s), want, "normalized({s:?})");
                }
            }
        }
    }

    #[test]
    fn nulls_dates_and_codes_as_the_contract_says() {
        assert_eq!(null("  NULL "), None);
        assert_eq!(null(""), None);
        assert_eq!(null("NA"), Some("NA"));
        let d = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
        for ok in [
            "2024-04-01",
            " 2024-04-01 00:00:00",
            "2024-04-01T00:00:00",
            "2024-04-01 00:00:00.000",
        ] {
            assert_eq!(parse_date(ok, DateFormat::Iso), Ok(d), "{ok}");
        }
        for bad in [
            "2024-02-30",
            "2024-04-01 12:30:00",
            "01/04/2024",
            "2024-4-1",
            "1899-12-31",
            "2100-01-01",
        ] {
            assert!(parse_date(bad, DateFormat::Iso).is_err(), "{bad}");
        }
        assert_eq!(parse_date("01/04/2024", DateFormat::DayMonthYear), Ok(d));
        assert!(
            parse_date("2024-04-01", DateFormat::DayMonthYear).is_err(),
            "ISO in a dd/mm/yyyy file"
        );
        assert_eq!(
            code("  Long term   support:  Community "),
            "Long term support: Community"
        );
        assert_eq!(
            canonical("section 42 ENQUIRY", &["Section 42 enquiry"]),
            Some("Section 42 enquiry")
        );
        assert_eq!(whole("0012"), Some(12));
        assert_eq!(whole("1.5"), None);
        // As `parse` reads plain digits: trimmed, nothing else, at most u64::MAX.
        assert_eq!(whole(" 1959 "), Some(1959));
        assert_eq!(whole("+12"), None);
        assert_eq!(whole("-1"), None);
        assert_eq!(whole(""), None);
        assert_eq!(whole("18446744073709551615"), Some(u64::MAX));
        assert_eq!(whole("18446744073709551616"), None);
    }

    #[test]
    fn age_is_floor_of_days_over_365_25() {
        let birth = NaiveDate::from_ymd_opt(1959, 4, 1).unwrap();
        // 65th birthday 2024-04-01: 23,742 days; 4·23742/1461 = 65.002 → 65.
        assert_eq!(
            age_at(birth, NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()),
            65
        );
        // The day before: 23,741 days → 64.99… → 64.
        assert_eq!(
            age_at(birth, NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()),
            64
        );
    }
}
