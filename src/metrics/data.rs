//! The extracts of a run as the engine reads them (frames, the events' own structure,
//! coverage) and the derivations made once per run, shared by every request.

use super::discharge_reablement;
use super::people::{People, Span, Tally};
use crate::extract::all::Extracts;
use crate::extract::discharges::Spells;
use crate::method::Rules;
use crate::period::{months_between, Month};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};
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
    /// A batch's areas (none outside a batch), and its partitioned extracts' frames (the
    /// discharges' texts), made only when a metric asks for one: the hospital metrics and
    /// the linkage read `spells`.
    areas: Option<Vec<String>>,
    partition_frames: BTreeMap<String, PartitionFrame>,
    /// A batch's view of the run's loaded frames, each cut to the batch's areas when a
    /// metric first asks for it: most batches read none of them (the safeguarding and CHC
    /// metrics are computed once over every area), and cutting every frame for every
    /// batch compared each row's area with the batch's again and again (a national run's
    /// seventy batches each went through all of its safeguarding rows).
    batch_frames: BTreeMap<String, BatchFrame>,
    spells: std::sync::OnceLock<Result<Arc<Spells>, String>>,
    /// Each family's counts for a list of windows: the requests of a family (its parts,
    /// breakdowns) over the same windows share one pass.
    tallies: std::sync::Mutex<TallyCache>,
    /// Each dated plan's rows by the metric and parameters asked for: a metric's monthly and
    /// rolling windows count the same rows, selected once.
    dated: std::sync::Mutex<DatedCache>,
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

/// A loaded frame, and its rows of a batch's areas once asked for (`Data::frame`).
type BatchFrame = (DataFrame, std::sync::OnceLock<Result<DataFrame, String>>);

/// A loaded extract's rows of these areas (in order); the benchmarks' rows, which are other
/// areas' figures, and a frame without an area column whole.
fn of_areas(name: &str, df: &DataFrame, areas: &[String]) -> Result<DataFrame, String> {
    let column = df
        .column(crate::contract::area_column(name))
        .and_then(|c| c.str().cloned());
    match column {
        Ok(col) if name != "benchmarks" => {
            let wanted: std::collections::HashSet<&str> =
                areas.iter().map(String::as_str).collect();
            let mask: BooleanChunked = col
                .iter()
                .map(|a| a.is_some_and(|a| wanted.contains(a)))
                .collect();
            df.filter(&mask).map_err(|e| e.to_string())
        }
        _ => Ok(df.clone()),
    }
}

/// A partitioned extract's store, and the frame of a batch's rows once made.
type PartitionFrame = (
    Arc<dyn crate::extract::AreaRows>,
    std::sync::OnceLock<Result<DataFrame, String>>,
);

/// A family's tally by its name, rules and windows.
pub(super) type TallyKey = (&'static str, Rules, Vec<Span>);

/// Each family's tallies by the rules and windows they count.
type TallyCache = HashMap<TallyKey, Arc<Tally>>;

/// A family to count with others (`Data::tally_together`): its tally's key, its count of a
/// person, and how many slots it fills.
pub(super) type FamilyCount<'a> = (TallyKey, super::PersonCount<'a>, usize);

