//! What a built-in metric is: its declaration (id, published codes, title, unit, polarity,
//! source extracts, breakdowns, parameters and the rule in words) and the vocabularies it
//! uses. Each family of `metrics` declares its own metrics beside the code that computes
//! them; `metrics::catalogue` lists them.

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

/// One built-in metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// The catalogue id a KPI names (`ascof-2c`).
    pub id: &'static str,
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
    /// How many months a KPI's latest figure may lag the pack month before the KPI is out
    /// of date (a KPI may set its own `max_lag_months`): 0 for most, more where the rule's
    /// follow-up holds the latest windows back.
    pub max_lag_months: u32,
    /// Whether `[metrics] method` applies: the ASCOF measures DHSC publishes from Client
    /// Level Data, whose published method bcfmon can follow (metrics.md §16).
    pub follows_method: bool,
    /// The rule, condensed from metrics.md; `bcfmon metrics ID` prints it.
    pub rule: &'static str,
    /// The section of metrics.md that defines it.
    pub section: &'static str,
}

/// The age bands of the ASCOF measures that break down by age.
pub(crate) const AGE_BANDS: &[&str] = &["18-64", "65+"];

/// Finds a built-in metric's declaration by id or published code: the look-up a reader gets
/// from the engine's catalogue (`metrics::catalogue::definition`) without depending on it.
pub(crate) type Lookup = fn(&str) -> Option<&'static MetricDef>;

/// Splits `ascof-2e/65+` into the metric and its breakdown.
pub(crate) fn split_breakdown(id: &str) -> (&str, Option<&str>) {
    match id.split_once('/') {
        Some((m, b)) => (m, Some(b)),
        None => (id, None),
    }
}
