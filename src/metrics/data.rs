//! The extracts of a run as the engine reads them: each one loaded side by side into a frame
//! (or the events' own structure) with its coverage, and the derivations made once per run.

use super::discharge_reablement;
use super::people::{People, Span, Tally};
use crate::config::Programme;
use crate::extract::{self, Ledger};
use crate::period::{months_between, Month};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The validated extracts of a run, with each one's coverage.
#[derive(Default)]
pub(crate) struct Data {
    pub frames: BTreeMap<String, DataFrame>,
    pub coverage: BTreeMap<String, (NaiveDate, NaiveDate)>,
    /// Why an extract is unusable: absent, or refused.
    pub missing: BTreeMap<String, String>,
    /// The extracts neither configured nor found (not an error: their metrics are
    /// not-computable), in name order.
    pub absent: BTreeSet<String>,
    pub events: Option<crate::extract::events::Events>,
    /// The accepted rows of the finance extract (money stays `Decimal`, outside polars).
    pub finance: Option<crate::extract::finance::Actuals>,
    /// Window-independent derivations of the events, made once per run when first needed.
    pub(super) people: std::sync::OnceLock<Result<Arc<People>, String>>,
    pub(super) linked: std::sync::OnceLock<Result<Arc<discharge_reablement::Linked>, String>>,
    pub(super) decoded: std::sync::OnceLock<Result<DataFrame, String>>,
    /// Each family's counts for a list of windows: the requests of a family (its parts,
    /// breakdowns) over the same windows share one pass.
    tallies: std::sync::Mutex<TallyCache>,
}

/// Each family's tallies by the windows they count.
type TallyCache = HashMap<(&'static str, Vec<Span>), Arc<Tally>>;

impl Data {
    /// The coverage that applies to an area's rows of an extract: for events, the area's
    /// own reporting period unless the TOML sets one (metrics.md §0.4).
    pub(crate) fn coverage_for(&self, source: &str, area: &str) -> Option<(NaiveDate, NaiveDate)> {
        if source == "events" {
            if let Some(c) = self.coverage.get("events") {
                return Some(*c);
            }
            return self
                .events
                .as_ref()
                .and_then(|e| e.coverage.get(area).copied());
        }
        self.coverage.get(source).copied()
    }
}

fn date_range(df: &DataFrame, cols: &[&str]) -> Option<(NaiveDate, NaiveDate)> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let to_date = |d: i32| epoch + chrono::Duration::days(d as i64);
    let first = df
        .column(cols.first()?)
        .ok()?
        .as_materialized_series()
        .date()
        .ok()?
        .physical()
        .min()?;
    let mut last = first;
    for c in cols {
        if let Some(m) = df.column(c).ok().and_then(|s| {
            s.as_materialized_series()
                .date()
                .ok()
                .and_then(|d| d.physical().max())
        }) {
            last = last.max(m);
        }
    }
    Some((to_date(first), to_date(last)))
}

/// What loading one extract gave.
enum Loaded {
    Absent,
    Frame(Option<extract::Loaded>),
    Events(Option<crate::extract::events::Events>),
    Finance(Option<crate::extract::finance::Actuals>),
}

