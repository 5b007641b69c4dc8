//! One scheme as declared in `schemes/<REF>.toml` (a Section 75 Schedule 3 "Individual
//! Scheme Specification"): identity, delivery, governance, finance, joint funding, KPIs and
//! local metrics.

use crate::catalogue::{MetricDef, Polarity, Unit};
use crate::period::{FinancialYear, Frequency, Month, Period, Window};
use crate::stats::spc::{Conflict, Direction, SpcOptions, TrendTies, TwoInThree};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::PathBuf;

crate::period::vocabulary! {
    /// Whether the service is delivered in-house or under contract.
    pub(crate) Delivery {
        InHouse = "in-house",
        Contract = "contract",
    }
}

/// When the service commenced: "ongoing" or a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Commencement {
    Ongoing,
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contribution {
    pub partner: String,
    pub amount: Decimal,
    /// The funding stream the money comes through (`NHS minimum contribution`, `iBCF`,
    /// `DFG`, …). Once a scheme names any, its finance rows must name one of them
    /// (data-contract §5, N03).
    pub funding_stream: Option<String>,
}

/// The scheme's money for one financial year (Schedule 3 section 3, "Finance").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinancePlan {
    pub financial_year: FinancialYear,
    pub value: Decimal,
    /// Full year effect if the scheme runs for part of the year; `None` = not applicable.
    pub full_year_effect: Option<Decimal>,
    /// The fund manager's own forecast outturn; without it the run rate is used.
    pub forecast_outturn: Option<Decimal>,
    /// In-year savings target and its full year effect (seed 002).
    pub savings_target: Option<Decimal>,
    pub savings_full_year_effect: Option<Decimal>,
    pub contributions: Vec<Contribution>,
}

/// A joint funding agreement (seed 000): each partner's share of cost, in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JointFunding {
    pub description: Option<String>,
    pub shares: Vec<(String, Decimal)>,
    pub people: Option<u32>,
    pub people_as_at: Option<NaiveDate>,
}

/// A value the KPI had or should have at a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PeriodValue {
    pub period: Period,
    pub value: f64,
}

/// What a KPI measures, resolved once when its scheme is read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Measure {
    /// A built-in metric, and the breakdown asked for (always one of the metric's own).
    BuiltIn {
        def: &'static MetricDef,
        breakdown: Option<&'static str>,
    },
    /// A local metric declared with `[[metric]]` in a scheme file; `Kpi::metric` is its id.
    Local,
}

impl PartialEq for Measure {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Measure::BuiltIn { def, breakdown },
                Measure::BuiltIn {
                    def: d,
                    breakdown: b,
                },
            ) => def.id == d.id && breakdown == b,
            (Measure::Local, Measure::Local) => true,
            _ => false,
        }
    }
}

/// What the fund manager says of a KPI for one pack month (`[[kpi.commentary]]`): what
/// happened, what is being done about it, who is accountable and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commentary {
    /// The pack month it speaks to.
    pub period: Month,
    pub text: String,
    pub action: Option<String>,
    pub owner: Option<String>,
    pub due: Option<NaiveDate>,
    /// The meeting (and date) that reviewed it.
    pub reviewed_at: Option<String>,
    pub escalated_to: Option<String>,
}

/// A dated event drawn on a KPI's charts (a new pathway, a go-live): `[[kpi.annotation]]`
/// for one KPI, `[[annotation]]` for every KPI of the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    pub date: NaiveDate,
    pub text: String,
}

/// A new set of SPC limits from a month on, and why (a service change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rebase {
    pub period: Month,
    pub reason: String,
}

/// A KPI's SPC settings (`[kpi.spc]`): the options of `bcfmon stats spc`, with the same
/// meanings and defaults (NHSRplotthedots).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KpiSpc {
    pub rebase: Vec<Rebase>,
    /// Limits fixed on each group's first N points (`stats spc --fix-after`).
    pub baseline_points: Option<usize>,
    pub shift_length: usize,
    pub trend_length: usize,
    pub two_in_three: TwoInThree,
    pub trend_ties: TrendTies,
    pub conflict: Conflict,
}

impl Default for KpiSpc {
    fn default() -> Self {
        let d = SpcOptions::default();
        KpiSpc {
            rebase: Vec::new(),
            baseline_points: d.fix_after,
            shift_length: d.shift_length,
            trend_length: d.trend_length,
            two_in_three: d.two_in_three,
            trend_ties: d.trend_ties,
            conflict: d.conflict,
        }
    }
}

