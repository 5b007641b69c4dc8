//! The `events` extract (data-contract.md §1): CLD-shaped event rows, validated (E01–E10,
//! W01–W07), with person details resolved and the derived end date (§1.3, §1.4).
//!
//! Coded columns are stored compactly: closed lists as `UInt32` positions in their list
//! (0 = empty, 255 = `Invalid and not mapped`), open lists as `UInt32` keys into a
//! dictionary. Metric expressions compare against positions found with `Events::code`.

use super::coded::{DateRead, Seen};
use super::codes::{self, closed, INVALID};
use super::partition::{
    day_bytes, read_day, read_loc, read_u128, read_u32, take, write_day, Interner, Partitions,
    Record,
};
use super::values::{days, null, whole, BIRTH_MONTHS, BIRTH_YEARS};
use super::{date_column, read_chunks, refuse, FileReport, Ledger, Loc, Severity, Source};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The closed-list columns kept, with their lists.
pub(crate) const CLOSED: &[(&str, &[&str])] = &[
    ("Client_Type", codes::CLIENT_TYPE),
    ("Event_Type", codes::EVENT_TYPE),
    ("Event_Outcome", codes::EVENT_OUTCOME),
    ("Service_Type", codes::SERVICE_TYPE),
    ("Delivery_Mechanism", codes::DELIVERY_MECHANISM),
    ("Accommodation_Status", codes::ACCOMMODATION_STATUS),
];

/// Closed-list columns that are validated (W01) but not kept.
const CHECKED_ONLY: &[(&str, &[&str])] = &[
    ("Ethnicity", codes::ETHNICITY),
    ("Employment_Status", codes::EMPLOYMENT_STATUS),
    ("Client_Funding_Status", codes::CLIENT_FUNDING_STATUS),
];

/// The open-list columns kept, as dictionary keys.
pub(crate) const OPEN: &[&str] = &[
    "Service_Component",
    "Review_Reason",
    "Primary_Support_Reason",
    "Assessment_Type",
    // Only DHSC's unique events read it (rule D5, metrics.md §16).
    "Request_Route_of_Access",
];

/// A person key (data-contract.md §1.2) as a 128-bit fingerprint of its parts: the area and
/// NHS number, or the area and the council's identifier for someone without one (three
/// parts, so the two forms never meet). Millions of keys are looked up per run; two
/// independent 64-bit hashes make a collision among a few million people about a 1e-26
/// chance, so no key text needs to be kept.
pub(crate) fn person_key(area: &str, nhs_number: Option<&str>, council_id: Option<&str>) -> u128 {
    let hash = |parts: &[&str]| super::values::fingerprint128((0x0bcf_0001, 0x0bcf_0002), parts);
    match nhs_number {
        Some(n) => hash(&[area, n]),
        None => hash(&["", area, council_id.unwrap_or_default()]),
    }
}

/// Position code for an empty closed-list value, and for `Invalid and not mapped`.
pub(crate) const EMPTY: u8 = 0;
pub(crate) const INVALID_CODE: u8 = 255;

/// The dated columns of `EventColumns`, in order: the person's birth and death, the row's
/// own date of death, start and recorded end, and the derived end (§1.4).
pub(crate) const DATED: [&str; 6] = [
    "__birth",
    "__death",
    "Date_of_Death",
    "Event_Start_Date",
    "Event_End_Date",
    "__end",
];

/// A batch's kept event rows as plain columns, the form the engine reads (`People`): areas'
/// rows run together, in key order, each area's in file order.
pub(crate) struct EventColumns {
    /// Runs of one area: its code and how many rows.
    pub areas: Vec<(String, usize)>,
    /// The person, numbered from 1 over the batch.
    pub person: Vec<u32>,
    /// As days, by `DATED`.
    pub dated: [Vec<Option<i32>>; 6],
    /// Closed-list codes, by `CLOSED`; open-list keys, by `OPEN`.
    pub closed: [Vec<u32>; CLOSED.len()],
    pub open: [Vec<u32>; OPEN.len()],
}

impl EventColumns {
    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.person.len()
    }

    /// Each row's area code.
    pub(crate) fn area_of_rows(&self) -> impl Iterator<Item = &str> + '_ {
        super::area_of_rows(&self.areas)
    }

    /// A dated column by name (`DATED`).
    pub(crate) fn days(&self, name: &str) -> &[Option<i32>] {
        let i = DATED
            .iter()
            .position(|d| *d == name)
            .expect("a dated column");
        &self.dated[i]
    }

    /// A closed-list or open-list column by name, as codes or keys.
    pub(crate) fn codes(&self, name: &str) -> &[u32] {
        match CLOSED.iter().position(|(c, _)| *c == name) {
            Some(i) => &self.closed[i],
            None => {
                let i = OPEN
                    .iter()
                    .position(|c| *c == name)
                    .expect("a coded column");
                &self.open[i]
            }
        }
    }

    /// The columns as a polars frame: `LA_Code`, `__person`, the dated columns, the codes.
    fn frame(&self) -> PolarsResult<DataFrame> {
        enum Values<'v> {
            /// Runs of one text.
            Text(&'static str, &'v [(String, usize)]),
            Keys(&'static str, &'v [u32]),
            Days(&'static str, &'v [Option<i32>]),
        }
        let values: Vec<Values> = [
            Values::Text("LA_Code", &self.areas),
            Values::Keys("__person", &self.person),
        ]
        .into_iter()
        .chain(
            DATED
                .iter()
                .zip(&self.dated)
                .map(|(n, v)| Values::Days(n, v)),
        )
        .chain(
            CLOSED
                .iter()
                .zip(&self.closed)
                .map(|((n, _), v)| Values::Keys(n, v)),
        )
        .chain(OPEN.iter().zip(&self.open).map(|(n, v)| Values::Keys(n, v)))
        .collect();
        let columns: Vec<Column> = values
            .into_par_iter()
            .map(|v| match v {
                Values::Text(name, runs) => {
                    // Each run as one repeated value, then in one array, as a column of every
                    // row's text would be.
                    let mut ca = StringChunked::full(name.into(), "", 0);
                    for (text, count) in runs {
                        ca.append(&StringChunked::full(name.into(), text, *count))
                            .expect("same type");
                    }
                    ca.rechunk().into_owned().into_column()
                }
                Values::Keys(name, v) => Column::new(name.into(), v),
                Values::Days(name, v) => date_column(name, v.to_vec()),
            })
            .collect();
        DataFrame::new_infer_height(columns)
    }
}

/// The validated events of a batch of areas: their columns, the open-list dictionaries, and
/// coverage per area.
pub(crate) struct Events {
    pub columns: EventColumns,
    pub dictionaries: std::sync::Arc<BTreeMap<&'static str, Vec<String>>>,
    pub coverage: BTreeMap<String, (NaiveDate, NaiveDate)>,
    /// Person (the `__person` column) by `person_key(LA_Code, NHS number)`, for linking
    /// hospital spells (ascof-2d). Only people with an NHS number are here.
    pub by_nhs_number: std::sync::Arc<foldhash::HashMap<u128, u32>>,
}

/// The derived end of an event (data-contract.md §1.4), as days: the date of death when it
/// falls on or between start and end, or after the start of an open event; otherwise the
/// recorded end. bcfmon's method takes the person's latest date of death; DHSC's the row's
/// own (rule D2, metrics.md §16).
pub(crate) fn derived_end(start: Option<i32>, end: Option<i32>, death: Option<i32>) -> Option<i32> {
    match (start, end, death) {
        (Some(s), Some(e), Some(d)) if s <= d && d <= e => Some(d),
        (Some(s), None, Some(d)) if d > s => Some(d),
        (_, e, _) => e,
    }
}

impl Events {
    /// The stored code of a closed-list value (its position + 1).
    pub(crate) fn code(column: &str, value: &str) -> u8 {
        let list = CLOSED
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, l)| *l)
            .expect("a closed-list column");
        list.iter()
            .position(|v| *v == value)
            .map(|p| p as u8 + 1)
            .expect("a listed value")
    }

    /// Which dictionary keys of an open-list column have a value satisfying `pred`, as a
    /// lookup indexed by key (key 0 is the empty value, `pred(None)`).
    pub(crate) fn key_set(&self, column: &str, pred: impl Fn(Option<&str>) -> bool) -> Vec<bool> {
        let dict = &self.dictionaries[column];
        std::iter::once(pred(None))
            .chain(dict.iter().map(|v| pred(Some(v))))
            .collect()
    }
}

