//! Periods: financial years (April–March), their quarters, calendar months, and the
//! windows and plotting frequencies a KPI can be declared with.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// A financial year, April to March, labelled `2024-25`. Holds the calendar year it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FinancialYear(pub i32);

impl FinancialYear {
    pub(crate) fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 4, 1).expect("1 April exists")
    }
    pub(crate) fn end(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 3, 31).expect("31 March exists")
    }
    /// The financial year a date falls in.
    pub(crate) fn containing(d: NaiveDate) -> Self {
        FinancialYear(if d.month() >= 4 {
            d.year()
        } else {
            d.year() - 1
        })
    }
}

impl fmt::Display for FinancialYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0, (self.0 + 1).rem_euclid(100))
    }
}

/// A calendar month, `2024-06`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub(crate) fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }
    pub(crate) fn end(self) -> NaiveDate {
        self.next()
            .start()
            .pred_opt()
            .expect("a day before the 1st")
    }
    pub(crate) fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
    pub(crate) fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
    pub(crate) fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

/// A period a baseline, target or trajectory point refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Period {
    Year(FinancialYear),
    /// Quarter 1..=4 of a financial year (Q1 = April–June).
    Quarter(FinancialYear, u32),
    Month(Month),
    /// A single day, for snapshot KPIs and weekly frequencies.
    Day(NaiveDate),
}

impl Period {
    /// First day of the period.
    pub(crate) fn start(self) -> NaiveDate {
        match self {
            Period::Year(fy) => fy.start(),
            Period::Quarter(fy, q) => {
                Month {
                    year: fy.0,
                    month: 4,
                }
                .start()
                    + months(3 * (q - 1))
            }
            Period::Month(m) => m.start(),
            Period::Day(d) => d,
        }
    }
    /// Last day of the period: the date the KPI's window ends for a value "at" this period.
    pub(crate) fn end(self) -> NaiveDate {
        match self {
            Period::Year(fy) => fy.end(),
            Period::Quarter(..) => Month::of(self.start() + months(2)).end(),
            Period::Month(m) => m.end(),
            Period::Day(d) => d,
        }
    }
}

