//! The pipeline every command that reads data shares: load the programme, load and validate
//! the extracts, keep the programme's area, plan and compute the metrics, judge the KPIs.
//! `check`, `compute` and `report` are thin commands over the `Run` it returns.

use crate::config;
use crate::extract::{self, Issue, Ledger, Loc, Severity};
use crate::judge::JudgedRow;
use crate::metrics::catalogue::CATALOGUE;
use crate::metrics::{self, Request, ResultRow};
use crate::period::{parse_period, Month, Period, Window};
use std::collections::BTreeSet;
use std::path::Path;

/// The requests the schemes' KPIs need.
pub(crate) fn kpi_requests(programme: &crate::programme::Programme) -> Vec<Request> {
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
pub(crate) fn all_requests(programme: &crate::programme::Programme) -> Vec<Request> {
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

/// W08 for a row of `value`'s area, at `loc` of the extract `summary` counts.
fn other_area(
    summary: &extract::FileSummary,
    loc: Loc,
    column: &str,
    value: &str,
    area: &str,
) -> Issue {
    Issue {
        file: summary.file_of(loc).to_string(),
        loc,
        severity: Severity::Warning,
        rule: "W08".into(),
        column: column.into(),
        value: value.into(),
        message: format!("area is not the programme's ({area}); the row is ignored for the board"),
    }
}

/// Rows of areas outside the programme are ignored for the board (W08), counted, not rejected.
fn ignore_other_areas(
    data: &mut metrics::Data,
    area: &str,
    ledger: &mut Ledger,
) -> Result<(), String> {
    use polars::prelude::*;
    let partitioned = data.partitioned.clone();
    // Benchmarks are other areas by design.
    let mut names: Vec<String> = data
        .frames
        .keys()
        .chain(partitioned.keys())
        .filter(|n| n.as_str() != "benchmarks")
        .cloned()
        .collect();
    names.sort();
    for name in &names {
        let col_name = crate::contract::area_column(name);
        let summary = ledger
            .files
            .iter()
            .find(|f| &f.extract == name)
            .cloned()
            .unwrap_or_default();
        // A partitioned extract lists its other areas' rows; the batch of the programme's
        // area takes only its own.
        if let Some(store) = partitioned.get(name) {
            let outside = store.outside(area)?;
            let ignored = outside.len();
            for (loc, a) in outside {
                ledger
                    .issues
                    .push(other_area(&summary, loc, col_name, &a, area));
            }
            if let Some(f) = ledger.files.iter_mut().find(|f| &f.extract == name) {
                f.ignored = ignored;
            }
            continue;
        }
        let Some(df) = data.frames.get_mut(name) else {
            continue;
        };
        let Ok(areas) = df.column(col_name).and_then(|c| c.str().cloned()) else {
            continue;
        };
        let lines = df.column("__line").ok().and_then(|c| c.u64().ok().cloned());
        let mut ignored = 0;
        for (i, a) in areas.iter().enumerate() {
            if a != Some(area) {
                ignored += 1;
                let loc = lines
                    .as_ref()
                    .and_then(|l| l.get(i))
                    .map_or(Loc::File, Loc::from_bits);
                ledger
                    .issues
                    .push(other_area(&summary, loc, col_name, a.unwrap_or(""), area));
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
    Ok(())
}

/// One run of the pipeline: the validated programme, the loaded extracts with their ledger,
/// and the result rows up to the reported month.
pub(crate) struct Run {
    pub programme: crate::programme::Programme,
    pub data: metrics::Data,
    pub ledger: Ledger,
    pub rows: Vec<ResultRow>,
    pub notes: Vec<String>,
    /// The month reported: `--period`'s last month, or the latest month the data covers.
    pub month: Option<Month>,
}

/// Loads and validates the programme, or says how many problems stop `who`.
pub(crate) fn load_programme(
    root: &Path,
    who: &str,
) -> Result<crate::programme::Programme, String> {
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
/// supports, for every area or, with `shard`, the shard's areas) for every month up to
/// `period`.
pub(crate) fn run(
    root: &Path,
    programme: crate::programme::Programme,
    period: Option<&str>,
    all: bool,
    shard: Option<crate::shard::Shard>,
    who: &str,
) -> Result<Run, String> {
    let until = match period {
        None => None,
        Some(p) => match parse_period(p) {
            Ok(Period::Month(m)) => Some(m),
            Ok(other) => Some(Month::of(other.end())),
            Err(e) => return Err(format!("bcfmon {who}: --period {e}")),
        },
    };
    let mut ledger = Ledger::default();
    let extracts = extract::all::load_all(
        root,
        &programme,
        &mut ledger,
        crate::metrics::catalogue::definition,
    )
    .map_err(|missing| {
        format!(
            "{}; nothing was written",
            extract::all::not_found_message(&missing, who)
        )
    })?;
    let mut data = metrics::Data::new(extracts);
    data.shard = shard;
    let areas: Option<Vec<String>> = if all {
        None
    } else {
        let area = programme.settings.area.code.clone();
        ignore_other_areas(&mut data, &area, &mut ledger)
            .map_err(|e| format!("bcfmon {who}: {e}; nothing was written"))?;
        Some(vec![area])
    };
    let requests = if all {
        all_requests(&programme)
    } else {
        kpi_requests(&programme)
    };
    let months = metrics::months_in(&data, until);
    let (mut rows, notes) =
        metrics::compute(&data, &programme, &requests, &months, areas.as_deref())
            .map_err(|e| format!("bcfmon {who}: {e}; nothing was written"))?;
    // A shard keeps them: whether a metric is computable anywhere is for `merge` to say,
    // over every shard's areas.
    if all && shard.is_none() {
        // `--all` lists what the data supports: drop metrics that are not computable at all.
        // Each name copied once, not once per row (a many-area run has 100,000s of rows).
        let mut computable: BTreeSet<String> = BTreeSet::new();
        for r in &rows {
            if r.status != metrics::ResultStatus::NotComputable && !computable.contains(&r.metric) {
                computable.insert(r.metric.clone());
            }
        }
        rows.retain(|r| computable.contains(&r.metric));
    }
    // `compute` gave them in the results table's order; dropping rows keeps it.
    let month = until.or_else(|| months.last().copied());
    Ok(Run {
        programme,
        data,
        ledger,
        rows,
        notes,
        month,
    })
}

impl Run {
    /// Ends the run without freeing its memory allocation by allocation, for a command whose
    /// process exits next: the system takes the memory back at once when it does, and freeing
    /// it first was a tenth of a second on one core at the end of a 40-area run (measured with
    /// strace: 600 calls returning pages after the outputs were written). The temporary
    /// folders of spilled rows the system would not take back: every one alive in the
    /// process is removed (`partition::remove_spill_folders`; from `c0cd06e`, session 30, until session 33 they were left behind: 2.4 GB each
    /// national run). Gives a message for each folder that cannot be removed.
    pub(crate) fn leave_to_exit(self) -> Vec<String> {
        std::mem::forget(self);
        crate::extract::partition::remove_spill_folders()
            .into_iter()
            .map(|(folder, e)| {
                format!(
                    "cannot remove the temporary folder {}: {e}; remove it yourself",
                    folder.display()
                )
            })
            .collect()
    }

    /// The gap between the ASCOF methods (`compute --explain-method`): every ASCOF metric
    /// the catalogue has, for the programme's area (every area with `all`), at every month
    /// end of this run.
    pub(crate) fn explain_method(
        &self,
        all: bool,
    ) -> Result<(Vec<metrics::GapRow>, Vec<String>), String> {
        let requests: Vec<Request> = all_requests(&self.programme)
            .into_iter()
            .filter(|r| r.definition().is_some_and(|d| d.follows_method))
            .collect();
        let area = [self.programme.settings.area.code.clone()];
        let areas = (!all).then_some(&area[..]);
        let months = metrics::months_in(&self.data, self.month);
        metrics::explain(&self.data, &self.programme, &requests, &months, areas)
    }

    /// Every scheme's KPIs judged at every plotted period (methods.md §3).
    pub(crate) fn judged(&self) -> Vec<JudgedRow> {
        crate::judge::judge(
            &self.programme,
            &self.rows,
            self.data.frames.get("benchmarks"),
        )
    }
}
