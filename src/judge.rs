//! Judgement (methods.md §3): a KPI's target status, its change against the baseline, its
//! comparison with a benchmark, and the plain-English sentences the board reads.

use crate::catalogue::{Polarity, Unit};
use crate::period::vocabulary;
use crate::programme::scheme::{Commentary, Kpi};
use crate::programme::Wording;
use crate::stats::spc::{Assurance, PointType, Rule, Signals, SpcPoint, Variation};
use chrono::NaiveDate;

vocabulary! {
    /// Target status (methods.md §3.2); never shown by colour alone.
    pub(crate) TargetStatus {
        Green = "green",
        Amber = "amber",
        Red = "red",
        Grey = "grey",
    }
}

impl TargetStatus {
    /// The board's words for the status, from programme.toml.
    pub(crate) fn words(self, w: &Wording) -> &str {
        match self {
            TargetStatus::Green => &w.on_track,
            TargetStatus::Amber => &w.at_risk,
            TargetStatus::Red => &w.not_on_track,
            TargetStatus::Grey => &w.no_data,
        }
    }
}

vocabulary! {
    /// A comparison with a benchmark or a baseline (methods.md §3.1, §3.3).
    pub(crate) Comparison {
        Better = "better",
        Similar = "similar",
        Worse = "worse",
        Higher = "higher",
        Lower = "lower",
        NotCompared = "not_compared",
    }
}

impl Comparison {
    pub(crate) fn words(self) -> &'static str {
        match self {
            Comparison::Better => "Better than benchmark",
            Comparison::Similar => "Similar to benchmark",
            Comparison::Worse => "Worse than benchmark",
            Comparison::Higher => "Higher than benchmark",
            Comparison::Lower => "Lower than benchmark",
            Comparison::NotCompared => "Not compared",
        }
    }
}

/// Compares a value with a target, with polarity and tolerance (methods.md §3.2).
/// A neutral polarity has no target status.
pub(crate) fn target_status(
    value: Option<f64>,
    target: f64,
    polarity: Polarity,
    tolerance: f64,
) -> TargetStatus {
    let Some(v) = value else {
        return TargetStatus::Grey;
    };
    let t = tolerance.max(0.0);
    match polarity {
        Polarity::HighIsGood if v >= target => TargetStatus::Green,
        Polarity::HighIsGood if t > 0.0 && v >= target - t => TargetStatus::Amber,
        Polarity::HighIsGood => TargetStatus::Red,
        Polarity::LowIsGood if v <= target => TargetStatus::Green,
        Polarity::LowIsGood if t > 0.0 && v <= target + t => TargetStatus::Amber,
        Polarity::LowIsGood => TargetStatus::Red,
        Polarity::Neutral => TargetStatus::Grey,
    }
}

/// The statistically aware variant: green when the whole 95% interval is on the good side,
/// red when it is wholly on the bad side, amber otherwise (Fingertips).
#[cfg_attr(not(test), allow(dead_code))] // a methods.md rule tested against its reference; the pack does not use it yet
pub(crate) fn target_status_ci(
    lower: Option<f64>,
    upper: Option<f64>,
    target: f64,
    polarity: Polarity,
) -> TargetStatus {
    let (Some(lo), Some(hi)) = (lower, upper) else {
        return TargetStatus::Grey;
    };
    match polarity {
        Polarity::HighIsGood if lo >= target => TargetStatus::Green,
        Polarity::HighIsGood if hi < target => TargetStatus::Red,
        Polarity::LowIsGood if hi <= target => TargetStatus::Green,
        Polarity::LowIsGood if lo > target => TargetStatus::Red,
        Polarity::Neutral => TargetStatus::Grey,
        _ => TargetStatus::Amber,
    }
}

fn directional(higher: bool, polarity: Polarity) -> Comparison {
    match (polarity, higher) {
        (Polarity::HighIsGood, true) | (Polarity::LowIsGood, false) => Comparison::Better,
        (Polarity::HighIsGood, false) | (Polarity::LowIsGood, true) => Comparison::Worse,
        (Polarity::Neutral, true) => Comparison::Higher,
        (Polarity::Neutral, false) => Comparison::Lower,
    }
}

