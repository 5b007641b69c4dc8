//! The board pack (design.md "Outputs"): turns the judged KPIs, the finance statement and the
//! data-quality ledger into page models, renders them with minijinja templates (embedded,
//! overridable from a folder, autoescaped), and lists every file of the pack with its bytes.

pub(crate) mod chart;
pub(crate) mod xlsx;

use crate::catalogue::{self, Polarity, Unit};
use crate::config::programme::{Disclosure, Settings};
use crate::config::scheme::{Commencement, Kpi, Scheme};
use crate::finance::{self, Statement};
use crate::judge::{format_value, JudgedRow, TargetStatus};
use crate::money::format_gbp;
use crate::period::{FinancialYear, Month, Period};
use crate::pipeline::Run;
use crate::stats::spc::{xmr, Assurance, PointType, SpcOptions, SpcPoint};
use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, Value};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in templates, by file name; a file of the same name in `--templates` wins.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("scheme.html", include_str!("../../templates/scheme.html")),
    (
        "definitions.html",
        include_str!("../../templates/definitions.html"),
    ),
    (
        "data-quality.html",
        include_str!("../../templates/data-quality.html"),
    ),
];

/// Series shorter than this get a trajectory chart and no SPC icons: the Making Data Count
/// Single Chart tool shows limits and icons only from 13 points (methods.md §1.10).
pub(crate) const MIN_SPC_POINTS: usize = 13;

/// `31 March 2025`.
pub(crate) fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), month_name(d.month()), d.year())
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(m as usize).saturating_sub(1).min(11)]
}

/// `March 2025`.
pub(crate) fn month_words(m: Month) -> String {
    format!("{} {}", month_name(m.month), m.year)
}

/// `Mar 2025` for chart axes and tables.
fn short_month(d: NaiveDate) -> String {
    format!("{} {}", &month_name(d.month())[..3], d.year())
}

/// `12.3%` for a percent of plan (1 place).
fn pct1(p: Option<Decimal>) -> String {
    p.map(|p| format!("{:.1}%", p).replacen('-', "−", 1))
        .unwrap_or_else(|| "–".into())
}

/// Small-number disclosure control (programme.toml `[disclosure]`): a count from 1 to
/// `max_count` is shown as the marker, and every figure derived from it is suppressed.
#[derive(Debug, Clone)]
pub(crate) struct Disclose<'a>(pub &'a Disclosure);

impl Disclose<'_> {
    pub(crate) fn small(&self, n: Option<u64>) -> bool {
        n.is_some_and(|n| n >= 1 && n <= self.0.max_count as u64)
    }
    /// Whether a row's value must be suppressed: its numerator or denominator is small.
    pub(crate) fn row(&self, r: &crate::metrics::ResultRow) -> bool {
        self.small(r.numerator) || self.small(r.denominator)
    }
    pub(crate) fn count(&self, n: Option<u64>) -> String {
        match n {
            Some(n) if self.small(Some(n)) => self.0.marker.clone(),
            Some(n) => crate::judge::group_thousands(n as f64, 0),
            None => "–".into(),
        }
    }
}

#[derive(Serialize)]
struct Common {
    title: String,
    area: String,
    area_code: String,
    data_as_at: String,
    period: String,
    financial_year: String,
    version: &'static str,
    marker: String,
    max_count: u32,
    /// `""` on top-level pages, `"../"` on scheme pages.
    up: &'static str,
}

#[derive(Serialize, Clone)]
struct Status {
    code: String,
    symbol: &'static str,
    words: String,
}

fn target_status_view(s: Option<TargetStatus>, settings: &Settings) -> Status {
    let s = s.unwrap_or(TargetStatus::Grey);
    let symbol = match s {
        TargetStatus::Green => "✔",
        TargetStatus::Amber => "!",
        TargetStatus::Red => "✖",
        TargetStatus::Grey => "–",
    };
    Status {
        code: s.to_string(),
        symbol,
        words: s.words(&settings.wording).to_string(),
    }
}

fn finance_status_view(s: finance::FinanceStatus, settings: &Settings) -> Status {
    use finance::FinanceStatus as F;
    let (t, words) = match s {
        // The KPI wording speaks of targets; a budget line is on or off its plan.
        F::OnTrack => (TargetStatus::Green, "On plan".to_string()),
        F::AtRisk => (TargetStatus::Amber, settings.wording.at_risk.clone()),
        F::NotOnTrack => (TargetStatus::Red, "Off plan".to_string()),
        F::NoPlan => (TargetStatus::Grey, "No plan".into()),
    };
    let mut v = target_status_view(Some(t), settings);
    v.words = words;
    v
}

