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
}
