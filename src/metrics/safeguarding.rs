//! Safeguarding timeliness metrics (metrics.md §11, §12), as polars expressions over the
//! validated `safeguarding` frame.

use super::catalogue::Metric;
use super::{date_lit, Ask, Plan};
use crate::catalogue::{MetricDef, Param, Polarity, Unit};
use chrono::{Datelike, NaiveDate, Weekday};
use polars::prelude::*;

/// The catalogue entry of `safeguarding-concerns-timely`.
pub(crate) const SAFEGUARDING_CONCERNS_TIMELY: Metric = Metric {
    def: MetricDef {
            id: "safeguarding-concerns-timely",
            codes: &["CA 1.4e", "CA 1.4d"],
            title: "Proportion of safeguarding concerns decided within timescale",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["safeguarding"],
            breakdowns: &[],
            params: &[Param {
                name: "timescale_working_days",
                default: "2",
                about: "working days (Mon-Fri, less the programme's bank holidays) from receipt to decision",
            }],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Concerns received in the window, less those undecided and not yet due at the window end; numerator: those decided by the deadline (N working days after receipt) and by the window end.",
            section: "metrics.md §11",
    },
    plan: plan_concerns_timely,
};

/// The catalogue entry of `safeguarding-enquiries-49d`.
pub(crate) const SAFEGUARDING_ENQUIRIES_49D: Metric = Metric {
    def: MetricDef {
            id: "safeguarding-enquiries-49d",
            codes: &["CA 1.4f"],
            title: "Proportion of safeguarding enquiries concluded within 7 weeks of the decision",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["safeguarding"],
            breakdowns: &[],
            params: &[
                Param { name: "days", default: "49", about: "days from decision to conclusion" },
                Param {
                    name: "include_other_enquiries",
                    default: "true",
                    about: "count 'Other safeguarding enquiry' as well as Section 42 enquiries",
                },
            ],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Enquiries decided in the window, less those still open and not yet due at the window end; numerator: those concluded by the deadline and by the window end.",
            section: "metrics.md §12",
    },
    plan: plan_enquiries_within,
};

/// The catalogue entry of `safeguarding-enquiries-open-overdue`.
pub(crate) const SAFEGUARDING_ENQUIRIES_OPEN_OVERDUE: Metric = Metric {
    def: MetricDef {
            id: "safeguarding-enquiries-open-overdue",
            codes: &[],
            title: "Safeguarding enquiries open past their deadline",
            unit: Unit::Count,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["safeguarding"],
            breakdowns: &[],
            params: &[Param { name: "days", default: "49", about: "days from decision to conclusion" }],
            snapshot: true,
            max_lag_months: 0,
            follows_method: false,
            rule: "Snapshot at the window end: enquiries decided on or before it, not concluded by it, whose deadline has passed.",
            section: "metrics.md §12",
    },
    plan: plan_enquiries_open_overdue,
};

/// Concerns decided within `timescale_working_days` working days (default 2), skipping the
/// programme's bank holidays.
fn plan_concerns_timely<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let n: u32 = ask.param("timescale_working_days", 2)?;
    let f = with_concern_deadline(&ask.frame("safeguarding")?, n, ask.bank_holidays)
        .map_err(|e| e.to_string())?;
    Ok(ask.simple(
        "safeguarding",
        f,
        Box::new(|ws, we| {
            let (n, d) = concerns_timely(ws, we);
            (n, Some(d))
        }),
    ))
}

/// The `days` parameter of the enquiry metrics (default 49): whole days from 0 to 36,500,
/// so that a deadline is always a date (a value outside made the date arithmetic fail).
fn deadline_days(ask: &Ask<'_, '_>) -> Result<i64, String> {
    let days: i64 = ask.param("days", 49)?;
    if (0..=36_500).contains(&days) {
        Ok(days)
    } else {
        Err(format!(
            "parameter days = {days} of {} is not a number of days from 0 to 36500",
            ask.req.metric
        ))
    }
}

/// Enquiries concluded within `days` of the decision (default 49).
fn plan_enquiries_within<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let days = deadline_days(ask)?;
    let other: bool = ask.param("include_other_enquiries", true)?;
    let f = with_enquiry_deadline(&ask.frame("safeguarding")?, days, other)
        .map_err(|e| e.to_string())?;
    Ok(ask.simple(
        "safeguarding",
        f,
        Box::new(move |ws, we| {
            let (n, d) = enquiries_within(ws, we);
            (n, Some(d))
        }),
    ))
}

/// Enquiries still open past their deadline at the window end: a count.
fn plan_enquiries_open_overdue<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let days = deadline_days(ask)?;
    let f = with_enquiry_deadline(&ask.frame("safeguarding")?, days, true)
        .map_err(|e| e.to_string())?;
    Ok(ask.simple(
        "safeguarding",
        f,
        Box::new(move |_, we| (enquiries_open_overdue(we), None)),
    ))
}

/// The date `n` working days after `received` (day 0), Monday–Friday less `holidays`.
pub(crate) fn working_day_deadline(
    received: NaiveDate,
    n: u32,
    holidays: &[NaiveDate],
) -> NaiveDate {
    let mut d = received;
    let mut left = n;
    while left > 0 {
        d = d.succ_opt().expect("dates before 2100");
        let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && holidays.binary_search(&d).is_err() {
            left -= 1;
        }
    }
    d
}

/// Adds `deadline`: N working days after `Concern_Received_Date`.
pub(crate) fn with_concern_deadline(
    df: &DataFrame,
    n: u32,
    holidays: &[NaiveDate],
) -> PolarsResult<DataFrame> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    with_deadline(df, "Concern_Received_Date", "deadline", |days| {
        let r = epoch + chrono::Duration::days(days as i64);
        (working_day_deadline(r, n, holidays) - epoch).num_days() as i32
    })
}