#[derive(Serialize, Clone)]
struct PointRow {
    period: String,
    value: String,
    lower: String,
    upper: String,
    numerator: String,
    denominator: String,
    target: String,
    signal: String,
}

#[derive(Serialize, Clone)]
struct Bench {
    chart: Value,
    year: String,
    rows: Vec<(String, String)>,
}

#[derive(Serialize, Clone)]
struct Card {
    id: String,
    label: String,
    metric: String,
    metric_title: String,
    headline: bool,
    polarity: String,
    window: String,
    period: String,
    value: String,
    ci: String,
    numerator: String,
    denominator: String,
    suppressed: bool,
    baseline: String,
    target: String,
    trajectory: Vec<(String, String)>,
    status: Status,
    variation_icon: Value,
    variation: String,
    assurance_icon: Value,
    assurance: String,
    benchmark: String,
    explanation: String,
    chart_kind: &'static str,
    chart: Value,
    points: Vec<PointRow>,
    bench: Option<Bench>,
    exception: bool,
}

fn period_value(p: &crate::config::scheme::PeriodValue, unit: Unit) -> String {
    format!(
        "{} ({})",
        format_value(p.value, unit),
        period_words(p.period)
    )
}

fn period_words(p: Period) -> String {
    match p {
        Period::Month(m) => month_words(m),
        Period::Day(d) => long_date(d),
        other => other.to_string(),
    }
}

fn kpi_label(kpi: &Kpi) -> String {
    kpi.label.clone().unwrap_or_else(|| {
        catalogue::lookup(&kpi.metric)
            .map(|m| m.title.to_string())
            .unwrap_or_else(|| kpi.metric.clone())
    })
}

fn metric_title(programme: &crate::config::Programme, id: &str) -> (String, Option<Polarity>) {
    let (base, breakdown) = catalogue::split_breakdown(id);
    if let Some(m) = catalogue::lookup(base) {
        let t = match breakdown {
            Some(b) => format!("{} ({b})", m.title),
            None => m.title.to_string(),
        };
        return (t, Some(m.polarity));
    }
    programme
        .local_metrics()
        .find(|m| m.id == id)
        .map_or((id.to_string(), None), |m| {
            (m.title.clone(), Some(m.polarity))
        })
}

fn polarity_words(p: Polarity) -> &'static str {
    match p {
        Polarity::HighIsGood => "Higher is better",
        Polarity::LowIsGood => "Lower is better",
        Polarity::Neutral => "Neither higher nor lower is better",
    }
}

fn signal_words(t: PointType) -> &'static str {
    match t {
        PointType::CommonCause => "Common cause",
        PointType::Improvement => "Special cause improvement",
        PointType::Concern => "Special cause concern",
        PointType::NeutralHigh => "Special cause (high)",
        PointType::NeutralLow => "Special cause (low)",
    }
}

/// A KPI's judged rows, oldest first.
pub(crate) fn kpi_series<'a>(
    judged: &'a [JudgedRow],
    scheme: &Scheme,
    kpi: &Kpi,
) -> Vec<&'a JudgedRow> {
    judged
        .iter()
        .filter(|j| {
            j.scheme == scheme.reference && j.row.metric == kpi.metric && j.row.window == kpi.window
        })
        .collect()
}

/// The latest period with a figure (a trailing window may not be computable yet, e.g. while
/// a look-ahead is incomplete); the last period if none has one.
pub(crate) fn latest<'a>(series: &[&'a JudgedRow]) -> Option<&'a JudgedRow> {
    series
        .iter()
        .rev()
        .find(|r| r.row.value.is_some())
        .or(series.last())
        .copied()
}