/// Dated plans' rows by metric and parameters.
type DatedCache = HashMap<(String, BTreeMap<String, String>), Arc<super::DatedRows>>;

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
            return self.event_coverage().and_then(|c| c.get(area).copied());
        }
        self.coverage.get(source).copied()
    }

    /// The events' coverage per area (of every area, inside a batch too).
    fn event_coverage(&self) -> Option<&BTreeMap<String, (NaiveDate, NaiveDate)>> {
        match (&self.events, &self.event_store) {
            (Some(ev), _) => Some(&ev.coverage),
            (None, Some(store)) => Some(&store.coverage),
            (None, None) => None,
        }
    }

    /// The areas of a run in batches, for computing a batch at a time: every area of the
    /// extracts (the benchmarks' peers aside) or those of `only`, less other shards' areas,
    /// in code order, cut so a batch holds about `batch_rows()` rows (an area is never
    /// split). Always at least one batch, perhaps of no area, so what is not computable is
    /// still listed.
    pub(crate) fn batches(&self, only: Option<&[String]>) -> Vec<Vec<String>> {
        let mut rows: BTreeMap<String, usize> = BTreeMap::new();
        match only {
            Some(areas) => rows.extend(areas.iter().map(|a| (a.clone(), 0))),
            None => {
                if let Some(store) = &self.event_store {
                    for (a, n) in store.areas() {
                        *rows.entry(a.to_string()).or_default() += n;
                    }
                }
                for store in self.partitioned.values() {
                    for (a, n) in store.areas() {
                        *rows.entry(a).or_default() += n;
                    }
                }
                for (name, df) in self.frames.iter().filter(|(n, _)| *n != "benchmarks") {
                    let Ok(areas) = df
                        .column(crate::contract::area_column(name))
                        .and_then(|c| c.str().cloned())
                    else {
                        continue;
                    };
                    for a in areas.iter().flatten() {
                        match rows.get_mut(a) {
                            Some(n) => *n += 1,
                            None => {
                                rows.insert(a.to_string(), 1);
                            }
                        }
                    }
                }
            }
        }
        let rows: Vec<(String, usize)> = rows
            .into_iter()
            .filter(|(area, _)| self.shard.is_none_or(|s| s.holds(area)))
            .collect();
        even_batches(rows, batch_rows())
    }

    /// The run's data for a batch of areas: each extract's rows of those areas, cut when a
    /// metric first reads them (the benchmarks whole: they are other areas by design), the
    /// batch's events, and the run's coverage, to compute with nothing derived yet.
    pub(crate) fn batch(&self, areas: &[String]) -> Result<Data, String> {
        let batch_frames = self
            .frames
            .iter()
            .map(|(name, df)| (name.clone(), (df.clone(), Default::default())))
            .collect();
        let events = match &self.event_store {
            Some(store) => Some(store.events(areas)?),
            None => None,
        };
        let extracts = Extracts {
            frames: BTreeMap::new(),
            coverage: self.coverage.clone(),
            missing: self.missing.clone(),
            absent: self.absent.clone(),
            events,
            event_store: self.event_store.clone(),
            partitioned: BTreeMap::new(),
            discharges: self.discharges.clone(),
            // The metrics never read the finance actuals (the pack does, from the run).
            finance: None,
        };
        let partition_frames = self
            .partitioned
            .iter()
            .map(|(name, store)| (name.clone(), (store.clone(), Default::default())))
            .collect();
        Ok(Data {
            extracts,
            shard: self.shard,
            areas: Some(areas.to_vec()),
            partition_frames,
            batch_frames,
            ..Data::default()
        })
    }

    /// An extract's frame: a loaded one, or in a batch a partitioned extract's rows of the
    /// batch's areas, made when first asked for. `None` when neither is held (the extract
    /// is absent or refused: `missing` says why).
    pub(super) fn frame(&self, name: &str) -> Option<Result<&DataFrame, String>> {
        if let Some(df) = self.frames.get(name) {
            return Some(Ok(df));
        }
        if let Some((whole, cut)) = self.batch_frames.get(name) {
            let areas = self.areas.as_deref().unwrap_or_default();
            return Some(
                cut.get_or_init(|| of_areas(name, whole, areas))
                    .as_ref()
                    .map_err(Clone::clone),
            );
        }
        let (store, frame) = self.partition_frames.get(name)?;
        let areas = self.areas.as_deref().unwrap_or_default();
        Some(
            frame
                .get_or_init(|| store.frame(areas))
                .as_ref()
                .map_err(Clone::clone),
        )
    }

    /// The batch's discharges as plain columns, made once when first asked for; why not,
    /// when the extract is absent or refused (or, outside a batch, not held by area).
    pub(super) fn spells(&self) -> Result<&Spells, String> {
        let (Some(store), Some(areas)) = (&self.discharges, &self.areas) else {
            return Err(self.missing.get("discharges").cloned().unwrap_or_else(|| {
                "the discharges are read a batch of areas at a time".to_string()
            }));
        };
        self.spells
            .get_or_init(|| store.spells(areas).map(Arc::new))
            .as_ref()
            .map(|s| s.as_ref())
            .map_err(Clone::clone)
    }
}

/// Areas (in order, with their rows) cut into batches of about `budget` rows, an area never
/// split: as many batches as the budget needs, made even, because two are computed side by
/// side (with an odd number the last ran alone on one core), each area going to the batch
/// its middle row falls in when the rows are divided evenly between them. Always one
/// batch at least.
fn even_batches(areas: Vec<(String, usize)>, budget: usize) -> Vec<Vec<String>> {
    let total: usize = areas.iter().map(|(_, n)| n).sum();
    let mut k = total.div_ceil(budget.max(1)).max(1);
    if k > 1 && k % 2 == 1 {
        k += 1;
    }
    let mut batches: Vec<Vec<String>> = vec![Vec::new(); k];
    let mut before = 0u128;
    for (area, n) in areas {
        // Twice the area's middle row, against twice the rows, in whole numbers.
        let middle = 2 * before + n as u128;
        let b = (middle * k as u128 / (2 * total.max(1) as u128)) as usize;
        batches[b.min(k - 1)].push(area);
        before += n as u128;
    }
    batches.retain(|b| !b.is_empty());
    if batches.is_empty() {
        batches.push(Vec::new());
    }
    batches
}

