//! `bcfmon compute`: the tidy results table of every metric the schemes need (or, with
//! `--all`, every metric the data supports), with the data-quality ledger beside it.

use crate::catalogue::CATALOGUE;
use crate::config;
use crate::extract::{Issue, Ledger, Loc, Severity};
use crate::metrics::{self, Request, ResultRow, COLUMNS};
use crate::output::{resolve, write_atomic, Inputs};
use crate::period::{parse_period, Month, Period, Window};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub struct Args<'a> {
    pub root: &'a Path,
    pub period: Option<&'a str>,
    pub all: bool,
    pub strict: bool,
    pub out: Option<&'a Path>,
    pub data_quality: Option<&'a Path>,
    /// Write the judged KPI table instead of the results table.
    pub judge: bool,
}

/// The requests the schemes' KPIs need.
pub fn kpi_requests(programme: &config::Programme) -> Vec<Request> {
    let set: BTreeSet<Request> = programme
        .schemes
        .iter()
        .flat_map(|s| &s.kpis)
        .map(|k| Request {
            metric: k.metric.clone(),
            window: k.window,
            params: k.params.clone(),
        })
        .collect();
    set.into_iter().collect()
}

/// Every catalogue metric (and breakdown) for `--all`: monthly and rolling 12-month windows
/// (the financial year is the rolling window ending in March), or the snapshot.
fn all_requests(programme: &config::Programme) -> Vec<Request> {
    let mut out = Vec::new();
    for def in CATALOGUE {
        let windows: &[Window] = if def.snapshot {
            &[Window::Snapshot]
        } else {
            &[Window::Month, Window::Rolling12Months]
        };
        let mut ids = vec![def.id.to_string()];
        ids.extend(def.breakdowns.iter().map(|b| format!("{}/{b}", def.id)));
        for id in ids {
            for w in windows {
                out.push(Request {
                    metric: id.clone(),
                    window: *w,
                    params: Default::default(),
                });
            }
        }
    }
    for m in programme.local_metrics() {
        for w in [Window::Month, Window::Rolling12Months] {
            out.push(Request {
                metric: m.id.clone(),
                window: w,
                params: Default::default(),
            });
        }
    }
    out
}

fn render(rows: &[ResultRow], ext: &str) -> Result<Vec<u8>, String> {
    match ext {
        "json" => {
            let header: Vec<&str> = COLUMNS.split(',').collect();
            let list: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|r| {
                    header
                        .iter()
                        .zip(r.cells())
                        .map(|(h, c)| {
                            let v = if c.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::String(c)
                            };
                            (h.to_string(), v)
                        })
                        .collect()
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
            text.push('\n');
            Ok(text.into_bytes())
        }
        "parquet" => {
            use polars::prelude::*;
            let header: Vec<&str> = COLUMNS.split(',').collect();
            let cells: Vec<Vec<String>> = rows.iter().map(|r| r.cells()).collect();
            let columns: Vec<Column> = header
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let values: Vec<Option<&str>> = cells
                        .iter()
                        .map(|c| Some(c[i].as_str()).filter(|s| !s.is_empty()))
                        .collect();
                    Column::new((*h).into(), values)
                })
                .collect();
            let mut df = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            ParquetWriter::new(&mut buf)
                .finish(&mut df)
                .map_err(|e| e.to_string())?;
            Ok(buf)
        }
        _ => {
            let mut text = format!("{COLUMNS}\n");
            for r in rows {
                text.push_str(&crate::commands::stats::csv_line(&r.cells()));
            }
            Ok(text.into_bytes())
        }
    }
}

