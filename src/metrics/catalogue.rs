//! The built-in metric catalogue: every metric the families declare, in the order
//! `bcfmon metrics` lists them and `compute --all` computes them, and the look-up by id or
//! published code (metrics.md Appendix A). A metric's declaration lives in its family's file,
//! beside the function that computes it; adding a metric adds one line here.

use super::{ascof, chc, discharge_reablement, hospital, reablement, safeguarding};
use super::{Ask, Plan};
use crate::catalogue::MetricDef;

/// A built-in metric: its declaration, and how the engine plans its computation.
pub struct Metric {
    /// What the metric is, as `bcfmon metrics` and the pack describe it.
    pub def: MetricDef,
    /// The engine's plan for one request of it: which frame, which rule, what coverage.
    pub(super) plan: PlanFn,
}

/// Plans one request of a metric over the run's data.
pub(super) type PlanFn = for<'r, 'a> fn(&Ask<'r, 'a>) -> Result<Plan<'a>, String>;

impl std::ops::Deref for Metric {
    type Target = MetricDef;
    fn deref(&self) -> &MetricDef {
        &self.def
    }
}

/// Every built-in metric, in the order `bcfmon metrics` lists them.
pub const CATALOGUE: &[&Metric] = &[
    &reablement::ASCOF_2A,
    &ascof::ASCOF_2B,
    &ascof::ASCOF_2C,
    &ascof::BCF_LTC_ADMISSIONS_65,
    &discharge_reablement::ASCOF_2D_1,
    &discharge_reablement::ASCOF_2D_2,
    &ascof::ASCOF_2E,
    &ascof::ASCOF_2E_LD,
    &ascof::ASCOF_3D_1A,
    &ascof::ASCOF_3D_2A,
    &ascof::ASCOF_3D_1B,
    &ascof::ASCOF_3D_2B,
    &hospital::BCF_EMERGENCY_ADMISSIONS_65,
    &hospital::BCF_DISCHARGE_USUAL_RESIDENCE,
    &hospital::BCF_DISCHARGE_DELAY_AVG,
    &hospital::BCF_DISCHARGED_ON_DRD,
    &ascof::REVIEWS_12_MONTHS,
    &safeguarding::SAFEGUARDING_CONCERNS_TIMELY,
    &safeguarding::SAFEGUARDING_ENQUIRIES_49D,
    &safeguarding::SAFEGUARDING_ENQUIRIES_OPEN_OVERDUE,
    &ascof::ASSESSMENTS_65PLUS,
    &chc::CHC_BACKLOG,
];

/// Finds a built-in metric by id, or by a published code (metrics.md Appendix A).
pub(crate) fn lookup(id_or_code: &str) -> Option<&'static Metric> {
    let wanted = id_or_code.trim();
    CATALOGUE
        .iter()
        .copied()
        .find(|m| m.id == wanted)
        .or_else(|| {
            CATALOGUE
                .iter()
                .copied()
                .find(|m| m.codes.iter().any(|c| c.eq_ignore_ascii_case(wanted)))
        })
}

/// A built-in metric's declaration only, for readers that do not compute
/// (`crate::catalogue::Lookup`).
pub(crate) fn definition(id_or_code: &str) -> Option<&'static MetricDef> {
    lookup(id_or_code).map(|m| &m.def)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{split_breakdown, Polarity};

    #[test]
    fn old_codes_resolve_through_appendix_a() {
        assert_eq!(lookup("2A(2)").unwrap().id, "ascof-2c");
        assert_eq!(lookup("2A(1)").unwrap().id, "ascof-2b");
        assert_eq!(lookup("1C(2A)").unwrap().id, "ascof-3d-2a");
        assert_eq!(lookup("ASCOF 2D part 1").unwrap().id, "ascof-2d-1");
        assert_eq!(lookup("1G").unwrap().id, "ascof-2e-ld");
        assert!(
            lookup("2B(1)").is_none(),
            "the old 91-day measure is deliberately not mapped"
        );
    }

    #[test]
    fn ids_are_unique_and_polarity_matches_metrics_md() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert_eq!(lookup("ascof-2d-2").unwrap().polarity, Polarity::Neutral);
        assert_eq!(
            lookup("assessments-65plus").unwrap().polarity,
            Polarity::LowIsGood
        );
        assert_eq!(split_breakdown("ascof-2e/65+"), ("ascof-2e", Some("65+")));
    }
}
