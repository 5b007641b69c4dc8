//! The `metrics` stage: the built-in catalogue families and local metrics, computed with
//! polars for every area, window and month end the data's coverage allows, as tidy rows.

pub(crate) mod ascof;
pub(crate) mod chc;
pub(crate) mod discharge_reablement;
pub(crate) mod hospital;
pub(crate) mod people;
pub(crate) mod reablement;
pub(crate) mod safeguarding;

pub(crate) mod catalogue;
mod data;
mod gap;
mod results;

use crate::extract::all::absent_reason;
use data::covered;
pub(crate) use data::{months_in, Data};
pub(crate) use gap::{explain, gap_columns, GapRow};
pub(crate) use results::{to_parquet, Request, ResultRow, ResultStatus, RowCells, COLUMNS};

use crate::catalogue::{MetricDef, Unit};
use crate::extract::values::days;
use crate::method::{Rule, Rules};
use crate::period::{window_bounds, window_label, Month};
use crate::programme::{LocalMetric, Programme};
use crate::rounding::ratio_1dp;
use crate::stats::ci;
use chrono::NaiveDate;
use people::{People, PersonCount, Slot, Span, Tally};
use polars::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A request's tally (none for a row-counting plan), and where each of its windows is in it
/// (none for a window not in the family's tally: no area of the request can report it).
type TallyAt = (Option<Result<Arc<Tally>, String>>, Vec<Option<usize>>);

/// A family's pass: its tally for the windows given.
type MakeTally<'a> = Box<dyn Fn(&[Span]) -> Result<Tally, String> + 'a>;

/// A metric as the engine knows it: which extract, unit, and how to count in a window.
struct Plan<'a> {
    source: &'static str,
    unit: Unit,
    snapshot: bool,
    /// The frame to count over (with derived columns added).
    frame: DataFrame,
    area: &'static str,
    /// Numerator and denominator per window; `None` for the denominator of a count, or
    /// when it is a population.
    exprs: Box<dyn Fn(NaiveDate, NaiveDate) -> (Expr, Option<Expr>)>,
    /// For day averages: the value summed for the numerator (else the numerator is a count).
    summed: Option<Expr>,
    /// The population band that is the denominator of a rate (`65+`, `18-64`).
    population: Option<&'static str>,
    /// Rules whose only window condition is a date in [ws, we]: counted for every window
    /// from each row's date, instead of `exprs`.
    dated: Option<Dated<'a>>,
    /// Families that count people rather than rows fill a tally of every window in one
    /// pass instead of `exprs`.
    tallied: Option<Tallied<'a>>,
    /// Days of history the window needs before ws (metrics.md §0.4).
    lookback: i64,
    /// Days of follow-up the window needs after we.
    lookahead: i64,
    /// A second extract whose coverage must also span the look-back and look-ahead (ascof-2d
    /// needs both events and discharges, metrics.md §0.4).
    also_covered_by: Option<&'static str>,
}

/// A date as a polars date literal. polars makes a `NaiveDate` literal a datetime (midnight),
/// so comparing a date column with one converts the whole column to datetimes at every window
/// end; as a date the comparison is of whole days, with the same answer.
pub(crate) fn date_lit(d: NaiveDate) -> Expr {
    lit(crate::extract::values::days(d)).cast(DataType::Date)
}

/// The aggregations of one window of a row-counting plan, suffixed with its index: the
/// numerator count `n_i`, the denominator `d_i`, and for day averages the sum `s_i` and sum
/// of squares `s2_i` of the summed value over the numerator rows.
fn window_aggs(num: &Expr, den: Option<&Expr>, summed: Option<&Expr>, i: usize) -> Vec<Expr> {
    let mut aggs = vec![num
        .clone()
        .cast(DataType::UInt64)
        .sum()
        .alias(format!("n_{i}"))];
    if let Some(d) = den {
        aggs.push(
            d.clone()
                .cast(DataType::UInt64)
                .sum()
                .alias(format!("d_{i}")),
        );
    }
    if let Some(s) = summed {
        aggs.push(
            when(num.clone())
                .then(s.clone())
                .otherwise(lit(0))
                .cast(DataType::Int64)
                .sum()
                .alias(format!("s_{i}")),
        );
        aggs.push(
            when(num.clone())
                .then(s.clone() * s.clone())
                .otherwise(lit(0))
                .cast(DataType::Int64)
                .sum()
                .alias(format!("s2_{i}")),
        );
    }
    aggs
}

/// A row-counting rule whose window only selects rows by one date: counted for every window
/// from each row's date.
// One per plan: the size of its larger variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Dated<'a> {
    /// Over the plan's frame: the date column, and the window-free numerator and denominator
    /// (a day average's summed value is the plan's).
    Exprs {
        date: String,
        num: Expr,
        den: Option<Expr>,
    },
    /// The hospital metrics, over the batch's spells: their rows, what the figure is of
    /// them, and the areas with spells.
    Spells {
        rows: Box<dyn Fn() -> DatedRows + 'a>,
        figure: SpellFigure,
        areas: Vec<&'a str>,
    },
}

/// What a hospital metric's figure is of its spells' rows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SpellFigure {
    /// The numerator spells, over a population (or alone).
    Count,
    /// The numerator spells over the denominator spells.
    Ratio,
    /// The mean of the summed value over the numerator spells.
    Mean,
}

impl Dated<'_> {
    fn has_den(&self) -> bool {
        match self {
            Dated::Exprs { den, .. } => den.is_some(),
            Dated::Spells { figure, .. } => *figure != SpellFigure::Count,
        }
    }
}

impl Plan<'_> {
    /// Whether the figure is a mean of a summed value (a day average).
    fn is_mean(&self) -> bool {
        self.summed.is_some()
            || matches!(
                self.dated,
                Some(Dated::Spells {
                    figure: SpellFigure::Mean,
                    ..
                })
            )
    }
}