fn months(n: u32) -> chrono::Months {
    chrono::Months::new(n)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(fy) => write!(f, "{fy}"),
            Period::Quarter(fy, q) => write!(f, "{fy} Q{q}"),
            Period::Month(m) => write!(f, "{m}"),
            Period::Day(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

const PERIOD_FORMS: &str =
    "a financial year `2024-25`, a quarter `2024-25 Q1`, a month `2024-06` or a date `2024-06-30`";

/// Parses `2024-25`, `2024-25 Q3`, `2024-06` or `2024-06-30`, explaining what is wrong otherwise.
pub(crate) fn parse_period(text: &str) -> Result<Period, String> {
    let s = text.trim();
    let bad = || format!("`{text}` is not a period: expected {PERIOD_FORMS}");
    if let Some((fy, q)) = s.split_once(" Q") {
        let fy = parse_financial_year(fy).map_err(|_| bad())?;
        return match q {
            "1" | "2" | "3" | "4" => Ok(Period::Quarter(fy, q.parse().expect("digit"))),
            _ => Err(format!("`{text}`: a quarter is Q1 to Q4 (Q1 = April–June)")),
        };
    }
    let parts: Vec<&str> = s.split('-').collect();
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !parts.iter().all(|p| all_digits(p)) || parts[0].len() != 4 {
        return Err(bad());
    }
    let year: i32 = parts[0].parse().map_err(|_| bad())?;
    match parts.as_slice() {
        [_, second] if second.len() == 2 => {
            let n: u32 = second.parse().map_err(|_| bad())?;
            // `2015-16` reads as a financial year when 16 follows 15; otherwise it must be a month.
            // The two forms collide only for `2000-01` and `2011-12`, which read as financial
            // years (the README says so): a month there is written as its last day.
            if n == ((year + 1).rem_euclid(100)) as u32 {
                Ok(Period::Year(FinancialYear(year)))
            } else if (1..=12).contains(&n) {
                Ok(Period::Month(Month { year, month: n }))
            } else {
                Err(format!(
                    "`{text}` is neither a month (01–12) nor a financial year (that would be `{}`)",
                    FinancialYear(year)
                ))
            }
        }
        [_, m, d] if m.len() == 2 && d.len() == 2 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Period::Day)
            .map_err(|_| format!("`{text}` is not a real calendar date")),
        _ => Err(bad()),
    }
}

/// Parses a month written `2024-06`.
pub(crate) fn parse_month(text: &str) -> Result<Month, String> {
    let bad = || format!("`{text}` is not a month: write it as yyyy-mm, e.g. `2016-03`");
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let month: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    Ok(Month {
        year: y.parse().map_err(|_| bad())?,
        month,
    })
}

/// Parses a financial year label `2024-25` (the second part must be the following year).
pub(crate) fn parse_financial_year(text: &str) -> Result<FinancialYear, String> {
    let s = text.trim();
    let err = || format!("`{text}` is not a financial year: write it as `2024-25`");
    let (a, b) = s.split_once('-').ok_or_else(err)?;
    if a.len() != 4 || b.len() != 2 || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    let year: i32 = a.parse().map_err(|_| err())?;
    let next: i32 = b.parse().map_err(|_| err())?;
    if next != (year + 1).rem_euclid(100) {
        return Err(format!(
            "`{text}` is not a financial year: the year after {year} is `{}`",
            FinancialYear(year)
        ));
    }
    Ok(FinancialYear(year))
}

/// Generates the closed vocabularies used in scheme files: the enum, its TOML spellings,
/// and parsing with the list of allowed values for error hints.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $vis:vis $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)] // the variants are named by their text
        $vis enum $name { $($variant),+ }

        #[allow(dead_code)] // not every vocabulary is parsed, or listed in a hint
        impl $name {
            /// Every value's text, in order.
            $vis const ALL: &'static [&'static str] = &[$($text),+];
            /// The value's text, as written in TOML and in outputs.
            $vis fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// The value a text names, exactly.
            $vis fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// The window a KPI's value is computed over, ending at each period end (metrics.md §0.2).
    pub(crate) Window {
        Month = "month",
        Quarter = "quarter",
        FinancialYearToDate = "financial-year-to-date",
        Rolling12Months = "rolling-12-months",
        FinancialYear = "financial-year",
        Snapshot = "snapshot",
    }
}

