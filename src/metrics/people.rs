//! The events as people: every row grouped by person in plain slices, and the tally that a
//! person-level family fills for all its windows in one pass.
//!
//! Most rules of the events families are about one person's rows (is an admission new, which
//! setting ranks highest, when a spell of support began). Grouping the rows by person once lets
//! each family walk a person's handful of rows and count that person into every window it
//! belongs to, instead of re-running a whole-table query per window (issue 3: "derive them
//! once and let each window only count").

use crate::extract::events::{derived_end, EventColumns, Events};
use crate::method::{Rule, Rules};
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

/// A family's rule for one person: counts person p into the tally for every window it
/// belongs to. Families are written this way so that the same person can be counted under
/// two rule sets and compared (`moved`).
pub(crate) type PersonCount<'a> =
    std::sync::Arc<dyn Fn(usize, &[Span], &mut Tally) + Send + Sync + 'a>;

/// The coverage of an area's events as days since 1970-01-01, for the rules that drop rows
/// outside it (D4, D9).
pub(crate) type CoverageOf<'c> = &'c dyn Fn(&str) -> Option<Span>;

impl People {
    /// Groups the validated events by person (a stable counting sort on the person key),
    /// keeping the rows the row rules of `rules` keep (D2, D4, D5 and D9 of metrics.md §16;
    /// none under bcfmon's method).
    pub(crate) fn new(events: &Events, rules: Rules, coverage: CoverageOf<'_>) -> People {
        let f = &events.columns;
        let person = &f.person;
        let start = f.days("Event_Start_Date");
        let recorded = f.days("Event_End_Date");
        let own_death = f.days("Date_of_Death");
        // D2: the derived end from the row's own date of death instead of the person's.
        let end: std::borrow::Cow<'_, [Option<i32>]> = if rules.has(Rule::D2) {
            (0..f.len())
                .map(|i| derived_end(start[i], recorded[i], own_death[i]))
                .collect::<Vec<_>>()
                .into()
        } else {
            f.days("__end").into()
        };
        let kept = kept_rows(f, rules, coverage, start, &end, own_death);
        let n_persons = person.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut offsets = vec![0usize; n_persons + 1];
        for (i, p) in person.iter().enumerate() {
            if kept[i] {
                offsets[*p as usize + 1] += 1;
            }
        }
        for p in 0..n_persons {
            offsets[p + 1] += offsets[p];
        }
        let mut next = offsets.clone();
        let mut order = vec![0u32; offsets[n_persons]];
        for (i, p) in person.iter().enumerate() {
            if kept[i] {
                order[next[*p as usize]] = i as u32;
                next[*p as usize] += 1;
            }
        }
        if rules.has(Rule::D5) {
            (offsets, order) = unique_events(f, &offsets, &order, start, &end);
        }
        let birth_rows = f.days("__birth");
        let death_rows = f.days("__death");
        // Looked up on each person's first row: foldhash, not std's SipHash, for a key
        // looked up hundreds of thousands of times.
        let mut ids: foldhash::HashMap<&str, u16> = foldhash::HashMap::default();
        let mut area_names = Vec::new();
        let (mut area, mut birth, mut death) = (
            vec![0u16; n_persons],
            vec![None; n_persons],
            vec![None; n_persons],
        );
        // A person's area and details come from their first row with a start, whichever
        // rows the rules keep, so that every rule set numbers people and areas alike and
        // two counts of one person can be compared (`moved`).
        let mut seen = vec![false; n_persons];
        for (i, name) in f.area_of_rows().enumerate() {
            let p = person[i] as usize;
            if seen[p] || start[i].is_none() {
                continue;
            }
            seen[p] = true;
            area[p] = *ids.entry(name).or_insert_with(|| {
                area_names.push(name.to_string());
                (area_names.len() - 1) as u16
            });
            birth[p] = birth_rows[i];
            death[p] = death_rows[i];
        }
        let pick_days = |v: &[Option<i32>]| -> Vec<i32> {
            order
                .iter()
                .map(|&i| v[i as usize].unwrap_or(OPEN))
                .collect()
        };
        let pick_u8 = |name: &str| -> Vec<u8> {
            let v = f.codes(name);
            order.iter().map(|&i| v[i as usize] as u8).collect()
        };
        let pick_u32 = |name: &str| -> Vec<u32> {
            let v = f.codes(name);
            order.iter().map(|&i| v[i as usize]).collect()
        };
        People {
            start: pick_days(start),
            end: pick_days(&end),
            recorded_end: pick_days(recorded),
            client: pick_u8("Client_Type"),
            event: pick_u8("Event_Type"),
            outcome: pick_u8("Event_Outcome"),
            service: pick_u8("Service_Type"),
            mechanism: pick_u8("Delivery_Mechanism"),
            accommodation: pick_u8("Accommodation_Status"),
            component: pick_u32("Service_Component"),
            review_reason: pick_u32("Review_Reason"),
            reason: pick_u32("Primary_Support_Reason"),
            index: order,
            area_names,
            area,
            birth,
            death,
            offsets,
        }
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
        let mut one = self.tally_each(&[(windows, slots)], |p, t| count(p, &mut t[0]));
        one.pop().expect("one tally")
    }

    /// Several families' tallies in one pass over the people, each family given its
    /// windows and slots: a person's rows are read into the cache once for all of them, not
    /// once per family (each family's pass streamed every row of the batch from memory).
    pub(crate) fn tally_each(
        &self,
        families: &[(usize, usize)],
        count: impl Fn(usize, &mut [Tally]) + Sync,
    ) -> Vec<Tally> {
        let empty = || -> Vec<Tally> {
            families
                .iter()
                .map(|&(windows, slots)| Tally::new(self.area_names.clone(), windows, slots))
                .collect()
        };
        let chunk = (self.len() / 64).max(1024);
        (0..self.len())
            .into_par_iter()
            .with_min_len(chunk)
            .fold(empty, |mut t, p| {
                count(p, &mut t);
                t
            })
            .reduce(empty, |mut a, b| {
                for (a, b) in a.iter_mut().zip(&b) {
                    a.merge(b);
                }
                a
            })
    }
}

