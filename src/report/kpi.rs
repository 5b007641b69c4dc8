//! A KPI's card: its series, latest value against target, SPC chart and explanation, and
//! its benchmark against England and the peers.

use super::*;

#[derive(Serialize, Clone)]
pub(super) struct PointRow {
    pub(super) period: String,
    pub(super) value: String,
    pub(super) lower: String,
    pub(super) upper: String,
    pub(super) numerator: String,
    pub(super) denominator: String,
    pub(super) target: String,
    pub(super) signal: String,
}

#[derive(Serialize, Clone)]
pub(super) struct Bench {
    pub(super) chart: Value,
    /// The period compared: a financial year for published figures, the KPI's own latest
    /// period for peers computed by bcfmon.
    pub(super) year: String,
    pub(super) rows: Vec<(String, String)>,
    /// Where the peers' figures come from, as the page and the PDF say it.
    pub(super) source: String,
}

#[derive(Serialize, Clone)]
pub(super) struct Card {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) metric: String,
    pub(super) metric_title: String,
    /// The ASCOF method the figure follows (empty for a metric that follows none).
    pub(super) method: &'static str,
    pub(super) headline: bool,
    pub(super) polarity: String,
    pub(super) window: String,
    pub(super) period: String,
    pub(super) value: String,
    pub(super) ci: String,
    pub(super) numerator: String,
    pub(super) denominator: String,
    pub(super) suppressed: bool,
    pub(super) baseline: String,
    pub(super) target: String,
    pub(super) trajectory: Vec<(String, String)>,
    pub(super) status: Status,
    pub(super) variation_icon: Value,
    pub(super) variation: String,
    pub(super) assurance_icon: Value,
    pub(super) assurance: String,
    pub(super) benchmark: String,
    pub(super) explanation: String,
    pub(super) chart_kind: &'static str,
    pub(super) chart: Value,
    pub(super) points: Vec<PointRow>,
    pub(super) bench: Option<Bench>,
    /// Why the KPI is an exception (empty when it is not one).
    pub(super) reasons: Vec<&'static str>,
    pub(super) exception: bool,
    /// The latest figure is older than the pack month less the KPI's allowed lag.
    pub(super) stale: bool,
    pub(super) stale_words: String,
    /// The fund manager's words for the pack month, or the latest earlier ones.
    pub(super) commentary: Option<CommentaryView>,
    /// The annotations drawn on the chart, numbered as there.
    pub(super) annotations: Vec<AnnotationView>,
    /// Each rebase of the SPC limits, with its reason.
    pub(super) rebases: Vec<String>,
    /// Every special-cause rule the latest point meets, in plain words.
    pub(super) rules: String,
    /// `special_cause_rule` of the latest point (`shift+trend`).
    pub(super) rule_names: String,
    /// A small trend line for the summary table.
    pub(super) sparkline: Value,
    /// The target at the latest period, for the summary table.
    pub(super) target_now: String,
    /// The scheme's reference, for the summary table.
    pub(super) scheme: String,
    /// The latest period's end (`yyyy-mm-dd`) and target, for summary.csv.
    pub(super) period_end: String,
    pub(super) target_value: String,
    /// `special cause concern`, `special cause improvement`, `special cause variation` or
    /// empty: the latest point's type.
    pub(super) special_cause: String,
    /// The window as the board reads it (`rolling 12 months`).
    pub(super) window_words: &'static str,
    /// The chart's text alternative (its SVG title and description), for the PDF.
    pub(super) chart_alt: String,
    /// How to read the chart.
    pub(super) chart_caption: String,
}

/// How to read a KPI's chart: the same words under the page's chart and the PDF's.
pub(super) fn chart_caption(kind: &str, annotated: bool) -> String {
    let mut text = if kind == "spc" {
        "Statistical process control chart: the points joined by the grey line; the solid line is the average, the short grey dashes the process limits (the range expected from normal variation), the long red dashes the target. Large round points show special cause improvement (an unusual change for the better), triangles special cause concern (for the worse), diamonds special cause neither better nor worse.".to_string()
    } else {
        "Too few points for statistical process control: the values against the target or trajectory (long red dashes).".to_string()
    };
    if annotated {
        text.push_str(" Numbered dotted lines mark the events listed below.");
    }
    text
}

#[derive(Serialize, Clone)]
pub(super) struct CommentaryView {
    /// `March 2016`.
    pub(super) period: String,
    /// Whether it is for the pack's own month.
    pub(super) current: bool,
    pub(super) text: String,
    pub(super) action: String,
    pub(super) owner: String,
    pub(super) due: String,
    pub(super) reviewed_at: String,
    pub(super) escalated_to: String,
}