/// Rows of areas outside the programme are ignored for the board (W08), counted, not rejected.
fn ignore_other_areas(data: &mut metrics::Data, area: &str, ledger: &mut Ledger) {
    use polars::prelude::*;
    // Benchmarks are other areas by design.
    for (name, df) in data
        .frames
        .iter_mut()
        .filter(|(n, _)| n.as_str() != "benchmarks")
    {
        let col_name = if name == "chc" || name == "population" {
            "Area_Code"
        } else {
            "LA_Code"
        };
        let Ok(areas) = df.column(col_name).and_then(|c| c.str().cloned()) else {
            continue;
        };
        let lines = df.column("__line").ok().and_then(|c| c.str().ok().cloned());
        let file = ledger
            .files
            .iter()
            .find(|f| &f.extract == name)
            .map(|f| f.file.clone())
            .unwrap_or_default();
        let mut ignored = 0;
        for (i, a) in areas.iter().enumerate() {
            if a != Some(area) {
                ignored += 1;
                let loc = lines
                    .as_ref()
                    .and_then(|l| l.get(i))
                    .map_or(Loc::File, |l| {
                        l.strip_prefix("row ").map_or_else(
                            || Loc::Line(l.parse().unwrap_or(0)),
                            |r| Loc::Row(r.parse().unwrap_or(0)),
                        )
                    });
                ledger.issues.push(Issue {
                    file: file.clone(),
                    loc,
                    severity: Severity::Warning,
                    rule: "W08".into(),
                    column: col_name.into(),
                    value: a.unwrap_or("").into(),
                    message: format!(
                        "area is not the programme's ({area}); the row is ignored for the board"
                    ),
                });
            }
        }
        if let Some(f) = ledger.files.iter_mut().find(|f| &f.extract == name) {
            f.ignored = ignored;
        }
        if ignored > 0 {
            if let Ok(kept) = df
                .clone()
                .lazy()
                .filter(col(col_name).eq(lit(area)))
                .collect()
            {
                *df = kept;
            }
        }
    }
}

/// What `compute` and `report` share: the validated programme, the loaded extracts with
/// their ledger, and the result rows up to the reported month.
pub struct Prepared {
    pub programme: config::Programme,
    pub data: metrics::Data,
    pub ledger: Ledger,
    pub rows: Vec<ResultRow>,
    pub notes: Vec<String>,
    /// The month reported: `--period`'s last month, or the latest month the data covers.
    pub month: Option<Month>,
}

/// Loads and validates the programme, or says how many problems stop `who`.
pub fn load_programme(root: &Path, who: &str) -> Result<config::Programme, String> {
    config::load(root).map_err(|diags| {
        let mut s: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        s.push(format!(
            "bcfmon {who}: the schemes have {} problem(s); run `bcfmon check`",
            diags.len()
        ));
        s.join("\n")
    })
}

/// Loads the extracts and computes the KPI rows (or, with `all`, every metric the data
/// supports) for every month up to `period`.
pub fn prepare(
    root: &Path,
    programme: config::Programme,
    period: Option<&str>,
    all: bool,
    who: &str,
) -> Result<Prepared, String> {
    let until = match period {
        None => None,
        Some(p) => match parse_period(p) {
            Ok(Period::Month(m)) => Some(m),
            Ok(other) => Some(Month::of(other.end())),
            Err(e) => return Err(format!("bcfmon {who}: --period {e}")),
        },
    };
    let mut ledger = Ledger::default();
    let mut data = metrics::load(root, &programme, &mut ledger).map_err(|missing| {
        let n = missing.len();
        format!(
            "{}\nbcfmon {who}: {n} configured extract{} not found; nothing was written",
            missing.join("\n"),
            if n == 1 { " was" } else { "s were" }
        )
    })?;
    let areas: Option<Vec<String>> = if all {
        None
    } else {
        let area = programme.settings.area.code.clone();
        ignore_other_areas(&mut data, &area, &mut ledger);
        Some(vec![area])
    };
    let requests = if all {
        all_requests(&programme)
    } else {
        kpi_requests(&programme)
    };
    let months = metrics::months_in(&data, until);
    let (mut rows, notes) =
        metrics::compute(&data, &programme, &requests, &months, areas.as_deref());
    if all {
        // `--all` lists what the data supports: drop metrics that are not computable at all.
        let computable: BTreeSet<String> = rows
            .iter()
            .filter(|r| r.status != "not-computable")
            .map(|r| r.metric.clone())
            .collect();
        rows.retain(|r| computable.contains(&r.metric));
    }
    rows.sort_by(|a, b| {
        (&a.area_code, &a.metric, a.window.as_str(), a.period_end).cmp(&(
            &b.area_code,
            &b.metric,
            b.window.as_str(),
            b.period_end,
        ))
    });
    let month = until.or_else(|| months.last().copied());
    Ok(Prepared {
        programme,
        data,
        ledger,
        rows,
        notes,
        month,
    })
}