impl Events {
    /// The frame with every coded column decoded back to its canonical text, for local SQL
    /// metrics written against the contract's values.
    pub(crate) fn decoded(&self) -> PolarsResult<DataFrame> {
        let mut df = self.columns.frame()?;
        for (name, list) in CLOSED {
            let codes = df.column(name)?.u32()?.clone();
            let text: Vec<Option<&str>> = codes
                .iter()
                .map(|c| match c {
                    None | Some(0) => None,
                    Some(c) if c == INVALID_CODE as u32 => Some(INVALID),
                    Some(c) => list.get(c as usize - 1).copied(),
                })
                .collect();
            df.with_column(Column::new((*name).into(), text))?;
        }
        for name in OPEN {
            let dict = &self.dictionaries[name];
            let keys = df.column(name)?.u32()?.clone();
            let text: Vec<Option<&str>> = keys
                .iter()
                .map(|k| k.filter(|k| *k > 0).map(|k| dict[k as usize - 1].as_str()))
                .collect();
            df.with_column(Column::new((*name).into(), text))?;
        }
        Ok(df)
    }
}

/// One accepted event row as the row pass leaves it: typed, before duplicates (W03) and
/// person details (W07) are settled, which need all of an area's rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Row {
    /// Where the row is (its file among the extract's files, then its line or row).
    pub loc: Loc,
    /// `events::person_key` of the row.
    pub key: u128,
    pub has_nhs_number: bool,
    pub birth: Option<i32>,
    pub death: Option<i32>,
    pub start: Option<i32>,
    pub end: Option<i32>,
    pub closed: [u8; CLOSED.len()],
    pub open: [u32; OPEN.len()],
    /// The fingerprint of every field, for W03.
    pub hash: u64,
}

/// Where a stored `Row`'s fields lie (`Row::write`): settling an area reads a few fields of
/// every row where they lie, and copies the run its kept record shares (`Kept`).
mod at {
    use super::{CLOSED, OPEN};
    /// After the location (8 bytes).
    pub(super) const KEY: usize = 8;
    pub(super) const NHS: usize = KEY + 16;
    pub(super) const BIRTH: usize = NHS + 1;
    /// The row's death, start and end, closed codes and open keys: as `Kept` ends.
    pub(super) const DEATH: usize = BIRTH + 4;
    /// The open keys, four bytes each (keyed first by a share, then over the file).
    pub(super) const OPEN_KEYS: usize = DEATH + 3 * 4 + CLOSED.len();
    pub(super) const HASH: usize = OPEN_KEYS + 4 * OPEN.len();
    pub(super) const SIZE: usize = HASH + 8;
}

// A kept record is the person and the person's birth and death (12 bytes), then the run of
// the row's own fields a stored row holds from `at::DEATH` to `at::HASH`.
const _: () = assert!(matches!(Kept::SIZE, Some(s) if s == 12 + at::HASH - at::DEATH));

impl Record<'_> for Row {
    /// Location, key, the NHS-number flag, four days, the closed codes, the open keys and the
    /// fingerprint: every field has a fixed width (`at`).
    const SIZE: Option<usize> = Some(at::SIZE);

    fn write(&self, out: &mut Vec<u8>) {
        // Made whole on the stack and added at once: every accepted row is written, and a
        // dozen small appends each checked the room left.
        let mut r = [0u8; at::SIZE];
        let mut w = &mut r[..];
        let mut put = |bytes: &[u8]| {
            let (head, rest) = std::mem::take(&mut w).split_at_mut(bytes.len());
            head.copy_from_slice(bytes);
            w = rest;
        };
        put(&self.loc.to_bits().to_le_bytes());
        put(&self.key.to_le_bytes());
        put(&[u8::from(self.has_nhs_number)]);
        for d in [self.birth, self.death, self.start, self.end] {
            put(&day_bytes(d));
        }
        put(&self.closed);
        for k in self.open {
            put(&k.to_le_bytes());
        }
        put(&self.hash.to_le_bytes());
        out.extend_from_slice(&r);
    }

    fn read(b: &mut &[u8]) -> Row {
        let loc = read_loc(b);
        let key = read_u128(b);
        let has_nhs_number = take(b, 1)[0] != 0;
        let (birth, death, start, end) = (read_day(b), read_day(b), read_day(b), read_day(b));
        let closed = take(b, CLOSED.len()).try_into().expect("closed codes");
        let mut open = [0; OPEN.len()];
        for k in &mut open {
            *k = read_u32(b);
        }
        let hash = u64::from_le_bytes(take(b, 8).try_into().expect("8 bytes"));
        Row {
            loc,
            key,
            has_nhs_number,
            birth,
            death,
            start,
            end,
            closed,
            open,
            hash,
        }
    }
}

/// A row its area kept once settled (`Settled`: later copies dropped, person details
/// resolved), as the engine reads it: the person (numbered from 1 in the area), the person's
/// birth and death, the row's own death, start and end, the closed codes and open keys.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Kept {
    person: u32,
    birth: Option<i32>,
    death: Option<i32>,
    own_death: Option<i32>,
    start: Option<i32>,
    end: Option<i32>,
    closed: [u8; CLOSED.len()],
    open: [u32; OPEN.len()],
}

impl Record<'_> for Kept {
    const SIZE: Option<usize> = Some(4 + 5 * 4 + CLOSED.len() + 4 * OPEN.len());

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.person.to_le_bytes());
        for d in [self.birth, self.death, self.own_death, self.start, self.end] {
            write_day(out, d);
        }
        out.extend_from_slice(&self.closed);
        for k in self.open {
            out.extend_from_slice(&k.to_le_bytes());
        }
    }

    fn read(b: &mut &[u8]) -> Kept {
        let person = read_u32(b);
        let (birth, death, own_death, start, end) = (
            read_day(b),
            read_day(b),
            read_day(b),
            read_day(b),
            read_day(b),
        );
        let closed = take(b, CLOSED.len()).try_into().expect("closed codes");
        let mut open = [0; OPEN.len()];
        for k in &mut open {
            *k = read_u32(b);
        }
        Kept {
            person,
            birth,
            death,
            own_death,
            start,
            end,
            closed,
            open,
        }
    }
}

/// A person of an area with an NHS number: the person key and number in the area, for
/// linking hospital spells (`Events::by_nhs_number`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct NhsPerson {
    key: u128,
    person: u32,
}

impl Record<'_> for NhsPerson {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.person.to_le_bytes());
    }

    fn read(b: &mut &[u8]) -> NhsPerson {
        let key = read_u128(b);
        NhsPerson {
            key,
            person: read_u32(b),
        }
    }
}

/// One field's hash, for a row's fingerprint (W03).
fn field_hash(v: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x0f1e).hash_one(v)
}

/// A row's fingerprint (W03) with one more field's hash folded on: a folded multiply (the
/// step of foldhash's own hasher), so the fingerprint depends on every field and its place.
/// It is only compared within an area, and not kept beyond the run.
fn fold_hash(h: u64, field: u64) -> u64 {
    const MULTIPLE: u64 = 0x9e37_79b9_7f4a_7c15;
    let full = u128::from(h ^ field) * u128::from(MULTIPLE);
    (full as u64) ^ ((full >> 64) as u64)
}

/// A row's fields by the file's column: their texts, and their codes when the file was read
/// as codes (`extract::coded`).
trait Cells {
    fn text(&self, column: usize) -> &str;
    fn code(&self, column: usize) -> Option<u32>;
}

/// A row as texts (a CSV record, or Parquet read by polars).
struct Texts<'r>(&'r [&'r str]);

impl Cells for Texts<'_> {
    fn text(&self, column: usize) -> &str {
        self.0.get(column).copied().unwrap_or("")
    }
    fn code(&self, _: usize) -> Option<u32> {
        None
    }
}

/// A row of columns read as codes: the columns, and the row's position in them.
struct CodedRow<'r>(&'r [super::coded::Coded], usize);

impl Cells for CodedRow<'_> {
    fn text(&self, column: usize) -> &str {
        self.0.get(column).map_or("", |c| c.text(self.1))
    }
    fn code(&self, column: usize) -> Option<u32> {
        self.0.get(column).map(|c| c.code(self.1))
    }
}

/// What a closed-list value reads as: its stored code, and whether it was in the list (W01).
/// Values repeat on almost every row, so each distinct spelling is looked up once.
#[derive(Default)]
struct ClosedMemo(foldhash::HashMap<String, (u8, bool)>);