/// Which rows of the frame take part: every row with a start date (association-only carer
/// rows have none), less the rows D4 and D9 drop.
///
/// D4 (`create_FilterToEventsInPeriod_procedure.sql`, the WHERE clause): a request,
/// assessment or review is kept only if its derived end falls within the coverage and it
/// starts by the coverage end (an open one is dropped); a service only if it has not ended
/// before the coverage start and starts by its end. D9 (same clause): a row whose own date
/// of death is before the coverage start is dropped. An area with no coverage keeps its rows
/// (its windows are insufficient-coverage anyway).
fn kept_rows(
    f: &EventColumns,
    rules: Rules,
    coverage: CoverageOf<'_>,
    start: &[Option<i32>],
    end: &[Option<i32>],
    own_death: &[Option<i32>],
) -> Vec<bool> {
    let (d4, d9) = (rules.has(Rule::D4), rules.has(Rule::D9));
    if !d4 && !d9 {
        return start.iter().map(Option::is_some).collect();
    }
    let event = f.codes("Event_Type");
    let service = u32::from(Events::code("Event_Type", "Service"));
    let mut known: HashMap<&str, Option<Span>> = HashMap::new();
    f.area_of_rows()
        .enumerate()
        .map(|(i, area)| {
            let Some(s) = start[i] else { return false };
            let Some((from, to)) = *known.entry(area).or_insert_with(|| coverage(area)) else {
                return true;
            };
            let e = end[i].unwrap_or(OPEN);
            let within = if event[i] == service {
                e >= from
            } else {
                e != OPEN && from <= e && e <= to
            };
            (!d4 || (within && s <= to)) && (!d9 || own_death[i].is_none_or(|d| d >= from))
        })
        .collect()
}

/// D5: DHSC's unique events (`create_GetDerivedFields_procedure.sql` makes the reference,
/// `create_GetUniqueEvents_procedure.sql` keeps one row per reference for joined
/// submissions). Rows of one person that agree on start, Client_Type, Event_Type and, by
/// event type, the derived end (not for services), Request_Route_of_Access (requests),
/// Assessment_Type (assessments), Service_Type and Service_Component (services) are one
/// event; the row kept has the latest derived end (open first), then the lowest outcome
/// hierarchy (empty 999), then the later line (DHSC's conversation flag and load order have
/// no counterpart in an extract). Returns the offsets and rows without the others.
fn unique_events(
    f: &EventColumns,
    offsets: &[usize],
    order: &[u32],
    start: &[Option<i32>],
    end: &[Option<i32>],
) -> (Vec<usize>, Vec<u32>) {
    let (client, event, outcome) = (
        f.codes("Client_Type"),
        f.codes("Event_Type"),
        f.codes("Event_Outcome"),
    );
    let (route, assessment, service, component) = (
        f.codes("Request_Route_of_Access"),
        f.codes("Assessment_Type"),
        f.codes("Service_Type"),
        f.codes("Service_Component"),
    );
    let code = |v: &str| u32::from(Events::code("Event_Type", v));
    let (svc, req, asm) = (code("Service"), code("Request"), code("Assessment"));
    let key = |i: usize| {
        let e = event[i];
        let by = |is: bool, v: &[u32]| if is { v[i] } else { 0 };
        (
            start[i],
            (e != svc).then_some(end[i]),
            client[i],
            e,
            by(e == req, route),
            by(e == asm, assessment),
            by(e == svc, service),
            by(e == svc, component),
        )
    };
    let rank = |i: usize| {
        (
            std::cmp::Reverse(end[i].unwrap_or(OPEN)),
            super::reablement::dhsc_hierarchy(outcome[i] as u8),
            std::cmp::Reverse(i),
        )
    };
    let n_persons = offsets.len() - 1;
    let dropped: Vec<u32> = (0..n_persons)
        .into_par_iter()
        .with_min_len(4096)
        .flat_map_iter(|p| {
            let rows = &order[offsets[p]..offsets[p + 1]];
            let mut out = Vec::new();
            if rows.len() > 1 {
                let mut sorted = rows.to_vec();
                sorted.sort_by_key(|&i| (key(i as usize), rank(i as usize)));
                for g in sorted.chunk_by(|a, b| key(*a as usize) == key(*b as usize)) {
                    out.extend_from_slice(&g[1..]);
                }
            }
            out
        })
        .collect();
    if dropped.is_empty() {
        return (offsets.to_vec(), order.to_vec());
    }
    let mut gone = vec![false; f.len()];
    for i in dropped {
        gone[i as usize] = true;
    }
    let mut new_offsets = vec![0usize; n_persons + 1];
    let mut new_order = Vec::with_capacity(order.len());
    for p in 0..n_persons {
        new_order.extend(
            order[offsets[p]..offsets[p + 1]]
                .iter()
                .filter(|&&i| !gone[i as usize]),
        );
        new_offsets[p + 1] = new_order.len();
    }
    (new_offsets, new_order)
}

