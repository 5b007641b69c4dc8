//! Every tidy table bcfmon writes (compute's results, the judged KPIs, the pack's
//! metrics.csv/json, finance.csv, the data-quality ledger) goes through one writer: CSV with
//! RFC 4180 quoting and the formula guard, JSON with `null` for no value, Parquet with typed
//! columns. A table is its columns (name and type) and its rows of rendered cells, so the
//! three formats always agree.

use polars::prelude::{Column as PlColumn, DataFrame, DataType, ParquetWriter};

/// What a column holds, for the formats that keep types (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text.
    Text,
    /// A whole number.
    Integer,
    /// A number that may have a fraction.
    Float,
    /// A `yyyy-mm-dd` date.
    Date,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    /// The header name.
    pub name: &'static str,
    /// What its cells hold.
    pub kind: Kind,
}

/// A text column.
pub(crate) const fn text(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
    }
}

/// A whole-number column.
pub(crate) const fn integer(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Integer,
    }
}

/// A fractional-number column.
pub(crate) const fn float(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Float,
    }
}

/// A date column.
pub(crate) const fn date(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Date,
    }
}

/// The header line of `columns`, comma-separated.
pub(crate) fn header(columns: &[Column]) -> String {
    columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
}

/// A table: its columns and its rows of rendered cells (an empty cell is no value).
#[derive(Debug, Clone)]
pub(crate) struct Table<'c> {
    columns: &'c [Column],
    rows: Vec<Vec<String>>,
}

impl<'c> Table<'c> {
    /// An empty table of `columns`.
    pub(crate) fn new(columns: &'c [Column]) -> Self {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row; it has one cell per column.
    pub(crate) fn push(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// The header line, then a line per row.
    pub(crate) fn to_csv(&self) -> String {
        use rayon::prelude::*;
        // The lines are made on every core, then joined in order: a results table or ledger
        // of a hundred thousand rows was the single-core tail of a run.
        let lines: Vec<String> = self.rows.par_iter().map(|r| csv_line(r)).collect();
        let head = header(self.columns);
        let mut out =
            String::with_capacity(head.len() + 1 + lines.iter().map(String::len).sum::<usize>());
        out.push_str(&head);
        out.push('\n');
        for line in &lines {
            out.push_str(line);
        }
        out
    }

    /// A JSON array of objects, pretty-printed: every cell as text, `null` for no value.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, String> {
        let list: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| {
                        let v = if v.is_empty() {
                            serde_json::Value::Null
                        } else {
                            serde_json::Value::String(v.clone())
                        };
                        (c.name.to_string(), v)
                    })
                    .collect()
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// A Parquet file with each column of its kind (Int64, Float64, Date, String); an empty
    /// cell, or one that does not read as its kind (a disclosure marker), is null.
    pub(crate) fn to_parquet(&self) -> Result<Vec<u8>, String> {
        use rayon::prelude::*;
        let values: Vec<Values<'_>> = self
            .columns
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let cells = self
                    .rows
                    .iter()
                    .map(|r| Some(r[i].as_str()).filter(|s| !s.is_empty()));
                match c.kind {
                    Kind::Text => Values::Text(cells.collect()),
                    Kind::Integer => {
                        Values::Integer(cells.map(|s| s.and_then(|s| s.parse().ok())).collect())
                    }
                    Kind::Float => {
                        Values::Float(cells.map(|s| s.and_then(|s| s.parse().ok())).collect())
                    }
                    Kind::Date => Values::Date(
                        cells
                            .map(|s| {
                                s.and_then(|s| s.parse().ok())
                                    .map(crate::extract::values::days)
                            })
                            .collect(),
                    ),
                }
            })
            .collect();
        parquet(self.columns, values)
    }
}