/// The area's 95% interval against a benchmark's point value (methods.md §3.1, one level).
pub(crate) fn vs_benchmark(
    lower95: Option<f64>,
    upper95: Option<f64>,
    benchmark: Option<f64>,
    polarity: Polarity,
) -> Comparison {
    match (lower95, upper95, benchmark) {
        (Some(lo), Some(hi), Some(b)) if lo <= b && b <= hi => Comparison::Similar,
        (Some(lo), Some(_), Some(b)) if b < lo => directional(true, polarity),
        (Some(_), Some(_), Some(_)) => directional(false, polarity),
        _ => Comparison::NotCompared,
    }
}

/// Two-level comparison (95% and 99.8%): `better_95`, `worse_998`, … or `similar` /
/// `not_compared` (methods.md §3.1).
#[cfg_attr(not(test), allow(dead_code))] // a methods.md rule tested against its reference; the pack does not use it yet
pub(crate) fn vs_benchmark_two_level(
    ci95: (Option<f64>, Option<f64>),
    ci998: (Option<f64>, Option<f64>),
    benchmark: Option<f64>,
    polarity: Polarity,
) -> String {
    let (Some(lo998), Some(hi998)) = ci998 else {
        return Comparison::NotCompared.to_string();
    };
    let first = vs_benchmark(ci95.0, ci95.1, benchmark, polarity);
    match (first, benchmark) {
        (Comparison::Similar | Comparison::NotCompared, _) => first.to_string(),
        (c, Some(b)) => {
            let strong = b < lo998 || b > hi998;
            format!("{c}_{}", if strong { "998" } else { "95" })
        }
        (_, None) => Comparison::NotCompared.to_string(),
    }
}

/// Change against the baseline by overlapping 95% intervals (methods.md §3.3); when the
/// baseline has no interval, the baseline value is treated as a benchmark.
pub(crate) fn vs_baseline(
    current: (f64, Option<f64>, Option<f64>),
    baseline: (f64, Option<f64>, Option<f64>),
    polarity: Polarity,
) -> Comparison {
    match (current, baseline) {
        ((c, Some(cl), Some(cu)), (b, Some(bl), Some(bu))) => {
            let (hi_lower, lo_upper) = if c >= b { (cl, bu) } else { (bl, cu) };
            if hi_lower <= lo_upper {
                Comparison::Similar
            } else {
                directional(c > b, polarity)
            }
        }
        ((_, cl, cu), (b, None, None)) => vs_benchmark(cl, cu, Some(b), polarity),
        _ => Comparison::NotCompared,
    }
}

/// The target that applies at a period end: the trajectory point whose period contains the
/// date, else the annual target whose period contains it.
pub(crate) fn target_at(kpi: &Kpi, period_end: NaiveDate) -> Option<f64> {
    let contains = |p: &crate::period::Period| p.start() <= period_end && period_end <= p.end();
    kpi.trajectory
        .iter()
        .find(|t| contains(&t.period))
        .or(kpi.target.as_ref().filter(|t| contains(&t.period)))
        .map(|t| t.value)
}

/// Where an area stands among its peers on one published measure and year.
#[cfg_attr(not(test), allow(dead_code))] // a methods.md rule tested against its reference; the pack does not use it yet
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PeerStanding {
    /// 1 = best, by polarity; ties share the better rank.
    pub rank: usize,
    /// Areas with a value (the area and its peers).
    pub of: usize,
    /// 1 = best quarter … 4 = worst: ceil(4 × rank / of).
    pub quartile: usize,
    /// The area's value minus England's.
    pub vs_england: Option<f64>,
}

/// Ranks an area among its peers (those with a value; suppressed values take no part). A
/// neutral polarity ranks from the highest value. Published values carry no confidence
/// interval, so no significance is claimed here (Fingertips: "not compared").
#[cfg_attr(not(test), allow(dead_code))] // a methods.md rule tested against its reference; the pack does not use it yet
pub(crate) fn peer_standing(
    area: f64,
    peers: &[f64],
    england: Option<f64>,
    polarity: Polarity,
) -> PeerStanding {
    let better = |x: f64| match polarity {
        Polarity::LowIsGood => x < area,
        _ => x > area,
    };
    let rank = 1 + peers.iter().filter(|x| better(**x)).count();
    let of = peers.len() + 1;
    PeerStanding {
        rank,
        of,
        quartile: (4 * rank).div_ceil(of),
        vs_england: england.map(|e| area - e),
    }
}