#[derive(Serialize, Clone)]
pub(super) struct AnnotationView {
    pub(super) number: usize,
    pub(super) date: String,
    pub(super) text: String,
}

/// The commentary for `month`, or else the latest earlier one, as the card shows it.
pub(super) fn commentary_view(kpi: &Kpi, month: Month) -> Option<CommentaryView> {
    let c = kpi.commentary.iter().rev().find(|c| c.period <= month)?;
    Some(CommentaryView {
        period: month_words(c.period),
        current: c.period == month,
        text: c.text.clone(),
        action: c.action.clone().unwrap_or_default(),
        owner: c.owner.clone().unwrap_or_default(),
        due: c.due.map(long_date).unwrap_or_default(),
        reviewed_at: c.reviewed_at.clone().unwrap_or_default(),
        escalated_to: c.escalated_to.clone().unwrap_or_default(),
    })
}

/// Whether a KPI's latest figure (at `latest`, a period end) is out of date for a pack of
/// `month`: older than the month less the KPI's allowed lag. No figure at all is out of date.
pub(crate) fn out_of_date(kpi: &Kpi, latest: Option<NaiveDate>, month: Month) -> bool {
    let mut oldest = month;
    for _ in 0..kpi.max_lag_months {
        oldest = oldest.previous();
    }
    latest.is_none_or(|d| crate::period::Month::of(d) < oldest)
}

pub(super) fn kpi_label(kpi: &Kpi) -> String {
    kpi.label.clone().unwrap_or_else(|| match kpi.measure {
        Measure::BuiltIn {
            def,
            breakdown: None,
        } => def.title.to_string(),
        _ => kpi.metric.clone(),
    })
}

/// The method a metric's figures follow, as the pack names it: empty for a metric that
/// follows no method (every metric but the ASCOF measures, metrics.md §16).
pub(super) fn method_label(programme: &crate::programme::Programme, metric: &str) -> &'static str {
    let (base, _) = crate::catalogue::split_breakdown(metric);
    match crate::metrics::catalogue::definition(base) {
        Some(d) if d.follows_method => programme.settings.method.label(),
        _ => "",
    }
}

