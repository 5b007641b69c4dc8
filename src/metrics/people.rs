//! The events as people: every row grouped by person in plain slices, and the tally that a
//! person-level family fills for all its windows in one pass.
//!
//! Most rules of the events families are about one person's rows (is an admission new, which
//! setting ranks highest, when a spell of support began). Grouping the rows by person once lets
//! each family walk a person's handful of rows and count that person into every window it
//! belongs to, instead of re-running a whole-table query per window (issue 3: "derive them
//! once and let each window only count").

use crate::extract::events::Events;
use polars::prelude::*;
use rayon::prelude::*;
use std::collections::HashMap;

/// The derived end of an open event: later than any date (metrics.md §0.3: "treated as
/// ending 9999-12-31 in every comparison").
pub(crate) const OPEN: i32 = i32::MAX;

/// A window as days since 1970-01-01: [ws, we].
pub(crate) type Span = (i32, i32);

/// Age in whole years on `day` from a birth (the 1st of the birth month), both as days since
/// 1970-01-01 (metrics.md §0.3; `values::years_in`).
pub(crate) fn age(birth: Option<i32>, day: i32) -> Option<i32> {
    birth.map(|b| crate::extract::values::years_in(day as i64 - b as i64) as i32)
}

/// The events grouped by person. Rows without a start date (association-only carer rows) take
/// part in no rule and are left out.
pub(crate) struct People {
    pub area_names: Vec<String>,
    /// Per person: the area (index into `area_names`), birth and death (person details,
    /// data-contract.md §1.3).
    pub area: Vec<u16>,
    pub birth: Vec<Option<i32>>,
    pub death: Vec<Option<i32>>,
    /// Person p's rows are `offsets[p]..offsets[p + 1]`, in the extract's order.
    pub offsets: Vec<usize>,
    /// Per row.
    pub index: Vec<u32>,
    pub start: Vec<i32>,
    /// The derived end (data-contract.md §1.4); `OPEN` when open.
    pub end: Vec<i32>,
    /// `Event_End_Date` as recorded; `OPEN` when empty.
    pub recorded_end: Vec<i32>,
    pub client: Vec<u8>,
    pub event: Vec<u8>,
    pub outcome: Vec<u8>,
    pub service: Vec<u8>,
    pub mechanism: Vec<u8>,
    pub accommodation: Vec<u8>,
    pub component: Vec<u32>,
    pub review_reason: Vec<u32>,
    pub reason: Vec<u32>,
}