/// Adds `enquiry_deadline`: `Decision_Date` + `days`; and `__enquiry`: whether the row is an
/// enquiry (a Section 42 enquiry, or also another safeguarding enquiry when `include_other`),
/// judged once per plan: as an expression of every window it compared each row's decision
/// text again for every window (two a month over three years).
pub(crate) fn with_enquiry_deadline(
    df: &DataFrame,
    days: i64,
    include_other: bool,
) -> PolarsResult<DataFrame> {
    let f = with_deadline(df, "Decision_Date", "enquiry_deadline", |d| {
        (d as i64 + days) as i32
    })?;
    f.lazy()
        .with_column(is_enquiry(include_other).alias("__enquiry"))
        .collect()
}

/// The frame with a deadline column `name`, a date made from each row's date in `from` (empty
/// where it is), once per plan: no window's expression then works a deadline out per row.
fn with_deadline(
    df: &DataFrame,
    from: &str,
    name: &str,
    deadline: impl Fn(i32) -> i32,
) -> PolarsResult<DataFrame> {
    let dates = df.column(from)?.as_materialized_series().date()?.clone();
    let deadlines: Vec<Option<i32>> = dates.physical().iter().map(|d| d.map(&deadline)).collect();
    let mut out = df.clone();
    out.with_column(crate::extract::date_column(name, deadlines))?;
    Ok(out)
}

/// `safeguarding-concerns-timely` (metrics.md §11): "Cohort = concerns received in [ws, we].
/// A concern is left out if it is undecided as at we (no Decision_Date, or Decision_Date >
/// we) and its deadline is after we (not yet due). Denominator = the rest of the cohort.
/// Numerator = those with Decision_Date ≤ deadline and ≤ we." Needs `deadline`.
pub(crate) fn concerns_timely(ws: NaiveDate, we: NaiveDate) -> (Expr, Expr) {
    let received = col("Concern_Received_Date");
    let decided = col("Decision_Date");
    let cohort = received
        .clone()
        .gt_eq(date_lit(ws))
        .and(received.lt_eq(date_lit(we)));
    let undecided = decided
        .clone()
        .is_null()
        .or(decided.clone().gt(date_lit(we)));
    let left_out = undecided.and(col("deadline").gt(date_lit(we)));
    let denominator = cohort.and(left_out.not());
    let numerator = denominator
        .clone()
        .and(decided.clone().lt_eq(col("deadline")).fill_null(lit(false)))
        .and(decided.lt_eq(date_lit(we)).fill_null(lit(false)));
    (numerator, denominator)
}

fn is_enquiry(include_other: bool) -> Expr {
    let s42 = col("Decision").eq(lit("Section 42 enquiry"));
    if include_other {
        s42.or(col("Decision").eq(lit("Other safeguarding enquiry")))
            .fill_null(lit(false))
    } else {
        s42.fill_null(lit(false))
    }
}

/// `safeguarding-enquiries-49d` (metrics.md §12): "deadline = Decision_Date + 49 days.
/// Cohort = enquiries whose Decision_Date is in [ws, we]. An enquiry still open at we whose
/// deadline is after we is left out. Denominator = the rest. Numerator = those with
/// Enquiry_Concluded_Date ≤ deadline and ≤ we." Needs `enquiry_deadline` and `__enquiry`.
pub(crate) fn enquiries_within(ws: NaiveDate, we: NaiveDate) -> (Expr, Expr) {
    let decided = col("Decision_Date");
    let concluded = col("Enquiry_Concluded_Date");
    let cohort = col("__enquiry")
        .and(decided.clone().gt_eq(date_lit(ws)))
        .and(decided.lt_eq(date_lit(we)));
    let open = concluded
        .clone()
        .is_null()
        .or(concluded.clone().gt(date_lit(we)));
    let left_out = open.and(col("enquiry_deadline").gt(date_lit(we)));
    let denominator = cohort.and(left_out.not());
    let numerator = denominator
        .clone()
        .and(
            concluded
                .clone()
                .lt_eq(col("enquiry_deadline"))
                .fill_null(lit(false)),
        )
        .and(concluded.lt_eq(date_lit(we)).fill_null(lit(false)));
    (numerator, denominator)
}

/// `safeguarding-enquiries-open-overdue` (metrics.md §12): "a count of enquiries decided on
/// or before we, not concluded by we, with deadline < we. It is a snapshot at we." Needs
/// `enquiry_deadline` and `__enquiry`.
pub(crate) fn enquiries_open_overdue(we: NaiveDate) -> Expr {
    let concluded = col("Enquiry_Concluded_Date");
    col("__enquiry")
        .and(col("Decision_Date").lt_eq(date_lit(we)))
        .and(concluded.clone().is_null().or(concluded.gt(date_lit(we))))
        .and(col("enquiry_deadline").lt(date_lit(we)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_skip_weekends_and_bank_holidays() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // Thursday 2024-05-02 + 2 working days = Monday 2024-05-06? No: 6 May 2024 is a
        // bank holiday, so Friday 3 May (1), Tuesday 7 May (2).
        assert_eq!(
            working_day_deadline(d("2024-05-02"), 2, &[d("2024-05-06")]),
            d("2024-05-07")
        );
        assert_eq!(
            working_day_deadline(d("2024-05-02"), 2, &[]),
            d("2024-05-06")
        );
        assert_eq!(
            working_day_deadline(d("2024-05-04"), 0, &[]),
            d("2024-05-04")
        );
    }
}
