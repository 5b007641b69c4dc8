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
    crate::judge::assurance_words(a).into()
}

/// A row's period in words: `March 2016` for a month, `2015-16` for a year, else the label.
pub(super) fn period_words_row(r: &crate::metrics::ResultRow) -> String {
    match r.window {
        crate::period::Window::Month => month_words(Month::of(r.period_end)),
        crate::period::Window::Rolling12Months => {
            format!("12 months to {}", month_words(Month::of(r.period_end)))
        }
        crate::period::Window::Snapshot => long_date(r.period_end),
        _ => r.period.clone(),
    }
}

/// A KPI's window as the board reads it.
pub(super) fn window_words(w: crate::period::Window) -> &'static str {
    use crate::period::Window as W;
    match w {
        W::Month => "each month",
        W::Quarter => "each quarter",
        W::FinancialYearToDate => "financial year to date",
        W::Rolling12Months => "rolling 12 months",
        W::FinancialYear => "financial year",
        W::Snapshot => "position at the month end",
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

/// The words a board member meets in the pack, explained once: the glossary of the index,
/// the definitions page and the PDF. `{marker}` and `{max_count}` are the disclosure rule's.
pub(super) const GLOSSARY: &[(&str, &str, &str)] = &[
    (
        "g-status",
        "On track, at risk, not on track",
        "The latest figure against the KPI's target or trajectory. \"At risk\" means it misses the target by no more than the tolerance the scheme allows.",
    ),
    (
        "g-spc",
        "Statistical process control (SPC) chart",
        "A chart of a KPI over time that shows which ups and downs are normal for it and which are not: the NHS \"Making Data Count\" method.",
    ),
    (
        "g-limits",
        "Average and process limits",
        "The solid line is the average of the points; the two dashed lines either side, the process limits, mark the range the figure is expected to stay within while nothing changes.",
    ),
    (
        "g-common",
        "Common cause variation",
        "The ordinary rise and fall from one period to the next: no sign that anything has changed.",
    ),
    (
        "g-special",
        "Special cause variation",
        "A change unlikely to be chance: a point outside a process limit, a run of points on one side of the average (a shift), a run of points rising or falling (a trend), or two of three points close to a limit. It is an improvement or a concern according to which direction is better for the KPI.",
    ),
    (
        "g-assurance",
        "Assurance",
        "Whether, if nothing changes, the KPI will pass its target every time, fall short every time, or sometimes pass and sometimes fall short (when the target lies between the process limits).",
    ),
    (
        "g-icons",
        "The icons",
        "Variation: grey dots for common cause; an arrow up or down for special cause, blue for an improvement, orange for a concern, purple when neither is better. Assurance: a blue tick (passing), an orange cross (falling short), a grey wave (inconsistent).",
    ),
    (
        "g-ci",
        "95% confidence interval",
        "The range the true figure very probably lies in, given how many people were counted: wide when few were counted, so a small change may mean nothing.",
    ),
    (
        "g-rolling",
        "Rolling 12 months, snapshot",
        "A rolling figure covers the 12 months to the period shown; a snapshot is the position on the last day of the month.",
    ),
    (
        "g-stale",
        "Out of date",
        "The latest figure is older than the KPI allows, because the data stopped arriving or is not yet complete.",
    ),
    (
        "g-suppressed",
        "{marker} (not shown)",
        "A count from 1 to {max_count} is shown as {marker}, and any figure worked out from it is not shown, so that no one can be identified.",
    ),
];

/// The glossary with the programme's disclosure marker and threshold.
pub(super) fn glossary(d: &Disclosure) -> Vec<(String, String, String)> {
    let fill = |s: &str| {
        s.replace("{marker}", &d.marker)
            .replace("{max_count}", &d.max_count.to_string())
    };
    GLOSSARY
        .iter()
        .map(|(id, term, text)| (id.to_string(), fill(term), fill(text)))
        .collect()
}
