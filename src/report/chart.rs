//! The board pack's charts: plotters drawings to SVG strings that are inlined in the pages,
//! each with `<title>` and `<desc>`, no external font or image, and legible in greyscale
//! (special-cause points differ by shape as well as colour).

use crate::catalogue::Unit;
use crate::stats::spc::{Assurance, PointType, SpcPoint, Variation};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colours with at least 3:1 contrast on white (WCAG 2.2 non-text contrast); the Making Data
/// Count palette's light orange and blue are darkened for that reason.
const GREY: RGBColor = RGBColor(89, 89, 89);
// #767676: 4.5:1 on white, so the forecast bars and the data line pass 3:1 (WCAG 1.4.11).
const LIGHT: RGBColor = RGBColor(118, 118, 118);
const BLUE: RGBColor = RGBColor(29, 111, 165);
const ORANGE: RGBColor = RGBColor(180, 83, 9);
const PURPLE: RGBColor = RGBColor(91, 42, 134);
const RED: RGBColor = RGBColor(170, 30, 40);
const INK: RGBColor = RGBColor(20, 20, 20);

const FONT: &str = "sans-serif";

/// A plotted series: x labels, values (`None` = no value or suppressed) and a target per x,
/// and the numbered annotations to mark.
pub(crate) struct Series<'a> {
    pub labels: &'a [String],
    pub values: &'a [Option<f64>],
    pub targets: &'a [Option<f64>],
    pub unit: Unit,
    pub marks: &'a [Mark],
}

/// A numbered vertical marker at the period `x` holding an annotation's date.
pub(crate) struct Mark {
    pub x: usize,
    pub number: usize,
    /// The annotation, as the text alternative reads it ("1 October 2015: …").
    pub words: String,
}

/// Draws each annotation as a dotted vertical line with its number at the top.
fn draw_marks(chart: &mut Chart<'_, '_>, marks: &[Mark], range: (f64, f64)) {
    for m in marks {
        let x = m.x as f64;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, range.0), (x, range.1)],
                1,
                3,
                PURPLE.stroke_width(1),
            ))
            .expect("mark");
        let style = (FONT, 12)
            .into_font()
            .color(&PURPLE)
            .pos(Pos::new(HPos::Center, VPos::Top));
        chart
            .draw_series(std::iter::once(Text::new(
                m.number.to_string(),
                (x, range.1),
                style,
            )))
            .expect("mark number");
    }
}

/// The annotations for the text alternative.
fn marks_desc(marks: &[Mark]) -> String {
    if marks.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = marks
        .iter()
        .map(|m| format!("{}: {}", m.number, m.words))
        .collect();
    format!(" Numbered markers: {}.", listed.join("; "))
}

/// A small trend line for the summary table: the values as a polyline, the latest as a dot,
/// with a text alternative giving the first and latest values.
pub(crate) fn sparkline(values: &[Option<f64>], labels: &[String], unit: Unit) -> String {
    let known: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let (Some(first), Some(last)) = (known.first(), known.last()) else {
        return String::new();
    };
    let (w, h, pad) = (120.0, 28.0, 3.0);
    let (lo, hi) = known.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, v)| {
        (lo.min(*v), hi.max(*v))
    });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len().max(2) - 1;
    let at = |i: usize, v: f64| {
        let x = pad + (w - 2.0 * pad) * i as f64 / n as f64;
        let y = if hi > lo {
            h - pad - (h - 2.0 * pad) * (v - lo) / span
        } else {
            h / 2.0
        };
        (x, y)
    };
    let points: Vec<String> = known
        .iter()
        .map(|(i, v)| {
            let (x, y) = at(*i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (lx, ly) = at(last.0, last.1);
    let label = |i: usize| labels.get(i).cloned().unwrap_or_default();
    let alt = format!(
        "Trend over {} periods: {} in {}, {} in {}",
        known.len(),
        crate::judge::format_value(first.1, unit),
        label(first.0),
        crate::judge::format_value(last.1, unit),
        label(last.0)
    );
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    };
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\"><polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/><circle cx=\"{lx:.1}\" cy=\"{ly:.1}\" r=\"2.5\" fill=\"{}\"/></svg>",
        esc(&alt),
        hex(GREY),
        points.join(" "),
        hex(INK)
    )
}

