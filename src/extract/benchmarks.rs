//! The `benchmarks` extract (data-contract.md §6): published values for comparator areas and
//! England, read as users paste them — periods `2023-24` or `2023/24`, suppression markers,
//! measures by bcfmon id, published code (metrics.md Appendix A) or published title.

use super::values::{code, null, whole};
use super::{finish, read_rows, refuse, rejected_locs, Ledger, Loaded, Loc, Severity, Source};
use crate::catalogue::Lookup;
use polars::prelude::*;
use std::collections::HashMap;

/// Markers that mean "published but suppressed" (never 0).
const SUPPRESSED: &[&str] = &["*", "x", "[c]", "[x]", "[z]", "..", "-", "NA"];

/// A financial year written `2023-24` or `2023/24` (YY = YYYY + 1 mod 100): its first year.
pub(crate) fn period_start_year(s: &str) -> Option<i32> {
    let t = s.trim().replace('/', "-");
    crate::period::parse_financial_year(&t).ok().map(|fy| fy.0)
}

/// Resolves a measure: a catalogue id, a published code, or a published title.
pub(crate) fn resolve_measure(text: &str, catalogue: Lookup) -> Option<&'static str> {
    if let Some(def) = catalogue(text) {
        return Some(def.id);
    }
    let t = text.to_lowercase();
    let admissions = t.contains("permanent admissions")
        || t.contains("long-term support needs")
        || t.contains("long term support needs");
    if admissions && (t.contains("65+") || t.contains("65 and over") || t.contains("aged 65")) {
        return Some("ascof-2c");
    }
    if admissions && (t.contains("18-64") || t.contains("18 to 64")) {
        return Some("ascof-2b");
    }
    None
}

/// `Breakdown` as published: `18 to 64` → `18-64`; `65 and over`/`65 and above` → `65+`.
fn breakdown(s: &str) -> String {
    let t = code(s);
    match t.to_lowercase().as_str() {
        "" | "total" | "persons" => "Total".into(),
        "18 to 64" | "18-64" => "18-64".into(),
        "65 and over" | "65 and above" | "65+" => "65+".into(),
        _ => t,
    }
}

struct Row {
    loc: Loc,
    /// (area, financial year, metric, breakdown) of a published row; (area, 0, metric,
    /// breakdown) of a results row, whose period is `period`.
    key: Option<(String, i32, String, String)>,
    /// A results row's window and period end (days since 1970-01-01).
    period: Option<(crate::period::Window, i32)>,
    name: String,
    level: String,
    value: Option<f64>,
    suppressed: bool,
    numerator: Option<u64>,
    denominator: Option<u64>,
    source: String,
}