/// What to do when an output path is refused.
const FILE_HINT: &str = "give a new file outside schemes/ and data/, e.g. out/results.csv";

pub fn run(args: &Args<'_>) -> Result<(), String> {
    let who = |e: String| format!("bcfmon compute: {e}");
    let programme = load_programme(args.root, "compute")?;
    // Every output is checked before any work: none may be an input, nor the other output.
    let inputs = Inputs::of(args.root, Some(&programme.settings), None);
    let dq_path: Option<PathBuf> = args
        .data_quality
        .map(Path::to_path_buf)
        .or_else(|| args.out.map(|o| o.with_file_name("data_quality.csv")));
    if let Some(out) = args.out {
        inputs.check_file(out, "--out", FILE_HINT).map_err(who)?;
    }
    if let Some(dq) = &dq_path {
        let option = if args.data_quality.is_some() {
            "--data-quality"
        } else {
            "the data-quality ledger beside --out,"
        };
        inputs.check_file(dq, option, FILE_HINT).map_err(who)?;
        if args.out.is_some_and(|o| resolve(o) == resolve(dq)) {
            return Err(who(format!(
                "--out and the data-quality ledger are both {}; nothing was written\n  hint: give --data-quality another file name",
                dq.display()
            )));
        }
    }
    let Prepared {
        programme,
        data,
        ledger,
        rows,
        notes,
        ..
    } = prepare(args.root, programme, args.period, args.all, "compute")?;
    for n in &notes {
        eprintln!("bcfmon compute: note: {n}");
    }
    let ext = args
        .out
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_else(|| "csv".into());
    if !matches!(ext.as_str(), "csv" | "json" | "parquet") {
        return Err(format!(
            "bcfmon compute: --out must end in .csv, .parquet or .json, not .{ext}"
        ));
    }
    let bytes = if args.judge {
        if ext != "csv" {
            return Err("bcfmon compute: --judge writes CSV; give --out a .csv name".into());
        }
        let judged = crate::judge::judge(&programme, &rows, data.frames.get("benchmarks"));
        let mut text = format!("{}\n", crate::judge::JUDGED_COLUMNS);
        for j in &judged {
            text.push_str(&crate::commands::stats::csv_line(
                &j.cells(&programme.settings.wording),
            ));
        }
        text.into_bytes()
    } else {
        render(&rows, &ext)?
    };
    match args.out {
        Some(out) => write_atomic(out, &bytes).map_err(who)?,
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    if let Some(dq) = &dq_path {
        write_atomic(dq, ledger.to_csv().as_bytes()).map_err(who)?;
    }
    if let Some(note) = metrics::absent_note(&data) {
        eprintln!("bcfmon compute: note: {note}");
    }
    let failures = failures(&ledger, programme.settings.max_reject_rate, args.strict);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bcfmon compute: {}",
            failures.join("\nbcfmon compute: ")
        ))
    }
}

/// The run's failures by the reject rule: a refused file, or more than `rate` of a file's
/// rows rejected, or with `strict` any rejected row.
pub fn failures(ledger: &Ledger, rate: f64, strict: bool) -> Vec<String> {
    let mut failures = Vec::new();
    for f in &ledger.files {
        if let Some(why) = &f.refused {
            failures.push(format!("{}: refused: {why}", f.file));
        } else if f.read > 0 && f.rejected as f64 > rate * f.read as f64 {
            failures.push(format!(
                "{}: {} of {} rows rejected (more than {:.0}%)",
                f.file,
                f.rejected,
                f.read,
                rate * 100.0
            ));
        } else if strict && f.rejected > 0 {
            failures.push(format!(
                "{}: {} rows rejected (--strict)",
                f.file, f.rejected
            ));
        }
    }
    failures
}