/// A dated plan's rows as the windows count them: the areas (in order of first appearance)
/// and, for each row, its area, day, whether it is in the numerator and the denominator, and
/// its summed value (0 where the plan sums nothing).
pub(super) struct DatedRows {
    areas: Vec<String>,
    items: Vec<(usize, i32, bool, bool, u64)>,
}

/// Selects a dated plan's rows: from the spells, or by one query giving each row's area,
/// date and flags.
fn dated_rows(plan: &Plan<'_>, dt: &Dated) -> Result<DatedRows, String> {
    let (date, num, den) = match dt {
        Dated::Spells { rows, .. } => return Ok(rows()),
        Dated::Exprs { date, num, den } => (date, num, den),
    };
    let (frame, area) = (&plan.frame, plan.area);
    let mut select = vec![
        col(area).alias("a"),
        col(date.as_str()).cast(DataType::Int32).alias("t"),
        num.clone().fill_null(lit(false)).alias("n"),
        den.clone()
            .unwrap_or(lit(false))
            .fill_null(lit(false))
            .alias("d"),
    ];
    if let Some(s) = &plan.summed {
        select.push(
            when(num.clone())
                .then(s.clone())
                .otherwise(lit(0))
                .cast(DataType::Int64)
                .alias("s"),
        );
    }
    let rows = frame
        .clone()
        .lazy()
        .select(select)
        .filter(
            col("n")
                .or(col("d"))
                .and(col("t").is_not_null())
                .and(col("a").is_not_null()),
        )
        .collect()
        .map_err(|e| e.to_string())?;
    let get = |name: &str| rows.column(name).map_err(|e| e.to_string());
    let (a, t, n, d) = (
        get("a")?.str().map_err(|e| e.to_string())?,
        get("t")?.i32().map_err(|e| e.to_string())?,
        get("n")?.bool().map_err(|e| e.to_string())?,
        get("d")?.bool().map_err(|e| e.to_string())?,
    );
    let s = match get("s") {
        Ok(c) => Some(c.i64().map_err(|e| e.to_string())?.clone()),
        Err(_) => None,
    };
    let mut areas: Vec<String> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut items = Vec::with_capacity(rows.height());
    let mut last: Option<(&str, usize)> = None;
    for (i, ((a, t), (n, d))) in a
        .iter()
        .zip(t.iter())
        .zip(n.iter().zip(d.iter()))
        .enumerate()
    {
        let (Some(a), Some(t)) = (a, t) else { continue };
        // A batch's rows come area by area: only a change of area is looked up.
        let k = match last {
            Some((name, k)) if name == a => k,
            _ => {
                let k = *index.entry(a).or_insert_with(|| {
                    areas.push(a.to_string());
                    areas.len() - 1
                });
                last = Some((a, k));
                k
            }
        };
        // Delays are never negative (D04 drops a ready date after the discharge).
        let v = s.as_ref().and_then(|s| s.get(i)).unwrap_or(0).max(0) as u64;
        items.push((k, t, n == Some(true), d == Some(true), v));
    }
    Ok(DatedRows { areas, items })
}

/// A dated plan's rows from the batch's spells: each spell with a `date`, in its area, with
/// `pick`'s numerator and denominator flags and summed value; spells in neither are left
/// out.
pub(super) fn spell_rows(
    spells: &crate::extract::discharges::Spells,
    date: &[Option<i32>],
    pick: impl Fn(usize) -> (bool, bool, u64),
) -> DatedRows {
    let (mut areas, mut items) = (Vec::new(), Vec::new());
    let mut from = 0;
    // An area's spells run together, each area once.
    for (name, n) in &spells.areas {
        let mut key = None;
        for (i, t) in (from..).zip(&date[from..from + n]) {
            let Some(t) = *t else { continue };
            let (num, den, v) = pick(i);
            if num || den {
                let k = *key.get_or_insert_with(|| {
                    areas.push(name.clone());
                    areas.len() - 1
                });
                items.push((k, t, num, den, v));
            }
        }
        from += n;
    }
    DatedRows { areas, items }
}

/// Counts a dated plan's rows into every window holding their date. Slots: numerator,
/// denominator, sum and sum of squares of the summed value over the numerator rows.
fn count_dated(rows: &DatedRows, windows: &[Span]) -> Tally {
    let mut by_day = people::DayCounts::new(windows, rows.areas.len(), DATED_SLOTS);
    for &(k, t, n, d, v) in &rows.items {
        if n {
            by_day.add(k, t, DATED_NUMERATOR, 1);
            by_day.add(k, t, DATED_SUM, v);
            by_day.add(k, t, DATED_SUM_OF_SQUARES, v * v);
        }
        if d {
            by_day.add(k, t, DATED_DENOMINATOR, 1);
        }
    }
    by_day.tally(rows.areas.clone(), windows)
}

/// A dated plan's slots: the numerator rows, the denominator rows, and over the numerator
/// rows the sum and sum of squares of the summed value (a day average's days).
const DATED_NUMERATOR: Slot = Slot(0);
const DATED_DENOMINATOR: Slot = Slot(1);
const DATED_SUM: Slot = Slot(2);
const DATED_SUM_OF_SQUARES: Slot = Slot(3);
const DATED_SLOTS: usize = 4;

/// A family's single pass over all the windows of a request, and the slots of the tally
/// that hold this metric's numerator and denominator.
struct Tallied<'a> {
    /// Requests of one family over the same windows (and rules) share its pass.
    family: &'static str,
    rules: Rules,
    make: MakeTally<'a>,
    /// A family that counts person by person, to compare two methods on the same people.
    by_person: Option<ByPerson<'a>>,
    n: Slot,
    d: Option<Slot>,
}