/// A KPI's card from its judged series up to the pack's month.
#[allow(clippy::too_many_arguments)]
fn card(
    prep: &Run,
    scheme: &Scheme,
    index: usize,
    kpi: &Kpi,
    series: &[&JudgedRow],
    disclose: &Disclose<'_>,
) -> Card {
    let settings = &prep.programme.settings;
    let id = format!("{}-k{}", scheme.reference, index + 1);
    let (title, _) = metric_title(&prep.programme, &kpi.metric);
    let unit = series.first().map_or(Unit::Count, |r| r.row.unit);
    let values: Vec<Option<f64>> = series
        .iter()
        .map(|r| r.row.value.as_deref().and_then(|v| v.parse().ok()))
        .collect();
    let hidden: Vec<bool> = series.iter().map(|r| disclose.row(&r.row)).collect();
    let shown: Vec<Option<f64>> = values
        .iter()
        .zip(&hidden)
        .map(|(v, h)| if *h { None } else { *v })
        .collect();
    let labels: Vec<String> = series
        .iter()
        .map(|r| short_month(r.row.period_end))
        .collect();
    let targets: Vec<Option<f64>> = series.iter().map(|r| r.target).collect();
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let opts = SpcOptions {
        direction: crate::judge::direction(kpi.polarity),
        ..SpcOptions::default()
    };
    let spc_ok = present.len() >= MIN_SPC_POINTS;
    let points: Vec<Option<SpcPoint>> = if spc_ok {
        let mut all = xmr(&present, &[], &opts).unwrap_or_default().into_iter();
        values.iter().map(|v| v.and_then(|_| all.next())).collect()
    } else {
        vec![None; values.len()]
    };
    let s = chart::Series {
        labels: &labels,
        values: &shown,
        targets: &targets,
        unit,
    };
    let chart_title = format!("{} — {}", scheme.reference, kpi_label(kpi));
    let (chart_kind, svg) = if spc_ok {
        ("spc", chart::spc(&id, &chart_title, &s, &points))
    } else {
        ("trajectory", chart::trajectory(&id, &chart_title, &s))
    };
    let last = latest(series);
    let suppressed = last.is_some_and(|r| disclose.row(&r.row));
    let fmt_opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format_value(v, unit));
    let value = match last {
        Some(_) if suppressed => settings.disclosure.marker.clone(),
        Some(r) => fmt_opt(r.row.value.as_deref().and_then(|v| v.parse().ok())),
        None => "–".into(),
    };
    let ci = match last {
        Some(r) if !suppressed => match (r.row.lower95, r.row.upper95) {
            // The unit once, after the upper limit ("95% CI 241.9 to 505.6 per 100,000"),
            // except percent, which reads naturally on both.
            (Some(l), Some(u)) => {
                // The number as `format_value` writes it, without its unit words.
                let lower = match unit {
                    Unit::Percent => format_value(l, unit),
                    _ => format_value(l, unit)
                        .split(' ')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                };
                format!("95% CI {lower} to {}", format_value(u, unit))
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    let status = target_status_view(last.and_then(|r| r.status), settings);
    let (variation_icon, variation, assurance_icon, assurance) = match last {
        Some(r) if spc_ok => (
            chart::variation_icon(r.variation),
            r.variation
                .map_or("Not judged", crate::judge::variation_words)
                .to_string(),
            chart::assurance_icon(r.assurance),
            assurance_words(r.assurance),
        ),
        _ => (
            chart::variation_icon(None),
            format!("Not judged: fewer than {MIN_SPC_POINTS} points"),
            chart::assurance_icon(Assurance::None),
            "Not judged".to_string(),
        ),
    };
    let explanation = match last {
        Some(_) if suppressed => format!(
            "The latest figure rests on a count of {} or fewer and is not shown. {}.",
            settings.disclosure.max_count, status.words
        ),
        Some(r) if !spc_ok => {
            // The judgement's SPC sentences need 13 points on the pack; keep its first.
            r.explanation
                .split_inclusive(". ")
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        Some(r) => r.explanation.clone(),
        None => settings.wording.no_data.clone(),
    };
    let exception = last.is_some_and(|r| {
        matches!(r.status, Some(TargetStatus::Amber | TargetStatus::Red))
            || (spc_ok
                && matches!(
                    r.variation,
                    Some(
                        crate::stats::spc::Variation::ConcernHigh
                            | crate::stats::spc::Variation::ConcernLow
                    )
                ))
    });
    let points_rows = series
        .iter()
        .zip(&points)
        .map(|(r, p)| {
            let h = disclose.row(&r.row);
            let v = r.row.value.as_deref().and_then(|v| v.parse::<f64>().ok());
            let hide = |x: Option<f64>| {
                if h {
                    settings.disclosure.marker.clone()
                } else {
                    fmt_opt(x)
                }
            };
            PointRow {
                period: period_words_row(&r.row),
                value: hide(v),
                lower: hide(r.row.lower95),
                upper: hide(r.row.upper95),
                numerator: disclose.count(r.row.numerator),
                denominator: disclose.count(r.row.denominator),
                target: fmt_opt(r.target),
                signal: p
                    .as_ref()
                    .map_or("–", |p| signal_words(p.point_type))
                    .to_string(),
            }
        })
        .collect();
    let bench = benchmark(prep, kpi, &id, unit, series, disclose);
    Card {
        id,
        label: kpi_label(kpi),
        metric: kpi.metric.clone(),
        metric_title: title,
        headline: kpi.headline,
        polarity: polarity_words(kpi.polarity).into(),
        window: kpi.window.to_string(),
        period: last.map_or(String::new(), |r| period_words_row(&r.row)),
        value,
        ci,
        numerator: last.map_or("–".into(), |r| disclose.count(r.row.numerator)),
        denominator: last.map_or("–".into(), |r| disclose.count(r.row.denominator)),
        suppressed,
        baseline: kpi
            .baseline
            .as_ref()
            .map_or("None set".into(), |b| period_value(b, unit)),
        target: kpi
            .target
            .as_ref()
            .map_or("None set".into(), |t| period_value(t, unit)),
        trajectory: kpi
            .trajectory
            .iter()
            .map(|t| (period_words(t.period), format_value(t.value, unit)))
            .collect(),
        status,
        variation_icon: Value::from_safe_string(variation_icon),
        variation,
        assurance_icon: Value::from_safe_string(assurance_icon),
        assurance,
        benchmark: last.map_or("Not compared".into(), |r| r.vs_benchmark.words().into()),
        explanation,
        chart_kind,
        chart: Value::from_safe_string(svg),
        points: points_rows,
        bench,
        exception,
    }
}

fn assurance_words(a: Assurance) -> String {
    match a {
        Assurance::Pass => "Will consistently meet the target",
        Assurance::Fail => "Will consistently fail the target",
        Assurance::Inconsistent => "May or may not meet the target",
        Assurance::None => "No target to assure against",
    }
    .into()
}

/// A row's period in words: `March 2016` for a month, `2015-16` for a year, else the label.
fn period_words_row(r: &crate::metrics::ResultRow) -> String {
    match r.window {
        crate::period::Window::Month => month_words(Month::of(r.period_end)),
        crate::period::Window::Rolling12Months => {
            format!("12 months to {}", month_words(Month::of(r.period_end)))
        }
        _ => r.period.clone(),
    }
}

/// The area against its peers and England on the published benchmark, for the latest year
/// that has the area's own published value.
fn benchmark(
    prep: &Run,
    kpi: &Kpi,
    id: &str,
    unit: Unit,
    series: &[&JudgedRow],
    disclose: &Disclose<'_>,
) -> Option<Bench> {
    let f = prep.data.frames.get("benchmarks")?;
    let settings = &prep.programme.settings;
    let (base, breakdown) = catalogue::split_breakdown(&kpi.metric);
    let a = f.column("Area_Code").ok()?.str().ok()?;
    let n = f.column("Area_Name").ok()?.str().ok()?;
    let y = f.column("Year").ok()?.i32().ok()?;
    let m = f.column("metric").ok()?.str().ok()?;
    let b = f.column("Breakdown").ok()?.str().ok()?;
    let v = f.column("value").ok()?.f64().ok()?;
    let rows: Vec<usize> = (0..f.height())
        .filter(|&i| m.get(i) == Some(base))
        .filter(|&i| breakdown.is_none_or(|bd| b.get(i).is_none_or(|x| x == bd)))
        .filter(|&i| v.get(i).is_some())
        .collect();
    let area = &settings.area.code;
    // The area's own figure for a year: as published, else the pack's own annual value (the
    // window ending 31 March of that year), unless it is suppressed.
    let computed = |fy: FinancialYear| {
        series
            .iter()
            .find(|r| r.row.period_end == fy.end() && !disclose.row(&r.row))
            .and_then(|r| {
                r.row
                    .value
                    .as_deref()
                    .and_then(|v| v.parse::<f64>().ok())
                    .map(|v| (v, r.row.lower95, r.row.upper95))
            })
    };
    let published = |year: i32| {
        rows.iter()
            .find(|&&i| a.get(i) == Some(area.as_str()) && y.get(i) == Some(year))
            .and_then(|&i| v.get(i))
    };
    let mut years: Vec<i32> = rows.iter().filter_map(|&i| y.get(i)).collect();
    years.sort_unstable();
    years.dedup();
    // The latest year with both a figure for the area and at least one peer's.
    let (year, own) = years.iter().rev().find_map(|&year| {
        let fy = FinancialYear(year);
        let ours = computed(fy);
        let own = published(year)
            .map(|p| (p, ours.and_then(|o| o.1), ours.and_then(|o| o.2), true))
            .or(ours.map(|o| (o.0, o.1, o.2, false)))?;
        let peers = rows.iter().any(|&i| {
            y.get(i) == Some(year)
                && a.get(i)
                    .is_some_and(|c| settings.peers.iter().any(|p| p == c))
        });
        peers.then_some((year, own))
    })?;
    let mut bars: Vec<chart::Bar> = vec![chart::Bar {
        label: if own.3 {
            settings.area.name.clone()
        } else {
            format!("{} (this pack)", settings.area.name)
        },
        value: own.0,
        lower: own.1,
        upper: own.2,
        highlight: true,
    }];
    let mut england = None;
    let mut seen: Vec<&str> = vec![area.as_str()];
    for &i in rows.iter().filter(|&&i| y.get(i) == Some(year)) {
        let code = a.get(i).unwrap_or("");
        let value = v.get(i).expect("filtered");
        if code == "E92000001" {
            england = Some(value);
        } else if settings.peers.iter().any(|p| p == code) && !seen.contains(&code) {
            seen.push(code);
            bars.push(chart::Bar {
                label: n.get(i).unwrap_or(code).to_string(),
                value,
                lower: None,
                upper: None,
                highlight: false,
            });
        }
    }
    let fy = FinancialYear(year);
    if bars.len() < 2 {
        return None;
    }
    let polarity = kpi.polarity;
    bars.sort_by(|x, y| {
        let o = x.value.total_cmp(&y.value);
        if polarity == Polarity::LowIsGood {
            o
        } else {
            o.reverse()
        }
        .then(x.label.cmp(&y.label))
    });
    let title = format!(
        "{} {} against comparator areas and England",
        kpi_label(kpi),
        fy
    );
    let svg = chart::benchmark(&format!("{id}-b"), &title, &bars, england, unit);
    let mut table: Vec<(String, String)> = bars
        .iter()
        .map(|b| (b.label.clone(), format_value(b.value, unit)))
        .collect();
    if let Some(e) = england {
        table.push(("England".into(), format_value(e, unit)));
    }
    Some(Bench {
        chart: Value::from_safe_string(svg),
        year: fy.to_string(),
        rows: table,
    })
}

#[derive(Serialize, Clone)]
struct MoneyRow {
    label: String,
    href: String,
    plan: String,
    actual: String,
    forecast: String,
    variance: String,
    variance_pct: String,
    basis: String,
    status: Status,
}

fn money_row(label: String, href: String, l: &finance::Line, settings: &Settings) -> MoneyRow {
    MoneyRow {
        label,
        href,
        plan: format_gbp(l.plan),
        actual: format_gbp(l.actual_to_date),
        forecast: format_gbp(l.forecast_outturn),
        variance: signed_gbp(l.variance),
        variance_pct: pct1(l.variance_pct),
        basis: l.basis.words().into(),
        status: finance_status_view(l.status, settings),
    }
}

fn totals_row(label: String, t: &finance::Totals, st: &Statement, settings: &Settings) -> MoneyRow {
    MoneyRow {
        label,
        href: String::new(),
        plan: format_gbp(t.plan),
        actual: format_gbp(t.actual_to_date),
        forecast: format_gbp(t.forecast_outturn),
        variance: signed_gbp(t.variance),
        variance_pct: pct1(t.variance_pct),
        basis: String::new(),
        status: finance_status_view(
            finance::status(t.variance_pct, st.on_track_pct, st.not_on_track_pct),
            settings,
        ),
    }
}

/// `+£1,234` for an overspend, `−£1,234` for an underspend.
fn signed_gbp(x: Decimal) -> String {
    if x > Decimal::ZERO {
        format!("+{}", format_gbp(x))
    } else {
        format_gbp(x).replacen('-', "−", 1)
    }
}

fn gbp(x: Decimal) -> String {
    format_gbp(x).replacen('-', "−", 1)
}

/// Plan against actual per scheme, as a chart and its table.
fn finance_chart(st: &Statement, schemes: &[finance::SchemeFinance], id: &str) -> Value {
    use rust_decimal::prelude::ToPrimitive;
    // Drawing needs screen coordinates; the figures themselves stay Decimal in the table.
    let rows: Vec<(String, f64, f64, f64)> = schemes
        .iter()
        .map(|s| {
            let t = s.total();
            (
                s.reference.clone(),
                t.plan.to_f64().unwrap_or(0.0),
                t.actual_to_date.to_f64().unwrap_or(0.0),
                t.forecast_outturn.to_f64().unwrap_or(0.0),
            )
        })
        .collect();
    Value::from_safe_string(chart::finance(
        id,
        &format!(
            "Plan, forecast outturn and actual to date by scheme, {} to {}",
            st.financial_year,
            month_words(st.as_at)
        ),
        &rows,
    ))
}

/// Every file of the pack, by path relative to the pack's folder.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// Builds the pack for `month` from what `compute` prepared.
pub(crate) fn build(prep: &Run, month: Month, templates: Option<&Path>) -> Result<Files, String> {
    let programme = &prep.programme;
    let settings = &programme.settings;
    let disclose = Disclose(&settings.disclosure);
    let judged: Vec<JudgedRow> = prep
        .judged()
        .into_iter()
        .filter(|j| j.row.period_end <= month.end())
        .collect();
    let actuals = prep
        .data
        .finance
        .as_ref()
        .map(|f| f.rows.as_slice())
        .unwrap_or(&[]);
    let st = finance::statement(programme, actuals, month);
    let data_as_at = judged
        .iter()
        .map(|j| j.row.period_end)
        .max()
        .unwrap_or(month.end())
        .max(
            actuals
                .iter()
                .filter(|a| a.month <= month)
                .map(|a| a.month.end())
                .max()
                .unwrap_or(NaiveDate::MIN),
        );
    let common = |up: &'static str| Common {
        title: settings.title.clone(),
        area: settings.area.name.clone(),
        area_code: settings.area.code.clone(),
        data_as_at: long_date(data_as_at),
        period: month_words(month),
        financial_year: st.financial_year.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        marker: settings.disclosure.marker.clone(),
        max_count: settings.disclosure.max_count,
        up,
    };
    let env = environment(templates)?;
    let mut files = Files::new();

    // Scheme pages and the index rows.
    let mut index_rows = Vec::new();
    let mut exceptions = Vec::new();
    for scheme in &programme.schemes {
        let cards: Vec<Card> = scheme
            .kpis
            .iter()
            .enumerate()
            .map(|(i, kpi)| {
                let series = kpi_series(&judged, scheme, kpi);
                card(prep, scheme, i, kpi, &series, &disclose)
            })
            .collect();
        let href = format!("schemes/{}.html", scheme.reference);
        for c in cards.iter().filter(|c| c.exception) {
            exceptions.push(minijinja::context! {
                scheme => scheme.reference.clone(),
                scheme_name => scheme.name.clone(),
                href => format!("{href}#{}", c.id),
                label => c.label.clone(),
                status => c.status.clone(),
                variation => c.variation.clone(),
                explanation => c.explanation.clone(),
            });
        }
        let fin = st.schemes.iter().find(|s| s.reference == scheme.reference);
        let plan_value = scheme
            .finance
            .iter()
            .find(|p| p.financial_year == st.financial_year)
            .or(scheme.finance.last())
            .map(|p| format_gbp(p.value))
            .unwrap_or_else(|| "–".into());
        let headline = cards.iter().find(|c| c.headline).or(cards.first()).cloned();
        index_rows.push(minijinja::context! {
            reference => scheme.reference.clone(),
            name => scheme.name.clone(),
            href => href.clone(),
            lead => partner_name(settings, &scheme.lead_commissioner),
            value => plan_value,
            headline => headline,
            finance => fin.map(|f| money_row(f.reference.clone(), href.clone(), f.total(), settings)),
        });
        let page = scheme_page(&env, scheme, fin, cards, &st, settings, common("../"))?;
        files.insert(href, page.into_bytes());
    }

    // Index.
    let partners: Vec<MoneyRow> = st
        .by_partner
        .iter()
        .map(|(id, t)| totals_row(partner_name(settings, id), t, &st, settings))
        .collect();
    let by_type: Vec<MoneyRow> = st
        .by_type
        .iter()
        .map(|(ty, t)| totals_row(ty.clone(), t, &st, settings))
        .collect();
    let expenditure: Vec<MoneyRow> = st
        .schemes
        .iter()
        .map(|s| {
            money_row(
                format!("{} {}", s.reference, s.name),
                format!("schemes/{}.html", s.reference),
                s.total(),
                settings,
            )
        })
        .collect();
    let off_plan: Vec<MoneyRow> = st
        .schemes
        .iter()
        .zip(&expenditure)
        .filter(|(s, _)| {
            matches!(
                s.total().status,
                finance::FinanceStatus::AtRisk | finance::FinanceStatus::NotOnTrack
            )
        })
        .map(|(_, row)| row.clone())
        .collect();
    let index = env
        .get_template("index.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common(""),
                schemes => index_rows,
                exceptions => exceptions,
                partners => partners,
                by_type => by_type,
                total => totals_row("Pooled budget".into(), &st.total, &st, settings),
                off_plan => off_plan,
                expenditure => expenditure,
                finance_chart => finance_chart(&st, &st.schemes, "finance"),
                thresholds => format!("on plan within ±{}% of plan, off plan beyond ±{}%, at risk between", st.on_track_pct.normalize(), st.not_on_track_pct.normalize()),
            })
        })
        .map_err(template_error)?;
    files.insert("index.html".into(), index.into_bytes());

    files.insert(
        "definitions.html".into(),
        definitions(&env, programme, common(""))?.into_bytes(),
    );
    files.insert(
        "data-quality.html".into(),
        data_quality(&env, prep, common(""))?.into_bytes(),
    );

    // The tidy tables: disclosure applies, as everywhere the board sees.
    let mut table = crate::table::Table::new(crate::judge::JUDGED_COLUMNS);
    for j in &judged {
        let mut cells = j.row.named_cells();
        if disclose.row(&j.row) {
            // A small numerator or denominator is shown as the marker; the value and its
            // interval, derived from it, are suppressed.
            let marker = &settings.disclosure.marker;
            if disclose.small(j.row.numerator) {
                cells.numerator = marker.clone();
            }
            if disclose.small(j.row.denominator) {
                cells.denominator = marker.clone();
            }
            for derived in [&mut cells.value, &mut cells.lower95, &mut cells.upper95] {
                if !derived.is_empty() {
                    *derived = marker.clone();
                }
            }
        }
        let cells = j.cells_from(cells, &settings.wording);
        table.push(cells);
    }
    files.insert("metrics.csv".into(), table.to_csv().into_bytes());
    files.insert("metrics.json".into(), table.to_json()?);
    files.insert("finance.csv".into(), st.to_csv().into_bytes());
    files.insert(
        "bcf-return.xlsx".into(),
        xlsx::workbook(programme, &st, &judged, &disclose)?,
    );
    files.insert("data_quality.csv".into(), prep.ledger.to_csv().into_bytes());
    Ok(files)
}