impl ClosedMemo {
    fn read(&mut self, v: &str, list: &[&'static str]) -> (u8, bool) {
        if let Some(hit) = self.0.get(v) {
            return *hit;
        }
        let read = match closed(v, list) {
            Some(canon) => (
                list.iter()
                    .position(|x| *x == canon)
                    .map_or(INVALID_CODE, |p| p as u8 + 1),
                true,
            ),
            None => (INVALID_CODE, false),
        };
        self.0.insert(v.to_string(), read);
        read
    }
}

/// The fields the loader reads, by position: looked up in the header once, because a name
/// lookup for every field of every row was a tenth of a 5M-row run. After the named ones
/// come the `CLOSED`, `CHECKED_ONLY` and `OPEN` columns.
const NAMED: [&str; 13] = [
    "LA_Code",
    "NHS_Number",
    "LA_Person_Unique_Identifier",
    "Event_Start_Date",
    "Event_End_Date",
    "Date_of_Death",
    "Der_Birth_Year",
    "Der_Birth_Month",
    "Date_of_Birth",
    "Unit_Cost",
    "Planned_units_per_week",
    "Reporting_Period_Start_Date",
    "Reporting_Period_End_Date",
];
const LA_CODE: usize = 0;
const NHS_NUMBER: usize = 1;
const LA_ID: usize = 2;
const EVENT_START: usize = 3;
const EVENT_END: usize = 4;
const DEATH: usize = 5;
const BIRTH_YEAR: usize = 6;
const BIRTH_MONTH: usize = 7;
const BIRTH_DATE: usize = 8;
const UNIT_COST: usize = 9;
const PLANNED_UNITS: usize = 10;
const PERIOD_START: usize = 11;
const PERIOD_END: usize = 12;
/// The date fields, each read once per coded value (`Share::dates_seen`).
const DATES: [usize; 6] = [
    EVENT_START,
    EVENT_END,
    DEATH,
    BIRTH_DATE,
    PERIOD_START,
    PERIOD_END,
];
const FIRST_CLOSED: usize = NAMED.len();
const EVENT_TYPE: usize = FIRST_CLOSED + 1;
const EVENT_OUTCOME: usize = FIRST_CLOSED + 2;
const SERVICE_TYPE: usize = FIRST_CLOSED + 3;
const FIRST_CHECKED: usize = FIRST_CLOSED + CLOSED.len();
const FIRST_OPEN: usize = FIRST_CHECKED + CHECKED_ONLY.len();
const FIELDS: usize = FIRST_OPEN + OPEN.len();

fn field_name(k: usize) -> &'static str {
    match k {
        k if k < FIRST_CLOSED => NAMED[k],
        k if k < FIRST_CHECKED => CLOSED[k - FIRST_CLOSED].0,
        k if k < FIRST_OPEN => CHECKED_ONLY[k - FIRST_CHECKED].0,
        k => OPEN[k - FIRST_OPEN],
    }
}

/// The validated events of every area: each area's settled rows (in memory, or in
/// temporary files past a budget), the open-list dictionaries and coverage per area. The
/// engine takes a batch of areas at a time from it (`EventStore::events`).
pub(crate) struct EventStore {
    /// Areas by key (in order of first appearance).
    areas: Vec<String>,
    /// Accepted rows of each area (W03's later copies too).
    rows: Vec<usize>,
    /// Each area's rows as the engine reads them (`Kept`), how many people it has (numbered
    /// from 1 in the area), and those with an NHS number by key (`NhsPerson`): settled once,
    /// as the load settles each area for its warnings, not again for every batch.
    kept: Partitions,
    persons: Vec<u32>,
    nhs_persons: Partitions,
    dictionaries: std::sync::Arc<BTreeMap<&'static str, Vec<String>>>,
    pub coverage: BTreeMap<String, (NaiveDate, NaiveDate)>,
}