/// A value in the metric's unit, UK style, for sentences: 12.3%, 612.4 per 100,000, 1.2 days.
pub(crate) fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{value:.1}%"),
        Unit::Per100k => format!("{} per 100,000", group_thousands(value, 1)),
        Unit::Days => format!("{value:.1} days"),
        Unit::Count => group_thousands(value, 0),
    }
}

/// `1234567.8` → `1,234,567.8` with `dp` decimal places.
pub(crate) fn group_thousands(value: f64, dp: usize) -> String {
    let text = format!("{:.*}", dp, value.abs());
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w.to_string(), format!(".{f}")),
        None => (text.clone(), String::new()),
    };
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    format!("{sign}{out}{frac}")
}

/// One sentence on the latest point's SPC signal, for the board.
pub(crate) fn explain_variation(points: &[SpcPoint]) -> String {
    let Some(last) = points.last() else {
        return "No data to chart.".into();
    };
    let kind = match last.point_type {
        PointType::CommonCause => "",
        PointType::Improvement => "special cause improvement",
        PointType::Concern => "special cause concern",
        PointType::NeutralHigh | PointType::NeutralLow => {
            "special cause variation (neither better nor worse)"
        }
    };
    let run =
        |pred: &dyn Fn(&SpcPoint) -> bool| points.iter().rev().take_while(|p| pred(p)).count();
    match last.rule {
        None => "Common cause variation: the latest point is within the normal range, with no sign of change.".into(),
        Some(Rule::AboveUpperLimit) => format!("The latest point is above the upper process limit: {kind}."),
        Some(Rule::BelowLowerLimit) => format!("The latest point is below the lower process limit: {kind}."),
        Some(Rule::TrendIncreasing) => format!("{} points in a row rising: {kind}.", run(&|p| p.rule == Some(Rule::TrendIncreasing)).max(7)),
        Some(Rule::TrendDecreasing) => format!("{} points in a row falling: {kind}.", run(&|p| p.rule == Some(Rule::TrendDecreasing)).max(7)),
        Some(Rule::TwoOfThreeAbove) => format!("2 of the last 3 points are close to the upper limit: {kind}."),
        Some(Rule::TwoOfThreeBelow) => format!("2 of the last 3 points are close to the lower limit: {kind}."),
        Some(Rule::RunAbove) => format!("{} points in a row above the average: {kind}.", run(&|p| p.value > p.mean).max(7)),
        Some(Rule::RunBelow) => format!("{} points in a row below the average: {kind}.", run(&|p| p.value < p.mean).max(7)),
    }
}

/// Every special-cause rule a point meets, in plain words ("Rules met: 7 points in a row on
/// one side of the average; …"); empty for common cause.
pub(crate) fn signals_words(s: Signals, spc: &crate::programme::scheme::KpiSpc) -> String {
    let mut met = Vec::new();
    if s.astronomical {
        met.push("a point beyond the process limits".to_string());
    }
    if s.shift {
        met.push(format!(
            "a shift: {} or more points in a row on one side of the average",
            spc.shift_length
        ));
    }
    if s.trend {
        met.push(format!(
            "a trend: {} or more points in a row rising or falling",
            spc.trend_length
        ));
    }
    if s.two_in_three {
        met.push("two of three points in a row close to a process limit".to_string());
    }
    if met.is_empty() {
        String::new()
    } else {
        format!("Rules met by the latest point: {}.", met.join("; "))
    }
}

/// One sentence on assurance (methods.md §1.9, §3.4).
pub(crate) fn explain_assurance(assurance: Assurance) -> &'static str {
    match assurance {
        Assurance::Pass => "At its current limits the process will consistently meet the target.",
        Assurance::Fail => "At its current limits the process will consistently miss the target unless something changes.",
        Assurance::Inconsistent => "The target lies within the process limits, so it will be met and missed at random.",
        Assurance::None => "",
    }
}

