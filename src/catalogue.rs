//! The built-in metric catalogue: every metric of metrics.md as data (id, published codes,
//! title, unit, polarity, source extract, breakdowns, parameters and the rule in words).
//! `check` validates KPI ids against it; `bcfmon metrics` prints it; the metric engine keys on it.

use crate::period::vocabulary;

vocabulary! {
    /// Which direction of change is an improvement.
    pub Polarity {
        HighIsGood = "high-is-good",
        LowIsGood = "low-is-good",
        Neutral = "neutral",
    }
}

vocabulary! {
    /// The unit a metric's value is expressed in (metrics.md §0.1, §0.5).
    pub Unit {
        Percent = "percent",
        Per100k = "per-100000",
        Days = "days",
        Count = "count",
    }
}

/// A tunable parameter of a built-in metric, set per KPI in `[kpi.params]`.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The key in `[kpi.params]`.
    pub name: &'static str,
    /// The value used when the KPI does not set it.
    pub default: &'static str,
    /// What it changes, for `bcfmon metrics ID`.
    pub about: &'static str,
}

/// How the engine computes a built-in metric: each variant is one arm of `metrics::plan`,
/// so a catalogue entry cannot be declared without a way to compute it (the match has no
/// fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// ascof-2a: ST-Max episodes of new clients and their final outcome (metrics.md §1).
    ShortTermSupport,
    /// ascof-2b/2c: new long-term care home admissions in an age band (§2, §3).
    CareHomeAdmissions { band: &'static str },
    /// ascof-2d part 1 or 2: discharges linked to reablement (§4).
    DischargeToReablement { part: u8 },
    /// ascof-2e and its learning-disability variant (§5).
    OwnHome { learning_disability: bool },
    /// ascof-3d 1a/2a: clients with self-directed support or direct payments.
    SelfDirectedClients { part: &'static str },
    /// ascof-3d 1b/2b: carers with self-directed support or direct payments.
    SelfDirectedCarers { part: &'static str },
    /// Emergency admissions aged 65+, per 100,000.
    EmergencyAdmissions65,
    /// Discharges to the usual place of residence.
    DischargeUsualResidence,
    /// The average discharge delay in days.
    DischargeDelayAverage,
    /// Discharges on the discharge-ready date.
    DischargedOnReadyDate,
    /// Long-term clients reviewed in the last 12 months.
    Reviews12Months,
    /// Safeguarding concerns decided within the timescale.
    ConcernsTimely,
    /// Safeguarding enquiries concluded within N days.
    EnquiriesWithin,
    /// Safeguarding enquiries open past their deadline.
    EnquiriesOpenOverdue,
    /// Assessments of people aged 65+.
    Assessments65,
    /// NHS Continuing Healthcare referrals pending a decision.
    ChcBacklog,
}

/// One built-in metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// The catalogue id a KPI names (`ascof-2c`).
    pub id: &'static str,
    /// How the engine computes it.
    pub(crate) method: Method,
    /// Published codes that resolve to this id (metrics.md Appendix A), current first.
    pub codes: &'static [&'static str],
    /// The published title.
    pub title: &'static str,
    /// The unit of its value.
    pub unit: Unit,
    /// Which direction is an improvement.
    pub polarity: Polarity,
    /// Whether the polarity is stated by a published source (official) or inferred.
    pub polarity_official: bool,
    /// The extracts the metric reads (data-contract.md names).
    pub sources: &'static [&'static str],
    /// The breakdowns a KPI may ask for as `id/breakdown` (e.g. age bands).
    pub breakdowns: &'static [&'static str],
    /// The parameters a KPI may set.
    pub params: &'static [Param],
    /// Snapshot metrics use only the window end, whatever window is chosen.
    pub snapshot: bool,
    /// The rule, condensed from metrics.md; `bcfmon metrics ID` prints it.
    pub rule: &'static str,
    /// The section of metrics.md that defines it.
    pub section: &'static str,
}