/// An area's reporting period (as days) widened to take in another's ends.
fn widen(p: &mut (Option<i32>, Option<i32>), (start, end): (Option<i32>, Option<i32>)) {
    p.0 = match (p.0, start) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    p.1 = match (p.1, end) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

/// One core's share of a chunk of rows (`extract::Chunk`): the rows it accepted and the
/// problems it found, with areas and open-list values keyed in its own order of first
/// appearance. `load` merges the shares in file order, keying them again, so the result is
/// that of one pass over the file.
struct Share {
    memo: Vec<ClosedMemo>,
    /// What each field's coded values read as (`Seen`). By closed, then checked-only list:
    /// the code (`EMPTY` for a null) and whether listed.
    closed_seen: Vec<Seen<(u8, bool)>>,
    dates_seen: Vec<Seen<DateRead>>,
    open_seen: Vec<Seen<u32>>,
    area_seen: Seen<u32>,
    numbers_seen: [Seen<bool>; 2],
    /// Birth year and month: the value when in range, and whether null.
    birth_seen: [Seen<(Option<u64>, bool)>; 2],
    areas: Interner,
    dicts: Vec<Interner>,
    /// Reporting period per area (by the share's area key).
    periods: Vec<(Option<i32>, Option<i32>)>,
    /// Accepted rows by the share's area key (from 1, here at key - 1): the rows as stored
    /// (`Row::write`, the open keys the share's own) and how many. Written here, on the
    /// cores that validate, the filing only renumbers the open keys and copies the bytes.
    rows: Vec<(Vec<u8>, usize)>,
    report: FileReport,
}

impl Share {
    /// A share of a chunk of `rows` rows whose columns number `distinct` values each
    /// (`None`: not coded).
    fn new(
        report: FileReport,
        distinct: &[Option<usize>],
        pos: &[Option<usize>],
        rows: usize,
    ) -> Self {
        let of = |k: usize| pos[k].and_then(|c| distinct.get(c).copied().flatten());
        Share {
            memo: (0..CLOSED.len() + CHECKED_ONLY.len())
                .map(|_| ClosedMemo::default())
                .collect(),
            closed_seen: (FIRST_CLOSED..FIRST_OPEN)
                .map(|k| Seen::new(of(k), rows))
                .collect(),
            dates_seen: DATES.iter().map(|k| Seen::new(of(*k), rows)).collect(),
            open_seen: (FIRST_OPEN..FIELDS)
                .map(|k| Seen::new(of(k), rows))
                .collect(),
            area_seen: Seen::new(of(LA_CODE), rows),
            numbers_seen: [UNIT_COST, PLANNED_UNITS].map(|k| Seen::new(of(k), rows)),
            birth_seen: [BIRTH_YEAR, BIRTH_MONTH].map(|k| Seen::new(of(k), rows)),
            areas: Interner::new(),
            dicts: OPEN.iter().map(|_| Interner::new()).collect(),
            periods: Vec::new(),
            rows: Vec::new(),
            report,
        }
    }

    /// Validates one row (E01–E10, W01, W02, W04–W06); an accepted row is kept, with its
    /// fingerprint `hash` (`Chunk::fingerprints`).
    fn validate(
        &mut self,
        pos: &[Option<usize>],
        der: bool,
        date_format: crate::programme::DateFormat,
        (loc, hash): (Loc, u64),
        row: &impl Cells,
    ) {
        let get = |k: usize| pos[k].map_or("", |i| row.text(i));
        let code = |k: usize| pos[k].and_then(|i| row.code(i));
        let mut rejected = false;
        let report = &mut self.report;
        let mut add = |sev: Severity, rule: &str, k: usize, msg: String| {
            report.add(loc, sev, rule, field_name(k), get(k), msg);
        };
        let area = get(LA_CODE).trim();
        if area.is_empty() {
            add(Severity::Error, "E01", LA_CODE, "LA_Code is empty".into());
            rejected = true;
        }
        let nhs = null(get(NHS_NUMBER));
        let la_id = null(get(LA_ID));
        if nhs.is_none() && la_id.is_none() {
            add(
                Severity::Error,
                "E02",
                LA_ID,
                "neither NHS_Number nor LA_Person_Unique_Identifier is given".into(),
            );
            rejected = true;
        }
        let mut closed_vals = [EMPTY; 6];
        // Closed lists, then those only checked: the code read (`EMPTY` for a null).
        let lists = CLOSED.iter().chain(CHECKED_ONLY);
        for (i, ((_, list), (memo, seen))) in lists
            .zip(self.memo.iter_mut().zip(&mut self.closed_seen))
            .enumerate()
        {
            let k = FIRST_CLOSED + i;
            let read = || null(get(k)).map_or((EMPTY, true), |v| memo.read(v, list));
            let (value, listed) = seen.get(code(k), read);
            if !listed {
                let v = null(get(k)).unwrap_or_default();
                add(
                    Severity::Warning,
                    "W01",
                    k,
                    format!("\"{v}\" is not in the list; read as \"{INVALID}\""),
                );
            }
            if let Some(c) = closed_vals.get_mut(i) {
                *c = value;
            }
        }
        let dates_seen = &mut self.dates_seen;
        let mut date = |k: usize| {
            let slot = DATES.iter().position(|d| *d == k).expect("a date field");
            dates_seen[slot].date(code(k), || get(k), date_format)
        };
        let start_read = date(EVENT_START);
        // A closed code is `EMPTY` exactly when the field is null.
        let association_only = closed_vals[0]
            == Events::code("Client_Type", "Unpaid carer known by association")
            && closed_vals[1] == EMPTY
            && start_read.is_none();
        let event_type = closed_vals[1];
        if !association_only && (event_type == EMPTY || event_type == INVALID_CODE) {
            add(
                Severity::Error,
                "E03",
                EVENT_TYPE,
                "Event_Type is empty or not Request, Assessment, Service or Review".into(),
            );
            rejected = true;
        }
        let range_rule = |e: &str| {
            if e.contains("outside 1900") {
                "E07"
            } else {
                ""
            }
        };
        let start = match start_read {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                let rule = if range_rule(&e).is_empty() {
                    "E04"
                } else {
                    "E07"
                };
                add(Severity::Error, rule, EVENT_START, e);
                rejected = true;
                None
            }
            None => {
                if !association_only {
                    add(
                        Severity::Error,
                        "E04",
                        EVENT_START,
                        "Event_Start_Date is empty".into(),
                    );
                    rejected = true;
                }
                None
            }
        };
        let end = match date(EVENT_END) {
            Some(Ok(d)) => {
                if start.is_some_and(|s| d < s) {
                    add(
                        Severity::Error,
                        "E06",
                        EVENT_END,
                        "the event ends before it starts".into(),
                    );
                    rejected = true;
                }
                Some(d)
            }
            Some(Err(e)) => {
                let rule = if range_rule(&e).is_empty() {
                    "E05"
                } else {
                    "E07"
                };
                add(Severity::Error, rule, EVENT_END, e);
                rejected = true;
                None
            }
            None => None,
        };
        let death = match date(DEATH) {
            Some(Ok(d)) => {
                if start.is_some_and(|s| d < s) {
                    add(
                        Severity::Error,
                        "E10",
                        DEATH,
                        "the date of death is before the event start".into(),
                    );
                    rejected = true;
                }
                Some(d)
            }
            Some(Err(e)) => {
                let rule = if range_rule(&e).is_empty() {
                    "E09"
                } else {
                    "E07"
                };
                add(Severity::Error, rule, DEATH, e);
                rejected = true;
                None
            }
            None => None,
        };
        // Birth: the 1st of the birth month (§1.3); W02 makes it unknown on this row.
        let birth = if der {
            let mut part = |slot: usize, k: usize, range| {
                self.birth_seen[slot].get(code(k), || birth_part(get(k), range))
            };
            let (y, y_null) = part(0, BIRTH_YEAR, &BIRTH_YEARS);
            let (m, m_null) = part(1, BIRTH_MONTH, &BIRTH_MONTHS);
            match (y, m) {
                (Some(y), Some(m)) => NaiveDate::from_ymd_opt(y as i32, m as u32, 1),
                _ if y_null && m_null => None,
                _ => {
                    add(
                        Severity::Warning,
                        "W02",
                        BIRTH_YEAR,
                        "not a valid birth year and month; birth unknown on this row".into(),
                    );
                    None
                }
            }
        } else {
            match date(BIRTH_DATE) {
                Some(Ok(d)) => NaiveDate::from_ymd_opt(d.year(), d.month(), 1),
                Some(Err(e)) => {
                    add(
                        Severity::Warning,
                        "W02",
                        BIRTH_DATE,
                        format!("{e}; birth unknown on this row"),
                    );
                    None
                }
                None => None,
            }
        };
        let birth = match (birth, start) {
            (Some(b), Some(s)) if b > s => {
                add(
                    Severity::Warning,
                    "W02",
                    BIRTH_YEAR,
                    "the birth month is after the event start; birth unknown on this row".into(),
                );
                None
            }
            (Some(b), Some(s)) if super::values::age_at(b, s) > 120 => {
                add(
                    Severity::Warning,
                    "W02",
                    BIRTH_YEAR,
                    "the birth month implies an age over 120; birth unknown on this row".into(),
                );
                None
            }
            (b, _) => b,
        };
        for (slot, col) in [UNIT_COST, PLANNED_UNITS].into_iter().enumerate() {
            // Empty, or a plain finite number.
            let number = || plain_number(get(col));
            if !self.numbers_seen[slot].get(code(col), number) {
                let v = null(get(col)).unwrap_or_default();
                add(
                    Severity::Warning,
                    "W04",
                    col,
                    format!("\"{v}\" is not a number; ignored"),
                );
            }
        }
        let service = Events::code("Event_Type", "Service");
        if event_type == service && closed_vals[3] == EMPTY {
            add(
                Severity::Warning,
                "W05",
                SERVICE_TYPE,
                "a service with no Service_Type matches no service rule".into(),
            );
        }
        if event_type != service
            && event_type != EMPTY
            && event_type != INVALID_CODE
            && end.is_some()
            && closed_vals[2] == EMPTY
        {
            add(
                Severity::Warning,
                "W06",
                EVENT_OUTCOME,
                "a completed event with no outcome".into(),
            );
        }
        if rejected {
            return;
        }
        let rps = date(PERIOD_START).and_then(Result::ok).map(days);
        let rpe = date(PERIOD_END).and_then(Result::ok).map(days);
        // Person key: NHS number, else LA_Code + "_" + the council's identifier (§1.2).
        // People known only by the council's identifier are keyed apart, so they can never
        // be mistaken for an NHS number when hospital spells are linked.
        let accepted = Row {
            loc,
            key: person_key(area, nhs, la_id),
            has_nhs_number: nhs.is_some(),
            birth: birth.map(days),
            death: death.map(days),
            start: start.map(days),
            end: end.map(days),
            closed: closed_vals,
            open: [0; OPEN.len()],
            hash,
        };
        self.keep(pos, accepted, (rps, rpe), area, row);
    }

    /// Keeps an accepted row: its area and open-list values keyed (in order of first
    /// appearance over the share), its reporting period widening its area's.
    fn keep(
        &mut self,
        pos: &[Option<usize>],
        mut row: Row,
        period: (Option<i32>, Option<i32>),
        area: &str,
        cells: &impl Cells,
    ) {
        let get = |k: usize| pos[k].map_or("", |i| cells.text(i));
        let code = |k: usize| pos[k].and_then(|i| cells.code(i));
        // Coverage per area from the reporting period (metrics.md §0.4).
        let areas = &mut self.areas;
        let area_key = self.area_seen.get(code(LA_CODE), || areas.key(Some(area))) as usize;
        if self.periods.len() < area_key {
            self.periods.resize(area_key, (None, None));
            self.rows.resize_with(area_key, Default::default);
        }
        widen(&mut self.periods[area_key - 1], period);
        for (i, (dict, key)) in self.dicts.iter_mut().zip(&mut row.open).enumerate() {
            *key = self.open_seen[i].get(code(FIRST_OPEN + i), || {
                let v = null(get(FIRST_OPEN + i)).map(super::values::normalized);
                dict.key(v.as_deref())
            });
        }
        let (bytes, n) = &mut self.rows[area_key - 1];
        row.write(bytes);
        *n += 1;
    }

    /// Validates rows `rows` of columns read as codes (`validate`'s rules, the same result),
    /// a column at a time: each column's codes are read in one run into what the rules ask
    /// of it (judged once per code where `Seen` keeps them), then a row none of the rules
    /// fires on is made from those; a row some rule fires on, or may, is validated by
    /// `validate` in its place, so problems, keys and rows come in the order of one pass.
    /// Judged row by row, a dozen look-ups and the rules' branches on every field of every
    /// row were the greater part of the events' load. `at(i)` is the location and
    /// fingerprint of the range's row `i`.
    fn validate_coded(
        &mut self,
        pos: &[Option<usize>],
        der: bool,
        date_format: crate::programme::DateFormat,
        columns: &[super::coded::Coded],
        rows: std::ops::Range<usize>,
        at: impl Fn(usize) -> (Loc, u64),
    ) {
        let n = rows.len();
        let column = |k: usize| pos[k].and_then(|c| columns.get(c));
        // Whether the row may be made here: false where a rule of one field fires.
        let mut clean = vec![true; n];
        // E01.
        let mut area_seen = Seen::new(column(LA_CODE).map(|c| c.distinct()), n);
        narrow(
            &mut clean,
            each_row(column(LA_CODE), &rows, &mut area_seen, |_, v| {
                !v.trim().is_empty()
            }),
        );
        // W01, and the kept codes.
        let mut closed: [Vec<u8>; CLOSED.len()] = std::array::from_fn(|_| Vec::new());
        let lists = CLOSED.iter().chain(CHECKED_ONLY);
        for (i, ((_, list), (memo, seen))) in lists
            .zip(self.memo.iter_mut().zip(&mut self.closed_seen))
            .enumerate()
        {
            let read = each_row(column(FIRST_CLOSED + i), &rows, seen, |_, v| {
                null(v).map_or((EMPTY, true), |v| memo.read(v, list))
            });
            narrow(&mut clean, read.iter().map(|r| r.1));
            if let Some(c) = closed.get_mut(i) {
                *c = read.into_iter().map(|r| r.0).collect();
            }
        }
        // Each date as days; E04/E05/E09 (and E07) where one does not read.
        let mut day = |k: usize, first_of_month: bool| {
            let slot = DATES.iter().position(|d| *d == k).expect("a date field");
            let seen = &mut self.dates_seen[slot];
            let mut local = Seen::new(column(k).map(|c| c.distinct()), n);
            each_row(column(k), &rows, &mut local, |code, v| {
                match seen.date(code, || v, date_format) {
                    None => Day::Null,
                    Some(Ok(d)) if first_of_month => {
                        NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
                            .map_or(Day::Null, |d| Day::On(days(d)))
                    }
                    Some(Ok(d)) => Day::On(days(d)),
                    Some(Err(_)) => Day::Bad,
                }
            })
        };
        let start = day(EVENT_START, false);
        let end = day(EVENT_END, false);
        let death = day(DEATH, false);
        let (period_start, period_end) = (day(PERIOD_START, false), day(PERIOD_END, false));
        // The 1st of the birth month (§1.3); W02 where it does not read.
        let birth: Vec<Day> = if der {
            let mut part = |slot: usize, k: usize, range| {
                each_row(column(k), &rows, &mut self.birth_seen[slot], |_, v| {
                    birth_part(v, range)
                })
            };
            let years = part(0, BIRTH_YEAR, &BIRTH_YEARS);
            let months = part(1, BIRTH_MONTH, &BIRTH_MONTHS);
            years
                .into_iter()
                .zip(months)
                .map(|(y, m)| match (y, m) {
                    ((Some(y), _), (Some(m), _)) => NaiveDate::from_ymd_opt(y as i32, m as u32, 1)
                        .map_or(Day::Null, |d| Day::On(days(d))),
                    ((None, true), (None, true)) => Day::Null,
                    _ => Day::Bad,
                })
                .collect()
        } else {
            day(BIRTH_DATE, true)
        };
        for dated in [&start, &end, &death, &birth] {
            narrow(&mut clean, dated.iter().map(|d| !matches!(d, Day::Bad)));
        }
        // W04.
        for (slot, k) in [UNIT_COST, PLANNED_UNITS].into_iter().enumerate() {
            narrow(
                &mut clean,
                each_row(column(k), &rows, &mut self.numbers_seen[slot], |_, v| {
                    plain_number(v)
                }),
            );
        }
        let service = Events::code("Event_Type", "Service");
        let text = |k: usize, row: usize| column(k).map_or("", |c| c.text(row));
        for (i, row) in rows.clone().enumerate() {
            let (nhs, la_id) = (null(text(NHS_NUMBER, row)), null(text(LA_ID, row)));
            let area = text(LA_CODE, row).trim();
            // The rules of several fields (E02, E03, E04, E06, E10, W02, W05, W06): a row any
            // of them may fire on is left to `validate`, which says which.
            let made = 'row: {
                let event_type = closed[1][i];
                let Day::On(s) = start[i] else {
                    break 'row None;
                };
                let (e, d, b) = (on_day(end[i]), on_day(death[i]), on_day(birth[i]));
                if !clean[i]
                    || (nhs.is_none() && la_id.is_none())
                    || event_type == EMPTY
                    || event_type == INVALID_CODE
                    || e.is_some_and(|e| e < s)
                    || d.is_some_and(|d| d < s)
                    // Over 120 years cannot be fewer days than this (`values::age_at`).
                    || b.is_some_and(|b| b > s || s - b >= 120 * 365)
                    || (event_type == service && closed[3][i] == EMPTY)
                    || (event_type != service && e.is_some() && closed[2][i] == EMPTY)
                {
                    break 'row None;
                }
                let (loc, hash) = at(i);
                Some(Row {
                    loc,
                    key: person_key(area, nhs, la_id),
                    has_nhs_number: nhs.is_some(),
                    birth: b,
                    death: d,
                    start: Some(s),
                    end: e,
                    closed: std::array::from_fn(|c| closed[c][i]),
                    open: [0; OPEN.len()],
                    hash,
                })
            };
            let cells = CodedRow(columns, row);
            match made {
                Some(made) => {
                    let period = (on_day(period_start[i]), on_day(period_end[i]));
                    self.keep(pos, made, period, area, &cells)
                }
                None => self.validate(pos, der, date_format, at(i), &cells),
            }
        }
    }
}

