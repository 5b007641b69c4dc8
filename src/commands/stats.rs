//! `bcfmon stats spc|proportion|rate|dsr`: the analyst's statistics on any CSV (methods.md §0).

use crate::stats::ci::{self, Interval};
use crate::stats::spc::{self, SpcOptions};
use crate::table::{csv_line, num};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;

/// A CSV file read whole: its header and each record with the physical line it starts on.
pub(crate) struct Table {
    pub path: String,
    pub header: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    pub(crate) fn read(path: &Path) -> Result<Table, String> {
        let shown = path.display().to_string();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_path(path)
            .map_err(|e| format!("bcfmon: {shown}: cannot read the file: {}", csv_error(&e)))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("bcfmon: {shown}: line 1: {}", csv_error(&e)))?
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    h.trim_start_matches('\u{feff}').trim().to_string()
                } else {
                    h.trim().to_string()
                }
            })
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            match record {
                Ok(r) => {
                    let line = r.position().map_or(0, |p| p.line());
                    rows.push((line, r.iter().map(str::to_string).collect()));
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(format!("bcfmon: {shown}: line {line}: {}", csv_error(&e)));
                }
            }
        }
        Ok(Table {
            path: shown,
            header,
            rows,
        })
    }

    /// The index of a column, found by name (case-insensitively after trimming).
    pub(crate) fn column(&self, name: &str) -> Result<usize, String> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!(
                    "bcfmon: {}: line 1: no column `{name}` (columns: {})",
                    self.path,
                    self.header.join(", ")
                )
            })
    }

    fn error(&self, line: u64, message: impl std::fmt::Display) -> String {
        format!("bcfmon: {}: line {line}: {message}", self.path)
    }

    /// A number cell; `None` when empty.
    fn number(&self, line: u64, cell: &str, what: &str) -> Result<Option<f64>, String> {
        let t = cell.trim();
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(v)
                if v.is_finite()
                    && !t.eq_ignore_ascii_case("nan")
                    && !t.to_ascii_lowercase().contains("inf") =>
            {
                Ok(Some(v))
            }
            _ => Err(self.error(line, format!("{what} \"{cell}\" is not a number"))),
        }
    }
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the record has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".into(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

/// The confidence levels asked for, in output order.
pub(crate) fn levels(spec: &str) -> Vec<f64> {
    match spec {
        "0.998" => vec![0.998],
        "0.95,0.998" => vec![0.95, 0.998],
        _ => vec![0.95],
    }
}

fn level_headers(levels: &[f64]) -> Vec<String> {
    let mut h = vec!["value".to_string()];
    for l in levels {
        let tag = if *l == 0.95 { "95" } else { "998" };
        h.push(format!("lower{tag}"));
        h.push(format!("upper{tag}"));
    }
    h
}

pub(crate) struct SpcArgs<'a> {
    pub input: &'a Path,
    pub x: &'a str,
    pub y: &'a str,
    pub options: SpcOptions,
    pub target: Option<f64>,
    pub rebase: &'a [NaiveDate],
    pub summary: bool,
    pub min_points: Option<usize>,
}

/// `stats spc`: the XmR chart of a date/value series.
pub(crate) fn spc(args: &SpcArgs<'_>) -> Result<String, String> {
    let t = Table::read(args.input)?;
    let (xi, yi) = (t.column(args.x)?, t.column(args.y)?);
    let mut points: Vec<(NaiveDate, f64, String)> = Vec::with_capacity(t.rows.len());
    let mut seen: HashMap<NaiveDate, u64> = HashMap::new();
    for (line, row) in &t.rows {
        let d = row[xi].trim();
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .filter(|_| d.len() == 10)
            .ok_or_else(|| t.error(*line, format!("date \"{d}\" is not a real yyyy-mm-dd date")))?;
        let value = t
            .number(*line, &row[yi], "value")?
            .ok_or_else(|| t.error(*line, "the value is empty; every date needs a value"))?;
        if let Some(first) = seen.insert(date, *line) {
            return Err(t.error(
                *line,
                format!("date {date} appears twice (also on line {first})"),
            ));
        }
        points.push((date, value, row[yi].trim().to_string()));
    }
    if points.len() < 2 {
        return Err(format!(
            "bcfmon: {}: an SPC chart needs at least 2 points, found {}",
            t.path,
            points.len()
        ));
    }
    if points.windows(2).any(|w| w[1].0 < w[0].0) {
        eprintln!(
            "bcfmon: note: {} is not in date order; the points were sorted by date",
            t.path
        );
        points.sort_by_key(|p| p.0);
    }
    let mut starts = Vec::new();
    let mut rebase: Vec<NaiveDate> = args.rebase.to_vec();
    rebase.sort();
    rebase.dedup();
    for d in &rebase {
        match points.iter().position(|p| p.0 == *d) {
            Some(i) => starts.push(i),
            None => {
                return Err(format!(
                    "bcfmon: {}: the rebase date {d} matches no point",
                    t.path
                ))
            }
        }
    }
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let chart = spc::xmr(&values, &starts, &args.options).map_err(|e| match e {
        spc::SpcError::GroupTooShort { first } => format!(
            "bcfmon: {}: the rebase group starting {} has only 1 point; a group needs at least 2",
            t.path, points[first].0
        ),
    })?;
    // Trial limits: warn for each group shorter than 13 points.
    let mut bounds = vec![0];
    bounds.extend(&starts);
    bounds.push(values.len());
    for w in bounds.windows(2) {
        if w[1] - w[0] < 13 {
            eprintln!(
                "bcfmon: warning: the group starting {} has {} points; its limits are provisional (fewer than 13)",
                points[w[0]].0,
                w[1] - w[0]
            );
        }
    }
    let mut out = String::new();
    if args.summary {
        let s =
            spc::summarise(&chart, args.options.direction, args.target).expect("at least 2 points");
        let last_group = w_last(&bounds);
        let hidden = args.min_points.is_some_and(|m| last_group < m);
        out.push_str("n,mean,lpl,upl,variation,assurance\n");
        out.push_str(&csv_line(&[
            s.n.to_string(),
            num(Some(s.mean)),
            num(Some(s.lpl)),
            num(Some(s.upl)),
            if hidden {
                String::new()
            } else {
                s.variation.as_str().to_string()
            },
            if hidden {
                String::new()
            } else {
                s.assurance.as_str().to_string()
            },
        ]));
    } else {
        out.push_str("date,value,rebase_group,mean,lpl,upl,point_type\n");
        for ((date, _, text), p) in points.iter().zip(&chart) {
            out.push_str(&csv_line(&[
                date.to_string(),
                text.clone(),
                p.rebase_group.to_string(),
                num(Some(p.mean)),
                num(Some(p.lpl)),
                num(Some(p.upl)),
                p.point_type.as_str().to_string(),
            ]));
        }
    }
    Ok(out)
}

