//! `chc-backlog` (metrics.md §14), as a polars expression over the validated `chc` frame.

use chrono::NaiveDate;
use polars::prelude::*;

/// "snapshot at d = we: referrals with Referral_Date ≤ d, not decided by d (Decision_Date
/// empty or > d), and not withdrawn by d (Withdrawn_Date empty or > d). Breakdowns:
/// /deferred (Deferred = Y) and /over-28-days (d − Referral_Date > 28)."
pub(crate) fn backlog(d: NaiveDate, breakdown: Option<&str>) -> Expr {
    let open = |c: &str| col(c).is_null().or(col(c).gt(lit(d)));
    let base = col("Referral_Date")
        .lt_eq(lit(d))
        .and(open("Decision_Date"))
        .and(open("Withdrawn_Date"));
    match breakdown {
        Some("deferred") => base.and(col("Deferred")),
        Some("over-28-days") => {
            base.and((lit(d) - col("Referral_Date")).gt(lit(chrono::Duration::days(28))))
        }
        _ => base,
    }
}