/// Narrows the rows `Share::validate_coded` may make itself to those `pass` keeps.
fn narrow(clean: &mut [bool], pass: impl IntoIterator<Item = bool>) {
    for (c, p) in clean.iter_mut().zip(pass) {
        *c &= p;
    }
}

/// A date field as `Share::validate_coded` reads it: days since 1970-01-01.
#[derive(Clone, Copy)]
enum Day {
    Null,
    On(i32),
    Bad,
}

/// The day, when one is read.
fn on_day(d: Day) -> Option<i32> {
    match d {
        Day::On(d) => Some(d),
        _ => None,
    }
}

/// A column's value on each of rows `rows`, judged (from the code and text) once per code
/// where `seen` keeps them; a column the file lacks reads as "" on every row.
fn each_row<T: Copy>(
    column: Option<&super::coded::Coded>,
    rows: &std::ops::Range<usize>,
    seen: &mut Seen<T>,
    mut judge: impl FnMut(Option<u32>, &str) -> T,
) -> Vec<T> {
    match column {
        Some(c) => c.codes()[rows.clone()]
            .iter()
            .map(|&code| seen.get(Some(code), || judge(Some(code), c.value(code))))
            .collect(),
        None => vec![judge(None, ""); rows.len()],
    }
}

/// A birth year or month field: its value when in `range`, and whether it is null.
fn birth_part(v: &str, range: &std::ops::RangeInclusive<u64>) -> (Option<u64>, bool) {
    (whole(v).filter(|v| range.contains(v)), null(v).is_none())
}

/// W04's test: empty, or a plain finite number.
fn plain_number(v: &str) -> bool {
    null(v).is_none_or(|v| v.parse::<f64>().is_ok_and(f64::is_finite) && !v.contains(['e', 'E']))
}

/// A share's accepted rows, merged but not yet filed: their area and open-list keys are the
/// share's own, with what each is keyed as over the file.
struct Unfiled {
    /// The file's area key of each of the share's areas (by the share's key - 1).
    area_keys: Vec<u32>,
    /// Per open-list column, the file's key of each of the share's (by the share's key).
    dict_keys: Vec<Vec<u32>>,
    rows: Vec<(Vec<u8>, usize)>,
}

/// Files merged rows into their areas' partitions, keyed as over the file, in order (each
/// share's rows of an area, as written, copied into the area's blocks at once); the first
/// failure to write them out is kept, and nothing more is filed after it.
fn file_rows(unfiled: Vec<Unfiled>, partitions: &mut Partitions, failed: &mut Option<String>) {
    for u in unfiled {
        for (local, (mut bytes, n)) in u.rows.into_iter().enumerate() {
            if failed.is_some() {
                return;
            }
            for record in bytes.chunks_exact_mut(at::SIZE) {
                let open = &mut record[at::OPEN_KEYS..at::HASH];
                for (key, keys) in open.chunks_exact_mut(4).zip(&u.dict_keys) {
                    let share_key = u32::from_le_bytes(key.try_into().expect("4 bytes"));
                    key.copy_from_slice(&keys[share_key as usize].to_le_bytes());
                }
            }
            *failed = partitions
                .extend(u.area_keys[local] as usize - 1, &bytes, n)
                .err();
        }
    }
}