/// A family's count of one person, with the people and how many slots it fills.
#[derive(Clone)]
struct ByPerson<'a> {
    people: &'a People,
    count: PersonCount<'a>,
    slots: usize,
}

/// One request of a built-in metric, as its family's plan function sees it: the metric's
/// declaration, the breakdown and parameters asked for, the run's data and the settings a
/// rule may need.
struct Ask<'r, 'a> {
    def: &'static MetricDef,
    req: &'r Request,
    breakdown: Option<&'r str>,
    data: &'a Data,
    /// The programme's bank holidays, for working-day timescales.
    bank_holidays: &'r [NaiveDate],
    /// The rules of the method the metric follows (none for metrics that follow no method).
    rules: Rules,
}

impl<'a> Ask<'_, 'a> {
    /// A parameter of the KPI (`[kpi.params]`), or its default.
    fn param<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.req.params.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                format!(
                    "parameter {name} = {v:?} of {} is not valid",
                    self.req.metric
                )
            }),
        }
    }

    /// An extract's frame, or why it is missing.
    fn frame_ref(&self, name: &str) -> Result<&'a DataFrame, String> {
        let data = self.data;
        data.frame(name)
            .unwrap_or_else(|| Err(data.missing.get(name).cloned().unwrap_or_default()))
    }

    /// The batch's discharges as plain columns (`Spells`).
    fn spells(&self) -> Result<&'a crate::extract::discharges::Spells, String> {
        self.data.spells()
    }

    /// An extract's frame for a plan that owns it (a polars frame shares its buffers, so the
    /// copy is cheap).
    fn frame(&self, name: &str) -> Result<DataFrame, String> {
        self.frame_ref(name).cloned()
    }

    /// The events grouped by person, and the events.
    fn people_and_events(
        &self,
    ) -> Result<(&'a People, &'a crate::extract::events::Events), String> {
        Ok((people(self.data, self.rules)?, events(self.data)?))
    }

    /// The events grouped by person.
    fn people(&self) -> Result<&'a People, String> {
        people(self.data, self.rules)
    }

    /// A plan that counts the rows of one extract with a numerator and denominator per window.
    fn simple(
        &self,
        source: &'static str,
        frame: DataFrame,
        exprs: Box<dyn Fn(NaiveDate, NaiveDate) -> (Expr, Option<Expr>)>,
    ) -> Plan<'a> {
        Plan {
            source,
            unit: self.def.unit,
            snapshot: self.def.snapshot,
            frame,
            area: crate::contract::area_column(source),
            exprs,
            summed: None,
            population: None,
            dated: None,
            tallied: None,
            lookback: 0,
            lookahead: 0,
            also_covered_by: None,
        }
    }

    /// The hospital metrics: spells counted by one of their dates (see `Dated`), each
    /// with its numerator and denominator flags and summed value from `rows`, into a
    /// `figure`.
    fn spells_dated(
        &self,
        figure: SpellFigure,
        rows: impl Fn(&'a crate::extract::discharges::Spells) -> DatedRows + 'a,
    ) -> Result<Plan<'a>, String> {
        let spells = self.spells()?;
        let mut p = self.simple("discharges", DataFrame::empty(), no_exprs());
        p.dated = Some(Dated::Spells {
            rows: Box::new(move || rows(spells)),
            figure,
            areas: spells.areas.iter().map(|(a, _)| a.as_str()).collect(),
        });
        Ok(p)
    }

    /// A plan whose family counts people over the events in one pass for every window.
    fn tallied(
        &self,
        family: &'static str,
        make: MakeTally<'a>,
        n: Slot,
        d: Option<Slot>,
    ) -> Plan<'a> {
        let mut p = self.simple("events", DataFrame::empty(), no_exprs());
        p.tallied = Some(Tallied {
            family,
            rules: self.rules,
            make,
            by_person: None,
            n,
            d,
        });
        p
    }

    /// A plan whose family counts the people one by one (`PersonCount`) into `slots`.
    fn counted(
        &self,
        family: &'static str,
        people: &'a People,
        slots: usize,
        count: PersonCount<'a>,
        n: Slot,
        d: Option<Slot>,
    ) -> Plan<'a> {
        let each = count.clone();
        let make: MakeTally<'a> =
            Box::new(move |w| Ok(people.tally(w.len(), slots, |p, t| each(p, w, t))));
        let mut p = self.tallied(family, make, n, d);
        if let Some(t) = &mut p.tallied {
            t.by_person = Some(ByPerson {
                people,
                count,
                slots,
            });
        }
        p
    }
}

/// A request's plan, under `rules` when the metric follows a method.
fn plan<'a>(
    req: &Request,
    data: &'a Data,
    programme: &Programme,
    rules: Rules,
) -> Result<Plan<'a>, String> {
    if let Some(local) = programme.local_metrics().find(|m| m.id == req.metric) {
        return plan_local(local, data);
    }
    let (base, breakdown) = crate::catalogue::split_breakdown(&req.metric);
    let metric = catalogue::lookup(base).ok_or_else(|| format!("unknown metric {base}"))?;
    (metric.plan)(&Ask {
        def: &metric.def,
        req,
        breakdown,
        data,
        bank_holidays: &programme.settings.bank_holidays,
        rules: if metric.def.follows_method {
            rules
        } else {
            Rules::NONE
        },
    })
}

fn events(data: &Data) -> Result<&crate::extract::events::Events, String> {
    data.events.as_ref().ok_or_else(|| {
        data.missing
            .get("events")
            .cloned()
            .unwrap_or_else(|| "no events extract".into())
    })
}

/// The row expressions of a plan that counts another way (by dates, or by a family's tally).
fn no_exprs() -> Box<dyn Fn(NaiveDate, NaiveDate) -> (Expr, Option<Expr>)> {
    Box::new(|_, _| (lit(false), None))
}

