//! The extracts of a run as the engine reads them (frames, the events' own structure,
//! coverage) and the derivations made once per run, shared by every request.

use super::discharge_reablement;
use super::people::{People, Span, Tally};
use crate::extract::all::Extracts;
use crate::method::Rules;
use crate::period::{months_between, Month};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// The validated extracts of a run (read through it as `data.frames`, `data.events`, …)
/// with the engine's derivations of them.
#[derive(Default)]
pub(crate) struct Data {
    extracts: Extracts,
    /// Window-independent derivations of the events, made once per run when first needed:
    /// the events grouped by person for each set of row rules (`Rules::row_set`).
    pub(super) people: [std::sync::OnceLock<Result<Arc<People>, String>>; ROW_SETS],
    pub(super) linked: std::sync::OnceLock<Result<Arc<discharge_reablement::Linked>, String>>,
    pub(super) decoded: std::sync::OnceLock<Result<DataFrame, String>>,
    /// Each family's counts for a list of windows: the requests of a family (its parts,
    /// breakdowns) over the same windows share one pass.
    tallies: std::sync::Mutex<TallyCache>,
    /// The shard of a many-area run: every area of the extracts, less those of other shards.
    pub(crate) shard: Option<crate::shard::Shard>,
}

// The engine reads the extracts as its own fields; only the area filter writes to them.
impl std::ops::Deref for Data {
    type Target = Extracts;
    fn deref(&self) -> &Extracts {
        &self.extracts
    }
}

impl std::ops::DerefMut for Data {
    fn deref_mut(&mut self) -> &mut Extracts {
        &mut self.extracts
    }
}

/// Each family's tallies by the rules and windows they count.
type TallyCache = HashMap<(&'static str, Rules, Vec<Span>), Arc<Tally>>;

/// How many sets of the row rules there are (D2, D4, D5, D9 on or off).
pub(super) const ROW_SETS: usize = 16;

impl Data {
    /// The engine's view of a run's extracts, with nothing derived yet.
    pub(crate) fn new(extracts: Extracts) -> Data {
        Data {
            extracts,
            ..Data::default()
        }
    }

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

impl Data {
    /// A family's tally over these windows, made on first use and shared after.
    pub(super) fn tally(
        &self,
        family: &'static str,
        rules: Rules,
        spans: Vec<Span>,
        make: &dyn Fn(&[Span]) -> Result<Tally, String>,
    ) -> Result<Arc<Tally>, String> {
        let mut cache = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let key = (family, rules, spans);
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(make(&key.2)?);
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