fn codes(df: &DataFrame, name: &str) -> PolarsResult<Vec<u32>> {
    Ok(df
        .column(name)?
        .u32()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

fn day_values(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i32>>> {
    Ok(df
        .column(name)?
        .as_materialized_series()
        .date()?
        .physical()
        .iter()
        .collect())
}

impl People {
    /// Groups the validated events by person (a stable counting sort on the person key).
    pub(crate) fn new(events: &Events) -> PolarsResult<People> {
        let f = &events.frame;
        let person = codes(f, "__person")?;
        let start = day_values(f, "Event_Start_Date")?;
        let n_persons = person.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut offsets = vec![0usize; n_persons + 1];
        for (i, p) in person.iter().enumerate() {
            if start[i].is_some() {
                offsets[*p as usize + 1] += 1;
            }
        }
        for p in 0..n_persons {
            offsets[p + 1] += offsets[p];
        }
        let mut next = offsets.clone();
        let mut order = vec![0u32; offsets[n_persons]];
        for (i, p) in person.iter().enumerate() {
            if start[i].is_some() {
                order[next[*p as usize]] = i as u32;
                next[*p as usize] += 1;
            }
        }
        let areas = f.column("LA_Code")?.str()?.clone();
        let birth_rows = day_values(f, "__birth")?;
        let death_rows = day_values(f, "__death")?;
        let mut ids: HashMap<&str, u16> = HashMap::new();
        let mut area_names = Vec::new();
        let (mut area, mut birth, mut death) = (
            vec![0u16; n_persons],
            vec![None; n_persons],
            vec![None; n_persons],
        );
        for p in 0..n_persons {
            let Some(&first) = order
                .get(offsets[p])
                .filter(|_| offsets[p] < offsets[p + 1])
            else {
                continue;
            };
            let i = first as usize;
            let name = areas.get(i).unwrap_or("");
            area[p] = *ids.entry(name).or_insert_with(|| {
                area_names.push(name.to_string());
                (area_names.len() - 1) as u16
            });
            birth[p] = birth_rows[i];
            death[p] = death_rows[i];
        }
        let pick_days = |v: Vec<Option<i32>>| -> Vec<i32> {
            order
                .iter()
                .map(|&i| v[i as usize].unwrap_or(OPEN))
                .collect()
        };
        let pick_u8 = |name: &str| -> PolarsResult<Vec<u8>> {
            let v = codes(f, name)?;
            Ok(order.iter().map(|&i| v[i as usize] as u8).collect())
        };
        let pick_u32 = |name: &str| -> PolarsResult<Vec<u32>> {
            let v = codes(f, name)?;
            Ok(order.iter().map(|&i| v[i as usize]).collect())
        };
        Ok(People {
            start: pick_days(start),
            end: pick_days(day_values(f, "__end")?),
            recorded_end: pick_days(day_values(f, "Event_End_Date")?),
            client: pick_u8("Client_Type")?,
            event: pick_u8("Event_Type")?,
            outcome: pick_u8("Event_Outcome")?,
            service: pick_u8("Service_Type")?,
            mechanism: pick_u8("Delivery_Mechanism")?,
            accommodation: pick_u8("Accommodation_Status")?,
            component: pick_u32("Service_Component")?,
            review_reason: pick_u32("Review_Reason")?,
            reason: pick_u32("Primary_Support_Reason")?,
            index: order,
            area_names,
            area,
            birth,
            death,
            offsets,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.area.len()
    }

    /// Person p's rows, as positions into the row slices.
    pub(crate) fn rows(&self, p: usize) -> std::ops::Range<usize> {
        self.offsets[p]..self.offsets[p + 1]
    }

    /// Whether the person had not died before `day`.
    pub(crate) fn alive_at(&self, p: usize, day: i32) -> bool {
        self.death[p].is_none_or(|d| d >= day)
    }

    /// Counts people into a tally of `slots` per area and window, person by person (in
    /// parallel: people are independent), with `count(person, tally)`.
    pub(crate) fn tally(
        &self,
        windows: usize,
        slots: usize,
        count: impl Fn(usize, &mut Tally) + Sync,
    ) -> Tally {
        let empty = || Tally::new(self.area_names.clone(), windows, slots);
        let chunk = (self.len() / 64).max(1024);
        (0..self.len())
            .into_par_iter()
            .with_min_len(chunk)
            .fold(empty, |mut t, p| {
                count(p, &mut t);
                t
            })
            .reduce(empty, |mut a, b| {
                a.merge(&b);
                a
            })
    }
}

/// A counter's place in a family's tally: one numerator or denominator (of one breakdown)
/// that the family's single pass counts. Each family says what its slots hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Slot(pub(crate) usize);

/// Counts per window, area and slot (a family's numerators and denominators side by side).
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    areas: Vec<String>,
    windows: usize,
    slots: usize,
    counts: Vec<u64>,
}

impl Tally {
    pub(crate) fn new(areas: Vec<String>, windows: usize, slots: usize) -> Tally {
        let len = areas.len() * windows * slots;
        Tally {
            areas,
            windows,
            slots,
            counts: vec![0; len],
        }
    }

    fn at(&self, window: usize, area: usize, slot: Slot) -> usize {
        (window * self.areas.len() + area) * self.slots + slot.0
    }

    pub(crate) fn add(&mut self, window: usize, area: usize, slot: Slot, by: u64) {
        let i = self.at(window, area, slot);
        self.counts[i] += by;
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The count of an area by name (0 for an area with nothing counted).
    pub(crate) fn get(&self, window: usize, area: &str, slot: Slot) -> u64 {
        match self.areas.iter().position(|a| a == area) {
            Some(a) if window < self.windows => self.counts[self.at(window, a, slot)],
            _ => 0,
        }
    }
}

/// Counts dated items (an episode's end, a discharge) into every window holding the date:
/// each item is (area, day, the slots it counts in as a bit set).
pub(crate) fn tally_dated(
    areas: Vec<String>,
    windows: &[Span],
    slots: usize,
    items: impl Iterator<Item = (usize, i32, u64)>,
) -> Tally {
    let mut t = Tally::new(areas, windows.len(), slots);
    for (area, day, counted) in items {
        for w in windows_holding(windows, day) {
            for s in (0..slots).filter(|s| counted & (1 << s) != 0) {
                t.add(w, area, Slot(s), 1);
            }
        }
    }
    t
}

/// The windows (by position) whose span holds the day.
pub(crate) fn windows_holding(windows: &[Span], day: i32) -> impl Iterator<Item = usize> + '_ {
    windows
        .iter()
        .enumerate()
        .filter(move |(_, (ws, we))| *ws <= day && day <= *we)
        .map(|(w, _)| w)
}

/// The rows ranked first on a key (highest), reusing `top` as the buffer.
pub(crate) fn top_rows<K: Ord + Copy>(
    rows: impl Iterator<Item = usize>,
    key: impl Fn(usize) -> K,
    top: &mut Vec<usize>,
) {
    top.clear();
    let mut best: Option<K> = None;
    for r in rows {
        let k = key(r);
        match best {
            Some(b) if k < b => {}
            Some(b) if k == b => top.push(r),
            _ => {
                best = Some(k);
                top.clear();
                top.push(r);
            }
        }
    }
}
