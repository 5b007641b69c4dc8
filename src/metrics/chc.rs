//! `chc-backlog` (metrics.md §14), as a polars expression over the validated `chc` frame.

use super::catalogue::Metric;
use super::{date_lit, Ask, Plan};
use crate::catalogue::{MetricDef, Polarity, Unit};
use chrono::NaiveDate;
use polars::prelude::*;

/// The catalogue entry of `chc-backlog`.
pub(crate) const CHC_BACKLOG: Metric = Metric {
    def: MetricDef {
            id: "chc-backlog",
            codes: &[],
            title: "NHS Continuing Healthcare referrals pending a decision",
            unit: Unit::Count,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["chc"],
            breakdowns: &["deferred", "over-28-days"],
            params: &[],
            snapshot: true,
            max_lag_months: 0,
            follows_method: false,
            rule: "Snapshot at the window end: referrals made by then, neither decided nor withdrawn by then.",
            section: "metrics.md §14",
    },
    plan: plan_backlog,
};

/// Referrals pending a decision at the window end, all or one breakdown.
fn plan_backlog<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let b = ask.breakdown.map(str::to_string);
    Ok(ask.simple(
        "chc",
        ask.frame("chc")?,
        Box::new(move |_, we| (backlog(we, b.as_deref()), None)),
    ))
}

/// "snapshot at d = we: referrals with Referral_Date ≤ d, not decided by d (Decision_Date
/// empty or > d), and not withdrawn by d (Withdrawn_Date empty or > d). Breakdowns:
/// /deferred (Deferred = Y) and /over-28-days (d − Referral_Date > 28)."
pub(crate) fn backlog(d: NaiveDate, breakdown: Option<&str>) -> Expr {
    let open = |c: &str| col(c).is_null().or(col(c).gt(date_lit(d)));
    let base = col("Referral_Date")
        .lt_eq(date_lit(d))
        .and(open("Decision_Date"))
        .and(open("Withdrawn_Date"));
    match breakdown {
        Some("deferred") => base.and(col("Deferred")),
        Some("over-28-days") => {
            // d - Referral_Date > 28 days, compared as dates (no duration per row).
            base.and(col("Referral_Date").lt(date_lit(d - chrono::Duration::days(28))))
        }
        _ => base,
    }
}
