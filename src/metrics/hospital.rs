//! Hospital discharge metrics (metrics.md §7–§9), as polars expressions over the validated
//! `discharges` frame. A window only selects spells by one date column, so each rule is the
//! window-free condition on a spell; the engine counts every window from the spells' dates.

use polars::prelude::*;

/// Emergency admission methods (data-contract.md §3).
pub(crate) const EMERGENCY: &[&str] = &["21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"];

/// Age in whole years at a date column, as `values::years_in` computes it from the 1st of the
/// birth month; where only `Age_at_Admission` is given, that age is used.
pub(crate) fn age_at(date: Expr) -> Expr {
    use crate::extract::values::DAYS_IN_FOUR_YEARS;
    let from_birth = ((date.cast(DataType::Int32) - col("birth").cast(DataType::Int32)) * lit(4))
        .floor_div(lit(DAYS_IN_FOUR_YEARS as i32));
    when(col("birth").is_not_null())
        .then(from_birth)
        .otherwise(col("Age_at_Admission"))
}

fn one_of(c: &str, values: &[&str]) -> Expr {
    let list = Series::new("values".into(), values);
    col(c)
        .is_in(lit(list).implode(false), false)
        .fill_null(lit(false))
}

/// `bcf-emergency-admissions-65` numerator (metrics.md §7): "spells with Admission_Date in
/// [ws, we], an emergency Admission_Method and age at admission ≥ 65. Spells are counted,
/// not people. Spells still in progress count." The denominator is population 65+. Dated by
/// `Admission_Date`.
pub(crate) fn emergency_admissions_65() -> Expr {
    one_of("Admission_Method", EMERGENCY).and(
        age_at(col("Admission_Date"))
            .gt_eq(lit(65))
            .fill_null(lit(false)),
    )
}

/// `bcf-discharge-usual-residence` (metrics.md §8): "denominator = spells with
/// Discharge_Date in [ws, we], age at discharge ≥ 18, discharged alive (Discharge_Method not
/// 4/5 and Discharge_Destination ≠ 79). Numerator = those with Discharge_Destination = 19."
/// Spells whose method or destination failed its pattern (D05) are left out. Dated by
/// `Discharge_Date`.
pub(crate) fn discharge_usual_residence() -> (Expr, Expr) {
    let denominator = age_at(col("Discharge_Date"))
        .gt_eq(lit(18))
        .fill_null(lit(false))
        .and(col("Discharge_Method").is_not_null())
        .and(col("Discharge_Destination").is_not_null())
        .and(one_of("Discharge_Method", &["4", "5"]).not())
        .and(
            col("Discharge_Destination")
                .neq(lit("79"))
                .fill_null(lit(false)),
        );
    let numerator = denominator.clone().and(
        col("Discharge_Destination")
            .eq(lit("19"))
            .fill_null(lit(false)),
    );
    (numerator, denominator)
}

/// Eligible spells for the discharge delay (metrics.md §9): "Discharge_Date in [ws, we],
/// age ≥ 18, Discharge_Date > Admission_Date, and a valid Discharge_Ready_Date (D04)."
/// Dated by `Discharge_Date`.
pub(crate) fn delay_eligible() -> Expr {
    age_at(col("Discharge_Date"))
        .gt_eq(lit(18))
        .fill_null(lit(false))
        .and(
            col("Discharge_Date")
                .gt(col("Admission_Date"))
                .fill_null(lit(false)),
        )
        .and(col("Discharge_Ready_Date").is_not_null())
}

/// Delay in days: `Discharge_Date − Discharge_Ready_Date` (0 = discharged on the ready date).
pub(crate) fn delay_days() -> Expr {
    col("Discharge_Date").cast(DataType::Int32) - col("Discharge_Ready_Date").cast(DataType::Int32)
}