/// Wraps the plotters output for inlining: drops the fixed size and the namespace (an inline
/// SVG needs neither, and the pack carries no URL of any kind) and adds the text alternative.
fn finish(svg: String, id: &str, title: &str, desc: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let open_end = svg.find('>').unwrap_or(0);
    let open = &svg[..open_end];
    let view_box = open
        .split("viewBox=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("0 0 720 300")
        .to_string();
    let body = svg[open_end + 1..].replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    format!(
        "<svg class=\"chart\" viewBox=\"{view_box}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>{body}",
        esc(title),
        esc(desc)
    )
}

/// Axis numbers in the unit, short.
fn tick(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{v:.0}%"),
        Unit::Days => format!("{v:.1}"),
        _ => crate::judge::group_thousands(v, if v != 0.0 && v.abs() < 10.0 { 1 } else { 0 }),
    }
}

fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(0.5);
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (lo, hi + pad)
}

/// Every `step`-th label so that about eight fit.
fn label_every(n: usize) -> usize {
    n.div_ceil(8).max(1)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn caption_free_area(svg: &mut String, w: u32, h: u32) -> Area<'_> {
    let root = SVGBackend::with_string(svg, (w, h)).into_drawing_area();
    root.fill(&WHITE).expect("svg fill");
    root
}

/// The label of an x position, for every `every`-th period and the last.
fn label_at(labels: &[String], x: f64, every: usize) -> String {
    let i = x.round() as i64;
    if (x - i as f64).abs() > 1e-6 || i < 0 || i as usize >= labels.len() {
        return String::new();
    }
    let i = i as usize;
    if i.is_multiple_of(every) || i + 1 == labels.len() {
        labels[i].clone()
    } else {
        String::new()
    }
}

/// Axes for a series over time: one x step per period, values in the unit on the y axis.
fn time_axes<'a, 'b>(
    root: &'a Area<'b>,
    s: &Series<'_>,
    range: (f64, f64),
    every: usize,
) -> Chart<'a, 'b> {
    let n = s.labels.len();
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5).max(0.5), range.0..range.1)
        .expect("chart");
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_labels(n.min(60))
        .x_label_formatter(&|x| label_at(s.labels, *x, every))
        .y_labels(6)
        .y_label_formatter(&|v| tick(*v, s.unit))
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_style(GREY)
        .draw()
        .expect("mesh");
    chart
}

/// Axes for horizontal bars: one row per label, top to bottom, values on the x axis.
fn bar_axes<'a, 'b>(
    area: &'a Area<'b>,
    labels: &[String],
    hi: f64,
    label_width: u32,
    x_format: &dyn Fn(&f64) -> String,
) -> Chart<'a, 'b> {
    let n = labels.len();
    // Row 0 is drawn at the top: y counts up from the last label.
    let reversed: Vec<String> = labels.iter().rev().cloned().collect();
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(label_width)
        .build_cartesian_2d(0f64..hi.max(1.0), -0.5f64..(n as f64 - 0.5).max(0.5))
        .expect("chart");
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .y_labels(n.max(1))
        .y_label_formatter(&|y| label_at(&reversed, *y, 1))
        .x_labels(6)
        .x_label_formatter(x_format)
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_style(GREY)
        .draw()
        .expect("mesh");
    chart
}

/// The Making Data Count XmR chart: the data line and points, the mean, the process limits,
/// the target (long red dashes), special-cause points by type, and a break at each rebase.
/// `points` is aligned with `s.labels` (`None` where the period has no value); a point
/// whose value is hidden (`s.values[i]` is `None`, e.g. suppressed) still shapes the limits
/// but is not drawn.
/// A drawn chart: the inline SVG, and its text alternative (title and description) for a
/// reader that does not take the SVG itself (the PDF's figure).
pub(crate) struct Drawn {
    pub svg: String,
    pub alt: String,
}

fn drawn(svg: String, id: &str, title: &str, desc: &str) -> Drawn {
    Drawn {
        alt: format!("{title}. {desc}"),
        svg: finish(svg, id, title, desc),
    }
}

