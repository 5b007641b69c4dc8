//! Safeguarding timeliness metrics (metrics.md §11, §12), as polars expressions over the
//! validated `safeguarding` frame.

use chrono::{Datelike, NaiveDate, Weekday};
use polars::prelude::*;

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
    let received = df
        .column("Concern_Received_Date")?
        .as_materialized_series()
        .date()?
        .clone();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let deadline: Vec<Option<i32>> = received
        .physical()
        .iter()
        .map(|d| {
            d.map(|days| {
                let r = epoch + chrono::Duration::days(days as i64);
                (working_day_deadline(r, n, holidays) - epoch).num_days() as i32
            })
        })
        .collect();
    let mut out = df.clone();
    out.with_column(crate::extract::date_column("deadline", deadline))?;
    Ok(out)
}

/// `safeguarding-concerns-timely` (metrics.md §11): "Cohort = concerns received in [ws, we].
/// A concern is left out if it is undecided as at we (no Decision_Date, or Decision_Date >
/// we) and its deadline is after we (not yet due). Denominator = the rest of the cohort.
/// Numerator = those with Decision_Date ≤ deadline and ≤ we." Needs `deadline`.
pub(crate) fn concerns_timely(ws: NaiveDate, we: NaiveDate) -> (Expr, Expr) {
    let received = col("Concern_Received_Date");
    let decided = col("Decision_Date");
    let cohort = received.clone().gt_eq(lit(ws)).and(received.lt_eq(lit(we)));
    let undecided = decided.clone().is_null().or(decided.clone().gt(lit(we)));
    let left_out = undecided.and(col("deadline").gt(lit(we)));
    let denominator = cohort.and(left_out.not());
    let numerator = denominator
        .clone()
        .and(decided.clone().lt_eq(col("deadline")).fill_null(lit(false)))
        .and(decided.lt_eq(lit(we)).fill_null(lit(false)));
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

fn enquiry_deadline(days: i64) -> Expr {
    col("Decision_Date") + lit(chrono::Duration::days(days))
}

/// `safeguarding-enquiries-49d` (metrics.md §12): "deadline = Decision_Date + 49 days.
/// Cohort = enquiries whose Decision_Date is in [ws, we]. An enquiry still open at we whose
/// deadline is after we is left out. Denominator = the rest. Numerator = those with
/// Enquiry_Concluded_Date ≤ deadline and ≤ we."
pub(crate) fn enquiries_within(
    ws: NaiveDate,
    we: NaiveDate,
    days: i64,
    include_other: bool,
) -> (Expr, Expr) {
    let decided = col("Decision_Date");
    let concluded = col("Enquiry_Concluded_Date");
    let cohort = is_enquiry(include_other)
        .and(decided.clone().gt_eq(lit(ws)))
        .and(decided.lt_eq(lit(we)));
    let open = concluded
        .clone()
        .is_null()
        .or(concluded.clone().gt(lit(we)));
    let left_out = open.and(enquiry_deadline(days).gt(lit(we)));
    let denominator = cohort.and(left_out.not());
    let numerator = denominator
        .clone()
        .and(
            concluded
                .clone()
                .lt_eq(enquiry_deadline(days))
                .fill_null(lit(false)),
        )
        .and(concluded.lt_eq(lit(we)).fill_null(lit(false)));
    (numerator, denominator)
}

/// `safeguarding-enquiries-open-overdue` (metrics.md §12): "a count of enquiries decided on
/// or before we, not concluded by we, with deadline < we. It is a snapshot at we."
pub(crate) fn enquiries_open_overdue(we: NaiveDate, days: i64, include_other: bool) -> Expr {
    let concluded = col("Enquiry_Concluded_Date");
    is_enquiry(include_other)
        .and(col("Decision_Date").lt_eq(lit(we)))
        .and(concluded.clone().is_null().or(concluded.gt(lit(we))))
        .and(enquiry_deadline(days).lt(lit(we)))
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
