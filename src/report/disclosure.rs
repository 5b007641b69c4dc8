//! Disclosure control on board-facing pages (design.md): counts from 1 to `max_count` are
//! shown as the marker and the figures derived from them are suppressed.

use super::*;

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

impl Disclose<'_> {
    /// The judged KPI table as the board may see it (metrics.csv/json): a small numerator
    /// or denominator is shown as the marker; the value and its interval, derived from it,
    /// are suppressed.
    pub(crate) fn judged_table(
        &self,
        judged: &[JudgedRow],
        wording: &crate::programme::Wording,
    ) -> crate::table::Table<'static> {
        let mut table = crate::table::Table::new(crate::judge::JUDGED_COLUMNS);
        for j in judged {
            table.push(j.cells_from(self.row_cells(&j.row), wording));
        }
        table
    }

    /// A result row's cells as the board may see them: a small numerator or denominator as
    /// the marker, and the value and its interval, derived from it, suppressed.
    pub(crate) fn row_cells(&self, row: &crate::metrics::ResultRow) -> crate::metrics::RowCells {
        let marker = &self.0.marker;
        let mut cells = row.named_cells();
        if self.row(row) {
            if self.small(row.numerator) {
                cells.numerator = marker.clone();
            }
            if self.small(row.denominator) {
                cells.denominator = marker.clone();
            }
            for derived in [&mut cells.value, &mut cells.lower95, &mut cells.upper95] {
                if !derived.is_empty() {
                    *derived = marker.clone();
                }
            }
        }
        cells
    }
}