/// The events grouped by person under the row rules of `rules`, made once per run for each
/// set of them when a family first needs it.
fn people(data: &Data, rules: Rules) -> Result<&People, String> {
    let ev = events(data)?;
    let coverage = |area: &str| {
        data.coverage_for("events", area)
            .map(|(s, e)| (days(s), days(e)))
    };
    data.people[rules.row_set()]
        .get_or_init(|| Ok(Arc::new(People::new(ev, rules.on_rows(), &coverage))))
        .as_ref()
        .map(|p| p.as_ref())
        .map_err(|e| e.clone())
}

fn plan_local<'a>(m: &LocalMetric, data: &'a Data) -> Result<Plan<'a>, String> {
    let source: &'static str = crate::contract::extract(&m.source)
        .map(|e| e.name)
        .ok_or("unknown source")?;
    let f = if source == "events" {
        let ev = events(data)?;
        data.decoded
            .get_or_init(|| ev.decoded().map_err(|e| e.to_string()))
            .clone()?
    } else {
        match data.frame(source) {
            Some(frame) => frame?.clone(),
            None => Err(data.missing.get(source).cloned().unwrap_or_else(|| {
                format!("no {source} extract is read by this version of bcfmon")
            }))?,
        }
    };
    let numerator = crate::local::parse_condition(&m.numerator)?;
    let denominator = m
        .denominator
        .as_deref()
        .map(crate::local::parse_condition)
        .transpose()?;
    let date = m.date.clone();
    // A date column counts by its dates; any other column keeps the per-window comparison.
    let dated = f
        .column(&date)
        .is_ok_and(|c| c.dtype() == &DataType::Date)
        .then(|| Dated::Exprs {
            date: date.clone(),
            num: numerator.clone(),
            den: denominator.clone(),
        });
    let area = crate::contract::area_column(source);
    Ok(Plan {
        source,
        unit: m.unit,
        snapshot: false,
        frame: f,
        area,
        exprs: Box::new(move |ws, we| {
            let inside = col(date.as_str())
                .gt_eq(lit(ws))
                .and(col(date.as_str()).lt_eq(lit(we)))
                .fill_null(lit(false));
            (
                inside.clone().and(numerator.clone().fill_null(lit(false))),
                denominator
                    .clone()
                    .map(|d| inside.and(d.fill_null(lit(false)))),
            )
        }),
        summed: None,
        population: None,
        dated,
        tallied: None,
        lookback: 0,
        lookahead: 0,
        also_covered_by: None,
    })
}

/// The population extract by area and band: each (year, population) in file order, for
/// finding a window's denominator without a scan of the whole extract for every area and
/// month (a national run would scan 150 areas' rows for each area's every month end). Rows
/// without an area, band or year never match.
struct Populations<'d>(HashMap<(&'d str, &'d str), Vec<YearPopulation>>);

/// A population row's year and count.
type YearPopulation = (i32, Option<u64>);

impl<'d> Populations<'d> {
    fn of(data: &'d Data) -> Populations<'d> {
        let mut by = HashMap::new();
        let Some(Ok(df)) = data.frame("population") else {
            return Populations(by);
        };
        let column = |name: &str| df.column(name).ok();
        let (Some(a), Some(y), Some(b), Some(p)) = (
            column(crate::contract::area_column("population")).and_then(|c| c.str().ok()),
            column("Year").and_then(|c| c.i32().ok()),
            column("band").and_then(|c| c.str().ok()),
            column("population").and_then(|c| c.u64().ok()),
        ) else {
            return Populations(by);
        };
        for (((a, y), b), p) in a.iter().zip(y.iter()).zip(b.iter()).zip(p.iter()) {
            if let (Some(a), Some(y), Some(b)) = (a, y, b) {
                by.entry((a, b)).or_insert_with(Vec::new).push((y, p));
            }
        }
        Populations(by)
    }

    /// The population of an area's band for the year a window starts, else the latest
    /// earlier year (carried forward); of two rows for the same year, the later one.
    fn get(&self, area: &str, year: i32, band: &str) -> Option<u64> {
        self.0
            .get(&(area, band))?
            .iter()
            .filter(|(y, _)| *y <= year)
            .max_by_key(|(y, _)| *y)
            .and_then(|(_, p)| *p)
    }
}

/// Computes every request at every month end for the given areas (all areas present in the
/// data when `areas` is `None`), by the programme's method. Returns the rows, in the results
/// table's order (`ResultRow::order`), and notes on what could not be computed.
pub(crate) fn compute(
    data: &Data,
    programme: &Programme,
    requests: &[Request],
    months: &[Month],
    areas: Option<&[String]>,
) -> Result<(Vec<ResultRow>, Vec<String>), String> {
    let rules = programme.settings.method.rules();
    let batches = data.batches(areas);
    // The metrics of extracts held whole (safeguarding, CHC: small beside the events) are
    // computed once over every area: their cost is per window, not per row, so a batch at a
    // time paid it once per batch (eight times on 4.1M rows over 40 areas) for the same rows.
    let (whole, batched): (Vec<Request>, Vec<Request>) =
        requests.iter().cloned().partition(|r| held_whole(r, data));
    // A bar on a terminal only (indicatif draws nothing when stderr is not one, as in CI).
    let windows = (batches.len() * batched.len() + whole.len()) * months.len().max(1);
    let bar = indicatif::ProgressBar::new(windows as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg:24} [{bar:24}] {pos}/{len} windows, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    // The whole extracts' metrics beside the batches: they are small, and fill the gaps the
    // batches leave on the two cores (a batch waits for its slowest step on one core).
    let (parts, whole_part) = std::thread::scope(|scope| {
        let whole_part =
            scope.spawn(|| compute_with(data, programme, &whole, months, areas, rules, true, &bar));
        let parts = by_batch(
            data,
            &batches,
            &home_area(programme, areas),
            |d, unplanned| {
                compute_with(
                    d, programme, &batched, months, areas, rules, unplanned, &bar,
                )
            },
        );
        // A panic there is passed on as it was, not as a second one.
        let whole_part = whole_part
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (parts, whole_part)
    });
    let mut parts = parts?;
    parts.push(whole_part);
    bar.finish_and_clear();
    let mut rows = Vec::new();
    let mut notes = BTreeSet::new();
    for (r, n) in parts {
        rows.extend(r);
        notes.extend(n);
    }
    // In the results table's order (a stable sort: a row's ties keep the order computed).
    rayon::slice::ParallelSliceMut::par_sort_by(&mut rows[..], |a, b| a.order().cmp(&b.order()));
    Ok((rows, notes.into_iter().collect()))
}

/// Whether a request's metric reads only extracts held whole in memory (not the events or
/// discharges, which are kept by area and read a batch at a time): a catalogue metric whose
/// sources are all loaded frames. A local metric is computed by batch, as it may read the
/// events.
fn held_whole(req: &Request, data: &Data) -> bool {
    req.definition()
        .is_some_and(|m| m.sources.iter().all(|s| data.frames.contains_key(*s)))
}

/// Runs `each` on the data of every batch of areas (`Data::batches`), two batches side by
/// side, giving the results in batch order. `each` is also told whether its batch lists
/// what no area can compute (the rows of the programme's area for a metric without a
/// plan): one batch does, the one holding that area, else the first.
pub(super) fn by_batch<T: Send>(
    data: &Data,
    batches: &[Vec<String>],
    home: &str,
    each: impl Fn(&Data, bool) -> T + Sync,
) -> Result<Vec<T>, String> {
    let lister = batches
        .iter()
        .position(|b| b.iter().any(|a| a == home))
        .unwrap_or(0);
    // Two at a time: a batch already uses both cores for part of its work, and memory is
    // that of the batches in flight. Each of two threads takes the next batch when its own
    // is done; their parallel steps share rayon's pool. (A two-thread pool of their own
    // left one thread mostly waiting: rayon's work-stealing gave it only pieces of the
    // other's steps, so the batches' serial steps ran one batch at a time.)
    let next = AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<Result<T, String>>>> =
        std::sync::Mutex::new((0..batches.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    // A failure or a panic stops the run: no more batches are started.
                    let stop = StopBatches(&next, batches.len());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = batches.get(i) else { break };
                        let out = data.batch(b).map(|d| each(&d, i == lister));
                        let failed = out.is_err();
                        // Never held while a batch runs, so never poisoned by one.
                        done.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(out);
                        if failed {
                            stop.now();
                        }
                    }
                })
            })
            .collect();
        // A batch's panic is passed on as it was.
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    done.into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Stops `by_batch` from starting more batches: when told, or when its thread panics.
struct StopBatches<'a>(&'a AtomicUsize, usize);

