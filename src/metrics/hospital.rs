//! Hospital discharge metrics (metrics.md §7–§9), over a batch's validated spells (`Spells`).
//! A window only selects spells by one of their dates, so each rule is the window-free
//! condition on a spell; the engine counts every window from the spells' dates.

use super::catalogue::Metric;
use super::{spell_rows, Ask, Plan, SpellFigure};
use crate::catalogue::{MetricDef, Polarity, Unit};
use crate::extract::discharges::Spells;

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
    let mut p = ask.spells_dated(SpellFigure::Count, |s| {
        spell_rows(s, &s.admitted, |i| (emergency_admission_65(s, i), false, 0))
    })?;
    p.population = Some("65+");
    Ok(p)
}

/// Discharges to the usual place of residence, by discharge date.
fn plan_discharge_usual_residence<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    ask.spells_dated(SpellFigure::Ratio, |s| {
        spell_rows(s, &s.discharged, |i| {
            let (num, den) = discharge_usual_residence(s, i);
            (num, den, 0)
        })
    })
}

/// Discharges on the discharge-ready date, of the spells whose delay can be measured.
fn plan_discharged_on_ready_date<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    ask.spells_dated(SpellFigure::Ratio, |s| {
        spell_rows(s, &s.discharged, |i| {
            let e = delay_eligible(s, i);
            (e && delay_days(s, i) == Some(0), e, 0)
        })
    })
}

/// The average delay in days: the delays summed over the spells whose delay can be measured.
fn plan_discharge_delay_average<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    ask.spells_dated(SpellFigure::Mean, |s| {
        spell_rows(s, &s.discharged, |i| {
            let e = delay_eligible(s, i);
            // Delays are never negative (D04 drops a ready date after the discharge).
            let days = if e {
                delay_days(s, i).unwrap_or(0).max(0)
            } else {
                0
            };
            (e, e, days as u64)
        })
    })
}

/// Emergency admission methods (data-contract.md §3).
pub(crate) const EMERGENCY: &[&str] = &["21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"];

/// `bcf-emergency-admissions-65` numerator (metrics.md §7): "spells with Admission_Date in
/// [ws, we], an emergency Admission_Method and age at admission ≥ 65. Spells are counted,
/// not people. Spells still in progress count." The denominator is population 65+. Dated by
/// `Admission_Date`; an unknown age is not 65+.
fn emergency_admission_65(s: &Spells, i: usize) -> bool {
    s.admission_method[i].is_in(EMERGENCY) && s.age_at(i, s.admitted[i]).is_some_and(|a| a >= 65)
}

/// `bcf-discharge-usual-residence` (metrics.md §8), as (numerator, denominator):
/// "denominator = spells with Discharge_Date in [ws, we], age at discharge ≥ 18, discharged
/// alive (Discharge_Method not 4/5 and Discharge_Destination ≠ 79). Numerator = those with
/// Discharge_Destination = 19." Spells whose method or destination is empty or failed its
/// pattern (D05) are left out. Dated by `Discharge_Date`.
fn discharge_usual_residence(s: &Spells, i: usize) -> (bool, bool) {
    let (method, destination) = (s.discharge_method[i], s.destination[i]);
    let denominator = s.age_at(i, s.discharged[i]).is_some_and(|a| a >= 18)
        && !method.is_empty()
        && !method.is_in(&["4", "5"])
        && !destination.is_empty()
        && !destination.is_in(&["79"]);
    (denominator && destination.is_in(&["19"]), denominator)
}

/// Eligible spells for the discharge delay (metrics.md §9): "Discharge_Date in [ws, we],
/// age ≥ 18, Discharge_Date > Admission_Date, and a valid Discharge_Ready_Date (D04)."
/// Dated by `Discharge_Date`.
fn delay_eligible(s: &Spells, i: usize) -> bool {
    s.age_at(i, s.discharged[i]).is_some_and(|a| a >= 18)
        && matches!((s.discharged[i], s.admitted[i]), (Some(x), Some(a)) if x > a)
        && s.ready[i].is_some()
}

/// Delay in days: `Discharge_Date − Discharge_Ready_Date` (0 = discharged on the ready date).
fn delay_days(s: &Spells, i: usize) -> Option<i32> {
    Some(s.discharged[i]? - s.ready[i]?)
}