/// One column's values for `parquet`, typed as its `Kind` says (`None`: no value).
pub(crate) enum Values<'v> {
    Text(Vec<Option<&'v str>>),
    Integer(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
}

/// A Parquet file of `columns` holding `values`, one per column in order: the one Parquet
/// writer of every table (`Table::to_parquet`, and compute's results made straight from
/// their rows).
pub(crate) fn parquet(columns: &[Column], values: Vec<Values<'_>>) -> Result<Vec<u8>, String> {
    use rayon::prelude::*;
    let columns: Vec<PlColumn> = columns
        .par_iter()
        .zip(values)
        .map(|(c, v)| {
            let name = c.name.into();
            match v {
                Values::Text(v) => PlColumn::new(name, v),
                Values::Integer(v) => PlColumn::new(name, v),
                Values::Float(v) => PlColumn::new(name, v),
                Values::Date(v) => PlColumn::new(name, v)
                    .cast(&DataType::Date)
                    .expect("i32 to date"),
            }
        })
        .collect();
    let mut df = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(&mut df)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Reads back a CSV this module wrote: its header and its rows of cells exactly as `push`
/// was given them (the formula guard taken off). `what` names the file in a message
/// ("the previous pack", "a shard's results").
pub(crate) fn read_back(
    path: &std::path::Path,
    what: &str,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| format!("{}: cannot read {what}: {e}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        rows.push(
            record
                .iter()
                .map(|c| match c.strip_prefix('\'') {
                    Some(rest) if guard(rest) == c => rest.to_string(),
                    _ => c.to_string(),
                })
                .collect(),
        );
    }
    Ok((header, rows))
}

/// Reads back a CSV table this module wrote with exactly `columns`, in order, as cells in
/// that order. (A Parquet table does not read back exactly: a value written `0.0` reads as
/// 0.)
pub(crate) fn read_csv(
    path: &std::path::Path,
    columns: &[Column],
) -> Result<Vec<Vec<String>>, String> {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let (header, rows) = read_back(path, "the table")?;
    if header != names {
        return Err(format!(
            "{}: not a bcfmon table with the columns {} (found {})",
            path.display(),
            names.join(","),
            header.join(",")
        ));
    }
    Ok(rows)
}

/// A number printed so it reads back as the same double; empty for no value.
pub(crate) fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// Writes CSV rows to a string with RFC 4180 quoting; text cells that could start a
/// spreadsheet formula are neutralised, numbers never are.
pub(crate) fn csv_line(cells: &[String]) -> String {
    let mut out = String::with_capacity(cells.iter().map(|c| c.len() + 1).sum());
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let guarded = guard(c);
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push('\n');
    out
}

/// Formula-injection guard: a text cell starting with `=`, `+`, `-` or `@` gets a leading `'`.
pub(crate) fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    // OWASP's list: = + - @ and the tab and carriage return that can precede them.
    let starts_risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if starts_risky && cell.trim().parse::<f64>().is_err() {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{DataType, ParquetReader, SerReader};

    const COLUMNS: &[Column] = &[text("area"), integer("n"), float("value"), date("end")];

    fn table() -> Table<'static> {
        let mut t = Table::new(COLUMNS);
        t.push(vec![
            "E1".into(),
            "3".into(),
            "81.3".into(),
            "2016-03-31".into(),
        ]);
        t.push(vec!["=E2".into(), "".into(), "*".into(), "".into()]);
        t
    }

    #[test]
    fn csv_json_and_parquet_agree() {
        let t = table();
        assert_eq!(
            t.to_csv(),
            "area,n,value,end\nE1,3,81.3,2016-03-31\n'=E2,,*,\n"
        );
        let json: serde_json::Value = serde_json::from_slice(&t.to_json().unwrap()).unwrap();
        assert_eq!(json[1]["n"], serde_json::Value::Null);
        assert_eq!(json[0]["value"], "81.3");
        let df = ParquetReader::new(std::io::Cursor::new(t.to_parquet().unwrap()))
            .finish()
            .unwrap();
        let types: Vec<DataType> = df.dtypes();
        assert_eq!(
            types,
            [
                DataType::String,
                DataType::Int64,
                DataType::Float64,
                DataType::Date
            ]
        );
        assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(3));
        assert_eq!(df.column("value").unwrap().f64().unwrap().get(1), None);
        // 2016-03-31 is day 16,891 after 1970-01-01.
        assert_eq!(
            df.column("end").unwrap().date().unwrap().physical().get(0),
            Some(16891)
        );
    }

    #[test]
    fn formula_cells_are_guarded_numbers_are_not() {
        assert_eq!(guard("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(guard("@cmd"), "'@cmd");
        assert_eq!(guard("\t=1+1"), "'\t=1+1");
        assert_eq!(guard("-350.25"), "-350.25");
        assert_eq!(guard("+5"), "+5");
        assert_eq!(guard("Falls prevention"), "Falls prevention");
        assert_eq!(
            csv_line(&["-1".into(), "=HYPERLINK(\"x\")".into()]),
            "-1,\"'=HYPERLINK(\"\"x\"\")\"\n"
        );
    }
}
