//! What the engine is asked for (a `Request`) and what it answers: the rows of the tidy
//! results table, their status and their cells.

use crate::catalogue::Unit;
use crate::period::Window;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// What to compute: a metric (with breakdown) over a window, with the KPI's parameters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Request {
    pub metric: String,
    pub window: Window,
    pub params: BTreeMap<String, String>,
}

impl Request {
    /// The catalogue's definition of the requested metric (its breakdown aside); `None` for
    /// a local metric.
    pub(crate) fn definition(&self) -> Option<&'static crate::catalogue::MetricDef> {
        super::catalogue::definition(crate::catalogue::split_breakdown(&self.metric).0)
    }
}

crate::period::vocabulary! {
    /// Whether a result row has a value, and why not (design.md "Command line").
    pub(crate) ResultStatus {
        Ok = "ok",
        NotComputable = "not-computable",
        InsufficientCoverage = "insufficient-coverage",
        NoDenominator = "no-denominator",
    }
}

/// One row of the tidy results table (design.md "Command line").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultRow {
    pub area_code: String,
    pub metric: String,
    pub window: Window,
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    pub value: Option<String>,
    pub lower95: Option<f64>,
    pub upper95: Option<f64>,
    pub unit: Unit,
    pub status: ResultStatus,
}

/// The columns of the results table, in order.
pub(crate) const COLUMNS: &[crate::table::Column] = {
    use crate::table::{date, float, integer, text};
    &[
        text("area_code"),
        text("metric"),
        text("window"),
        text("period"),
        date("period_start"),
        date("period_end"),
        integer("numerator"),
        integer("denominator"),
        float("value"),
        float("lower95"),
        float("upper95"),
        text("unit"),
        text("status"),
    ]
};

/// A result row rendered cell by cell, by column name: the board pack edits the counts and
/// the value by name for disclosure control, never by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowCells {
    pub area_code: String,
    pub metric: String,
    pub window: String,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub numerator: String,
    pub denominator: String,
    pub value: String,
    pub lower95: String,
    pub upper95: String,
    pub unit: String,
    pub status: String,
}

impl RowCells {
    /// The cells in `COLUMNS` order.
    pub(crate) fn into_vec(self) -> Vec<String> {
        vec![
            self.area_code,
            self.metric,
            self.window,
            self.period,
            self.period_start,
            self.period_end,
            self.numerator,
            self.denominator,
            self.value,
            self.lower95,
            self.upper95,
            self.unit,
            self.status,
        ]
    }
}

impl ResultRow {
    /// Where the row stands in the results table: by area, metric, window (as written) and
    /// period end. (`merge` sorts a shard's cells by the same four, as text.)
    pub(crate) fn order(&self) -> (&str, &str, &str, NaiveDate) {
        (
            &self.area_code,
            &self.metric,
            self.window.as_str(),
            self.period_end,
        )
    }

    /// The row's cells by name.
    pub(crate) fn named_cells(&self) -> RowCells {
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        RowCells {
            area_code: self.area_code.clone(),
            metric: self.metric.clone(),
            window: self.window.to_string(),
            period: self.period.clone(),
            period_start: self.period_start.to_string(),
            period_end: self.period_end.to_string(),
            numerator: opt(self.numerator),
            denominator: opt(self.denominator),
            value: self.value.clone().unwrap_or_default(),
            lower95: crate::table::num(self.lower95),
            upper95: crate::table::num(self.upper95),
            unit: self.unit.to_string(),
            status: self.status.to_string(),
        }
    }

    /// The row's cells in `COLUMNS` order.
    pub(crate) fn cells(&self) -> Vec<String> {
        self.named_cells().into_vec()
    }
}