impl KpiSpc {
    /// The chart options for a KPI of this polarity's improvement direction.
    pub(crate) fn options(&self, direction: Direction) -> SpcOptions {
        SpcOptions {
            direction,
            fix_after: self.baseline_points,
            shift_length: self.shift_length,
            trend_length: self.trend_length,
            two_in_three: self.two_in_three,
            trend_ties: self.trend_ties,
            conflict: self.conflict,
            ..SpcOptions::default()
        }
    }
}

/// One KPI of a scheme.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kpi {
    /// Catalogue id (with an optional `/breakdown`) or a local metric id, as written.
    pub metric: String,
    /// The metric resolved: a built-in one with its breakdown, or a local one.
    pub measure: Measure,
    /// The code and wording the scheme document uses, e.g. "ASCOF 1ci".
    pub label: Option<String>,
    pub headline: bool,
    /// Resolved: the KPI's own, else the metric's.
    pub polarity: Polarity,
    /// True when the polarity was not written on the KPI but taken from its metric.
    pub polarity_from_metric: bool,
    pub window: Window,
    pub frequency: Frequency,
    pub baseline: Option<PeriodValue>,
    pub target: Option<PeriodValue>,
    pub trajectory: Vec<PeriodValue>,
    /// A stretch ambition beyond the target (seed 003: target 80%, ambition 90%).
    pub ambition: Option<PeriodValue>,
    /// The amber band, in the metric's unit (methods.md §3.2).
    pub tolerance: f64,
    pub params: BTreeMap<String, String>,
    pub note: Option<String>,
    /// Oldest first.
    pub commentary: Vec<Commentary>,
    /// This KPI's own annotations (the scheme's are in `Scheme::annotations`).
    pub annotations: Vec<Annotation>,
    pub spc: KpiSpc,
    /// How many months the latest figure may lag the pack month before it is out of date.
    pub max_lag_months: u32,
}

impl Kpi {
    /// The metric's id without the breakdown: the catalogue id, or the local metric's id.
    pub(crate) fn metric_id(&self) -> &str {
        match self.measure {
            Measure::BuiltIn { def, .. } => def.id,
            Measure::Local => &self.metric,
        }
    }

    /// The breakdown of a built-in metric the KPI asks for.
    pub(crate) fn breakdown(&self) -> Option<&'static str> {
        match self.measure {
            Measure::BuiltIn { breakdown, .. } => breakdown,
            Measure::Local => None,
        }
    }
}

/// A local metric declared in a scheme file: SQL conditions over one extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalMetric {
    pub id: String,
    pub title: String,
    pub source: String,
    pub unit: Unit,
    /// The date column that places a record in a period.
    pub date: String,
    pub numerator: String,
    pub denominator: Option<String>,
    pub polarity: Polarity,
    pub rule: Option<String>,
    /// Where its `id` is written (line, column), for messages about the metric.
    pub at: (usize, usize),
}

/// A validated scheme.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scheme {
    pub file: PathBuf,
    pub reference: String,
    pub name: String,
    pub lead_commissioner: String,
    pub fund_manager: String,
    pub commencement: Commencement,
    pub delivery: Delivery,
    pub provider: String,
    pub contract_term: String,
    pub scheme_type: Option<String>,
    pub governance: Vec<String>,
    pub outline: String,
    pub finance: Vec<FinancePlan>,
    pub joint_funding: Option<JointFunding>,
    pub kpis: Vec<Kpi>,
    pub metrics: Vec<LocalMetric>,
    /// Annotations drawn on every KPI's charts.
    pub annotations: Vec<Annotation>,
}

impl Scheme {
    /// A KPI's annotations and the scheme's, by date.
    pub(crate) fn annotations_of<'a>(&'a self, kpi: &'a Kpi) -> Vec<&'a Annotation> {
        let mut all: Vec<&Annotation> = self.annotations.iter().chain(&kpi.annotations).collect();
        all.sort_by_key(|a| a.date);
        all
    }

    /// The funding streams its contributions name, each once, in the order first named.
    /// Empty when the scheme does not break its money down by stream.
    pub(crate) fn funding_streams(&self) -> Vec<&str> {
        let mut streams: Vec<&str> = Vec::new();
        for c in self.finance.iter().flat_map(|p| &p.contributions) {
            if let Some(s) = c.funding_stream.as_deref() {
                if !streams.iter().any(|x| x.eq_ignore_ascii_case(s)) {
                    streams.push(s);
                }
            }
        }
        streams
    }
}