pub(crate) fn spc(id: &str, title: &str, s: &Series<'_>, points: &[Option<SpcPoint>]) -> Drawn {
    let n = s.labels.len();
    let plotted: Vec<(usize, f64)> = s
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let known: Vec<(usize, &SpcPoint)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
        .collect();
    let range = y_range(
        plotted
            .iter()
            .map(|p| p.1)
            .chain(known.iter().flat_map(|(_, p)| [p.lpl, p.upl]))
            .chain(s.targets.iter().flatten().copied()),
    );
    let mut svg = String::new();
    {
        let root = caption_free_area(&mut svg, 720, 300);
        let mut chart = time_axes(&root, s, range, label_every(n));
        // Mean and limits per rebase group, drawn over the group's own span.
        let mut start = 0;
        while start < known.len() {
            let g = known[start].1.rebase_group;
            let end = known[start..]
                .iter()
                .position(|p| p.1.rebase_group != g)
                .map_or(known.len(), |k| start + k);
            let (x0, x1) = (known[start].0 as f64, known[end - 1].0 as f64);
            let p = known[start].1;
            chart
                .draw_series(LineSeries::new(
                    vec![(x0, p.mean), (x1, p.mean)],
                    GREY.stroke_width(1),
                ))
                .expect("mean");
            for limit in [p.lpl, p.upl] {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x0, limit), (x1, limit)],
                        6,
                        4,
                        GREY.stroke_width(1),
                    ))
                    .expect("limits");
            }
            if start > 0 {
                let x = x0 - 0.5;
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x, range.0), (x, range.1)],
                        2,
                        3,
                        INK.stroke_width(1),
                    ))
                    .expect("rebase");
            }
            start = end;
        }
        draw_marks(&mut chart, s.marks, range);
        draw_data(&mut chart, s.targets, &plotted, LIGHT, |x| {
            points[x]
                .as_ref()
                .map_or(PointType::CommonCause, |p| p.point_type)
        });
        root.present().expect("svg");
    }
    let desc = spc_desc(s, points) + &marks_desc(s.marks);
    drawn(svg, id, title, &desc)
}

/// Consecutive plotted points (a gap in x breaks the line).
fn runs(plotted: &[(usize, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<usize> = None;
    for (x, y) in plotted {
        if last.is_none_or(|l| l + 1 != *x) {
            out.push(Vec::new());
        }
        out.last_mut().expect("a run").push((*x as f64, *y));
        last = Some(*x);
    }
    out
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The target line, then the data line (broken where a value is missing or suppressed) and
/// its points, each drawn as `kind` says.
fn draw_data(
    chart: &mut Chart<'_, '_>,
    targets: &[Option<f64>],
    plotted: &[(usize, f64)],
    line: RGBColor,
    kind: impl Fn(usize) -> PointType,
) {
    draw_targets(chart, targets);
    for run in runs(plotted) {
        chart
            .draw_series(LineSeries::new(run, line.stroke_width(2)))
            .expect("line");
    }
    for (x, y) in plotted {
        draw_point(chart, *x as f64, *y, kind(*x));
    }
}

fn draw_targets(chart: &mut Chart<'_, '_>, targets: &[Option<f64>]) {
    // The target or trajectory as a step line of long red dashes over the periods it applies to.
    let pts: Vec<(usize, f64)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t)))
        .collect();
    for run in runs(&pts) {
        let mut stepped = Vec::new();
        for (x, y) in run {
            stepped.push((x - 0.5, y));
            stepped.push((x + 0.5, y));
        }
        chart
            .draw_series(DashedLineSeries::new(stepped, 10, 3, RED.stroke_width(2)))
            .expect("target");
    }
}

fn draw_point(chart: &mut Chart<'_, '_>, x: f64, y: f64, kind: PointType) {
    use std::iter::once;
    // Improvement: a large circle; concern: a triangle; neutral special cause: a diamond —
    // the shapes survive greyscale printing.
    let drawn = match kind {
        PointType::CommonCause => chart
            .draw_series(once(Circle::new((x, y), 3, GREY.filled())))
            .map(|_| ()),
        PointType::Improvement => chart
            .draw_series(once(Circle::new((x, y), 5, BLUE.filled())))
            .map(|_| ()),
        PointType::Concern => chart
            .draw_series(once(TriangleMarker::new((x, y), 7, ORANGE.filled())))
            .map(|_| ()),
        PointType::NeutralHigh | PointType::NeutralLow => chart
            .draw_series(once(
                EmptyElement::at((x, y))
                    + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], PURPLE.filled()),
            ))
            .map(|_| ()),
    };
    drawn.expect("point");
}