fn partner_name(settings: &Settings, id: &str) -> String {
    settings
        .partners
        .iter()
        .find(|p| p.id == id)
        .map_or(id.to_string(), |p| p.name.clone())
}

fn template_error(e: minijinja::Error) -> String {
    let mut msg = format!("template error: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    msg
}

/// The template environment: the user's folder first, the built-in templates otherwise;
/// `.html` templates are autoescaped.
fn environment(dir: Option<&Path>) -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    let mut sources: BTreeMap<String, String> = TEMPLATES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: cannot read the templates folder: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(slot) = sources.get_mut(&name) {
                *slot = std::fs::read_to_string(entry.path())
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            }
        }
    }
    for (name, text) in sources {
        let shown = match dir {
            Some(d) if d.join(&name).exists() => d.join(&name).display().to_string(),
            _ => format!("templates/{name} (built in)"),
        };
        env.add_template_owned(name, text)
            .map_err(|e| format!("{shown}: {}", template_error(e)))?;
    }
    Ok(env)
}

#[allow(clippy::too_many_arguments)]
fn scheme_page(
    env: &Environment<'_>,
    scheme: &Scheme,
    fin: Option<&finance::SchemeFinance>,
    cards: Vec<Card>,
    st: &Statement,
    settings: &Settings,
    common: Common,
) -> Result<String, String> {
    let plans: Vec<minijinja::Value> = scheme
        .finance
        .iter()
        .map(|p| {
            minijinja::context! {
                year => p.financial_year.to_string(),
                value => format_gbp(p.value),
                full_year_effect => p.full_year_effect.map(format_gbp),
                forecast => p.forecast_outturn.map(format_gbp),
                contributions => p.contributions.iter().map(|c| {
                    let name = partner_name(settings, &c.partner);
                    let name = match &c.funding_stream {
                        Some(stream) => format!("{name} ({stream})"),
                        None => name,
                    };
                    (name, format_gbp(c.amount))
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let lines: Vec<MoneyRow> = fin
        .map(|f| {
            f.lines
                .iter()
                .map(|l| {
                    let label = if l.partner == "ALL" {
                        "All partners".to_string()
                    } else {
                        partner_name(settings, &l.partner)
                    };
                    money_row(label, String::new(), l, settings)
                })
                .collect()
        })
        .unwrap_or_default();
    let monthly: Vec<(String, String)> = fin
        .map(|f| {
            f.monthly
                .iter()
                .map(|(m, a)| (month_words(*m), gbp(*a)))
                .collect()
        })
        .unwrap_or_default();
    let joint = fin.and_then(|f| f.joint.as_ref()).map(|j| {
        minijinja::context! {
            description => j.description.clone(),
            people => j.people,
            people_as_at => j.people_as_at.map(long_date),
            shares => j.shares.iter().map(|s| minijinja::context! {
                partner => partner_name(settings, &s.partner),
                percent => format!("{}%", s.percent.normalize()),
                share => gbp(s.share_of_actual),
                paid => gbp(s.paid),
                balance => signed_gbp(s.balance),
                forecast => gbp(s.share_of_forecast),
            }).collect::<Vec<_>>(),
        }
    });
    let savings = fin.and_then(|f| f.savings.as_ref()).map(|s| {
        let pct_of = |a: Decimal, t: Option<Decimal>| {
            t.filter(|t| !t.is_zero())
                .map(|t| pct1(Some(a * Decimal::ONE_HUNDRED / t)))
                .unwrap_or_else(|| "–".into())
        };
        minijinja::context! {
            target => s.target.map(gbp),
            achieved => gbp(s.achieved_to_date),
            achieved_pct => pct_of(s.achieved_to_date, s.target),
            forecast => gbp(s.forecast_in_year),
            forecast_pct => pct_of(s.forecast_in_year, s.target),
            fye_target => s.full_year_effect_target.map(gbp),
            fye_forecast => gbp(s.full_year_effect_forecast),
            fye_pct => pct_of(s.full_year_effect_forecast, s.full_year_effect_target),
            months => s.months_elapsed,
        }
    });
    let commencement = match scheme.commencement {
        Commencement::Ongoing => "Ongoing".to_string(),
        Commencement::Date(d) => long_date(d),
    };
    let chart = fin.map(|f| {
        finance_chart(
            st,
            std::slice::from_ref(f),
            &format!("{}-finance", scheme.reference),
        )
    });
    env.get_template("scheme.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common,
                s => minijinja::context! {
                    reference => scheme.reference.clone(),
                    name => scheme.name.clone(),
                    lead => partner_name(settings, &scheme.lead_commissioner),
                    fund_manager => scheme.fund_manager.clone(),
                    commencement => commencement,
                    delivery => match scheme.delivery { crate::config::scheme::Delivery::Contract => "Contract", _ => "In-house" },
                    provider => scheme.provider.clone(),
                    contract_term => scheme.contract_term.clone(),
                    scheme_type => scheme.scheme_type.clone(),
                    governance => scheme.governance.clone(),
                    outline => scheme.outline.clone(),
                },
                plans => plans,
                lines => lines,
                monthly => monthly,
                months_elapsed => fin.map(|f| f.months_elapsed),
                months_in_year => fin.map(|f| f.months_in_year),
                joint => joint,
                savings => savings,
                finance_chart => chart,
                cards => cards,
            })
        })
        .map_err(template_error)
}

fn definitions(
    env: &Environment<'_>,
    programme: &crate::config::Programme,
    common: Common,
) -> Result<String, String> {
    let mut used: Vec<String> = programme
        .schemes
        .iter()
        .flat_map(|s| s.kpis.iter().map(|k| k.metric.clone()))
        .collect();
    used.sort();
    used.dedup();
    let mut defs = Vec::new();
    for id in &used {
        let (base, _) = catalogue::split_breakdown(id);
        if let Some(m) = catalogue::lookup(base) {
            defs.push(minijinja::context! {
                id => id.clone(),
                title => metric_title(programme, id).0,
                codes => m.codes.join(", "),
                unit => m.unit.to_string(),
                polarity => polarity_words(m.polarity),
                polarity_source => if m.polarity_official { "published" } else { "inferred" },
                sources => m.sources.join(", "),
                rule => m.rule,
                section => m.section,
                local => false,
            });
        } else if let Some(l) = programme.local_metrics().find(|l| &l.id == id) {
            defs.push(minijinja::context! {
                id => id.clone(),
                title => l.title.clone(),
                codes => "local",
                unit => l.unit.to_string(),
                polarity => polarity_words(l.polarity),
                polarity_source => "scheme file",
                sources => l.source.clone(),
                rule => l.rule.clone().unwrap_or_else(|| format!(
                    "Count of {} rows where {} (dated by {}){}.",
                    l.source,
                    l.numerator,
                    l.date,
                    l.denominator.as_ref().map(|d| format!(", over those where {d}")).unwrap_or_default()
                )),
                section => "local metric",
                local => true,
            });
        }
    }
    env.get_template("definitions.html")
        .and_then(|t| t.render(minijinja::context! { c => common, defs => defs }))
        .map_err(template_error)
}

fn data_quality(env: &Environment<'_>, prep: &Run, common: Common) -> Result<String, String> {
    let ledger = &prep.ledger;
    let files: Vec<minijinja::Value> = ledger
        .files
        .iter()
        .map(|f| {
            minijinja::context! {
                extract => f.extract.clone(),
                file => f.file.clone(),
                read => f.read,
                accepted => f.accepted,
                rejected => f.rejected,
                warned => f.warned,
                ignored => f.ignored,
                refused => f.refused.clone(),
            }
        })
        .collect();
    // By file, severity and rule (in that order): a count and the first five locations.
    let mut groups = ledger.groups();
    groups.sort_by(|a, b| {
        (a.file, a.severity.as_str(), a.rule).cmp(&(b.file, b.severity.as_str(), b.rule))
    });
    let reasons: Vec<minijinja::Value> = groups
        .into_iter()
        .map(|g| {
            let locs: Vec<String> = g.issues.iter().take(5).map(|i| i.place()).collect();
            minijinja::context! {
                file => g.file,
                severity => g.severity.as_str(),
                rule => g.rule,
                message => g.issues[0].message.clone(),
                count => g.issues.len(),
                locs,
            }
        })
        .collect();
    let missing: Vec<(String, String)> = prep
        .data
        .missing
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.get_template("data-quality.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common, files => files, reasons => reasons, missing => missing,
            })
        })
        .map_err(template_error)
}
