//! The gap between the two ASCOF methods explained (metrics.md §16, `compute
//! --explain-method`): each ASCOF figure under bcfmon's method, under each DHSC rule alone and
//! under DHSC's method, with how many people (episodes for ascof-2a) each moved into or out of
//! its numerator and denominator. Counts only: no identifier leaves the engine.

use super::people::{moved, Tally};
use super::{compute_with, plan, spans, Data, Request, ResultRow};
use crate::method::{Rules, RULES};
use crate::period::{window_bounds, Month};
use crate::programme::Programme;
use crate::table::Column;
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The columns of the gap table, in order: the results table's first six (what the row is
/// about), the way of counting, and its figures with the people it moved.
pub(crate) fn gap_columns() -> Vec<Column> {
    use crate::table::{float, integer, text};
    let mut columns = super::COLUMNS[..6].to_vec();
    columns.extend([
        text("rule"),
        integer("numerator"),
        integer("denominator"),
        float("value"),
        text("status"),
        integer("numerator_moved"),
        integer("denominator_moved"),
    ]);
    columns
}

/// One ASCOF figure counted one way: `bcfmon`, a rule alone (`D1`…`D9`) or `dhsc`, with the
/// people it moved compared with `bcfmon` (none for `bcfmon` itself).
#[derive(Debug, Clone)]
pub(crate) struct GapRow {
    pub row: ResultRow,
    pub rule: &'static str,
    /// People moved into or out of the numerator, and the denominator (none for a rate
    /// over a population).
    pub moved: Option<(u64, Option<u64>)>,
}

impl GapRow {
    /// The row's cells in `gap_columns` order.
    pub(crate) fn cells(&self) -> Vec<String> {
        let c = self.row.named_cells();
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        vec![
            c.area_code,
            c.metric,
            c.window,
            c.period,
            c.period_start,
            c.period_end,
            self.rule.to_string(),
            c.numerator,
            c.denominator,
            c.value,
            c.status,
            opt(self.moved.map(|m| m.0)),
            opt(self.moved.and_then(|m| m.1)),
        ]
    }
}

/// The ways of counting compared: bcfmon's method, each rule alone, DHSC's method.
fn ways() -> Vec<(&'static str, Rules)> {
    std::iter::once(("bcfmon", Rules::NONE))
        .chain(RULES.iter().map(|r| (r.as_str(), Rules::only(*r))))
        .chain(std::iter::once(("dhsc", Rules::ALL)))
        .collect()
}

/// A family's people moved between bcfmon's method and `rules`, for a request's windows.
type Moved = HashMap<(&'static str, Rules, Vec<super::Span>), Arc<Tally>>;

/// The gap table for the ASCOF requests (the metrics that follow a method) over `months`
/// and `areas` (every area when `None`), with notes on what could not be computed.
pub(crate) fn explain(
    data: &Data,
    programme: &Programme,
    requests: &[Request],
    months: &[Month],
    areas: Option<&[String]>,
) -> Result<(Vec<GapRow>, Vec<String>), String> {
    let batches = data.batches(areas);
    let home = super::home_area(programme, areas);
    let parts = super::by_batch(data, &batches, &home, |d, unplanned| {
        explain_batch(d, programme, requests, months, areas, unplanned)
    })?;
    let mut out = Vec::new();
    let mut notes = BTreeSet::new();
    for (rows, n) in parts {
        out.extend(rows);
        notes.extend(n);
    }
    out.sort_by(|a, b| a.row.order().cmp(&b.row.order()));
    Ok((out, notes.into_iter().collect()))
}

/// The gap table of one batch's data.
fn explain_batch(
    data: &Data,
    programme: &Programme,
    requests: &[Request],
    months: &[Month],
    areas: Option<&[String]>,
    unplanned: bool,
) -> (Vec<GapRow>, BTreeSet<String>) {
    let mut out = Vec::new();
    let mut notes = BTreeSet::new();
    let mut cache: Moved = HashMap::new();
    let bar = indicatif::ProgressBar::hidden();
    for (label, rules) in ways() {
        let (rows, n) = compute_with(
            data, programme, requests, months, areas, rules, unplanned, &bar,
        );
        notes.extend(n);
        // Each request's moved counts, found by the month its row ends.
        let mut by_request: HashMap<(String, crate::period::Window), Counted> = HashMap::new();
        for req in requests {
            let counted = moved_for(data, programme, req, months, rules, &mut cache);
            by_request.insert((req.metric.clone(), req.window), counted);
        }
        for row in rows {
            let moved = by_request
                .get(&(row.metric.clone(), row.window))
                .and_then(|c| c.get(&row))
                .filter(|_| rules != Rules::NONE && row.numerator.is_some());
            out.push(GapRow {
                row,
                rule: label,
                moved,
            });
        }
    }
    (out, notes)
}

/// A request's moved counts: the tally, the month index of each window end, and the slots
/// of its numerator and denominator.
struct Counted {
    tally: Option<Arc<Tally>>,
    month_of: HashMap<NaiveDate, usize>,
    n: super::Slot,
    d: Option<super::Slot>,
}

impl Counted {
    fn get(&self, row: &ResultRow) -> Option<(u64, Option<u64>)> {
        let t = self.tally.as_ref()?;
        let mi = *self.month_of.get(&row.period_end)?;
        let a = &row.area_code;
        Some((t.get(mi, a, self.n), self.d.map(|d| t.get(mi, a, d))))
    }
}

fn moved_for(
    data: &Data,
    programme: &Programme,
    req: &Request,
    months: &[Month],
    rules: Rules,
    cache: &mut Moved,
) -> Counted {
    let month_of = months
        .iter()
        .enumerate()
        .filter_map(|(i, m)| window_bounds(req.window, *m).map(|(_, we)| (we, i)))
        .collect();
    let none = |n, d| Counted {
        tally: None,
        month_of: HashMap::new(),
        n,
        d,
    };
    let (Ok(base), Ok(with)) = (
        plan(req, data, programme, Rules::NONE),
        plan(req, data, programme, rules),
    ) else {
        return none(super::Slot(0), None);
    };
    let (Some(a), Some(b)) = (&base.tallied, &with.tallied) else {
        return none(super::Slot(0), None);
    };
    let (Some(pa), Some(pb)) = (&a.by_person, &b.by_person) else {
        return none(a.n, a.d);
    };
    let windows = spans(&with, req, months);
    let key = (a.family, rules, windows);
    let tally = match cache.get(&key) {
        Some(t) => t.clone(),
        None => {
            let t = Arc::new(moved(
                (pa.people, &pa.count),
                (pb.people, &pb.count),
                &key.2,
                pa.slots,
            ));
            cache.insert(key, t.clone());
            t
        }
    };
    Counted {
        tally: Some(tally),
        month_of,
        n: a.n,
        d: a.d,
    }
}