/// The chart's description for screen readers: what is plotted and what stands out.
fn spc_desc(s: &Series<'_>, points: &[Option<SpcPoint>]) -> String {
    let points: Vec<&SpcPoint> = points.iter().flatten().collect();
    let plotted = s.values.iter().flatten().count();
    let (Some(first), Some(last)) = (s.labels.first(), s.labels.last()) else {
        return "No data.".into();
    };
    let mut text =
        format!("Statistical process control chart of {plotted} values from {first} to {last}.");
    if let Some(p) = points.last() {
        text.push_str(&format!(
            " Average {}, process limits {} to {}.",
            crate::judge::format_value(p.mean, s.unit),
            crate::judge::format_value(p.lpl, s.unit),
            crate::judge::format_value(p.upl, s.unit)
        ));
    }
    let count = |t: PointType| points.iter().filter(|p| p.point_type == t).count();
    let (imp, con) = (count(PointType::Improvement), count(PointType::Concern));
    if imp + con > 0 {
        text.push_str(&format!(
            " {imp} points show special cause improvement and {con} special cause concern."
        ));
    }
    if plotted < s.values.len() {
        text.push_str(&format!(
            " {} periods have no value shown (no data or a small number suppressed).",
            s.values.len() - plotted
        ));
    }
    if s.targets.iter().any(Option::is_some) {
        text.push_str(" The long red dashes are the target.");
    }
    text
}

/// Values against the target or trajectory, for KPIs with too few points for SPC.
pub(crate) fn trajectory(id: &str, title: &str, s: &Series<'_>) -> Drawn {
    let plotted: Vec<(usize, f64)> = s
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let range = y_range(
        plotted
            .iter()
            .map(|p| p.1)
            .chain(s.targets.iter().flatten().copied()),
    );
    let mut svg = String::new();
    {
        let root = caption_free_area(&mut svg, 720, 260);
        // Few points: label every one.
        let mut chart = time_axes(&root, s, range, 1);
        draw_marks(&mut chart, s.marks, range);
        draw_data(&mut chart, s.targets, &plotted, GREY, |_| {
            PointType::CommonCause
        });
        root.present().expect("svg");
    }
    let desc = format!(
        "Line chart of {} values against the target or trajectory (long red dashes); too few points for statistical process control.{}",
        plotted.len(),
        marks_desc(s.marks)
    );
    drawn(svg, id, title, &desc)
}

/// One bar of a benchmark chart.
pub(crate) struct Bar {
    pub label: String,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// The programme's own area: drawn dark and labelled.
    pub highlight: bool,
}

/// The area against its peers (sorted), with England as a dashed line and CIs where known.
pub(crate) fn benchmark(
    id: &str,
    title: &str,
    bars: &[Bar],
    england: Option<f64>,
    unit: Unit,
) -> String {
    let n = bars.len();
    let hi = bars
        .iter()
        .map(|b| b.upper.unwrap_or(b.value).max(b.value))
        .chain(england)
        .fold(0.0f64, f64::max)
        * 1.1;
    let height = 40 + 22 * n as u32;
    let mut svg = String::new();
    {
        let root = caption_free_area(&mut svg, 720, height.max(120));
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let mut chart = bar_axes(&root, &labels, hi, 190, &|v| tick(*v, unit));
        for (k, b) in bars.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            let fill = if b.highlight { INK } else { LIGHT };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y - 0.35), (b.value, y + 0.35)],
                    fill.filled(),
                )))
                .expect("bar");
            if let (Some(l), Some(u)) = (b.lower, b.upper) {
                chart
                    .draw_series(LineSeries::new(vec![(l, y), (u, y)], RED.stroke_width(2)))
                    .expect("ci");
                for x in [l, u] {
                    chart
                        .draw_series(LineSeries::new(
                            vec![(x, y - 0.2), (x, y + 0.2)],
                            RED.stroke_width(2),
                        ))
                        .expect("ci");
                }
            }
        }
        if let Some(e) = england {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(e, -0.5), (e, n as f64 - 0.5)],
                    6,
                    4,
                    INK.stroke_width(2),
                ))
                .expect("england");
        }
        root.present().expect("svg");
    }
    let area = bars
        .iter()
        .position(|b| b.highlight)
        .map(|i| format!(" The area ranks {} of {n}.", i + 1))
        .unwrap_or_default();
    let desc = format!(
        "Bar chart of {n} areas sorted by value{}.{area}",
        england
            .map(|e| format!(
                "; the dashed line is England at {}",
                crate::judge::format_value(e, unit)
            ))
            .unwrap_or_default()
    );
    finish(svg, id, title, &desc)
}