/// Reads and validates the events extract. `None` when the file is refused (F01–F04).
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<EventStore> {
    let (mut report, mut summary) = src.start();
    let mut partitions = Partitions::new();
    let mut spill_error: Option<String> = None;
    let mut areas = Interner::new();
    let mut dicts: Vec<Interner> = OPEN.iter().map(|_| Interner::new()).collect();
    // Reporting period per area (by area key).
    let mut periods: Vec<(Option<i32>, Option<i32>)> = Vec::new();
    let mut birth_form_missing = false;
    // Where each field sits in a record, resolved from the header at the first row.
    let mut positions: Option<(usize, Vec<Option<usize>>)> = None;
    // The accepted rows of the last chunk merged, not yet filed into their partitions.
    let mut unfiled: Vec<Unfiled> = Vec::new();
    let read = read_chunks(src, &mut report, |cols, chunk, report| {
        // Each file of an extract read from many has its own header.
        if positions
            .as_ref()
            .is_none_or(|(file, _)| *file != cols.file)
        {
            positions = Some((
                cols.file,
                (0..FIELDS).map(|k| cols.get(field_name(k))).collect(),
            ));
        }
        let pos = &positions.as_ref().expect("set above").1;
        let der = pos[BIRTH_YEAR].is_some() && pos[BIRTH_MONTH].is_some();
        let birth_form = der || pos[BIRTH_DATE].is_some();
        birth_form_missing |= !birth_form;
        // The chunk's rows in one share per core, validated side by side; meanwhile the
        // rows of the chunk before are filed into their areas' partitions (in file order,
        // on whichever core is free), so that filing is not a pass of its own.
        let template = report.apart();
        let earlier = std::mem::take(&mut unfiled);
        let validate = || {
            let cores = rayon::current_num_threads().max(1);
            let per = chunk.len().div_ceil(cores).max(1);
            (0..chunk.len())
                .into_par_iter()
                .step_by(per)
                .map(|from| {
                    let mut share = Share::new(template.apart(), &chunk.distinct(), pos, per);
                    let mut fields = Vec::new();
                    let to = (from + per).min(chunk.len());
                    let hashes = chunk.fingerprints(from..to, field_hash, fold_hash);
                    let fmt = src.date_format;
                    if let Some((columns, row)) = chunk.coded(from) {
                        if birth_form {
                            let at = |i: usize| (chunk.loc(from + i), hashes[i]);
                            share.validate_coded(pos, der, fmt, columns, row..row + to - from, at);
                        }
                        return share;
                    }
                    for (i, hash) in (from..to).zip(hashes) {
                        let at = (chunk.loc(i), hash);
                        if chunk.fields(i, &mut fields, &mut share.report) && birth_form {
                            share.validate(pos, der, fmt, at, &Texts(&fields));
                        }
                    }
                    share
                })
                .collect::<Vec<Share>>()
        };
        let (shares, ()) = rayon::join(validate, || {
            file_rows(earlier, &mut partitions, &mut spill_error)
        });
        // Merged in file order: keys given in order of first appearance over the file. The
        // problems go to the report now (a file's header may add its own next); the rows,
        // keyed again, wait to be filed beside the next chunk's validation.
        for share in shares {
            report.issues.extend(share.report.issues);
            let area_keys: Vec<u32> = share
                .areas
                .values
                .iter()
                .map(|a| areas.key(Some(a)))
                .collect();
            let dict_keys: Vec<Vec<u32>> = share
                .dicts
                .iter()
                .zip(&mut dicts)
                .map(|(local, dict)| {
                    std::iter::once(0)
                        .chain(local.values.iter().map(|v| dict.key(Some(v))))
                        .collect()
                })
                .collect();
            if periods.len() < areas.values.len() {
                periods.resize(areas.values.len(), (None, None));
            }
            for (local, period) in share.periods.into_iter().enumerate() {
                widen(&mut periods[area_keys[local] as usize - 1], period);
            }
            unfiled.push(Unfiled {
                area_keys,
                dict_keys,
                rows: share.rows,
            });
        }
    });
    file_rows(
        std::mem::take(&mut unfiled),
        &mut partitions,
        &mut spill_error,
    );
    if birth_form_missing {
        report.add(
            Loc::File,
            Severity::File,
            "F04",
            "Der_Birth_Year",
            "",
            "the file has neither Der_Birth_Year + Der_Birth_Month nor Date_of_Birth",
        );
        refuse(
            ledger,
            report,
            summary,
            "no birth month columns (F04)".to_string().into(),
        );
        return None;
    }
    summary.read = match read {
        Ok(n) => n,
        Err(why) => {
            refuse(ledger, report, summary, why);
            return None;
        }
    };
    if let Some(why) = spill_error {
        refuse(ledger, report, summary, why.into());
        return None;
    }
    // W03 and W07 need all of an area's rows: each area is settled on its own, and the
    // warnings are listed as one pass over the file would list them (every W03 in file
    // order, then every W07; a location sorts by file, then place).
    // Each area's settled rows go to partitions of their own as the engine reads them
    // (`Kept`), so a batch does not settle them again; each area's accepted rows are freed
    // once it is settled (`Taken`), so the settled records reuse their memory instead of
    // adding to it.
    let settled = std::sync::Mutex::new((Partitions::new(), Partitions::new()));
    let rows = partitions.rows().to_vec();
    let taken = partitions.into_taken();
    let warned: Result<Vec<(AreaWarnings, u32)>, String> = (0..areas.values.len())
        .into_par_iter()
        .map(|a| {
            let stored = taken.take(a)?;
            let s = Settled::of(&stored, rows[a]);
            let warnings = (s.repeated().collect(), s.disagreeing());
            let (kept, nhs) = s.records();
            let mut store = settled.lock().map_err(|e| e.to_string())?;
            store.0.append(a, kept.0, kept.1)?;
            store.1.append(a, nhs.0, nhs.1)?;
            Ok((warnings, s.persons.len() as u32))
        })
        .collect();
    drop(taken);
    let (mut repeated, mut disagreeing, persons) = match warned {
        Ok(w) => {
            let (w, persons): (Vec<AreaWarnings>, Vec<u32>) = w.into_iter().unzip();
            let (r, d): (Vec<Vec<Loc>>, Vec<Vec<Loc>>) = w.into_iter().unzip();
            (r.concat(), d.concat(), persons)
        }
        Err(why) => {
            refuse(ledger, report, summary, why.into());
            return None;
        }
    };
    let (kept, nhs_persons) = match settled.into_inner() {
        Ok(store) => store,
        Err(e) => {
            refuse(ledger, report, summary, e.to_string().into());
            return None;
        }
    };
    repeated.sort_unstable();
    disagreeing.sort_unstable();
    for loc in repeated {
        report.add(
            loc,
            Severity::Warning,
            "W03",
            "",
            "",
            "the row repeats an earlier row exactly; this copy is ignored",
        );
    }
    for loc in disagreeing {
        report.add(loc, Severity::Warning, "W07", "Date_of_Death", "", "this person's rows disagree on birth month or date of death; the earliest birth and latest death are used");
    }
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let coverage = periods
        .into_iter()
        .zip(&areas.values)
        .filter_map(|((s, e), a)| {
            Some((
                a.clone(),
                (
                    epoch + chrono::Duration::days(s? as i64),
                    epoch + chrono::Duration::days(e? as i64),
                ),
            ))
        })
        .collect();
    let dictionaries = OPEN
        .iter()
        .zip(dicts)
        .map(|(n, d)| (*n, d.values))
        .collect();
    super::settle(ledger, summary, report);
    Some(EventStore {
        areas: areas.values,
        rows,
        kept,
        persons,
        nhs_persons,
        dictionaries: std::sync::Arc::new(dictionaries),
        coverage,
    })
}

/// Where an area's W03 and W07 fall.
type AreaWarnings = (Vec<Loc>, Vec<Loc>);

/// An accepted row as stored (`Row::write`), its fields read where they lie: settling an
/// area reads a few fields of every row, and making every row a `Row` first touched a copy
/// of all of them (a tenth of the run's memory).
#[derive(Clone, Copy)]
struct StoredRow<'s>(&'s [u8]);

impl<'s> StoredRow<'s> {
    fn loc(self) -> Loc {
        read_loc(&mut &self.0[..at::KEY])
    }

    fn key(self) -> u128 {
        read_u128(&mut &self.0[at::KEY..at::NHS])
    }

    fn has_nhs_number(self) -> bool {
        self.0[at::NHS] != 0
    }

    fn birth(self) -> Option<i32> {
        read_day(&mut &self.0[at::BIRTH..at::DEATH])
    }

    fn death(self) -> Option<i32> {
        read_day(&mut &self.0[at::DEATH..])
    }

    fn hash(self) -> u64 {
        u64::from_le_bytes(self.0[at::HASH..at::SIZE].try_into().expect("8 bytes"))
    }

    /// The row's death, start, end, closed codes and open keys, as `Kept` ends.
    fn kept_tail(self) -> &'s [u8] {
        &self.0[at::DEATH..at::HASH]
    }
}

/// An area's stored rows, in order.
fn stored_rows<'s>(
    rows: &'s super::partition::Stored<'s>,
) -> impl Iterator<Item = StoredRow<'s>> + Clone + 's {
    rows.each(at::SIZE).map(StoredRow)
}

/// An area's rows with duplicates and person details settled
/// (data-contract.md §1.3): people numbered from 1 in order of first appearance.
struct Settled<'s> {
    rows: &'s super::partition::Stored<'s>,
    /// W03: whether a row is the first of its kind (a later exact copy is ignored).
    keep: Vec<bool>,
    person: Vec<u32>,
    /// Person by key, and whether each (by number) has an NHS number.
    persons: foldhash::HashMap<u128, u32>,
    with_nhs: Vec<bool>,
    /// Per person: the earliest valid birth month and the latest death, and whether the
    /// person's rows disagree (W07).
    birth: Vec<Option<i32>>,
    death: Vec<Option<i32>>,
    conflict: Vec<bool>,
}

impl<'s> Settled<'s> {
    /// The stored rows, in order.
    fn each(&self) -> impl Iterator<Item = StoredRow<'s>> + Clone + 's {
        stored_rows(self.rows)
    }