/// The variation icon's words.
pub(crate) fn variation_words(v: Variation) -> &'static str {
    match v {
        Variation::CommonCause => "Common cause: no significant change",
        Variation::ImprovementHigh => "Special cause: improvement, higher values",
        Variation::ImprovementLow => "Special cause: improvement, lower values",
        Variation::ConcernHigh => "Special cause: concern, higher values",
        Variation::ConcernLow => "Special cause: concern, lower values",
        Variation::NeutralHigh => "Special cause: higher values, neither better nor worse",
        Variation::NeutralLow => "Special cause: lower values, neither better nor worse",
    }
}

/// The assurance icon's words (Making Data Count), the same on the pages, the PDF and the
/// workbook.
pub(crate) fn assurance_words(a: Assurance) -> &'static str {
    match a {
        Assurance::Pass => "Consistently passing the target",
        Assurance::Fail => "Consistently falling short of the target",
        Assurance::Inconsistent => "Inconsistently passing and falling short of the target",
        Assurance::None => "No target to assure against",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spc::{summarise, xmr, Direction, SpcOptions};

    #[test]
    fn target_status_table_of_methods_md() {
        use Polarity::*;
        use TargetStatus::*;
        // high-is-good, target 80, tolerance 5: 80 green, 76 amber, 75 amber (edge), 74.9 red.
        assert_eq!(target_status(Some(80.0), 80.0, HighIsGood, 5.0), Green);
        assert_eq!(target_status(Some(76.0), 80.0, HighIsGood, 5.0), Amber);
        assert_eq!(target_status(Some(75.0), 80.0, HighIsGood, 5.0), Amber);
        assert_eq!(target_status(Some(74.9), 80.0, HighIsGood, 5.0), Red);
        // Without tolerance there is no amber.
        assert_eq!(target_status(Some(79.9), 80.0, HighIsGood, 0.0), Red);
        // low-is-good, target 590, tolerance 10.
        assert_eq!(target_status(Some(590.0), 590.0, LowIsGood, 10.0), Green);
        assert_eq!(target_status(Some(600.0), 590.0, LowIsGood, 10.0), Amber);
        assert_eq!(target_status(Some(600.1), 590.0, LowIsGood, 10.0), Red);
        assert_eq!(target_status(None, 590.0, LowIsGood, 10.0), Grey);
        // CI variant: 95% CI 18.07–45.43 against a target of 20 (high-is-good) is amber.
        assert_eq!(
            target_status_ci(Some(18.07), Some(45.43), 20.0, HighIsGood),
            Amber
        );
        assert_eq!(
            target_status_ci(Some(18.07), Some(45.43), 15.0, HighIsGood),
            Green
        );
        assert_eq!(
            target_status_ci(Some(18.07), Some(45.43), 50.0, HighIsGood),
            Red
        );
    }

    #[test]
    fn worked_example_4_5_benchmark() {
        // Area 30% (95% CI 18.07–45.43, 99.8% CI 13.37–54.34), high-is-good.
        let ci95 = (Some(18.07), Some(45.43));
        let ci998 = (Some(13.37), Some(54.34));
        let hig = Polarity::HighIsGood;
        assert_eq!(
            vs_benchmark(ci95.0, ci95.1, Some(16.0), hig),
            Comparison::Better
        );
        assert_eq!(
            vs_benchmark_two_level(ci95, ci998, Some(16.0), hig),
            "better_95"
        );
        assert_eq!(
            vs_benchmark_two_level(ci95, ci998, Some(12.0), hig),
            "better_998"
        );
        assert_eq!(
            vs_benchmark_two_level(ci95, ci998, Some(20.0), hig),
            "similar"
        );
        assert_eq!(
            vs_benchmark(ci95.0, ci95.1, Some(50.0), Polarity::Neutral),
            Comparison::Lower
        );
        assert_eq!(
            vs_benchmark(None, None, Some(50.0), hig),
            Comparison::NotCompared
        );
        assert_eq!(
            vs_benchmark_two_level(ci95, (None, None), Some(12.0), hig),
            "not_compared"
        );
    }

    #[test]
    fn baseline_by_overlapping_intervals() {
        let low = Polarity::LowIsGood;
        // Overlap (inclusive): 10 (8–12) vs 14 (12–16) → similar.
        assert_eq!(
            vs_baseline(
                (10.0, Some(8.0), Some(12.0)),
                (14.0, Some(12.0), Some(16.0)),
                low
            ),
            Comparison::Similar
        );
        // No overlap: current lower → better when low is good.
        assert_eq!(
            vs_baseline(
                (10.0, Some(8.0), Some(11.9)),
                (14.0, Some(12.0), Some(16.0)),
                low
            ),
            Comparison::Better
        );
        assert_eq!(
            vs_baseline(
                (18.0, Some(16.5), Some(20.0)),
                (14.0, Some(12.0), Some(16.0)),
                Polarity::Neutral
            ),
            Comparison::Higher
        );
        // A baseline fixed by agreement (no interval) acts as a benchmark.
        assert_eq!(
            vs_baseline((10.0, Some(8.0), Some(12.0)), (14.0, None, None), low),
            Comparison::Better
        );
        assert_eq!(
            vs_baseline((10.0, None, None), (14.0, None, None), low),
            Comparison::NotCompared
        );
    }

    #[test]
    fn explanations_name_the_rule_and_its_meaning() {
        // §4.1: June's 30 is above the upper limit; after it, common cause.
        let y = [10.0, 12.0, 11.0, 13.0, 12.0, 30.0];
        let pts = xmr(&y, &[], &SpcOptions::default()).unwrap();
        assert_eq!(
            explain_variation(&pts),
            "The latest point is above the upper process limit: special cause improvement."
        );
        // 8 points below the mean at the end, decreasing direction: a run below → improvement.
        let y = [
            20.0, 26.0, 20.0, 26.0, 20.0, 26.0, 20.0, 26.0, 18.0, 21.0, 18.0, 21.0, 18.0, 21.0,
            18.0, 21.0,
        ];
        let opts = SpcOptions {
            direction: Direction::Decrease,
            ..SpcOptions::default()
        };
        let pts = xmr(&y, &[], &opts).unwrap();
        assert_eq!(
            explain_variation(&pts),
            "8 points in a row below the average: special cause improvement."
        );
        let s = summarise(&pts, Direction::Decrease, Some(10.0)).unwrap();
        assert_eq!(
            variation_words(s.variation),
            "Special cause: improvement, lower values"
        );
        assert_eq!(format_value(612.44, Unit::Per100k), "612.4 per 100,000");
        assert_eq!(format_value(1234.0, Unit::Count), "1,234");
        assert_eq!(group_thousands(1234567.85, 1), "1,234,567.9");
    }
}