/// Plan, forecast outturn and actual to date per scheme, in pounds: three bars each, told
/// apart by shade and outline as well as by the legend.
pub(crate) fn finance(id: &str, title: &str, rows: &[(String, f64, f64, f64)]) -> String {
    let n = rows.len();
    let hi = rows
        .iter()
        .flat_map(|r| [r.1, r.2, r.3])
        .fold(0.0f64, f64::max)
        * 1.08;
    let height = 70 + 46 * n as u32;
    let mut svg = String::new();
    {
        let root = caption_free_area(&mut svg, 720, height);
        let (legend, body) = root.split_vertically(30);
        let items = [
            ("Plan", WHITE, true),
            ("Forecast outturn", LIGHT, false),
            ("Actual to date", INK, false),
        ];
        for (k, (name, colour, outline)) in items.iter().enumerate() {
            let x = 200 + 170 * k as i32;
            legend
                .draw(&Rectangle::new([(x, 8), (x + 16, 22)], colour.filled()))
                .expect("legend");
            if *outline {
                legend
                    .draw(&Rectangle::new([(x, 8), (x + 16, 22)], INK.stroke_width(1)))
                    .expect("legend");
            }
            legend
                .draw(&Text::new(
                    name.to_string(),
                    (x + 22, 15),
                    (FONT, 12)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .expect("legend");
        }
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let mut chart = bar_axes(&body, &labels, hi, 120, &|v| pounds_short(*v));
        for (k, (_, plan, actual, forecast)) in rows.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            let bar = |lo: f64, hi: f64| [(0.0, y + lo), (0.0, y + hi)];
            let [(_, a0), (_, a1)] = bar(0.12, 0.38);
            let [(_, b0), (_, b1)] = bar(-0.13, 0.13);
            let [(_, c0), (_, c1)] = bar(-0.38, -0.12);
            chart
                .draw_series([
                    Rectangle::new([(0.0, a0), (*plan, a1)], WHITE.filled()),
                    Rectangle::new([(0.0, a0), (*plan, a1)], INK.stroke_width(1)),
                    Rectangle::new([(0.0, b0), (*forecast, b1)], LIGHT.filled()),
                    Rectangle::new([(0.0, c0), (*actual, c1)], INK.filled()),
                ])
                .expect("bars");
        }
        root.present().expect("svg");
    }
    let desc = format!(
        "Bar chart of plan, forecast outturn and actual spend to date for {n} scheme{}; the table below gives the figures.",
        if n == 1 { "" } else { "s" }
    );
    finish(svg, id, title, &desc)
}

/// `£1.2m`, `£450k` for axis ticks.
fn pounds_short(v: f64) -> String {
    if v.abs() >= 1_000_000.0 {
        format!("£{:.1}m", v / 1_000_000.0)
    } else if v.abs() >= 1_000.0 {
        format!("£{:.0}k", v / 1_000.0)
    } else {
        format!("£{v:.0}")
    }
}

/// The Making Data Count variation icon as SVG shapes: a circle in the signal's colour with
/// an arrow up (high) or down (low), or a level line of dots for common cause; the title
/// names it, and the shape tells it apart without colour.
pub(crate) fn variation_icon(v: Option<Variation>) -> String {
    let (colour, shape) = match v {
        None => (LIGHT, ""),
        Some(Variation::CommonCause) => (GREY, "dots"),
        Some(Variation::ImprovementHigh) => (BLUE, "up"),
        Some(Variation::ImprovementLow) => (BLUE, "down"),
        Some(Variation::ConcernHigh) => (ORANGE, "up"),
        Some(Variation::ConcernLow) => (ORANGE, "down"),
        Some(Variation::NeutralHigh) => (PURPLE, "up"),
        Some(Variation::NeutralLow) => (PURPLE, "down"),
    };
    // The same words as the pages and the workbook.
    let name = v.map_or(
        "No SPC judgement (too few points)",
        crate::judge::variation_words,
    );
    let c = hex(colour);
    let inner = match shape {
        "dots" => format!(
            "<circle cx=\"9\" cy=\"16\" r=\"2.5\" fill=\"{c}\"/><circle cx=\"16\" cy=\"16\" r=\"2.5\" fill=\"{c}\"/><circle cx=\"23\" cy=\"16\" r=\"2.5\" fill=\"{c}\"/>"
        ),
        "up" => format!("<path d=\"M16 7 L24 17 L19 17 L19 25 L13 25 L13 17 L8 17 Z\" fill=\"{c}\"/>"),
        "down" => format!("<path d=\"M16 25 L24 15 L19 15 L19 7 L13 7 L13 15 L8 15 Z\" fill=\"{c}\"/>"),
        _ => format!("<path d=\"M10 16 H22\" stroke=\"{c}\" stroke-width=\"2\"/>"),
    };
    icon(name, &c, &inner)
}

/// The assurance icon: a tick (pass), a cross (fail) or a wave (inconsistent) in a circle.
pub(crate) fn assurance_icon(a: Assurance) -> String {
    let (colour, path) = match a {
        Assurance::Pass => (BLUE, "M9 16 L14 21 L23 11"),
        Assurance::Fail => (ORANGE, "M10 10 L22 22 M22 10 L10 22"),
        Assurance::Inconsistent => (GREY, "M8 17 C11 11 13 11 16 16 C19 21 21 21 24 15"),
        Assurance::None => (LIGHT, "M10 16 H22"),
    };
    let name = format!("Assurance: {}", crate::judge::assurance_words(a));
    let c = hex(colour);
    let inner = format!(
        "<path d=\"{path}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"3\" stroke-linecap=\"round\"/>"
    );
    icon(&name, &c, &inner)
}

fn icon(name: &str, ring: &str, inner: &str) -> String {
    format!(
        "<svg class=\"icon\" viewBox=\"0 0 32 32\" width=\"32\" height=\"32\" role=\"img\" aria-label=\"{name}\"><title>{name}</title><circle cx=\"16\" cy=\"16\" r=\"14\" fill=\"#fff\" stroke=\"{ring}\" stroke-width=\"2.5\"/>{inner}</svg>"
    )
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spc::{xmr, SpcOptions};

    #[test]
    fn charts_are_inline_svg_with_text_alternatives_and_no_url() {
        let labels: Vec<String> = (1..=15).map(|m| format!("m{m}")).collect();
        let mut values: Vec<Option<f64>> = (0..15).map(|i| Some(10.0 + (i % 3) as f64)).collect();
        values[14] = Some(30.0);
        values[3] = None;
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let mut all = xmr(&present, &[], &SpcOptions::default())
            .unwrap()
            .into_iter();
        let points: Vec<Option<SpcPoint>> =
            values.iter().map(|v| v.and_then(|_| all.next())).collect();
        let targets = vec![Some(12.0); 15];
        let s = Series {
            labels: &labels,
            values: &values,
            targets: &targets,
            unit: Unit::Percent,
            marks: &[],
        };
        let chart = spc("k1", "A <KPI>", &s, &points);
        assert!(chart
            .alt
            .starts_with("A <KPI>. Statistical process control chart of 14 values"));
        let svg = chart.svg;
        assert!(svg.starts_with("<svg class=\"chart\" viewBox=\"0 0 720 300\" role=\"img\""));
        assert!(svg.contains("<title id=\"k1-t\">A &lt;KPI&gt;</title>"));
        assert!(svg.contains("14 values from m1 to m15"), "{svg}");
        assert!(svg.contains("1 periods have no value shown"));
        assert!(!svg.contains("http"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.ends_with("</svg>\n") || svg.ends_with("</svg>"));
        let f = finance("f", "Money", &[("S1".into(), 100.0, 50.0, 110.0)]);
        assert!(f.contains("Forecast outturn") && !f.contains("http"));
        assert!(variation_icon(Some(Variation::ConcernHigh))
            .contains("Special cause: concern, higher values"));
    }
}
