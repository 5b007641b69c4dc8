//! The pack's plain words: dates, months, periods, money and the words for polarity, SPC
//! signals and assurance, so every page says a thing the same way.

use super::*;

/// `31 March 2025`.
pub(crate) fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), month_name(d.month()), d.year())
}

pub(super) fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(m as usize).saturating_sub(1).min(11)]
}

/// `March 2025`.
pub(crate) fn month_words(m: Month) -> String {
    format!("{} {}", month_name(m.month), m.year)
}

/// `Mar 2025` for chart axes and tables.
pub(super) fn short_month(d: NaiveDate) -> String {
    format!("{} {}", &month_name(d.month())[..3], d.year())
}

/// `12.3%` for a percent of plan (1 place).
pub(super) fn pct1(p: Option<Decimal>) -> String {
    p.map(|p| format!("{:.1}%", p).replacen('-', "−", 1))
        .unwrap_or_else(|| "–".into())
}

pub(super) fn period_value(p: &crate::programme::scheme::PeriodValue, unit: Unit) -> String {
    format!(
        "{} ({})",
        format_value(p.value, unit),
        period_words(p.period)
    )
}

pub(super) fn period_words(p: Period) -> String {
    match p {
        Period::Month(m) => month_words(m),
        Period::Day(d) => long_date(d),
        other => other.to_string(),
    }
}

pub(super) fn polarity_words(p: Polarity) -> &'static str {
    match p {
        Polarity::HighIsGood => "Higher is better",
        Polarity::LowIsGood => "Lower is better",
        Polarity::Neutral => "Neither higher nor lower is better",
    }
}

pub(super) fn signal_words(t: PointType) -> &'static str {
    match t {
        PointType::CommonCause => "Common cause",
        PointType::Improvement => "Special cause improvement",
        PointType::Concern => "Special cause concern",
        PointType::NeutralHigh => "Special cause (high)",
        PointType::NeutralLow => "Special cause (low)",
    }
}

pub(super) fn assurance_words(a: Assurance) -> String {
    match a {
        Assurance::Pass => "Will consistently meet the target",
        Assurance::Fail => "Will consistently fail the target",
        Assurance::Inconsistent => "May or may not meet the target",
        Assurance::None => "No target to assure against",
    }
    .into()
}

/// A row's period in words: `March 2016` for a month, `2015-16` for a year, else the label.
pub(super) fn period_words_row(r: &crate::metrics::ResultRow) -> String {
    match r.window {
        crate::period::Window::Month => month_words(Month::of(r.period_end)),
        crate::period::Window::Rolling12Months => {
            format!("12 months to {}", month_words(Month::of(r.period_end)))
        }
        _ => r.period.clone(),
    }
}

/// `+£1,234` for an overspend, `−£1,234` for an underspend.
pub(super) fn signed_gbp(x: Decimal) -> String {
    if x > Decimal::ZERO {
        format!("+{}", format_gbp(x))
    } else {
        format_gbp(x).replacen('-', "−", 1)
    }
}

pub(super) fn gbp(x: Decimal) -> String {
    format_gbp(x).replacen('-', "−", 1)
}