impl StopBatches<'_> {
    fn now(&self) {
        self.0.store(self.1, Ordering::Relaxed);
    }
}

impl Drop for StopBatches<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.now();
        }
    }
}

/// The area whose rows list what cannot be computed: the first area asked for, else the
/// programme's.
pub(super) fn home_area(programme: &Programme, areas: Option<&[String]>) -> String {
    areas
        .and_then(|a| a.first().cloned())
        .unwrap_or_else(|| programme.settings.area.code.clone())
}

/// `compute` of one batch's data, with the metrics that follow a method counted under
/// `rules`; `unplanned` says whether this batch lists the rows of metrics with no plan.
#[allow(clippy::too_many_arguments)]
fn compute_with(
    data: &Data,
    programme: &Programme,
    requests: &[Request],
    months: &[Month],
    areas: Option<&[String]>,
    rules: Rules,
    unplanned: bool,
    bar: &indicatif::ProgressBar,
) -> (Vec<ResultRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut notes = BTreeSet::new();
    let mut area_lists: HashMap<&str, Vec<String>> = HashMap::new();
    let populations = Populations::of(data);
    let plans: Vec<Result<Plan<'_>, String>> = requests
        .iter()
        .map(|req| plan(req, data, programme, rules))
        .collect();
    // The areas each plan's rows are listed for, an extract's areas found once (by the
    // first plan that reads it, as the rows are listed in request order).
    let area_lists_of: Vec<Vec<String>> = plans
        .iter()
        .map(|plan| match (plan, areas) {
            // A plan that failed lists its rows for areas of its own (below).
            (Err(_), _) => Vec::new(),
            (Ok(_), Some(a)) => a.to_vec(),
            (Ok(plan), None) => area_lists
                .entry(plan.source)
                .or_insert_with(|| present_areas(plan, data))
                .clone(),
        })
        .collect();
    // Which of each request's windows some area of its list can report (`window_covered`):
    // the others' rows are insufficient-coverage, and no family counts them.
    let reported: Vec<Vec<bool>> = requests
        .iter()
        .zip(&plans)
        .zip(&area_lists_of)
        .map(|((req, plan), list)| match plan {
            Err(_) => Vec::new(),
            Ok(plan) => months
                .iter()
                .map(|m| {
                    window_bounds(req.window, *m)
                        .is_some_and(|w| list.iter().any(|a| window_covered(data, plan, w, a)))
                })
                .collect(),
        })
        .collect();
    let family_windows = family_windows(requests, &plans, months, &reported);
    count_together(data, &plans, &family_windows);
    for (ri, (req, plan)) in requests.iter().zip(plans).enumerate() {
        bar.set_message(req.metric.clone());
        bar.inc(months.len().max(1) as u64);
        let unit_of = || {
            programme
                .local_metrics()
                .find(|m| m.id == req.metric)
                .map(|m| m.unit)
                .or(req.definition().map(|d| d.unit))
                .unwrap_or(Unit::Count)
        };
        let plan = match plan {
            Ok(p) => p,
            Err(why) => {
                // An extract not supplied is named once, at the end of the run
                // (`absent_note`), not once for every metric it would have fed.
                if !data.absent.iter().any(|name| why == absent_reason(name)) {
                    notes.insert(format!("{} is not-computable: {why}", req.metric));
                }
                if !unplanned {
                    continue;
                }
                let area_list: Vec<String> = areas
                    .map(|a| a.to_vec())
                    .unwrap_or_else(|| vec![programme.settings.area.code.clone()])
                    .into_iter()
                    .filter(|a| data.shard.is_none_or(|s| s.holds(a)))
                    .collect();
                for m in months {
                    if let Some((ws, we)) = window_bounds(req.window, *m) {
                        for a in &area_list {
                            rows.push(empty_row(
                                a,
                                req,
                                *m,
                                ws,
                                we,
                                unit_of(),
                                ResultStatus::NotComputable,
                            ));
                        }
                    }
                }
                continue;
            }
        };
        // D8 (metrics.md §16): DHSC's output tables give 0 for a zero denominator.
        let zero_value = plan.tallied.as_ref().is_some_and(|t| t.rules.has(Rule::D8));
        let area_list = area_lists_of[ri].as_slice();
        // Row-counting plans: every window of the request in one pass over the frame (one
        // group-by with a numerator and denominator per window), not one query per window.
        let spans = spans(&plan, req, months);
        // A family's tally holds the windows its requests can report (`family_windows`):
        // `window_at` says where each of this request's windows is in it (a dated plan's
        // tally is its own).
        let (tally, window_at): TallyAt = match (&plan.tallied, &plan.dated) {
            (Some(t), _) => {
                let all = &family_windows[&(t.family, t.rules)];
                // A window none of the request's areas can report may not be in the
                // family's tally; it is never read (`reported`: its rows are
                // insufficient-coverage).
                let at = spans
                    .iter()
                    .map(|s| all.iter().position(|w| w == s))
                    .collect();
                let tally = if all.is_empty() {
                    Ok(Arc::new(Tally::new(Vec::new(), 0, 0)))
                } else {
                    data.tally(t.family, t.rules, all.clone(), &t.make)
                };
                (Some(tally), at)
            }
            (None, Some(dt)) => (
                Some(
                    data.dated_rows(req, || dated_rows(&plan, dt))
                        .map(|rows| Arc::new(count_dated(&rows, &spans))),
                ),
                (0..spans.len()).map(Some).collect(),
            ),
            (None, None) => (None, Vec::new()),
        };
        let batched: Option<Result<DataFrame, String>> = tally.is_none().then(|| {
            let mut aggs = Vec::new();
            for (i, m) in months.iter().enumerate() {
                let Some((ws, we)) = window_bounds(req.window, *m) else {
                    continue;
                };
                let (ws_eff, we_eff) = if plan.snapshot { (we, we) } else { (ws, we) };
                let (num, den) = (plan.exprs)(ws_eff, we_eff);
                aggs.extend(window_aggs(&num, den.as_ref(), plan.summed.as_ref(), i));
            }
            plan.frame
                .clone()
                .lazy()
                .group_by([col(plan.area)])
                .agg(aggs)
                .collect()
                .map_err(|e| e.to_string())
        });
        for (mi, m) in months.iter().enumerate() {
            let Some((ws, we)) = window_bounds(req.window, *m) else {
                continue;
            };
            let is_covered = |a: &str| window_covered(data, &plan, (ws, we), a);
            if !reported[ri][mi] {
                for a in area_list {
                    rows.push(empty_row(
                        a,
                        req,
                        *m,
                        ws,
                        we,
                        plan.unit,
                        ResultStatus::InsufficientCoverage,
                    ));
                }
                continue;
            }
            let has_den = match (&plan.tallied, &plan.dated, &batched) {
                (Some(t), _, _) => t.d.is_some(),
                (None, Some(dt), _) => dt.has_den(),
                (None, None, Some(Ok(all))) => all.column(&format!("d_{mi}")).is_ok(),
                _ => false,
            };
            let counted = match (&tally, &batched) {
                (Some(Ok(_)), _) => Ok(DataFrame::empty()),
                (Some(Err(e)), _) | (None, Some(Err(e))) => {
                    Err(PolarsError::ComputeError(e.clone().into()))
                }
                (None, Some(Ok(all))) => {
                    let mut pick = vec![col(plan.area), col(format!("n_{mi}")).alias("n")];
                    if has_den {
                        pick.push(col(format!("d_{mi}")).alias("d"));
                    }
                    if plan.summed.is_some() {
                        pick.push(col(format!("s_{mi}")).alias("s"));
                        pick.push(col(format!("s2_{mi}")).alias("s2"));
                    }
                    all.clone().lazy().select(pick).collect()
                }
                (None, None) => unreachable!("batched for every row-counting plan"),
            };
            let counted = match counted {
                Ok(c) => c,
                Err(e) => {
                    notes.insert(format!(
                        "{} is not-computable: {}",
                        req.metric,
                        e.to_string().lines().next().unwrap_or("")
                    ));
                    for a in area_list {
                        rows.push(empty_row(
                            a,
                            req,
                            *m,
                            ws,
                            we,
                            plan.unit,
                            ResultStatus::NotComputable,
                        ));
                    }
                    continue;
                }
            };
            let get_u = |name: &str, i: usize| {
                counted
                    .column(name)
                    .ok()
                    .and_then(|c| c.u64().ok().and_then(|c| c.get(i)))
            };
            let get_i = |name: &str, i: usize| {
                counted
                    .column(name)
                    .ok()
                    .and_then(|c| c.i64().ok().and_then(|c| c.get(i)))
            };
            let area_col = counted
                .column(plan.area)
                .ok()
                .and_then(|c| c.str().ok().cloned());
            for a in area_list {
                let idx = area_col
                    .as_ref()
                    .and_then(|c| c.iter().position(|x| x == Some(a.as_str())));
                let (n, d, s, s2) = match (&plan.tallied, &tally) {
                    (Some(t), Some(Ok(tally))) => {
                        let w = window_at[mi].expect("a window some area can report is counted");
                        (
                            tally.get(w, a, t.n),
                            t.d.map_or(0, |d| tally.get(w, a, d)),
                            0,
                            0,
                        )
                    }
                    (None, Some(Ok(tally))) => (
                        tally.get(mi, a, DATED_NUMERATOR),
                        tally.get(mi, a, DATED_DENOMINATOR),
                        tally.get(mi, a, DATED_SUM),
                        tally.get(mi, a, DATED_SUM_OF_SQUARES),
                    ),
                    _ => (
                        idx.and_then(|i| get_u("n", i)).unwrap_or(0),
                        idx.and_then(|i| get_u("d", i)).unwrap_or(0),
                        idx.and_then(|i| get_i("s", i)).unwrap_or(0).max(0) as u64,
                        idx.and_then(|i| get_i("s2", i)).unwrap_or(0).max(0) as u64,
                    ),
                };
                if !is_covered(a) {
                    rows.push(empty_row(
                        a,
                        req,
                        *m,
                        ws,
                        we,
                        plan.unit,
                        ResultStatus::InsufficientCoverage,
                    ));
                    continue;
                }
                let mut row = empty_row(a, req, *m, ws, we, plan.unit, ResultStatus::Ok);
                if let Some(band) = plan.population {
                    match populations.get(a, chrono::Datelike::year(&ws), band) {
                        Some(p) => fill(&mut row, n, Some(p), zero_value),
                        None => {
                            notes.insert(format!(
                                "{}: no population aged {band} for {a} in or before {}",
                                req.metric,
                                chrono::Datelike::year(&ws)
                            ));
                            row.status = ResultStatus::NotComputable;
                        }
                    }
                } else if plan.is_mean() {
                    fill_mean(&mut row, s, n, s2 as f64);
                } else if has_den {
                    fill(&mut row, n, Some(d), zero_value);
                } else {
                    fill(&mut row, n, None, zero_value);
                }
                rows.push(row);
            }
        }
    }
    // Sorted by `compute` (or the gap table), once every batch is in.
    (rows, notes.into_iter().collect())
}