/// Reads and validates the extract (B01–B06). The frame has `Area_Code, Area_Name,
/// Geography_Level, Year (the financial year's first year), window, period_end, metric,
/// Breakdown, value, suppressed, Numerator, Denominator, Source`; `window` and `period_end`
/// are set (and `Year` empty) on the rows of a results table.
/// `catalogue` resolves the measures to built-in metrics.
///
/// A bcfmon results table (compute's output for many areas) is read instead when the header
/// is compute's (`contract::BENCHMARK_RESULTS`): see `load_results`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger, catalogue: Lookup) -> Option<Loaded> {
    let is_results = super::header(src).is_some_and(|h| {
        ["area_code", "window", "period_end", "status"]
            .iter()
            .all(|c| h.iter().any(|x| x == c))
    });
    if is_results {
        let results = Source {
            extract: &crate::contract::BENCHMARK_RESULTS,
            ..src.clone()
        };
        return load_results(&results, ledger, catalogue);
    }
    let (mut report, mut summary) = src.start();
    let mut rows = Vec::new();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |sev, rule: &str, col: &str, msg: String| {
            report.add(loc, sev, rule, col, get(col), msg)
        };
        let year = period_start_year(get("Period"));
        if year.is_none() {
            add(
                Severity::Error,
                "B01",
                "Period",
                "not a financial year such as 2023-24 or 2023/24".into(),
            );
        }
        let measure = resolve_measure(get("Measure_Code"), catalogue);
        if measure.is_none() {
            add(
                Severity::Info,
                "B03",
                "Measure_Code",
                "not a bcfmon metric or a published code it maps; row ignored".into(),
            );
        }
        let raw = get("Value").trim();
        let (value, suppressed) =
            if raw.is_empty() || SUPPRESSED.iter().any(|m| m.eq_ignore_ascii_case(raw)) {
                (None, true)
            } else {
                match raw.parse::<f64>() {
                    Ok(v) if v.is_finite() => (Some(v), false),
                    _ => {
                        add(
                            Severity::Error,
                            "B02",
                            "Value",
                            "neither a number nor a suppression marker".into(),
                        );
                        (None, false)
                    }
                }
            };
        let mut count = |col: &str| match null(get(col)) {
            None => None,
            Some(v) => match whole(v) {
                Some(n) => Some(n),
                None => {
                    add(
                        Severity::Warning,
                        "B05",
                        col,
                        format!("{col} is not a whole number; dropped"),
                    );
                    None
                }
            },
        };
        let numerator = count("Numerator");
        let denominator = count("Denominator");
        if let (Some(n), Some(d), Some(v)) = (numerator, denominator, value) {
            if d > 0 {
                let k = if measure.is_some_and(|m| {
                    catalogue(m).is_some_and(|d| d.unit == crate::catalogue::Unit::Per100k)
                }) {
                    100_000.0
                } else {
                    100.0
                };
                let recomputed = n as f64 * k / d as f64;
                if (recomputed - v).abs() > 0.05 {
                    add(Severity::Warning, "B06", "Value", format!("the value differs from numerator/denominator ({recomputed:.1}); the published value is used"));
                }
            }
        }
        rows.push(Row {
            loc,
            period: None,
            key: match (year, measure) {
                (Some(y), Some(m)) => Some((
                    code(get("Area_Code")),
                    y,
                    m.to_string(),
                    breakdown(get("Breakdown")),
                )),
                _ => None,
            },
            name: code(get("Area_Name")),
            level: code(get("Geography_Level")),
            value,
            suppressed,
            numerator,
            denominator,
            source: code(get("Source")),
        });
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    frame_of(ledger, report, summary, rows)
}

/// The benchmark frame of the rows read, after B04: a repeated key (area, period, measure,
/// breakdown; for a results row, area, metric with breakdown, window and period end)
/// rejects every copy.
fn frame_of(
    ledger: &mut Ledger,
    mut report: super::FileReport,
    summary: super::FileSummary,
    rows: Vec<Row>,
) -> Option<Loaded> {
    // B04: a repeated (area, period, measure, breakdown) rejects every copy.
    type Key<'r> = (
        &'r (String, i32, String, String),
        Option<(crate::period::Window, i32)>,
    );
    fn key_of(r: &Row) -> Option<Key<'_>> {
        r.key.as_ref().map(|k| (k, r.period))
    }
    let mut counts: HashMap<Key<'_>, usize> = HashMap::new();
    for k in rows.iter().filter_map(key_of) {
        *counts.entry(k).or_default() += 1;
    }
    let dups: Vec<Loc> = rows
        .iter()
        .filter(|r| key_of(r).is_some_and(|k| counts[&k] > 1))
        .map(|r| r.loc)
        .collect();
    for loc in dups {
        report.add(loc, Severity::Error, "B04", "Measure_Code", "", "the same area, period, measure and breakdown appear more than once; every copy is rejected");
    }
    let rejected = rejected_locs(&report);
    let kept: Vec<&Row> = rows
        .iter()
        .filter(|r| r.key.is_some() && !rejected.contains(&r.loc))
        .collect();
    let key = |r: &Row| r.key.clone().expect("filtered");
    let frame = DataFrame::new_infer_height(vec![
        Column::new(
            "Area_Code".into(),
            kept.iter().map(|r| key(r).0).collect::<Vec<_>>(),
        ),
        Column::new(
            "Area_Name".into(),
            kept.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "Geography_Level".into(),
            kept.iter().map(|r| r.level.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "Year".into(),
            kept.iter()
                .map(|r| r.period.is_none().then(|| key(r).1))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "window".into(),
            kept.iter()
                .map(|r| r.period.map_or("", |p| p.0.as_str()))
                .collect::<Vec<_>>(),
        ),
        super::date_column(
            "period_end",
            kept.iter().map(|r| r.period.map(|p| p.1)).collect(),
        ),
        Column::new(
            "metric".into(),
            kept.iter().map(|r| key(r).2).collect::<Vec<_>>(),
        ),
        Column::new(
            "Breakdown".into(),
            kept.iter().map(|r| key(r).3).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            kept.iter().map(|r| r.value).collect::<Vec<_>>(),
        ),
        Column::new(
            "suppressed".into(),
            kept.iter().map(|r| r.suppressed).collect::<Vec<_>>(),
        ),
        Column::new(
            "Numerator".into(),
            kept.iter().map(|r| r.numerator).collect::<Vec<_>>(),
        ),
        Column::new(
            "Denominator".into(),
            kept.iter().map(|r| r.denominator).collect::<Vec<_>>(),
        ),
        Column::new(
            "Source".into(),
            kept.iter().map(|r| r.source.clone()).collect::<Vec<_>>(),
        ),
    ])
    .expect("columns of one length");
    finish(ledger, report, summary, frame)
}