/// One judged KPI row: the result row with its target, status, SPC variation and assurance,
/// comparisons with the baseline and England, and the sentence the board reads.
#[derive(Debug, Clone)]
pub(crate) struct JudgedRow {
    pub scheme: String,
    pub row: crate::metrics::ResultRow,
    pub target: Option<f64>,
    pub status: Option<TargetStatus>,
    pub variation: Option<Variation>,
    pub assurance: Assurance,
    pub vs_baseline: Comparison,
    pub vs_benchmark: Comparison,
    pub explanation: String,
    /// Every special-cause rule the row's point met when it was the latest.
    pub signals: Option<Signals>,
    /// The fund manager's commentary for the row's month.
    pub commentary: Option<Commentary>,
}

/// The columns of the judged KPI table (`compute --judge`, the pack's metrics.csv/json).
pub(crate) const JUDGED_COLUMNS: &[crate::table::Column] = &{
    use crate::table::{date, float, text};
    // `scheme`, the results table's columns with `status` renamed `status_code`, then the
    // judgement.
    let results = crate::metrics::COLUMNS;
    let mut out = [text(""); 26];
    out[0] = text("scheme");
    let mut i = 0;
    while i + 1 < results.len() {
        out[i + 1] = results[i];
        i += 1;
    }
    out[i + 1] = text("status_code");
    let judgement = [
        float("target"),
        text("status"),
        text("variation"),
        text("assurance"),
        text("vs_baseline"),
        text("vs_benchmark"),
        text("explanation"),
        text("special_cause_rule"),
        text("commentary"),
        text("action"),
        text("owner"),
        date("due"),
    ];
    let mut k = 0;
    while k < judgement.len() {
        out[i + 2 + k] = judgement[k];
        k += 1;
    }
    out
};