    /// Settles the `n` stored rows of one area.
    fn of(rows: &'s super::partition::Stored<'s>, n: usize) -> Settled<'s> {
        let each = || stored_rows(rows);
        // Duplicates and people are found side by side (each is one pass over every row
        // with a map of its own: a whole core's work for an area of millions of rows).
        let (keep, (persons, with_nhs, person)) = rayon::join(
            || {
                let mut seen = foldhash::HashSet::with_capacity_and_hasher(n, Default::default());
                each().map(|r| seen.insert(r.hash())).collect::<Vec<bool>>()
            },
            || {
                // Room for a person per four rows from the start: growing the map a
                // doubling at a time moved every key again.
                let mut persons: foldhash::HashMap<u128, u32> =
                    foldhash::HashMap::with_capacity_and_hasher(n / 4, Default::default());
                let mut with_nhs = vec![false];
                let person: Vec<u32> = each()
                    .map(|r| {
                        let next = persons.len() as u32 + 1;
                        *persons.entry(r.key()).or_insert_with(|| {
                            with_nhs.push(r.has_nhs_number());
                            next
                        })
                    })
                    .collect();
                (persons, with_nhs, person)
            },
        );
        let n_persons = persons.len() + 1;
        let mut birth: Vec<Option<i32>> = vec![None; n_persons];
        let mut death: Vec<Option<i32>> = vec![None; n_persons];
        let mut conflict = vec![false; n_persons];
        for (r, &p) in each().zip(&person) {
            let p = p as usize;
            if let Some(b) = r.birth() {
                conflict[p] |= birth[p].is_some_and(|x| x != b);
                birth[p] = Some(birth[p].map_or(b, |x| x.min(b)));
            }
            if let Some(d) = r.death() {
                conflict[p] |= death[p].is_some_and(|x| x != d);
                death[p] = Some(death[p].map_or(d, |x| x.max(d)));
            }
        }
        Settled {
            rows,
            keep,
            person,
            persons,
            with_nhs,
            birth,
            death,
            conflict,
        }
    }

    /// Where the later copies of a row are (W03).
    fn repeated(&self) -> impl Iterator<Item = Loc> + '_ {
        self.each()
            .zip(&self.keep)
            .filter(|(_, k)| !**k)
            .map(|(r, _)| r.loc())
    }

    /// The kept rows as stored for the engine (`Kept`), and the people with an NHS number
    /// (`NhsPerson`): each as the records' bytes and how many. A kept record is the person
    /// and the person's details, then the row's own fields as the row stored them.
    fn records(&self) -> ((Vec<u8>, usize), (Vec<u8>, usize)) {
        let mut kept = Vec::with_capacity(self.person.len() * Kept::SIZE.unwrap_or(0));
        let mut n = 0;
        for ((r, &p), _) in self
            .each()
            .zip(&self.person)
            .zip(&self.keep)
            .filter(|(_, k)| **k)
        {
            let person = p as usize;
            kept.extend_from_slice(&p.to_le_bytes());
            write_day(&mut kept, self.birth[person]);
            write_day(&mut kept, self.death[person]);
            kept.extend_from_slice(r.kept_tail());
            n += 1;
        }
        let mut nhs = Vec::new();
        let mut people = 0;
        for (&key, &person) in &self.persons {
            if self.with_nhs[person as usize] {
                NhsPerson { key, person }.write(&mut nhs);
                people += 1;
            }
        }
        ((kept, n), (nhs, people))
    }

    /// The first row of each person whose rows disagree (W07).
    fn disagreeing(&self) -> Vec<Loc> {
        let mut warned = vec![false; self.conflict.len()];
        let mut out = Vec::new();
        for (r, &p) in self.each().zip(&self.person) {
            let p = p as usize;
            if self.conflict[p] && !warned[p] {
                warned[p] = true;
                out.push(r.loc());
            }
        }
        out
    }
}

impl EventStore {
    /// Every area of the events, with its count of accepted rows.
    pub(crate) fn areas(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.areas
            .iter()
            .map(String::as_str)
            .zip(self.rows.iter().copied())
    }