/// Reads a bcfmon results table as benchmarks: every area's figure for a metric (with its
/// breakdown), window and period, as compute wrote it. B01: a window or period end that is
/// not one; B02: a status that is not one, or an `ok` value that is not a number; B03 (info):
/// a metric bcfmon does not know (another council's local metric), ignored; B04 as for
/// published rows. A row without a value (any status but `ok`) is kept as no figure.
fn load_results(src: &Source, ledger: &mut Ledger, catalogue: Lookup) -> Option<Loaded> {
    let (mut report, mut summary) = src.start();
    let mut rows = Vec::new();
    let shown = src.shown.clone();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |sev, rule: &str, col: &str, msg: String| {
            report.add(loc, sev, rule, col, get(col), msg)
        };
        let window = crate::period::Window::parse(get("window").trim());
        if window.is_none() {
            add(
                Severity::Error,
                "B01",
                "window",
                format!("not a window ({})", crate::period::Window::ALL.join(", ")),
            );
        }
        let end =
            match super::values::parse_date(get("period_end"), crate::programme::DateFormat::Iso) {
                Ok(d) => Some(super::values::days(d)),
                Err(e) => {
                    add(Severity::Error, "B01", "period_end", e);
                    None
                }
            };
        let (base, breakdown_of) = crate::catalogue::split_breakdown(get("metric").trim());
        let measure = catalogue(base).map(|d| d.id);
        if measure.is_none() {
            add(
                Severity::Info,
                "B03",
                "metric",
                "not a bcfmon metric (a local metric of another programme?); row ignored".into(),
            );
        }
        let status = crate::metrics::ResultStatus::parse(get("status").trim());
        if status.is_none() {
            add(
                Severity::Error,
                "B02",
                "status",
                "not a result status (ok, not-computable, insufficient-coverage, no-denominator)"
                    .into(),
            );
        }
        let raw = get("value").trim();
        let value = match status {
            Some(crate::metrics::ResultStatus::Ok) => match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    add(
                        Severity::Error,
                        "B02",
                        "value",
                        "a result with status ok needs a number".into(),
                    );
                    None
                }
            },
            _ => None,
        };
        let count = |col: &str| null(get(col)).and_then(whole);
        rows.push(Row {
            loc,
            key: measure.map(|m| {
                (
                    code(get("area_code")),
                    0,
                    m.to_string(),
                    breakdown_of.map_or("Total".into(), str::to_string),
                )
            }),
            period: window.zip(end),
            name: String::new(),
            level: String::new(),
            value,
            suppressed: false,
            numerator: count("numerator"),
            denominator: count("denominator"),
            source: shown.clone(),
        });
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    // A row whose window or period end could not be read is rejected (B01) and so has no
    // key to compare.
    for r in rows.iter_mut().filter(|r| r.period.is_none()) {
        r.key = None;
    }
    frame_of(ledger, report, summary, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::peer_standing;
    use crate::metrics::catalogue::definition;
    use crate::programme::{DateFormat, Format};

    /// The real published ASCOF 2C series (data/public, OGL v3) as a user would paste it:
    /// periods `2014/15`, `NA` markers, the measure given by its title.
    #[test]
    fn reads_the_published_ascof_2c_file_and_ranks_trafford() {
        let src = Source {
            extract: crate::contract::extract("benchmarks").unwrap(),
            path: "data/public/admissions_care_homes_65p.csv".into(),
            shown: "data/public/admissions_care_homes_65p.csv".into(),
            format: Format::Csv,
            date_format: DateFormat::Iso,
            encoding: crate::programme::Encoding::Utf8,
            parts: Vec::new(),
        };
        let mut ledger = Ledger::default();
        let loaded = load(&src, &mut ledger, definition).expect("not refused");
        // 170 rows: 17 areas × 10 years, 4 of them NA (suppressed, not rejected).
        assert_eq!((loaded.summary.read, loaded.summary.rejected), (170, 0));
        let f = &loaded.frame;
        assert_eq!(f.height(), 170);
        assert_eq!(
            f.column("suppressed").unwrap().bool().unwrap().sum(),
            Some(4)
        );
        assert!(f
            .column("metric")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .all(|m| m == Some("ascof-2c")));
        let peers: Vec<String> = std::fs::read_to_string("data/public/nhsennpg.csv")
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        let value = |area: &str, year: i32| -> Option<f64> {
            let (a, y, v) = (
                f.column("Area_Code").unwrap().str().unwrap(),
                f.column("Year").unwrap().i32().unwrap(),
                f.column("value").unwrap().f64().unwrap(),
            );
            (0..f.height())
                .find(|&i| a.get(i) == Some(area) && y.get(i) == Some(year))
                .and_then(|i| v.get(i))
        };
        // Expected from the file by hand (and an independent script): low is good.
        // 2014/15: Trafford 543.0, England 658.5; 9 of the 15 peers are lower → rank 10 of
        // 16, quartile ceil(40/16) = 3, 115.5 below England.
        // 2018/19: one peer is NA → rank 10 of 15, quartile 3, 38.1 below England.
        // 2023/24: Trafford 779.6 → rank 15 of 16, quartile 4, 213.6 above England (566.0).
        for (year, rank, of, quartile, diff) in [
            (2014, 10, 16, 3, -115.5),
            (2018, 10, 15, 3, -38.1),
            (2023, 15, 16, 4, 213.6),
        ] {
            let area = value("E08000009", year).unwrap();
            let peer_values: Vec<f64> = peers.iter().filter_map(|p| value(p, year)).collect();
            let s = peer_standing(
                area,
                &peer_values,
                value("E92000001", year),
                crate::catalogue::Polarity::LowIsGood,
            );
            assert_eq!((s.rank, s.of, s.quartile), (rank, of, quartile), "{year}");
            assert!(
                (s.vs_england.unwrap() - diff).abs() < 1e-9,
                "{year}: {:?}",
                s.vs_england
            );
        }
    }

    #[test]
    fn measures_and_periods_as_published() {
        assert_eq!(resolve_measure("2A(2)", definition), Some("ascof-2c"));
        assert_eq!(resolve_measure("ASCOF 2B", definition), Some("ascof-2b"));
        assert_eq!(
            resolve_measure(
                "Permanent admissions to residential and nursing care homes aged 65+",
                definition
            ),
            Some("ascof-2c")
        );
        assert_eq!(
            resolve_measure("Social care-related quality of life", definition),
            None
        );
        assert_eq!(period_start_year("2014/15"), Some(2014));
        assert_eq!(period_start_year("2023-24"), Some(2023));
        assert_eq!(period_start_year("2023-25"), None);
    }
}