vocabulary! {
    /// How often a KPI's point is plotted.
    pub(crate) Frequency {
        Weekly = "weekly",
        Monthly = "monthly",
        Quarterly = "quarterly",
        Annual = "annual",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_period_form() {
        assert_eq!(
            parse_period("2015-16"),
            Ok(Period::Year(FinancialYear(2015)))
        );
        assert_eq!(
            parse_period("2015-06"),
            Ok(Period::Month(Month {
                year: 2015,
                month: 6
            }))
        );
        assert_eq!(
            parse_period("2024-25 Q3"),
            Ok(Period::Quarter(FinancialYear(2024), 3))
        );
        assert_eq!(
            parse_period("2025-03-31"),
            Ok(Period::Day(NaiveDate::from_ymd_opt(2025, 3, 31).unwrap()))
        );
        // 1999-00: the century rolls over.
        assert_eq!(parse_period("1999-00").unwrap().to_string(), "1999-00");
        assert_eq!(
            parse_period("2011-12"),
            Ok(Period::Year(FinancialYear(2011)))
        );
    }

    #[test]
    fn refuses_impossible_periods() {
        assert!(parse_period("2015-13")
            .unwrap_err()
            .contains("neither a month"));
        assert!(parse_period("2015-17").is_err());
        assert!(parse_period("2024-25 Q5").is_err());
        assert!(parse_period("2024-02-30").is_err());
        assert!(parse_period("Q1").is_err());
        assert!(parse_financial_year("2015-17")
            .unwrap_err()
            .contains("2015-16"));
    }

    #[test]
    fn period_bounds() {
        let q3 = Period::Quarter(FinancialYear(2024), 3);
        assert_eq!(q3.start().to_string(), "2024-10-01");
        assert_eq!(q3.end().to_string(), "2024-12-31");
        let q4 = Period::Quarter(FinancialYear(2024), 4);
        assert_eq!(q4.end().to_string(), "2025-03-31");
        assert_eq!(
            Period::Month(Month {
                year: 2024,
                month: 2
            })
            .end()
            .to_string(),
            "2024-02-29"
        );
        assert_eq!(FinancialYear::containing(q4.end()), FinancialYear(2024));
    }
}

/// The window [ws, we] a value "at" month end `we` covers (metrics.md §0.2). For a
/// `quarter` window the month must be a quarter end; for `financial-year` a March.
pub(crate) fn window_bounds(window: Window, month: Month) -> Option<(NaiveDate, NaiveDate)> {
    let we = month.end();
    let fy = FinancialYear::containing(we);
    let ws = match window {
        Window::Month => month.start(),
        Window::Quarter => {
            if !month.month.is_multiple_of(3) {
                return None;
            }
            Month::of(we - chrono::Months::new(2)).start()
        }
        Window::FinancialYearToDate => fy.start(),
        Window::Rolling12Months => Month::of(month.start() - chrono::Months::new(11)).start(),
        Window::FinancialYear => {
            if month.month != 3 {
                return None;
            }
            fy.start()
        }
        Window::Snapshot => we,
    };
    Some((ws, we))
}

/// The label of the period a window ends: `2024-25` for a financial year, `2024-25 Q3`
/// for a quarter, otherwise the month `2024-09` (metrics.md, design.md "Command line").
pub(crate) fn window_label(window: Window, month: Month) -> String {
    let fy = FinancialYear::containing(month.end());
    match window {
        Window::FinancialYear => fy.to_string(),
        Window::Quarter => {
            let q = ((month.month + 8) % 12) / 3 + 1;
            format!("{fy} Q{q}")
        }
        _ => month.to_string(),
    }
}

/// Every month from `first` to `last` inclusive.
pub(crate) fn months_between(first: Month, last: Month) -> Vec<Month> {
    let mut out = Vec::new();
    let mut m = first;
    while m <= last {
        out.push(m);
        m = m.next();
    }
    out
}

#[cfg(test)]
mod window_tests {
    use super::*;

    fn m(y: i32, mo: u32) -> Month {
        Month { year: y, month: mo }
    }

    #[test]
    fn windows_of_metrics_md_0_2() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // we = 2024-09-30 → rolling ws = 2023-10-01 (the example in §0.2).
        assert_eq!(
            window_bounds(Window::Rolling12Months, m(2024, 9)),
            Some((d("2023-10-01"), d("2024-09-30")))
        );
        assert_eq!(
            window_bounds(Window::Month, m(2024, 2)),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
        assert_eq!(
            window_bounds(Window::Quarter, m(2024, 12)),
            Some((d("2024-10-01"), d("2024-12-31")))
        );
        assert_eq!(window_bounds(Window::Quarter, m(2024, 11)), None);
        assert_eq!(
            window_bounds(Window::FinancialYearToDate, m(2025, 1)),
            Some((d("2024-04-01"), d("2025-01-31")))
        );
        assert_eq!(
            window_bounds(Window::FinancialYear, m(2025, 3)),
            Some((d("2024-04-01"), d("2025-03-31")))
        );
        // FY = rolling 12 months ending 31 March.
        assert_eq!(
            window_bounds(Window::FinancialYear, m(2025, 3)),
            window_bounds(Window::Rolling12Months, m(2025, 3))
        );
        assert_eq!(
            window_bounds(Window::Snapshot, m(2025, 3)),
            Some((d("2025-03-31"), d("2025-03-31")))
        );
        assert_eq!(window_label(Window::Quarter, m(2024, 12)), "2024-25 Q3");
        assert_eq!(window_label(Window::Quarter, m(2025, 3)), "2024-25 Q4");
        assert_eq!(window_label(Window::Quarter, m(2024, 6)), "2024-25 Q1");
        assert_eq!(window_label(Window::FinancialYear, m(2025, 3)), "2024-25");
        assert_eq!(months_between(m(2024, 11), m(2025, 2)).len(), 4);
    }
}