fn w_last(bounds: &[usize]) -> usize {
    bounds[bounds.len() - 1] - bounds[bounds.len() - 2]
}

/// Which crude statistic `proportion_or_rate` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Proportion,
    Rate,
}

/// `stats proportion` and `stats rate`: one output row per input row, input columns first.
pub(crate) fn proportion_or_rate(
    kind: Kind,
    input: &Path,
    numerator: &str,
    denominator: &str,
    multiplier: f64,
    levels: &[f64],
) -> Result<String, String> {
    let t = Table::read(input)?;
    let (ni, di) = (t.column(numerator)?, t.column(denominator)?);
    let mut out = String::new();
    let mut header = t.header.clone();
    header.extend(level_headers(levels));
    out.push_str(&csv_line(&header));
    for (line, row) in &t.rows {
        let x = t.number(*line, &row[ni], "numerator")?;
        let n = t.number(*line, &row[di], "denominator")?;
        let mut cells = row.clone();
        match (x, n) {
            (Some(x), Some(n)) => {
                if x < 0.0 {
                    return Err(t.error(*line, format!("numerator {x} is negative")));
                }
                if n <= 0.0 {
                    return Err(t.error(*line, format!("denominator {n} must be greater than 0")));
                }
                if kind == Kind::Proportion && x > n {
                    return Err(t.error(
                        *line,
                        format!("numerator {x} is larger than the denominator {n}"),
                    ));
                }
                let mut first = true;
                for l in levels {
                    let iv = match kind {
                        Kind::Proportion => ci::wilson(x, n, *l, multiplier),
                        Kind::Rate => ci::rate(x, n, *l, multiplier),
                    };
                    if first {
                        cells.push(num(Some(iv.value)));
                        first = false;
                    }
                    cells.push(num(iv.lower));
                    cells.push(num(iv.upper));
                }
            }
            _ => cells.extend(std::iter::repeat_n(String::new(), 1 + 2 * levels.len())),
        }
        // Input cells are copied as text; numbers among them pass the guard untouched.
        out.push_str(&csv_line(&cells));
    }
    Ok(out)
}

/// `stats dsr`: one row per group, ESP2013 weights matched to rows by position.
pub(crate) fn dsr(
    input: &Path,
    group: &str,
    count: &str,
    population: &str,
    multiplier: f64,
    levels: &[f64],
) -> Result<String, String> {
    let t = Table::read(input)?;
    let (gi, ci_, pi) = (t.column(group)?, t.column(count)?, t.column(population)?);
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, (u64, Vec<f64>, Vec<f64>)> = HashMap::new();
    for (line, row) in &t.rows {
        let x = t.number(*line, &row[ci_], "count")?.unwrap_or(0.0);
        let n = t
            .number(*line, &row[pi], "population")?
            .ok_or_else(|| t.error(*line, "the population is empty"))?;
        if x < 0.0 {
            return Err(t.error(*line, format!("count {x} is negative")));
        }
        if n <= 0.0 {
            return Err(t.error(*line, format!("population {n} must be greater than 0")));
        }
        let g = row[gi].clone();
        let entry = groups.entry(g.clone()).or_insert_with(|| {
            order.push(g.clone());
            (*line, Vec::new(), Vec::new())
        });
        entry.1.push(x);
        entry.2.push(n);
    }
    let mut header = vec![
        t.header[gi].clone(),
        "total_count".into(),
        "total_pop".into(),
    ];
    header.extend(level_headers(levels));
    let mut out = csv_line(&header);
    for g in &order {
        let (first_line, counts, pops) = &groups[g];
        if counts.len() != ci::ESP2013.len() {
            return Err(t.error(
                *first_line,
                format!(
                    "group \"{g}\" has {} rows; ESP2013 needs exactly 19 age bands (0-4 … 90+)",
                    counts.len()
                ),
            ));
        }
        let mut cells = vec![
            g.clone(),
            num(Some(counts.iter().sum())),
            num(Some(pops.iter().sum())),
        ];
        let results: Vec<Option<Interval>> = levels
            .iter()
            .map(|l| ci::dsr(counts, pops, &ci::ESP2013, *l, multiplier))
            .collect();
        cells.push(num(results[0].map(|r| r.value)));
        for r in &results {
            cells.push(num(r.and_then(|r| r.lower)));
            cells.push(num(r.and_then(|r| r.upper)));
        }
        out.push_str(&csv_line(&cells));
    }
    Ok(out)
}