pub(super) fn metric_title(
    programme: &crate::programme::Programme,
    id: &str,
) -> (String, Option<Polarity>) {
    let (base, breakdown) = catalogue::split_breakdown(id);
    if let Some(m) = crate::metrics::catalogue::lookup(base) {
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
pub(super) fn card(
    prep: &Run,
    scheme: &Scheme,
    index: usize,
    kpi: &Kpi,
    series: &[&JudgedRow],
    disclose: &Disclose<'_>,
    month: Month,
) -> Card {
    let settings = &prep.programme.settings;
    let id = format!("{}-k{}", scheme.reference, index + 1);
    // The chart and its table start at the first period with a figure (the years before the
    // data's coverage are not part of the KPI's history).
    let start = series
        .iter()
        .position(|r| r.row.value.is_some())
        .unwrap_or(0);
    let series = &series[start..];
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
    let present: Vec<(NaiveDate, f64)> = series
        .iter()
        .zip(&values)
        .filter_map(|(r, v)| v.map(|v| (r.row.period_end, v)))
        .collect();
    let spc_ok = present.len() >= MIN_SPC_POINTS;
    let points: Vec<Option<SpcPoint>> = if spc_ok {
        let mut all = crate::judge::kpi_chart(kpi, &present)
            .unwrap_or_default()
            .into_iter();
        values.iter().map(|v| v.and_then(|_| all.next())).collect()
    } else {
        vec![None; values.len()]
    };
    // Annotations within the chart's span, numbered in date order, each at the period that
    // holds its date.
    let mut marks = Vec::new();
    let mut annotations = Vec::new();
    for a in scheme.annotations_of(kpi) {
        let first = series.first().map(|r| r.row.period_start);
        let Some(x) = series.iter().position(|r| r.row.period_end >= a.date) else {
            continue;
        };
        if first.is_some_and(|f| a.date < f) {
            continue;
        }
        let number = marks.len() + 1;
        marks.push(chart::Mark {
            x,
            number,
            words: format!("{}, {}", long_date(a.date), a.text),
        });
        annotations.push(AnnotationView {
            number,
            date: long_date(a.date),
            text: a.text.clone(),
        });
    }
    let s = chart::Series {
        labels: &labels,
        values: &shown,
        targets: &targets,
        unit,
        marks: &marks,
    };
    let chart_title = format!("{} — {}", scheme.reference, kpi_label(kpi));
    let (chart_kind, drawn) = if spc_ok {
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
    let latest_with_figure = last
        .filter(|r| r.row.value.is_some())
        .map(|r| r.row.period_end);
    let stale = out_of_date(kpi, latest_with_figure, month);
    let stale_words = if !stale {
        String::new()
    } else {
        let allowed = match kpi.max_lag_months {
            0 => "a figure for the pack's month is expected".to_string(),
            1 => "a lag of 1 month is allowed".to_string(),
            n => format!("a lag of {n} months is allowed"),
        };
        match latest_with_figure {
            Some(d) => format!(
                "Out of date: the latest figure is for {}, and {allowed}.",
                month_words(Month::of(d))
            ),
            None => format!("Out of date: there is no figure, and {allowed}."),
        }
    };
    let commentary = commentary_view(kpi, month);
    let mut reasons = Vec::new();
    if last.is_some_and(|r| matches!(r.status, Some(TargetStatus::Red))) {
        reasons.push("off target");
    } else if last.is_some_and(|r| matches!(r.status, Some(TargetStatus::Amber))) {
        reasons.push("at risk of missing the target");
    }
    if spc_ok
        && last.is_some_and(|r| {
            matches!(
                r.variation,
                Some(
                    crate::stats::spc::Variation::ConcernHigh
                        | crate::stats::spc::Variation::ConcernLow
                )
            )
        })
    {
        reasons.push("special cause concern");
    }
    if stale {
        reasons.push("out of date");
    }
    if !reasons.is_empty() && !commentary.as_ref().is_some_and(|c| c.current) {
        reasons.push("no commentary for this month");
    }
    let exception = !reasons.is_empty();
    let latest_point = points.iter().rev().flatten().next().filter(|_| spc_ok);
    let rules = latest_point
        .map(|p| crate::judge::signals_words(p.signals, &kpi.spc))
        .unwrap_or_default();
    let rule_names = latest_point.map(|p| p.signals.names()).unwrap_or_default();
    let rebases = kpi
        .spc
        .rebase
        .iter()
        .map(|r| {
            format!(
                "Limits recalculated from {}: {}",
                month_words(r.period),
                r.reason
            )
        })
        .collect();
    let sparkline = chart::sparkline(&shown, &labels, unit);
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
    let annotated = !annotations.is_empty();
    Card {
        id,
        label: kpi_label(kpi),
        metric: kpi.metric.clone(),
        metric_title: title,
        method: method_label(&prep.programme, &kpi.metric),
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
        window_words: window_words(kpi.window),
        chart_alt: drawn.alt,
        chart_caption: chart_caption(chart_kind, annotated),
        chart: Value::from_safe_string(drawn.svg),
        points: points_rows,
        bench,
        reasons,
        exception,
        stale,
        stale_words,
        commentary,
        annotations,
        rebases,
        rules,
        rule_names,
        sparkline: Value::from_safe_string(sparkline),
        target_now: last
            .and_then(|r| r.target)
            .map_or("None set".into(), |t| format_value(t, unit)),
        scheme: scheme.reference.clone(),
        period_end: last.map_or(String::new(), |r| {
            r.row.period_end.format("%Y-%m-%d").to_string()
        }),
        target_value: crate::table::num(last.and_then(|r| r.target)),
        special_cause: match latest_point.map(|p| p.point_type) {
            Some(PointType::Concern) => "special cause concern",
            Some(PointType::Improvement) => "special cause improvement",
            Some(PointType::NeutralHigh | PointType::NeutralLow) => "special cause variation",
            _ => "",
        }
        .to_string(),
    }
}

/// The area against its peers and England on the published benchmark, for the latest year
/// that has the area's own published value.
pub(super) fn benchmark(
    prep: &Run,
    kpi: &Kpi,
    id: &str,
    unit: Unit,
    series: &[&JudgedRow],
    disclose: &Disclose<'_>,
) -> Option<Bench> {
    let f = prep.data.frames.get("benchmarks")?;
    if let Some(b) = computed_peers(f, prep, kpi, id, unit, series, disclose) {
        return Some(b);
    }
    let settings = &prep.programme.settings;
    let (base, breakdown) = (kpi.metric_id(), kpi.breakdown());
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
            y.get(i) == Some(year) && a.get(i).is_some_and(|c| settings.peer(c).is_some())
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
        } else if let Some(peer) = settings.peer(code).filter(|_| !seen.contains(&code)) {
            seen.push(code);
            // The name programme.toml gives the peer, else the extract's.
            let name = peer.name.as_deref().or(n.get(i)).unwrap_or(code);
            bars.push(chart::Bar {
                label: name.to_string(),
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
    best_first(&mut bars, kpi.polarity);
    let title = format!(
        "{} {} against comparator areas and England",
        kpi_label(kpi),
        fy
    );
    let svg = chart::benchmark(&format!("{id}-b"), &title, &bars, england, unit);
    let mut table = bar_rows(&bars, unit);
    if let Some(e) = england {
        table.push(("England".into(), format_value(e, unit)));
    }
    Some(Bench {
        chart: Value::from_safe_string(svg),
        year: fy.to_string(),
        rows: table,
        source:
            "published figures (the benchmarks extract), and this pack's own figure where marked"
                .into(),
    })
}

/// Benchmark bars in the order the board reads them: best first by the KPI's polarity,
/// then by name.
fn best_first(bars: &mut [chart::Bar], polarity: Polarity) {
    bars.sort_by(|x, y| {
        let o = x.value.total_cmp(&y.value);
        if polarity == Polarity::LowIsGood {
            o
        } else {
            o.reverse()
        }
        .then(x.label.cmp(&y.label))
    });
}

/// A benchmark's table: each bar's area and value.
fn bar_rows(bars: &[chart::Bar], unit: Unit) -> Vec<(String, String)> {
    bars.iter()
        .map(|b| (b.label.clone(), format_value(b.value, unit)))
        .collect()
}

/// The area against its peers as bcfmon computed them (a benchmarks extract that is a bcfmon
/// results table for many areas): the same metric, breakdown and window at the latest period
/// that has both the pack's own figure and at least one peer's, month by month as the KPI is.
fn computed_peers(
    f: &polars::prelude::DataFrame,
    prep: &Run,
    kpi: &Kpi,
    id: &str,
    unit: Unit,
    series: &[&JudgedRow],
    disclose: &Disclose<'_>,
) -> Option<Bench> {
    let settings = &prep.programme.settings;
    let (base, breakdown) = (kpi.metric_id(), kpi.breakdown().unwrap_or("Total"));
    let a = f.column("Area_Code").ok()?.str().ok()?;
    let w = f.column("window").ok()?.str().ok()?;
    let e = f.column("period_end").ok()?.date().ok()?.physical();
    let m = f.column("metric").ok()?.str().ok()?;
    let b = f.column("Breakdown").ok()?.str().ok()?;
    let v = f.column("value").ok()?.f64().ok()?;
    let src = f.column("Source").ok()?.str().ok()?;
    let rows: Vec<usize> = (0..f.height())
        .filter(|&i| m.get(i) == Some(base) && b.get(i) == Some(breakdown))
        .filter(|&i| w.get(i) == Some(kpi.window.as_str()) && v.get(i).is_some())
        .filter(|&i| a.get(i).is_some_and(|c| settings.peer(c).is_some()))
        .collect();
    // The pack's own figures, latest first.
    let own = series
        .iter()
        .rev()
        .filter(|r| !disclose.row(&r.row))
        .filter_map(|r| {
            let value = r.row.value.as_deref()?.parse::<f64>().ok()?;
            Some((r, value))
        });
    let (row, value, peers) = own.into_iter().find_map(|(r, value)| {
        let day = crate::extract::values::days(r.row.period_end);
        let peers: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| e.get(i) == Some(day))
            .collect();
        (!peers.is_empty()).then_some((r, value, peers))
    })?;
    let mut bars = vec![chart::Bar {
        label: format!("{} (this pack)", settings.area.name),
        value,
        lower: row.row.lower95,
        upper: row.row.upper95,
        highlight: true,
    }];
    let mut seen: Vec<&str> = Vec::new();
    for &i in &peers {
        let code = a.get(i).unwrap_or("");
        let Some(peer) = settings.peer(code).filter(|_| !seen.contains(&code)) else {
            continue;
        };
        seen.push(code);
        bars.push(chart::Bar {
            label: peer.name.clone().unwrap_or_else(|| code.to_string()),
            value: v.get(i).expect("filtered"),
            lower: None,
            upper: None,
            highlight: false,
        });
    }
    best_first(&mut bars, kpi.polarity);
    let period = period_words_row(&row.row);
    let title = format!(
        "{} {} against comparator areas as bcfmon computed them",
        kpi_label(kpi),
        period
    );
    let svg = chart::benchmark(&format!("{id}-b"), &title, &bars, None, unit);
    let table = bar_rows(&bars, unit);
    let file = src.get(peers[0]).unwrap_or("the benchmarks extract");
    Some(Bench {
        chart: Value::from_safe_string(svg),
        year: period,
        rows: table,
        source: format!(
            "the peers as bcfmon computed them, from {file}, by the same rules as this pack"
        ),
    })
}