/// How many people (or a family's items: ascof-2a counts episodes) each slot gains or loses
/// between two ways of counting the same people: for every person, the difference of their
/// two counts in each window, area and slot, summed. Only counts leave this function, never
/// a person. Both `People` number people and areas alike (see `People::new`).
pub(crate) fn moved(
    a: (&People, &PersonCount<'_>),
    b: (&People, &PersonCount<'_>),
    windows: &[Span],
    slots: usize,
) -> Tally {
    let areas = a.0.area_names.clone();
    let fresh = || Tally::new(areas.clone(), windows.len(), slots);
    let empty = || (fresh(), fresh().logged(), fresh().logged());
    let chunk = (a.0.len() / 64).max(1024);
    (0..a.0.len().min(b.0.len()))
        .into_par_iter()
        .with_min_len(chunk)
        .fold(empty, |(mut m, mut x, mut y), p| {
            (a.1)(p, windows, &mut x);
            (b.1)(p, windows, &mut y);
            let mut touched = x.log.take().unwrap_or_default();
            touched.extend(y.log.iter().flatten());
            for &i in &touched {
                m.counts[i] += x.counts[i].abs_diff(y.counts[i]);
                x.counts[i] = 0;
                y.counts[i] = 0;
            }
            touched.clear();
            x.log = Some(touched);
            if let Some(log) = &mut y.log {
                log.clear();
            }
            (m, x, y)
        })
        .map(|(m, _, _)| m)
        .reduce(fresh, |mut a, b| {
            a.merge(&b);
            a
        })
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
    /// The counts added to since last read, when the tally is a person's scratch (`moved`).
    log: Option<Vec<usize>>,
}

impl Tally {
    pub(crate) fn new(areas: Vec<String>, windows: usize, slots: usize) -> Tally {
        let len = areas.len() * windows * slots;
        Tally {
            areas,
            windows,
            slots,
            counts: vec![0; len],
            log: None,
        }
    }

    /// The tally, logging where it is added to (see `touched`).
    fn logged(mut self) -> Tally {
        self.log = Some(Vec::new());
        self
    }

    fn at(&self, window: usize, area: usize, slot: Slot) -> usize {
        (window * self.areas.len() + area) * self.slots + slot.0
    }

    pub(crate) fn add(&mut self, window: usize, area: usize, slot: Slot, by: u64) {
        let i = self.at(window, area, slot);
        self.counts[i] += by;
        if let Some(log) = &mut self.log {
            log.push(i);
        }
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
    let mut by_day = DayCounts::new(windows, areas.len(), slots);
    for (area, day, counted) in items {
        for s in (0..slots).filter(|s| counted & (1 << s) != 0) {
            by_day.add(area, day, Slot(s), 1);
        }
    }
    by_day.tally(areas, windows)
}

/// Counts by area, slot and day, made into a window's counts by running totals: an item
/// costs one addition, not one for every window holding its day (a rolling 12-month window
/// at 37 month ends holds a day up to 12 times, and that scan of every window for every row
/// was the metric stage's largest loop). Sums are the same: integers, added in another order.
pub(crate) struct DayCounts {
    /// The first day any window holds, and how many days from there to the last.
    first: i32,
    days: usize,
    slots: usize,
    /// By (area, slot), then day.
    counts: Vec<u64>,
}

impl DayCounts {
    pub(crate) fn new(windows: &[Span], areas: usize, slots: usize) -> DayCounts {
        let held = windows.iter().filter(|(ws, we)| ws <= we);
        let first = held.clone().map(|w| w.0).min().unwrap_or(0);
        let last = held.map(|w| w.1).max().unwrap_or(first - 1);
        let days = usize::try_from(last - first + 1).unwrap_or(0);
        DayCounts {
            first,
            days,
            slots,
            counts: vec![0; areas * slots * days],
        }
    }

    /// Adds to an area's slot on a day; a day no window holds counts nowhere.
    pub(crate) fn add(&mut self, area: usize, day: i32, slot: Slot, by: u64) {
        let Ok(d) = usize::try_from(day - self.first) else {
            return;
        };
        if d < self.days {
            let i = (area * self.slots + slot.0) * self.days + d;
            self.counts[i] = self.counts[i].wrapping_add(by);
        }
    }

    /// Every window's counts: for each (area, slot) the running total to the window's last
    /// day less that before its first (wrapping, so exact wherever the sum itself fits).
    pub(crate) fn tally(mut self, areas: Vec<String>, windows: &[Span]) -> Tally {
        let mut t = Tally::new(areas, windows.len(), self.slots);
        if self.days == 0 {
            return t;
        }
        for run in self.counts.chunks_mut(self.days) {
            let mut total = 0u64;
            for c in run {
                total = total.wrapping_add(*c);
                *c = total;
            }
        }
        for (w, &(ws, we)) in windows.iter().enumerate().filter(|(_, (ws, we))| ws <= we) {
            let (from, to) = ((ws - self.first) as usize, (we - self.first) as usize);
            for (k, run) in self.counts.chunks(self.days).enumerate() {
                let before = if from == 0 { 0 } else { run[from - 1] };
                t.add(
                    w,
                    k / self.slots,
                    Slot(k % self.slots),
                    run[to].wrapping_sub(before),
                );
            }
        }
        t
    }
}

/// The windows (by position) whose span holds the day.
pub(crate) fn windows_holding(windows: &[Span], day: i32) -> impl Iterator<Item = usize> + '_ {
    windows
        .iter()
        .enumerate()
        .filter(move |(_, (ws, we))| *ws <= day && day <= *we)
        .map(|(w, _)| w)
}

/// The days some of a person's rows span: the earliest start and the latest (derived) end;
/// `None` for no rows. A window outside it holds none of them, so a family passes it over.
pub(crate) fn span_of(people: &People, rows: &[usize]) -> Option<Span> {
    let first = rows.iter().map(|&r| people.start[r]).min()?;
    let last = rows.iter().map(|&r| people.end[r]).max()?;
    Some((first, last))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows: none (a month with no window), days 10-20, 15-40 and the snapshot day 30.
    /// Items: area 0 on day 15 in slot 0; area 0 on day 30 in slots 0 and 1; area 1 on days
    /// 9 and 40 in slot 1; area 0 on day 50, which no window holds. By hand: 10-20 holds only
    /// day 15 (area 0 slot 0: 1); 15-40 holds days 15, 30 and 40 (area 0 slot 0: 2, slot 1:
    /// 1; area 1 slot 1: 1); day 30 holds area 0's day-30 item (slot 0: 1, slot 1: 1).
    #[test]
    fn dated_items_count_in_every_window_holding_their_day() {
        let windows = [(1, 0), (10, 20), (15, 40), (30, 30)];
        let items = [
            (0, 15, 0b01),
            (0, 30, 0b11),
            (1, 9, 0b10),
            (1, 40, 0b10),
            (0, 50, 0b01),
        ];
        let t = tally_dated(vec!["a".into(), "b".into()], &windows, 2, items.into_iter());
        let got = |w, a, s| t.get(w, a, Slot(s));
        let all: Vec<u64> = (0..4)
            .flat_map(|w| [("a", 0), ("a", 1), ("b", 0), ("b", 1)].map(|(a, s)| got(w, a, s)))
            .collect();
        assert_eq!(all, [0, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0, 1, 1, 1, 0, 0]);
        // The scan it replaces gives the same counts.
        for (w, &(ws, we)) in windows.iter().enumerate() {
            for (a, area) in ["a", "b"].into_iter().enumerate() {
                for s in 0..2 {
                    let scanned = items
                        .iter()
                        .filter(|(ia, d, m)| *ia == a && ws <= *d && *d <= we && m & (1 << s) != 0)
                        .count() as u64;
                    assert_eq!(got(w, area, s), scanned);
                }
            }
        }
    }
}