    /// The events of these areas (those with no events give no rows), as the engine reads
    /// them: the frame with person details and the derived end (§1.4), later copies of a
    /// row (W03) left out.
    pub(crate) fn events(&self, wanted: &[String]) -> Result<Events, String> {
        // The wanted areas' kept rows, in key order: people are numbered on over the areas
        // (an area's own numbers follow those of the areas before it), as settling the
        // areas together numbers them (a person key includes the area).
        let mut stored = Vec::new();
        let mut by_nhs_number: foldhash::HashMap<u128, u32> = foldhash::HashMap::default();
        let mut before = 0u32;
        for (key, name) in self.areas.iter().enumerate() {
            if !wanted.contains(name) {
                continue;
            }
            let rows = self.kept.bytes(key)?;
            let nhs = self.nhs_persons.bytes(key)?;
            by_nhs_number.reserve(self.nhs_persons.rows()[key]);
            for p in nhs.read::<NhsPerson>() {
                by_nhs_number.insert(p.key, p.person + before);
            }
            stored.push((name.as_str(), before, rows, self.kept.rows()[key]));
            before += self.persons[key];
        }
        let n = stored.iter().map(|(_, _, _, n)| n).sum();
        // An area's rows run together: its name and how many rows, in order.
        let mut areas: Vec<(String, usize)> = Vec::new();
        let mut person: Vec<u32> = Vec::with_capacity(n);
        let mut dated: [Vec<Option<i32>>; 6] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut closed: [Vec<u32>; CLOSED.len()] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut open: [Vec<u32>; OPEN.len()] = std::array::from_fn(|_| Vec::with_capacity(n));
        for (name, before, rows, n) in &stored {
            if *n > 0 {
                areas.push((name.to_string(), *n));
            }
            // Each record read where it lies, straight into the columns.
            for r in rows.read::<Kept>() {
                person.push(r.person + before);
                // Derived end (§1.4): the person's latest death when it falls on or between
                // start and end, or after the start of an open event; else the recorded end.
                let values = [
                    r.birth,
                    r.death,
                    r.own_death,
                    r.start,
                    r.end,
                    derived_end(r.start, r.end, r.death),
                ];
                for (column, v) in dated.iter_mut().zip(values) {
                    column.push(v);
                }
                for (column, v) in closed.iter_mut().zip(r.closed) {
                    column.push(u32::from(v));
                }
                for (column, v) in open.iter_mut().zip(r.open) {
                    column.push(v);
                }
            }
        }
        Ok(Events {
            columns: EventColumns {
                areas,
                person,
                dated,
                closed,
                open,
            },
            dictionaries: self.dictionaries.clone(),
            coverage: self.coverage.clone(),
            by_nhs_number: std::sync::Arc::new(by_nhs_number),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_row_is_as_long_as_its_declared_size() {
        let row = Row {
            loc: Loc::Row(7).in_file(2),
            key: person_key("E08000033", Some("9434765919"), None),
            has_nhs_number: true,
            birth: Some(-1),
            death: None,
            start: Some(19_000),
            end: None,
            closed: [1, 2, 3, 4, 5, INVALID_CODE],
            open: [0, 1, 2, 3, u32::MAX],
            hash: u64::MAX,
        };
        let mut bytes = Vec::new();
        row.write(&mut bytes);
        row.write(&mut bytes);
        assert_eq!(Some(bytes.len() / 2), Row::SIZE);
        // Read back on every core (whole records), as written.
        let mut stored = Partitions::new();
        stored.append(0, bytes, 2).expect("held");
        assert_eq!(stored.area::<Row>(0).expect("read"), vec![row, row]);
    }

    /// Settling reads a stored row's fields where they lie (`at`) and copies its own fields
    /// into the kept record: the record must read back as the row's `Kept`.
    #[test]
    fn a_settled_area_keeps_each_row_once_with_its_persons_details() {
        let first = Row {
            loc: Loc::Line(2),
            key: person_key("E08000033", Some("9434765919"), None),
            has_nhs_number: true,
            birth: Some(-31),
            death: Some(19_100),
            start: Some(19_000),
            end: None,
            closed: [1, 2, 3, 4, 5, INVALID_CODE],
            open: [0, 1, 2, 3, u32::MAX],
            hash: 7,
        };
        // The same person, born a month earlier on this row (W07: earliest birth, latest
        // death), then an exact copy of the first row (W03).
        let second = Row {
            loc: Loc::Line(3),
            birth: Some(-59),
            death: None,
            start: Some(19_050),
            end: Some(19_060),
            hash: 8,
            ..first
        };
        let copy = Row {
            loc: Loc::Line(4),
            ..first
        };
        let mut bytes = Vec::new();
        for r in [first, second, copy] {
            r.write(&mut bytes);
        }
        let mut stored = Partitions::new();
        stored.append(0, bytes, 3).expect("held");
        let rows = stored.bytes(0).expect("read");
        let s = Settled::of(&rows, 3);
        assert_eq!(s.repeated().collect::<Vec<_>>(), vec![Loc::Line(4)]);
        assert_eq!(s.disagreeing(), vec![Loc::Line(2)]);
        let ((kept, n), (nhs, people)) = s.records();
        assert_eq!((n, people), (2, 1));
        let kept_as = |r: &Row| Kept {
            person: 1,
            birth: Some(-59),
            death: Some(19_100),
            own_death: r.death,
            start: r.start,
            end: r.end,
            closed: r.closed,
            open: r.open,
        };
        let mut held = Partitions::new();
        held.append(0, kept, 2).expect("held");
        assert_eq!(
            held.area::<Kept>(0).expect("read"),
            vec![kept_as(&first), kept_as(&second)]
        );
        assert_eq!(
            NhsPerson::read(&mut &nhs[..]),
            NhsPerson {
                key: first.key,
                person: 1
            }
        );
    }

    #[test]
    fn a_fingerprint_tells_rows_apart_by_every_field_and_its_place() {
        let print = |fields: &[&str]| fields.iter().fold(0, |h, v| fold_hash(h, field_hash(v)));
        let row = ["E08000001", "1234567890", "Service", "2024-04-01", ""];
        assert_eq!(
            print(&row),
            print(&["E08000001", "1234567890", "Service", "2024-04-01", ""])
        );
        // The same values in other columns, one field changed, an empty field moved.
        assert_ne!(
            print(&row),
            print(&["1234567890", "E08000001", "Service", "2024-04-01", ""])
        );
        assert_ne!(
            print(&row),
            print(&["E08000001", "1234567890", "Service", "2024-04-02", ""])
        );
        assert_ne!(
            print(&row),
            print(&["E08000001", "1234567890", "Service", "", "2024-04-01"])
        );
    }

    /// Rows read as codes are validated a column at a time (`Share::validate_coded`): every
    /// rule that fires, and every row kept, must be what `validate` gives row by row. One row
    /// per rule (and its edges), beside clean rows of two areas and both kinds of person.
    #[test]
    fn rows_validated_by_column_are_those_validated_by_row() {
        let base: Vec<&str> = (0..FIELDS)
            .map(|k| match k {
                LA_CODE => "E08000033",
                NHS_NUMBER => "9434765919",
                LA_ID => "L1",
                EVENT_START => "2024-05-01",
                EVENT_END => "2024-06-01",
                BIRTH_YEAR => "1950",
                BIRTH_MONTH => "3",
                UNIT_COST => "12.5",
                PLANNED_UNITS => "3",
                PERIOD_START => "2024-04-01",
                PERIOD_END => "2025-03-31",
                EVENT_TYPE => "Service",
                EVENT_OUTCOME => "NFA: Support ended as planned",
                SERVICE_TYPE => "Long term support: Community",
                FIRST_OPEN => "Reablement",
                k if (FIRST_CLOSED..FIRST_OPEN).contains(&k) => {
                    CLOSED
                        .iter()
                        .chain(CHECKED_ONLY)
                        .nth(k - FIRST_CLOSED)
                        .unwrap()
                        .1[0]
                }
                _ => "",
            })
            .collect();
        let changed = |changes: &[(usize, &'static str)]| {
            let mut row = base.clone();
            for (k, v) in changes {
                row[*k] = v;
            }
            row
        };
        let rows = vec![
            // Before the range validated: its rules must not fire.
            changed(&[(EVENT_TYPE, "Visit")]),
            changed(&[(LA_CODE, "E06000001")]),
            changed(&[]),
            changed(&[(LA_CODE, "  ")]),                     // E01
            changed(&[(NHS_NUMBER, ""), (LA_ID, "")]),       // E02
            changed(&[(NHS_NUMBER, "NULL"), (LA_ID, "L2")]), // known by the council's id
            changed(&[(EVENT_TYPE, "Visit")]),               // E03
            changed(&[(EVENT_TYPE, "")]),                    // E03
            changed(&[
                (FIRST_CLOSED, "Unpaid carer known by association"),
                (EVENT_TYPE, ""),
                (EVENT_START, ""),
            ]), // kept: known by association
            changed(&[(EVENT_START, "")]),                   // E04
            changed(&[(EVENT_START, "2024-02-30")]),         // E04
            changed(&[(EVENT_START, "1850-01-01")]),         // E07
            changed(&[(EVENT_END, "2024-13-01")]),           // E05
            changed(&[(EVENT_END, "2024-04-30")]),           // E06
            changed(&[(EVENT_END, "")]),                     // open
            changed(&[(DEATH, "x")]),                        // E09
            changed(&[(DEATH, "2024-04-30")]),               // E10
            changed(&[(DEATH, "2024-05-01")]),               // kept, died
            changed(&[(SERVICE_TYPE, "Long term support: Palace")]), // W01
            changed(&[(FIRST_CHECKED, "Martian")]),          // W01
            changed(&[(BIRTH_YEAR, "1890")]),                // W02
            changed(&[(BIRTH_MONTH, "13")]),                 // W02
            changed(&[(BIRTH_MONTH, "")]),                   // W02
            changed(&[(BIRTH_YEAR, ""), (BIRTH_MONTH, "")]), // birth unknown
            changed(&[(BIRTH_YEAR, "2030")]),                // W02: born after
            changed(&[(BIRTH_YEAR, "1900")]),                // W02: over 120
            changed(&[(BIRTH_YEAR, "1904")]),                // 120: kept
            changed(&[(UNIT_COST, "abc")]),                  // W04
            changed(&[(PLANNED_UNITS, "1e5")]),              // W04
            changed(&[(SERVICE_TYPE, "")]),                  // W05
            changed(&[(EVENT_TYPE, "Review"), (EVENT_OUTCOME, "")]), // W06
            changed(&[(EVENT_TYPE, "Review"), (EVENT_OUTCOME, ""), (EVENT_END, "")]),
            changed(&[(FIRST_OPEN, "  reablement ")]),
            changed(&[(LA_CODE, "E09000001"), (PERIOD_START, "2023-04-01")]),
            changed(&[(PERIOD_END, "2025-02-30")]),
            changed(&[]),
        ];
        let columns: Vec<super::super::coded::Coded> = (0..FIELDS)
            .map(|k| {
                let texts: Vec<&str> = rows.iter().map(|r| r[k]).collect();
                super::super::coded::Coded::of_texts(&texts)
            })
            .collect();
        let pos: Vec<Option<usize>> = (0..FIELDS).map(Some).collect();
        let distinct: Vec<Option<usize>> = columns.iter().map(|c| Some(c.distinct())).collect();
        let fmt = crate::programme::DateFormat::Iso;
        let at = |i: usize| (Loc::Row(i as u64 + 1), i as u64 * 31);
        // From the third row: the range's row i is the columns' row i + 2.
        let share = || Share::new(FileReport::new("events.parquet"), &distinct, &pos, 4);
        let (mut by_column, mut by_row) = (share(), share());
        by_column.validate_coded(&pos, true, fmt, &columns, 2..rows.len(), at);
        for i in 0..rows.len() - 2 {
            by_row.validate(&pos, true, fmt, at(i), &CodedRow(&columns, i + 2));
        }
        assert_eq!(by_column.report.issues, by_row.report.issues);
        assert_eq!(by_column.rows, by_row.rows);
        assert_eq!(by_column.periods, by_row.periods);
        assert_eq!(by_column.areas.values, by_row.areas.values);
        let dicts = |s: &Share| s.dicts.iter().map(|d| d.values.clone()).collect::<Vec<_>>();
        assert_eq!(dicts(&by_column), dicts(&by_row));
        // Every rule above fired, and the clean rows, the edges and both areas were kept.
        let fired: std::collections::BTreeSet<&str> = by_row
            .report
            .issues
            .iter()
            .map(|i| i.rule.as_str())
            .collect();
        let all = "E01 E02 E03 E04 E05 E06 E07 E09 E10 W01 W02 W04 W05 W06";
        assert_eq!(fired.into_iter().collect::<Vec<_>>().join(" "), all);
        // 34 rows in the range, 11 rejected (E01-E10; warnings keep their row).
        assert_eq!(by_row.rows.iter().map(|(_, n)| n).sum::<usize>(), 23);
        assert_eq!(by_row.areas.values, ["E08000033", "E09000001"]);
    }

    #[test]
    fn field_positions_name_the_columns_they_read() {
        assert_eq!(field_name(LA_CODE), "LA_Code");
        assert_eq!(field_name(PERIOD_END), "Reporting_Period_End_Date");
        assert_eq!(field_name(EVENT_TYPE), "Event_Type");
        assert_eq!(field_name(EVENT_OUTCOME), "Event_Outcome");
        assert_eq!(field_name(SERVICE_TYPE), "Service_Type");
        assert_eq!(field_name(FIRST_CHECKED), CHECKED_ONLY[0].0);
        assert_eq!(field_name(FIRST_OPEN), "Service_Component");
        assert_eq!(field_name(FIELDS - 1), "Request_Route_of_Access");
    }
}