/// Loads every extract the engine can use, recording problems in the ledger. The extracts
/// are independent, so they load side by side (each into its own ledger, merged in a fixed
/// order so the ledger reads the same on every run). Fails, reading nothing, when
/// programme.toml names an extract path with no file behind it (one message per path).
pub(crate) fn load(
    root: &Path,
    programme: &Programme,
    ledger: &mut Ledger,
) -> Result<Data, Vec<String>> {
    let mut data = Data::default();
    let settings = &programme.settings;
    let mut sources = Vec::with_capacity(crate::contract::LEDGER_ORDER.len());
    let mut unfound = Vec::new();
    for name in crate::contract::LEDGER_ORDER {
        match extract::find(root, settings, name) {
            Ok(src) => sources.push((name, src)),
            Err(message) => unfound.push(message),
        }
    }
    if !unfound.is_empty() {
        return Err(unfound);
    }
    let loaded: Vec<(&str, Option<extract::Source>, Loaded, Ledger)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = sources
                .into_iter()
                .map(|(name, src)| {
                    scope.spawn(move || {
                        let mut part = Ledger::default();
                        let outcome = match &src {
                            None => Loaded::Absent,
                            Some(src) => match name {
                                "finance" => Loaded::Finance(extract::finance::load(
                                    src, programme, &mut part,
                                )),
                                "events" => Loaded::Events(extract::events::load(src, &mut part)),
                                "safeguarding" => {
                                    Loaded::Frame(extract::safeguarding::load(src, &mut part))
                                }
                                "chc" => Loaded::Frame(extract::chc::load(src, &mut part)),
                                "discharges" => {
                                    Loaded::Frame(extract::discharges::load(src, &mut part))
                                }
                                "population" => {
                                    Loaded::Frame(extract::population::load(src, &mut part))
                                }
                                _ => Loaded::Frame(extract::benchmarks::load(src, &mut part)),
                            },
                        };
                        (name, src, outcome, part)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
    for (name, src, outcome, part) in loaded {
        ledger.issues.extend(part.issues);
        ledger.files.extend(part.files);
        let refused = || {
            format!(
                "{} was refused (see data_quality.csv)",
                src.as_ref().map_or("", |s| s.shown.as_str())
            )
        };
        match outcome {
            Loaded::Absent => {
                data.absent.insert(name.into());
                data.missing.insert(name.into(), absent_reason(name));
            }
            Loaded::Finance(actuals) => {
                if actuals.is_none() {
                    data.missing.insert(name.into(), refused());
                }
                data.finance = actuals;
            }
            Loaded::Events(Some(ev)) => {
                let configured = settings.data.get(name);
                if let (Some(s), Some(e)) = (
                    configured.and_then(|d| d.coverage_start),
                    configured.and_then(|d| d.coverage_end),
                ) {
                    data.coverage.insert(name.into(), (s, e));
                } else if ev.coverage.is_empty() {
                    data.missing.insert(name.into(), "coverage unknown: no Reporting_Period dates and no coverage_start/coverage_end in programme.toml".into());
                }
                data.events = Some(ev);
            }
            Loaded::Events(None) | Loaded::Frame(None) => {
                data.missing.insert(name.into(), refused());
            }
            Loaded::Frame(Some(l)) => {
                let configured = settings.data.get(name);
                let inferred = date_range(
                    &l.frame,
                    crate::contract::extract(name).map_or(&[], |e| e.coverage),
                );
                let start = configured
                    .and_then(|d| d.coverage_start)
                    .or(inferred.map(|r| r.0));
                let end = configured
                    .and_then(|d| d.coverage_end)
                    .or(inferred.map(|r| r.1));
                if let (Some(s), Some(e)) = (start, end) {
                    data.coverage.insert(name.into(), (s, e));
                }
                data.frames.insert(name.into(), l.frame);
            }
        }
    }
    Ok(data)
}

/// What stops a run when programme.toml names extract paths with no file behind them: each
/// path's message, then how many.
pub(crate) fn not_found_message(missing: &[String], who: &str) -> String {
    let n = missing.len();
    format!(
        "{}\nbcfmon {who}: {n} configured extract{} not found",
        missing.join("\n"),
        if n == 1 { " was" } else { "s were" }
    )
}

/// Why the metrics of an extract neither configured nor found are not-computable.
pub(super) fn absent_reason(name: &str) -> String {
    format!("no {name} extract (data/{name}.parquet or .csv, or [data.{name}] path)")
}

/// The closing note on the extracts not supplied: listed once, together, or `None`.
pub(crate) fn absent_note(data: &Data) -> Option<String> {
    if data.absent.is_empty() {
        return None;
    }
    let names: Vec<&str> = data.absent.iter().map(String::as_str).collect();
    Some(format!(
        "not supplied: {} (neither configured in programme.toml nor found in data/); their metrics are not-computable",
        names.join(", ")
    ))
}

impl Data {
    /// A family's tally over these windows, made on first use and shared after.
    pub(super) fn tally(
        &self,
        family: &'static str,
        spans: Vec<Span>,
        make: &dyn Fn(&[Span]) -> Result<Tally, String>,
    ) -> Result<Arc<Tally>, String> {
        let mut cache = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let key = (family, spans);
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(make(&key.1)?);
        cache.insert(key, t.clone());
        Ok(t)
    }
}

/// Month ends a request can be computed at, given coverage (metrics.md §0.4: for these
/// metrics coverage_start ≤ ws and coverage_end ≥ we).
pub(super) fn covered(coverage: (NaiveDate, NaiveDate), ws: NaiveDate, we: NaiveDate) -> bool {
    coverage.0 <= ws && coverage.1 >= we
}

/// The months from the first to the last month end within the coverage of any extract.
pub(crate) fn months_in(data: &Data, until: Option<Month>) -> Vec<Month> {
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = data.coverage.values().copied().collect();
    if let Some(ev) = &data.events {
        ranges.extend(ev.coverage.values().copied());
    }
    let (Some(first), Some(last)) = (
        ranges.iter().map(|c| c.0).min(),
        ranges.iter().map(|c| c.1).max(),
    ) else {
        return Vec::new();
    };
    let mut end = Month::of(last);
    if end.end() > last {
        end = Month::of(end.start().pred_opt().expect("a day before"));
    }
    if let Some(u) = until {
        end = end.min(u);
    }
    months_between(Month::of(first), end)
}