/// About how many rows a batch of areas holds: with two batches computed side by side, a
/// run's memory is about that of two million rows (or of its largest area), whatever the
/// size of the extract. Measured on 4.1M rows over 40 areas: batches of 2M, 1M and 600,000
/// rows took the same time within this machine's noise, and peaked at 1.4, 1.0 and 0.8 GB.
/// `BCFMON_BATCH_ROWS` sets another (the tests cut tiny extracts into many batches).
fn batch_rows() -> usize {
    std::env::var("BCFMON_BATCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
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
        cached(&self.tallies, (family, rules, spans), |key| make(&key.2))
    }

    /// Families' tallies made together (`People::tally_each`), cached as `tally` would
    /// cache each: `families` are (family, rules, windows) with the family's count.
    pub(super) fn tally_together(&self, people: &People, mut families: Vec<FamilyCount<'_>>) {
        // Those made already (by an earlier pass under other rules) are not made again.
        {
            let cache = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
            families.retain(|(key, _, _)| !cache.contains_key(key));
        }
        if families.is_empty() {
            return;
        }
        let shapes: Vec<(usize, usize)> = families
            .iter()
            .map(|(key, _, slots)| (key.2.len(), *slots))
            .collect();
        let tallies = people.tally_each(&shapes, |p, t| {
            for ((key, count, _), t) in families.iter().zip(t.iter_mut()) {
                count(p, &key.2, t);
            }
        });
        let mut cache = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        for ((key, _, _), t) in families.into_iter().zip(tallies) {
            cache.insert(key, Arc::new(t));
        }
    }

    /// A dated plan's rows for a request, selected by `make` for its first window kind and
    /// shared by the others. The rules are not part of the key: a dated plan's rows do not
    /// depend on them (the hospital metrics follow no method, a local metric reads the
    /// decoded events).
    pub(super) fn dated_rows(
        &self,
        req: &super::Request,
        make: impl FnOnce() -> Result<super::DatedRows, String>,
    ) -> Result<Arc<super::DatedRows>, String> {
        cached(
            &self.dated,
            (req.metric.clone(), req.params.clone()),
            |_| make(),
        )
    }
}

/// The value cached under `key`, or `make`'s, cached for the requests after: made under the
/// lock, as a batch's requests are computed one at a time. A failure is not cached.
fn cached<K: std::hash::Hash + Eq, V>(
    cache: &std::sync::Mutex<HashMap<K, Arc<V>>>,
    key: K,
    make: impl FnOnce(&K) -> Result<V, String>,
) -> Result<Arc<V>, String> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(&key) {
        return Ok(v.clone());
    }
    let v = Arc::new(make(&key)?);
    cache.insert(key, v.clone());
    Ok(v)
}

/// Month ends a request can be computed at, given coverage (metrics.md §0.4: for these
/// metrics coverage_start ≤ ws and coverage_end ≥ we).
pub(super) fn covered(coverage: (NaiveDate, NaiveDate), ws: NaiveDate, we: NaiveDate) -> bool {
    coverage.0 <= ws && coverage.1 >= we
}

/// The months from the first to the last month end within the coverage of any extract.
pub(crate) fn months_in(data: &Data, until: Option<Month>) -> Vec<Month> {
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = data.coverage.values().copied().collect();
    if let Some(c) = data.event_coverage() {
        ranges.extend(c.values().copied());
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

#[cfg(test)]
mod tests {
    use super::even_batches;

    fn areas(rows: &[usize]) -> Vec<(String, usize)> {
        rows.iter()
            .enumerate()
            .map(|(i, n)| (format!("A{i}"), *n))
            .collect()
    }

    #[test]
    fn batches_are_even_in_number_and_in_rows() {
        // 7 areas of 150 rows, budget 200: 1,050 rows need 6 batches (even already) of
        // 175. Middle rows 75, 225, 375, 525, 675, 825, 975 fall in batches 0, 1, 2, 3, 3,
        // 4, 5 (a batch is [175b, 175b + 175)).
        let b = even_batches(areas(&[150; 7]), 200);
        let names = |b: &[Vec<String>]| b.iter().map(|x| x.join("+")).collect::<Vec<_>>();
        assert_eq!(names(&b), ["A0", "A1", "A2", "A3+A4", "A5", "A6"]);
        // Budget 400: 3 batches needed, made 4 of 262.5: middles fall in 0, 0, 1, 2, 2,
        // 3, 3.
        let b = even_batches(areas(&[150; 7]), 400);
        assert_eq!(names(&b), ["A0+A1", "A2", "A3+A4", "A5+A6"]);
        // Everything fits: one batch, not two.
        assert_eq!(
            names(&even_batches(areas(&[150; 7]), 2_000)),
            ["A0+A1+A2+A3+A4+A5+A6"]
        );
        // A budget of one row: every area alone (the tests' many-batch runs rely on it).
        assert_eq!(even_batches(areas(&[3, 1, 5]), 1).len(), 3);
        // Areas named with no rows (`compute --area`): one batch of them all; none: one
        // empty batch.
        assert_eq!(names(&even_batches(areas(&[0, 0]), 10)), ["A0+A1"]);
        assert_eq!(even_batches(Vec::new(), 10), vec![Vec::<String>::new()]);
    }
}
