//! Hospital discharge metrics (metrics.md §7–§9), as polars expressions over the validated
//! `discharges` frame. A window only selects spells by one date column, so each rule is the
//! window-free condition on a spell; the engine counts every window from the spells' dates.

use super::catalogue::Metric;
use super::{Ask, Plan};
use crate::catalogue::{MetricDef, Polarity, Unit};
use polars::prelude::*;

/// The catalogue entry of `bcf-emergency-admissions-65`.
pub(crate) const BCF_EMERGENCY_ADMISSIONS_65: Metric = Metric {
    def: MetricDef {
            id: "bcf-emergency-admissions-65",
            codes: &[],
            title: "Emergency admissions to hospital for people aged 65 and over, per 100,000",
            unit: Unit::Per100k,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["discharges", "population"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Spells with an emergency admission method (21-25, 2A-2D, 28) admitted in the window, aged 65+ at admission (spells, not people; spells in progress count), per 100,000 population aged 65+ for the year the window starts. Not annualised.",
            section: "metrics.md §7",
    },
    plan: plan_emergency_admissions_65,
};

/// The catalogue entry of `bcf-discharge-usual-residence`.
pub(crate) const BCF_DISCHARGE_USUAL_RESIDENCE: Metric = Metric {
    def: MetricDef {
            id: "bcf-discharge-usual-residence",
            codes: &[],
            title: "Proportion of adults discharged from hospital to their usual place of residence",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["discharges"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Spells discharged alive in the window, aged 18+; numerator: discharge destination 19 (usual place of residence). Destination 99 (not known) stays in the denominator.",
            section: "metrics.md §8",
    },
    plan: plan_discharge_usual_residence,
};

/// The catalogue entry of `bcf-discharge-delay-avg`.
pub(crate) const BCF_DISCHARGE_DELAY_AVG: Metric = Metric {
    def: MetricDef {
            id: "bcf-discharge-delay-avg",
            codes: &[],
            title: "Average length of discharge delay (days)",
            unit: Unit::Days,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["discharges"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Spells discharged in the window, aged 18+, staying at least one night, with a valid discharge ready date: total days from ready date to discharge, divided by the number of spells.",
            section: "metrics.md §9",
    },
    plan: plan_discharge_delay_average,
};

/// The catalogue entry of `bcf-discharged-on-drd`.
pub(crate) const BCF_DISCHARGED_ON_DRD: Metric = Metric {
    def: MetricDef {
        id: "bcf-discharged-on-drd",
        codes: &[],
        title: "Proportion of adults discharged on their discharge ready date",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["discharges"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        max_lag_months: 0,
        follows_method: false,
        rule: "As bcf-discharge-delay-avg; numerator: spells with no delay.",
        section: "metrics.md §9",
    },
    plan: plan_discharged_on_ready_date,
};

/// Emergency admissions of people aged 65+, by admission date, per 100,000 aged 65+.
fn plan_emergency_admissions_65<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    ask.frame("population")?;
    let mut p = ask.dated("Admission_Date", emergency_admissions_65(), None)?;
    p.population = Some("65+");
    Ok(p)
}

/// Discharges to the usual place of residence, by discharge date.
fn plan_discharge_usual_residence<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let (num, den) = discharge_usual_residence();
    ask.dated("Discharge_Date", num, Some(den))
}

/// Discharges on the discharge-ready date, of the spells whose delay can be measured.
fn plan_discharged_on_ready_date<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let e = delay_eligible();
    let on_the_day = e.clone().and(delay_days().eq(lit(0)));
    ask.dated("Discharge_Date", on_the_day, Some(e))
}

/// The average delay in days: the delays summed over the spells whose delay can be measured.
fn plan_discharge_delay_average<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let e = delay_eligible();
    let mut p = ask.dated("Discharge_Date", e.clone(), Some(e))?;
    p.summed = Some(delay_days());
    Ok(p)
}

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
