//! Every extract of a run: each found (configured path, else `data/<name>`), loaded side by
//! side into its own ledger, merged in the contract's ledger order, with its coverage and,
//! for any that cannot be used, why.

use super::Ledger;
use crate::programme::Programme;
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The validated extracts of a run, with each one's coverage.
#[derive(Default)]
pub(crate) struct Extracts {
    pub frames: BTreeMap<String, DataFrame>,
    pub coverage: BTreeMap<String, (NaiveDate, NaiveDate)>,
    /// Why an extract is unusable: absent, or refused.
    pub missing: BTreeMap<String, String>,
    /// The extracts neither configured nor found (not an error: their metrics are
    /// not-computable), in name order.
    pub absent: BTreeSet<String>,
    /// The extracts held partitioned by area (the discharges), by name: the engine's
    /// batches take their frames from them.
    pub partitioned: BTreeMap<String, std::sync::Arc<dyn super::AreaRows>>,
    /// The discharges' store itself, for their spells as plain columns (`Spells`).
    pub discharges: Option<std::sync::Arc<super::discharges::DischargeStore>>,
    /// Every area's validated events.
    pub event_store: Option<std::sync::Arc<super::events::EventStore>>,
    /// The events of the batch of areas being computed (none outside one).
    pub events: Option<super::events::Events>,
    /// The accepted rows of the finance extract (money stays `Decimal`, outside polars).
    pub finance: Option<super::finance::Actuals>,
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
    Frame(Option<super::Loaded>),
    Events(Option<crate::extract::events::EventStore>),
    Discharges(Option<crate::extract::discharges::DischargeStore>),
    Finance(Option<crate::extract::finance::Actuals>),
}

/// Loads every extract the engine can use, recording problems in the ledger. The extracts
/// are independent, so they load side by side (each into its own ledger, merged in a fixed
/// order so the ledger reads the same on every run). Fails, reading nothing, when
/// programme.toml names an extract path with no file behind it (one message per path).
/// `catalogue` resolves the benchmarks' published measures to built-in metrics.
pub(crate) fn load_all(
    root: &Path,
    programme: &Programme,
    ledger: &mut Ledger,
    catalogue: crate::catalogue::Lookup,
) -> Result<Extracts, Vec<String>> {
    let mut data = Extracts::default();
    let settings = &programme.settings;
    let mut sources = Vec::with_capacity(crate::contract::LEDGER_ORDER.len());
    let mut unfound = Vec::new();
    for name in crate::contract::LEDGER_ORDER {
        match super::find(root, settings, name) {
            Ok(src) => sources.push((name, src)),
            Err(message) => unfound.push(message),
        }
    }
    if !unfound.is_empty() {
        return Err(unfound);
    }
    let loaded: Vec<(&str, Option<super::Source>, Loaded, Ledger)> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .into_iter()
            .map(|(name, src)| {
                scope.spawn(move || {
                    let mut part = Ledger::default();
                    let outcome = match &src {
                        None => Loaded::Absent,
                        Some(src) => match name {
                            "finance" => {
                                Loaded::Finance(super::finance::load(src, programme, &mut part))
                            }
                            "events" => Loaded::Events(super::events::load(src, &mut part)),
                            "safeguarding" => {
                                Loaded::Frame(super::safeguarding::load(src, &mut part))
                            }
                            "chc" => Loaded::Frame(super::chc::load(src, &mut part)),
                            "discharges" => {
                                Loaded::Discharges(super::discharges::load(src, &mut part))
                            }
                            "population" => Loaded::Frame(super::population::load(src, &mut part)),
                            _ => Loaded::Frame(super::benchmarks::load(src, &mut part, catalogue)),
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
                data.event_store = Some(std::sync::Arc::new(ev));
            }
            Loaded::Discharges(Some(store)) => {
                if let Some(c) = coverage(settings.data.get(name), store.coverage) {
                    data.coverage.insert(name.into(), c);
                }
                let store = std::sync::Arc::new(store);
                data.partitioned.insert(name.into(), store.clone());
                data.discharges = Some(store);
            }
            Loaded::Events(None) | Loaded::Frame(None) | Loaded::Discharges(None) => {
                data.missing.insert(name.into(), refused());
            }
            Loaded::Frame(Some(l)) => {
                let inferred = date_range(
                    &l.frame,
                    crate::contract::extract(name).map_or(&[], |e| e.coverage),
                );
                if let Some(c) = coverage(settings.data.get(name), inferred) {
                    data.coverage.insert(name.into(), c);
                }
                data.frames.insert(name.into(), l.frame);
            }
        }
    }
    Ok(data)
}

/// An extract's coverage: each end as programme.toml sets it, else as its rows give it.
fn coverage(
    configured: Option<&crate::programme::DataSource>,
    inferred: Option<(NaiveDate, NaiveDate)>,
) -> Option<(NaiveDate, NaiveDate)> {
    let start = configured
        .and_then(|d| d.coverage_start)
        .or(inferred.map(|r| r.0));
    let end = configured
        .and_then(|d| d.coverage_end)
        .or(inferred.map(|r| r.1));
    start.zip(end)
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
pub(crate) fn absent_reason(name: &str) -> String {
    format!("no {name} extract (data/{name}.parquet or .csv, or [data.{name}] path)")
}

/// The closing note on the extracts not supplied: listed once, together, or `None`.
pub(crate) fn absent_note(absent: &BTreeSet<String>) -> Option<String> {
    if absent.is_empty() {
        return None;
    }
    let names: Vec<&str> = absent.iter().map(String::as_str).collect();
    Some(format!(
        "not supplied: {} (neither configured in programme.toml nor found in data/); their metrics are not-computable",
        names.join(", ")
    ))
}