const AGE_BANDS: &[&str] = &["18-64", "65+"];

/// Every built-in metric, in the order `bcfmon metrics` lists them.
pub const CATALOGUE: &[MetricDef] = &[
    MetricDef {
        id: "ascof-2a",
        method: Method::ShortTermSupport,
        codes: &["ASCOF 2A", "2A"],
        title: "Proportion of people who received short-term services during the year, who previously were not receiving services, where no further request was made for ongoing support",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: false,
        rule: "ST-Max episodes (rows of one person no more than 7 days apart) ending in the window, for new clients (no long-term support ending less than 91 days before the episode start), aged 18+ or unknown, alive at the episode start. The final outcome is taken from death within 7 days, hospital admission, follow-on services, then requests, assessments and reviews, then equipment, then the episode's own outcome. Numerator: episodes whose final outcome is not long-term support or short-term residential/nursing care; denominator: episodes with a classifiable outcome. Coverage: 91 days before and 7 days after the window.",
        section: "metrics.md §1",
    },
    MetricDef {
        id: "ascof-2b",
        method: Method::CareHomeAdmissions { band: "18-64" },
        codes: &["ASCOF 2B", "2A(1)", "2A part 1"],
        title: "Number of adults aged 18-64 whose long-term support needs are met by admission to residential and nursing care homes, per 100,000 population",
        unit: Unit::Per100k,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["events", "population"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "People aged 18-64 with a new admission in the window: a long-term residential or nursing row (component empty or naming residential/nursing, never 'short') starting in the window, not self-funded, the person alive at the window start, with no such row for the person ending less than 365 days before it (or overlapping it). Someone with new admissions in both bands counts once, in 18-64. Denominator: mid-year population aged 18-64 for the year the window starts. Needs 365 days of history before the window.",
        section: "metrics.md §2",
    },
    MetricDef {
        id: "ascof-2c",
        method: Method::CareHomeAdmissions { band: "65+" },
        codes: &["ASCOF 2C", "2A(2)", "2A part 2", "bcf-ltc-admissions-65"],
        title: "Number of adults aged 65 and over whose long-term support needs are met by admission to residential and nursing care homes, per 100,000 population",
        unit: Unit::Per100k,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["events", "population"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "As ascof-2b for people aged 65 and over at admission who had no 18-64 admission in the window; denominator: mid-year population aged 65+ for the year the window starts. Also the BCF 2025-26 metric bcf-ltc-admissions-65.",
        section: "metrics.md §3",
    },
    MetricDef {
        id: "bcf-ltc-admissions-65",
        method: Method::CareHomeAdmissions { band: "65+" },
        codes: &[],
        title: "Long-term admissions to residential and nursing care, aged 65+, per 100,000 (BCF; computed as ascof-2c)",
        unit: Unit::Per100k,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["events", "population"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "Identical to ascof-2c. Whether the national BCF definition is identical is unverified.",
        section: "metrics.md §3",
    },
    MetricDef {
        id: "ascof-2d-1",
        method: Method::DischargeToReablement { part: 1 },
        codes: &["ASCOF 2D part 1"],
        title: "Proportion of people aged 65+ discharged from hospital into reablement who remained in the community within 12 weeks of discharge",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: true,
        sources: &["discharges", "events"],
        breakdowns: &["65-74", "75-84", "85+", "in-lt-community", "not-in-lts"],
        params: &[],
        snapshot: false,
        rule: "Reablement episodes linked to an eligible discharge (discharge between 7 days before and 3 days after the episode start). Numerator: linked episodes with no emergency readmission, death, or residential/nursing admission within 84 days of discharge. Needs linked discharges and 84 days of follow-up.",
        section: "metrics.md §4",
    },
    MetricDef {
        id: "ascof-2d-2",
        method: Method::DischargeToReablement { part: 2 },
        codes: &["ASCOF 2D part 2"],
        title: "Proportion of people aged 65+ discharged from hospital who received reablement",
        unit: Unit::Percent,
        polarity: Polarity::Neutral,
        polarity_official: false,
        sources: &["discharges", "events"],
        breakdowns: &["65-74", "75-84", "85+", "in-lt-community", "not-in-lts"],
        params: &[],
        snapshot: false,
        rule: "Numerator: reablement episodes linked to an eligible discharge; denominator: eligible discharges (aged 65+, stay of at least one night, not maternity or transfer, not died, not in long-term residential, nursing or prison care at admission).",
        section: "metrics.md §4",
    },
    MetricDef {
        id: "ascof-2e",
        method: Method::OwnHome { learning_disability: false },
        codes: &["ASCOF 2E"],
        title: "Proportion of people who receive long-term support who live in their home or with family",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: false,
        rule: "People with long-term support in the window, by age band; numerator: those whose accommodation status as at the window end is settled (or inferred as at home from their services); denominator: everyone in the band, including unknown status.",
        section: "metrics.md §5",
    },
    MetricDef {
        id: "ascof-2e-ld",
        method: Method::OwnHome { learning_disability: true },
        codes: &["1G"],
        title: "Proportion of adults aged 18-64 with a learning disability in long-term support who live in their home or with family",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "As ascof-2e, band 18-64 only, for people whose primary support reason as at the window end is learning disability support.",
        section: "metrics.md §5",
    },
    MetricDef {
        id: "ascof-3d-1a",
        method: Method::SelfDirectedClients { part: "1a" },
        codes: &["ASCOF 3D 1a", "1C(1A)"],
        title: "Proportion of people receiving long-term community support who receive self-directed support",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: true,
        rule: "Snapshot at the window end: people in long-term community support (their highest setting); numerator: those with a direct payment or a council-managed personal budget.",
        section: "metrics.md §6",
    },
    MetricDef {
        id: "ascof-3d-2a",
        method: Method::SelfDirectedClients { part: "2a" },
        codes: &["ASCOF 3D 2a", "1C(2A)"],
        title: "Proportion of people receiving long-term community support who receive direct payments",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: true,
        rule: "Snapshot at the window end: people in long-term community support; numerator: those with a direct payment.",
        section: "metrics.md §6",
    },
    MetricDef {
        id: "ascof-3d-1b",
        method: Method::SelfDirectedCarers { part: "1b" },
        codes: &["ASCOF 3D 1b", "1C(1B)"],
        title: "Proportion of carers receiving self-directed support",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: false,
        rule: "Carers supported directly in the window (categories 1-3); numerator: those with a direct payment or managed personal budget.",
        section: "metrics.md §6",
    },
    MetricDef {
        id: "ascof-3d-2b",
        method: Method::SelfDirectedCarers { part: "2b" },
        codes: &["ASCOF 3D 2b", "1C(2B)"],
        title: "Proportion of carers receiving direct payments",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: AGE_BANDS,
        params: &[],
        snapshot: false,
        rule: "Carers supported directly in the window (categories 1-3); numerator: those with a direct payment.",
        section: "metrics.md §6",
    },
    MetricDef {
        id: "bcf-emergency-admissions-65",
        method: Method::EmergencyAdmissions65,
        codes: &[],
        title: "Emergency admissions to hospital for people aged 65 and over, per 100,000",
        unit: Unit::Per100k,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["discharges", "population"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "Spells with an emergency admission method (21-25, 2A-2D, 28) admitted in the window, aged 65+ at admission (spells, not people; spells in progress count), per 100,000 population aged 65+ for the year the window starts. Not annualised.",
        section: "metrics.md §7",
    },
    MetricDef {
        id: "bcf-discharge-usual-residence",
        method: Method::DischargeUsualResidence,
        codes: &[],
        title: "Proportion of adults discharged from hospital to their usual place of residence",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["discharges"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "Spells discharged alive in the window, aged 18+; numerator: discharge destination 19 (usual place of residence). Destination 99 (not known) stays in the denominator.",
        section: "metrics.md §8",
    },
    MetricDef {
        id: "bcf-discharge-delay-avg",
        method: Method::DischargeDelayAverage,
        codes: &[],
        title: "Average length of discharge delay (days)",
        unit: Unit::Days,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["discharges"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "Spells discharged in the window, aged 18+, staying at least one night, with a valid discharge ready date: total days from ready date to discharge, divided by the number of spells.",
        section: "metrics.md §9",
    },
    MetricDef {
        id: "bcf-discharged-on-drd",
        method: Method::DischargedOnReadyDate,
        codes: &[],
        title: "Proportion of adults discharged on their discharge ready date",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["discharges"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "As bcf-discharge-delay-avg; numerator: spells with no delay.",
        section: "metrics.md §9",
    },
    MetricDef {
        id: "reviews-12-months",
        method: Method::Reviews12Months,
        codes: &[],
        title: "Proportion of people in long-term support for over 12 months who were reviewed in the last 12 months",
        unit: Unit::Percent,
        polarity: Polarity::HighIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "People whose continuous long-term support spell started before the window and is open at its end, alive, aged 18+ or unknown; numerator: those with a completed service-user review (not of short-term support) in the window.",
        section: "metrics.md §10",
    },
    MetricDef {
        id: "safeguarding-concerns-timely",
        method: Method::ConcernsTimely,
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
        rule: "Concerns received in the window, less those undecided and not yet due at the window end; numerator: those decided by the deadline (N working days after receipt) and by the window end.",
        section: "metrics.md §11",
    },
    MetricDef {
        id: "safeguarding-enquiries-49d",
        method: Method::EnquiriesWithin,
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
        rule: "Enquiries decided in the window, less those still open and not yet due at the window end; numerator: those concluded by the deadline and by the window end.",
        section: "metrics.md §12",
    },
    MetricDef {
        id: "safeguarding-enquiries-open-overdue",
        method: Method::EnquiriesOpenOverdue,
        codes: &[],
        title: "Safeguarding enquiries open past their deadline",
        unit: Unit::Count,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["safeguarding"],
        breakdowns: &[],
        params: &[Param { name: "days", default: "49", about: "days from decision to conclusion" }],
        snapshot: true,
        rule: "Snapshot at the window end: enquiries decided on or before it, not concluded by it, whose deadline has passed.",
        section: "metrics.md §12",
    },
    MetricDef {
        id: "assessments-65plus",
        method: Method::Assessments65,
        codes: &["JWS3"],
        title: "Number of older people receiving formal community care assessments",
        unit: Unit::Count,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["events"],
        breakdowns: &[],
        params: &[],
        snapshot: false,
        rule: "Distinct people aged 65+ at completion with a service-user assessment completed in the window.",
        section: "metrics.md §13",
    },
    MetricDef {
        id: "chc-backlog",
        method: Method::ChcBacklog,
        codes: &[],
        title: "NHS Continuing Healthcare referrals pending a decision",
        unit: Unit::Count,
        polarity: Polarity::LowIsGood,
        polarity_official: false,
        sources: &["chc"],
        breakdowns: &["deferred", "over-28-days"],
        params: &[],
        snapshot: true,
        rule: "Snapshot at the window end: referrals made by then, neither decided nor withdrawn by then.",
        section: "metrics.md §14",
    },
];

/// Finds a built-in metric by id, or by a published code (metrics.md Appendix A).
pub(crate) fn lookup(id_or_code: &str) -> Option<&'static MetricDef> {
    let wanted = id_or_code.trim();
    CATALOGUE.iter().find(|m| m.id == wanted).or_else(|| {
        CATALOGUE
            .iter()
            .find(|m| m.codes.iter().any(|c| c.eq_ignore_ascii_case(wanted)))
    })
}

/// Splits `ascof-2e/65+` into the metric and its breakdown.
pub(crate) fn split_breakdown(id: &str) -> (&str, Option<&str>) {
    match id.split_once('/') {
        Some((m, b)) => (m, Some(b)),
        None => (id, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