impl JudgedRow {
    /// The row's cells in `JUDGED_COLUMNS` order.
    pub(crate) fn cells(&self, wording: &Wording) -> Vec<String> {
        self.cells_from(self.row.named_cells(), wording)
    }

    /// The cells in `JUDGED_COLUMNS` order, with the result row's cells as given (the pack
    /// passes them after disclosure control).
    pub(crate) fn cells_from(
        &self,
        row: crate::metrics::RowCells,
        wording: &Wording,
    ) -> Vec<String> {
        let mut c = vec![self.scheme.clone()];
        let mut base = row.into_vec();
        let status_code = base.pop().unwrap_or_default();
        c.extend(base);
        c.push(status_code);
        c.push(crate::table::num(self.target));
        c.push(
            self.status
                .map(|s| s.words(wording).to_string())
                .unwrap_or_default(),
        );
        c.push(self.variation.map(|v| v.to_string()).unwrap_or_default());
        c.push(self.assurance.to_string());
        c.push(self.vs_baseline.to_string());
        c.push(self.vs_benchmark.to_string());
        c.push(self.explanation.clone());
        c.push(self.signals.map(|s| s.names()).unwrap_or_default());
        let said = self.commentary.as_ref();
        c.push(said.map(|s| s.text.clone()).unwrap_or_default());
        c.push(said.and_then(|s| s.action.clone()).unwrap_or_default());
        c.push(said.and_then(|s| s.owner.clone()).unwrap_or_default());
        c.push(
            said.and_then(|s| s.due)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
        c
    }
}

/// The SPC improvement direction of a KPI's polarity.
pub(crate) fn direction(p: Polarity) -> crate::stats::spc::Direction {
    match p {
        Polarity::HighIsGood => crate::stats::spc::Direction::Increase,
        Polarity::LowIsGood => crate::stats::spc::Direction::Decrease,
        Polarity::Neutral => crate::stats::spc::Direction::Neutral,
    }
}

/// A KPI's XmR chart over the values it has (oldest first, each with its period end), with
/// its own SPC settings. A rebase starts a new group of limits at the first point in or after
/// its month, once the groups before and after it have the 2 points a group needs (so a
/// rebase in the latest month takes effect from the next).
pub(crate) fn kpi_chart(kpi: &Kpi, points: &[(NaiveDate, f64)]) -> Option<Vec<SpcPoint>> {
    if points.len() < 2 {
        return None;
    }
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let mut starts = Vec::new();
    let mut previous = 0;
    for r in &kpi.spc.rebase {
        if let Some(s) = points.iter().position(|p| p.0 >= r.period.start()) {
            if s >= previous + 2 && values.len() - s >= 2 {
                starts.push(s);
                previous = s;
            }
        }
    }
    crate::stats::spc::xmr(&values, &starts, &kpi.spc.options(direction(kpi.polarity))).ok()
}

/// Whether a period end is plotted at the KPI's frequency.
fn plotted(freq: crate::period::Frequency, end: NaiveDate) -> bool {
    use chrono::Datelike;
    match freq {
        crate::period::Frequency::Quarterly => end.month().is_multiple_of(3),
        crate::period::Frequency::Annual => end.month() == 3,
        _ => true,
    }
}

/// England's published value of a metric (its id without a breakdown) for the financial
/// year starting in `year`.
fn england(benchmarks: Option<&polars::prelude::DataFrame>, base: &str, year: i32) -> Option<f64> {
    let f = benchmarks?;
    let (a, y, m, v) = (
        f.column("Area_Code").ok()?.str().ok()?,
        f.column("Year").ok()?.i32().ok()?,
        f.column("metric").ok()?.str().ok()?,
        f.column("value").ok()?.f64().ok()?,
    );
    (0..f.height())
        .find(|&i| {
            a.get(i) == Some("E92000001") && y.get(i) == Some(year) && m.get(i) == Some(base)
        })
        .and_then(|i| v.get(i))
}

/// Judges every KPI of every scheme at every plotted period (methods.md §1, §3). SPC at a
/// period uses the series up to that period, so a past row reads as the board saw it then.
pub(crate) fn judge(
    programme: &crate::programme::Programme,
    rows: &[crate::metrics::ResultRow],
    benchmarks: Option<&polars::prelude::DataFrame>,
) -> Vec<JudgedRow> {
    use crate::stats::spc::summarise;
    let area = &programme.settings.area.code;
    let wording = &programme.settings.wording;
    let mut out = Vec::new();
    for scheme in &programme.schemes {
        for kpi in &scheme.kpis {
            let unit = rows
                .iter()
                .find(|r| r.metric == kpi.metric)
                .map(|r| r.unit)
                .unwrap_or(Unit::Count);
            let mut series: Vec<&crate::metrics::ResultRow> = rows
                .iter()
                .filter(|r| {
                    &r.area_code == area
                        && r.metric == kpi.metric
                        && r.window == kpi.window
                        && plotted(kpi.frequency, r.period_end)
                })
                .collect();
            series.sort_by_key(|r| r.period_end);
            let values: Vec<Option<f64>> = series
                .iter()
                .map(|r| r.value.as_deref().and_then(|v| v.parse().ok()))
                .collect();
            let improvement = direction(kpi.polarity);
            let dated: Vec<Option<(NaiveDate, f64)>> = series
                .iter()
                .zip(&values)
                .map(|(r, v)| v.map(|v| (r.period_end, v)))
                .collect();
            for (i, r) in series.iter().enumerate() {
                let value = values[i];
                let target = target_at(kpi, r.period_end);
                let status = target.map(|t| target_status(value, t, kpi.polarity, kpi.tolerance));
                let history: Vec<(NaiveDate, f64)> =
                    dated[..=i].iter().flatten().copied().collect();
                let chart = if value.is_some() {
                    kpi_chart(kpi, &history)
                } else {
                    None
                };
                let summary = chart
                    .as_ref()
                    .and_then(|c| summarise(c, improvement, target));
                let vs_b = match (value, kpi.baseline) {
                    (Some(v), Some(b)) => vs_baseline(
                        (v, r.lower95, r.upper95),
                        (b.value, None, None),
                        kpi.polarity,
                    ),
                    _ => Comparison::NotCompared,
                };
                let fy = crate::period::FinancialYear::containing(r.period_end);
                let annual = r.period_end == fy.end()
                    && matches!(
                        r.window,
                        crate::period::Window::Rolling12Months
                            | crate::period::Window::FinancialYear
                    );
                let vs_e = if annual {
                    vs_benchmark(
                        r.lower95,
                        r.upper95,
                        england(benchmarks, kpi.metric_id(), fy.0),
                        kpi.polarity,
                    )
                } else {
                    Comparison::NotCompared
                };
                let mut sentences = Vec::new();
                match (value, target, status) {
                    (Some(v), Some(t), Some(s)) => sentences.push(format!(
                        "{} against a target of {}: {}.",
                        format_value(v, unit),
                        format_value(t, unit),
                        s.words(wording)
                    )),
                    (Some(v), _, _) => sentences.push(format!(
                        "{} (no target set for this period).",
                        format_value(v, unit)
                    )),
                    (None, _, _) => sentences.push(format!("{}.", wording.no_data)),
                }
                if let Some(c) = &chart {
                    sentences.push(explain_variation(c));
                } else if value.is_some() {
                    sentences.push("Too few points to judge variation.".into());
                }
                if let Some(s) = &summary {
                    let a = explain_assurance(s.assurance);
                    if !a.is_empty() {
                        sentences.push(a.into());
                    }
                    if history.len() < 13 {
                        sentences.push(format!(
                            "The limits are provisional ({} points; 13 are needed).",
                            history.len()
                        ));
                    }
                }
                out.push(JudgedRow {
                    scheme: scheme.reference.clone(),
                    row: (*r).clone(),
                    target,
                    status,
                    variation: summary.map(|s| s.variation),
                    assurance: summary.map_or(Assurance::None, |s| s.assurance),
                    vs_baseline: vs_b,
                    vs_benchmark: vs_e,
                    explanation: sentences.join(" "),
                    signals: chart.as_ref().and_then(|c| c.last()).map(|p| p.signals),
                    commentary: kpi
                        .commentary
                        .iter()
                        .find(|c| c.period == crate::period::Month::of(r.period_end))
                        .cloned(),
                });
            }
        }
    }
    out
}