/// The results as a Parquet file, made from the rows' own values: the file `Table::to_parquet`
/// makes of their cells (`ResultRow::cells`), value for value, without rendering thirteen
/// strings a row and reading them back (the single-core tail of a many-area run).
pub(crate) fn to_parquet(rows: &[ResultRow]) -> Result<Vec<u8>, String> {
    use crate::extract::values::days;
    use crate::table::Values;
    // A cell with no text is no value, as in `Table::to_parquet`.
    let text = |f: fn(&ResultRow) -> &str| {
        Values::Text(
            rows.iter()
                .map(|r| Some(f(r)).filter(|s| !s.is_empty()))
                .collect(),
        )
    };
    let day = |f: fn(&ResultRow) -> NaiveDate| {
        Values::Date(rows.iter().map(|r| Some(days(f(r)))).collect())
    };
    let count = |f: fn(&ResultRow) -> Option<u64>| {
        Values::Integer(
            rows.iter()
                .map(|r| f(r).and_then(|n| n.try_into().ok()))
                .collect(),
        )
    };
    // An interval's bound is written only when finite (`table::num`); Rust prints a float
    // as the shortest text that reads back as the same number, so the number is the cell's.
    let bound = |f: fn(&ResultRow) -> Option<f64>| {
        Values::Float(
            rows.iter()
                .map(|r| f(r).filter(|x| x.is_finite()))
                .collect(),
        )
    };
    let values = vec![
        text(|r| &r.area_code),
        text(|r| &r.metric),
        text(|r| r.window.as_str()),
        text(|r| &r.period),
        day(|r| r.period_start),
        day(|r| r.period_end),
        count(|r| r.numerator),
        count(|r| r.denominator),
        Values::Float(
            rows.iter()
                .map(|r| r.value.as_deref().filter(|v| !v.is_empty()))
                .map(|v| v.and_then(|v| v.parse().ok()))
                .collect(),
        ),
        bound(|r| r.lower95),
        bound(|r| r.upper95),
        text(|r| r.unit.as_str()),
        text(|r| r.status.as_str()),
    ];
    crate::table::parquet(COLUMNS, values)
}

#[cfg(test)]
mod tests {
    use super::COLUMNS;

    /// The benchmarks extract reads compute's output for many areas: its contract form is
    /// compute's columns, in order.
    #[test]
    fn the_benchmarks_contract_reads_the_results_table() {
        let results: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        let contract: Vec<&str> = crate::contract::BENCHMARK_RESULTS
            .columns
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(results, contract);
    }

    /// The Parquet file made from the rows is the one their cells make, byte for byte, on
    /// every kind of value: none, an empty text, a count, a fraction, a bound that is not
    /// finite (no value), a count too large for Int64 (no value, as its text reads).
    #[test]
    fn results_parquet_from_rows_is_that_of_their_cells() {
        use super::{to_parquet, ResultRow, ResultStatus};
        use crate::catalogue::Unit;
        use crate::period::Window;
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        let row = |area: &str, value: Option<&str>, n: Option<u64>, lo: Option<f64>| ResultRow {
            area_code: area.into(),
            metric: "ascof-2a".into(),
            window: Window::Rolling12Months,
            period: "2024-25".into(),
            period_start: day(2024, 4, 1),
            period_end: day(2025, 3, 31),
            numerator: n,
            denominator: n.map(|n| n.saturating_add(7)),
            value: value.map(Into::into),
            lower95: lo,
            upper95: lo.map(|x| x + 0.1),
            unit: Unit::Percent,
            status: ResultStatus::Ok,
        };
        let rows = [
            row("E08000033", Some("12.3"), Some(41), Some(10.25)),
            row("E08000034", None, None, None),
            row("", Some(""), Some(0), Some(f64::NAN)),
            row(
                "E06000001",
                Some("0.1"),
                Some(u64::MAX),
                Some(f64::INFINITY),
            ),
            row("E06000002", Some("7"), Some(3), Some(1e-7)),
        ];
        let mut table = crate::table::Table::new(super::COLUMNS);
        for r in &rows {
            table.push(r.cells());
        }
        assert_eq!(to_parquet(&rows), table.to_parquet());
    }
}