/// Every area of a plan's extract (in this batch, of this shard), each once: the areas a
/// plan's rows are listed for when no areas are asked for.
fn present_areas(plan: &Plan<'_>, data: &Data) -> Vec<String> {
    let present: BTreeSet<&str> = match (&plan.tallied, &data.events, &plan.dated) {
        // The events' areas run together, each once.
        (Some(_), Some(ev), _) => ev.columns.areas.iter().map(|(a, _)| a.as_str()).collect(),
        (_, _, Some(Dated::Spells { areas, .. })) => areas.iter().copied().collect(),
        _ => plan
            .frame
            .column(plan.area)
            .ok()
            .and_then(|c| {
                // An area's rows run together: only a change of area is looked up.
                c.str().ok().map(|s| {
                    let mut set = BTreeSet::new();
                    let mut last = None;
                    for a in s.iter().flatten() {
                        if last != Some(a) {
                            set.insert(a);
                            last = Some(a);
                        }
                    }
                    set
                })
            })
            .unwrap_or_default(),
    };
    present
        .into_iter()
        .filter(|a| data.shard.is_none_or(|s| s.holds(a)))
        .map(str::to_string)
        .collect()
}

/// Every window the requests of each family count (by family and rules, each window once, in
/// order of first asking), so that a family makes one pass over the people for all of them:
/// its month and rolling 12-month windows, a snapshot's days, each only where one of the
/// request's areas can report it (`window_covered`; elsewhere its rows are
/// insufficient-coverage). A pass costs mostly what each person's rows cost to gather and
/// rank, whatever the windows (measured on 4.1M events: a family's pass over no window took
/// three quarters of the time of one over 37).
fn family_windows(
    requests: &[Request],
    plans: &[Result<Plan<'_>, String>],
    months: &[Month],
    reported: &[Vec<bool>],
) -> HashMap<(&'static str, Rules), Vec<Span>> {
    let mut out: HashMap<(&'static str, Rules), Vec<Span>> = HashMap::new();
    for ((req, plan), reported) in requests.iter().zip(plans).zip(reported) {
        let Ok(plan) = plan else { continue };
        let Some(t) = &plan.tallied else { continue };
        let all = out.entry((t.family, t.rules)).or_default();
        for (s, reported) in spans(plan, req, months).into_iter().zip(reported) {
            // Only a window some area can report: on 4.1M events over 40 areas, 12 of
            // ascof-2e's 37 rolling 12-month windows lack the year before them in every area.
            if *reported && !all.contains(&s) {
                all.push(s);
            }
        }
    }
    out
}

/// Whether `area` holds the coverage a plan's window (ws, we) needs (metrics.md §0.4): its
/// extract, and the second one it reads if any, cover the window with the look-back before
/// it and the look-ahead after (a snapshot's window is its last day).
fn window_covered(
    data: &Data,
    plan: &Plan<'_>,
    (ws, we): (NaiveDate, NaiveDate),
    area: &str,
) -> bool {
    let (ws, we) = if plan.snapshot { (we, we) } else { (ws, we) };
    let look_from = ws - chrono::Duration::days(plan.lookback);
    let look_to = we + chrono::Duration::days(plan.lookahead);
    std::iter::once(plan.source)
        .chain(plan.also_covered_by)
        .all(|s| {
            data.coverage_for(s, area)
                .is_some_and(|c| covered(c, look_from, look_to))
        })
}

/// The families of a batch that count the same people person by person, counted in one
/// pass over them (`Data::tally_together`) before their requests read them.
fn count_together(
    data: &Data,
    plans: &[Result<Plan<'_>, String>],
    family_windows: &HashMap<(&'static str, Rules), Vec<Span>>,
) {
    let mut by_people: Vec<(&People, Vec<data::FamilyCount<'_>>)> = Vec::new();
    for plan in plans.iter().flatten() {
        let Some(t) = &plan.tallied else { continue };
        let Some(b) = &t.by_person else { continue };
        let windows = &family_windows[&(t.family, t.rules)];
        // A family no area can report in any window is not counted (nor read).
        if windows.is_empty() {
            continue;
        }
        let key = (t.family, t.rules, windows.clone());
        let i = match by_people
            .iter()
            .position(|(p, _)| std::ptr::eq(*p, b.people))
        {
            Some(i) => i,
            None => {
                by_people.push((b.people, Vec::new()));
                by_people.len() - 1
            }
        };
        let families = &mut by_people[i].1;
        if !families.iter().any(|(k, _, _)| *k == key) {
            families.push((key, b.count.clone(), b.slots));
        }
    }
    for (people, families) in by_people {
        data.tally_together(people, families);
    }
}

/// The windows a plan counts for a request, one per month end (a snapshot counts the day
/// the window ends; a month with no window an empty span).
fn spans(plan: &Plan<'_>, req: &Request, months: &[Month]) -> Vec<Span> {
    months
        .iter()
        .map(|m| match window_bounds(req.window, *m) {
            Some((_, we)) if plan.snapshot => (days(we), days(we)),
            Some((ws, we)) => (days(ws), days(we)),
            None => (1, 0),
        })
        .collect()
}

fn empty_row(
    area: &str,
    req: &Request,
    m: Month,
    ws: NaiveDate,
    we: NaiveDate,
    unit: Unit,
    status: ResultStatus,
) -> ResultRow {
    ResultRow {
        area_code: area.to_string(),
        metric: req.metric.clone(),
        window: req.window,
        period: window_label(req.window, m),
        period_start: ws,
        period_end: we,
        numerator: None,
        denominator: None,
        value: None,
        lower95: None,
        upper95: None,
        unit,
        status,
    }
}

/// Sets numerator, denominator, value (exact, metrics.md §0.5) and the 95% interval. A zero
/// denominator has no value, or `0.0` with `zero_value` (D8); its status is no-denominator
/// either way.
fn fill(row: &mut ResultRow, n: u64, d: Option<u64>, zero_value: bool) {
    row.numerator = Some(n);
    row.denominator = d;
    match (row.unit, d) {
        (Unit::Count, _) | (_, None) => row.value = Some(n.to_string()),
        (_, Some(0)) => {
            row.status = ResultStatus::NoDenominator;
            if zero_value {
                row.value = Some("0.0".into());
            }
        }
        (unit, Some(d)) => {
            let k = if unit == Unit::Per100k { 100_000 } else { 100 };
            row.value = ratio_1dp(n, d, k);
            let iv = if unit == Unit::Per100k {
                ci::rate(n as f64, d as f64, 0.95, 1e5)
            } else {
                ci::wilson(n as f64, d as f64, 0.95, 100.0)
            };
            row.lower95 = iv.lower;
            row.upper95 = iv.upper;
        }
    }
}

/// Student's t 97.5% quantiles worked out so far, by degrees of freedom: counts repeat across
/// areas, months and batches, and each quantile is an iterative inversion (a cache per batch
/// worked most of them out again in every batch).
static T95: std::sync::LazyLock<std::sync::Mutex<HashMap<u64, f64>>> =
    std::sync::LazyLock::new(Default::default);

/// Student's t 97.5% quantile for `df` degrees of freedom, from `T95` when worked out before.
fn t95(df: u64) -> f64 {
    let cache = || T95.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = cache().get(&df).copied() {
        return t;
    }
    // Worked out unlocked: the other batch's thread need not wait for it.
    let t = ci::t_quantile(0.975, df as f64);
    cache().insert(df, t);
    t
}

/// An average in days: total days / count, with Student's t limits from the sum of squares.
fn fill_mean(row: &mut ResultRow, total: u64, count: u64, sum_sq: f64) {
    row.numerator = Some(total);
    row.denominator = Some(count);
    if count == 0 {
        row.status = ResultStatus::NoDenominator;
        return;
    }
    row.value = ratio_1dp(total, count, 1);
    if count >= 2 {
        let k = count as f64;
        let mean = total as f64 / k;
        let var = ((sum_sq - k * mean * mean) / (k - 1.0)).max(0.0);
        let t = t95(count - 1);
        let half = t * var.sqrt() / k.sqrt();
        row.lower95 = Some(mean - half);
        row.upper95 = Some(mean + half);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four batches of no rows: `each` numbers them as it meets them.
    fn four_batches() -> Vec<Vec<String>> {
        (0..4).map(|i| vec![format!("E0600000{i}")]).collect()
    }

    #[test]
    fn every_batch_is_computed_once_with_its_result_in_batch_order() {
        let data = Data::default();
        let calls = AtomicUsize::new(0);
        let out = by_batch(&data, &four_batches(), "E06000002", |_, lister| {
            calls.fetch_add(1, Ordering::Relaxed);
            lister
        })
        .expect("no batch fails");
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        // Only the batch holding the home area lists what no area can compute.
        assert_eq!(out, [false, false, true, false]);
    }

    #[test]
    fn a_batch_panic_is_passed_on_as_it_was() {
        let data = Data::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            by_batch(&data, &four_batches(), "", |_, lister| {
                if lister {
                    panic!("the first batch's own message");
                }
            })
        }));
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"the first batch's own message")
        );
    }
}
