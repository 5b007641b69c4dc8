//! The `discharges` extract (data-contract.md §3): hospital provider spells.

use super::coded::{DateRead, Seen};
use super::partition::{
    read_day, read_loc, read_text, take, write_day, write_loc, write_text, Interner, Partitions,
    Record, Stored,
};
use super::values::{days, null, whole, BIRTH_MONTHS, BIRTH_YEARS};
use super::{date_column, read_chunks, refuse, Ledger, Loc, Severity, Source};
use chrono::NaiveDate;
use polars::prelude::*;

/// A spell as the row pass leaves it (its area is its partition's), its text borrowed: from
/// the row's fields when it is stored, from the stored bytes when it is read back.
struct Row<'a> {
    loc: Loc,
    /// Rejected by a rule of the row itself (D02, D03); D01 is settled after the pass.
    rejected: bool,
    spell: Option<&'a str>,
    person: Option<&'a str>,
    birth: Option<i32>,
    age_at_admission: Option<i32>,
    admitted: Option<i32>,
    discharged: Option<i32>,
    admission_method: Option<&'a str>,
    discharge_method: Option<&'a str>,
    destination: Option<&'a str>,
    ready: Option<i32>,
    treatment_function: Option<&'a str>,
    death: Option<i32>,
}

impl<'a> Record<'a> for Row<'a> {
    fn write(&self, out: &mut Vec<u8>) {
        write_loc(out, self.loc);
        out.push(u8::from(self.rejected));
        for t in [self.spell, self.person] {
            write_text(out, t);
        }
        for d in [
            self.birth,
            self.age_at_admission,
            self.admitted,
            self.discharged,
        ] {
            write_day(out, d);
        }
        for t in [
            self.admission_method,
            self.discharge_method,
            self.destination,
        ] {
            write_text(out, t);
        }
        write_day(out, self.ready);
        write_text(out, self.treatment_function);
        write_day(out, self.death);
    }

    fn read(b: &mut &'a [u8]) -> Row<'a> {
        Row {
            loc: read_loc(b),
            rejected: take(b, 1)[0] != 0,
            spell: read_text(b),
            person: read_text(b),
            birth: read_day(b),
            age_at_admission: read_day(b),
            admitted: read_day(b),
            discharged: read_day(b),
            admission_method: read_text(b),
            discharge_method: read_text(b),
            destination: read_text(b),
            ready: read_day(b),
            treatment_function: read_text(b),
            death: read_day(b),
        }
    }
}

/// The validated spells of every area, partitioned by area, for the engine to take a batch
/// of areas at a time (`AreaRows`).
pub(crate) struct DischargeStore {
    /// Areas by key, in order of first appearance.
    areas: Vec<String>,
    partitions: Partitions,
    /// Rows rejected by D01 (a missing or repeated Spell_ID), found after the pass.
    unidentified: foldhash::HashSet<Loc>,
    /// The first admission and the last admission or discharge of the kept spells.
    pub coverage: Option<(NaiveDate, NaiveDate)>,
}

/// A spell's coded field (admission or discharge method, destination, treatment function)
/// held by value: D05 lets through only codes of at most three ASCII characters, the rest
/// are left empty.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Code {
    len: u8,
    bytes: [u8; 3],
}

impl Code {
    fn of(v: Option<&str>) -> Code {
        match v {
            Some(v) if v.len() <= 3 => {
                let mut bytes = [0; 3];
                bytes[..v.len()].copy_from_slice(v.as_bytes());
                Code {
                    len: v.len() as u8,
                    bytes,
                }
            }
            _ => Code::default(),
        }
    }

    /// Whether the code is one of `list` (an empty field is none of them). Compared as
    /// bytes: the hospital metrics and the ascof-2d linkage ask this of every spell, and
    /// making each code's text first (`as_str`, a UTF-8 check) was a sixtieth of a run.
    pub(crate) fn is_in(&self, list: &[&str]) -> bool {
        let v = &self.bytes[..self.len as usize];
        self.len > 0 && list.iter().any(|c| c.as_bytes() == v)
    }

    /// Whether the field was empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The code, `None` for an empty field.
    pub(crate) fn as_str(&self) -> Option<&str> {
        let v = &self.bytes[..self.len as usize];
        (self.len > 0).then(|| std::str::from_utf8(v).unwrap_or_default())
    }
}

/// A batch's kept spells as plain columns, the form the hospital metrics and the ascof-2d
/// linkage read (their frame of texts is made only for a local metric): areas' spells run
/// together, each area's in file order, as in `AreaRows::frame`.
pub(crate) struct Spells {
    /// Runs of one area: its code and how many spells.
    pub areas: Vec<(String, usize)>,
    /// The spell's person as `events::person_key` of its area and Person_ID (none without
    /// one), for linking to the events.
    pub person: Vec<Option<u128>>,
    /// Days: birth (the 1st of the birth month), admission, discharge, ready, death.
    pub birth: Vec<Option<i32>>,
    pub admitted: Vec<Option<i32>>,
    pub discharged: Vec<Option<i32>>,
    pub ready: Vec<Option<i32>>,
    pub death: Vec<Option<i32>>,
    pub age_at_admission: Vec<Option<i32>>,
    pub admission_method: Vec<Code>,
    pub discharge_method: Vec<Code>,
    pub destination: Vec<Code>,
    pub treatment_function: Vec<Code>,
}

impl Spells {
    /// How many spells.
    pub(crate) fn len(&self) -> usize {
        self.admitted.len()
    }

    /// Each spell's area code.
    pub(crate) fn area_of_rows(&self) -> impl Iterator<Item = &str> + '_ {
        super::area_of_rows(&self.areas)
    }

    /// Age in whole years at `day` (metrics.md §0.3): from the birth month when given, else
    /// the age at admission (data-contract.md §3).
    pub(crate) fn age_at(&self, i: usize, day: Option<i32>) -> Option<i32> {
        match self.birth[i] {
            Some(b) => day.map(|d| super::values::years_in(i64::from(d) - i64::from(b)) as i32),
            None => self.age_at_admission[i],
        }
    }
}

/// Does `v` match a code pattern: `len` characters, digits (and capitals when `letters`)?
fn code_ok(v: &str, len: usize, letters: bool) -> bool {
    v.len() == len
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (letters && b.is_ascii_uppercase()))
}

/// The fields the row pass reads, by position: looked up in each file's header once, not by
/// name in every row.
const FIELDS: [&str; 14] = [
    "LA_Code",
    "Spell_ID",
    "Person_ID",
    "Admission_Date",
    "Discharge_Date",
    "Discharge_Ready_Date",
    "Admission_Method",
    "Discharge_Method",
    "Discharge_Destination",
    "Treatment_Function_Code",
    "Der_Birth_Year",
    "Der_Birth_Month",
    "Age_at_Admission",
    "Date_of_Death",
];
const LA_CODE: usize = 0;
const SPELL_ID: usize = 1;
const PERSON_ID: usize = 2;
const ADMISSION: usize = 3;
const DISCHARGE: usize = 4;
const READY: usize = 5;
const ADMISSION_METHOD: usize = 6;
const DISCHARGE_METHOD: usize = 7;
const DESTINATION: usize = 8;
const TREATMENT_FUNCTION: usize = 9;
const BIRTH_YEAR: usize = 10;
const BIRTH_MONTH: usize = 11;
const AGE: usize = 12;
const DEATH: usize = 13;

/// Reads and validates the extract (D01–D07). The frame has the contract's column names,
/// plus `birth` (the 1st of the birth month) and `__line`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<DischargeStore> {
    let (mut report, mut summary) = src.start();
    let mut partitions = Partitions::new();
    let mut spill_error: Option<String> = None;
    let mut areas = Interner::new();
    // D01 needs every Spell_ID of the file: each is kept as a 128-bit fingerprint (a
    // collision among tens of millions is a 1e-24 chance), in a plain list sorted after
    // the pass (a third of the memory of a map of them); the rows without one are listed.
    let mut ids: Vec<u128> = Vec::new();
    let mut no_id: Vec<Loc> = Vec::new();
    let mut birth_form_missing = false;
    // The coverage (first admission, last admission or discharge) of the rows kept if no
    // Spell_ID repeats, as most files have none: the pass after it is then not needed.
    let (mut first, mut last): (Option<i32>, Option<i32>) = (None, None);
    // Where each field sits in a record, resolved from each file's header once.
    let mut positions: Option<(usize, [Option<usize>; FIELDS.len()])> = None;
    let read = read_chunks(src, &mut report, |c, chunk, report| {
        if positions.as_ref().is_none_or(|(file, _)| *file != c.file) {
            positions = Some((c.file, FIELDS.map(|name| c.get(name))));
        }
        let pos = &positions.as_ref().expect("set above").1;
        let has_birth = pos[BIRTH_YEAR].is_some() && pos[BIRTH_MONTH].is_some();
        let mut f = Vec::new();
        if !has_birth && pos[AGE].is_none() {
            // The file is refused (F04), but a record of the wrong width is still listed
            // (E08), as every row's own problems before a refusal are.
            for i in 0..chunk.len() {
                chunk.fields(i, &mut f, report);
            }
            birth_form_missing = true;
            return;
        }
        // What each coded value reads as, judged once per chunk (`coded::Seen`): dates,
        // code patterns, birth parts and areas repeat on almost every row.
        let distinct = chunk.distinct();
        let of = |k: usize| pos[k].and_then(|c| distinct.get(c).copied().flatten());
        let rows = chunk.len();
        let mut dates_seen: [Seen<DateRead>; 4] =
            [ADMISSION, DISCHARGE, READY, DEATH].map(|k| Seen::new(of(k), rows));
        let mut codes_seen = [
            ADMISSION_METHOD,
            DISCHARGE_METHOD,
            DESTINATION,
            TREATMENT_FUNCTION,
        ]
        .map(|k| Seen::new(of(k), rows));
        let mut whole_seen = [BIRTH_YEAR, BIRTH_MONTH, AGE].map(|k| Seen::new(of(k), rows));
        let mut area_seen = Seen::new(of(LA_CODE), rows);
        for i in 0..chunk.len() {
            // A coded row's texts are looked up when a field is read, not every field first:
            // most fields are judged by their code alone (`Seen`).
            let coded_row = chunk.coded(i);
            if coded_row.is_none() && !chunk.fields(i, &mut f, report) {
                continue;
            }
            let loc = chunk.loc(i);
            let code = |k: usize| {
                let (columns, at) = coded_row?;
                Some(columns.get(pos[k]?)?.code(at))
            };
            let issues_before = report.issues.len();
            let get = |k: usize| match (pos[k], coded_row) {
                (None, _) => "",
                (Some(c), Some((columns, at))) => columns.get(c).map_or("", |v| v.text(at)),
                (Some(c), None) => f.get(c).copied().unwrap_or(""),
            };
            let mut add = |sev, rule: &str, k: usize, msg: String| {
                report.add(loc, sev, rule, FIELDS[k], get(k), msg)
            };
            let mut date =
                |slot: usize, k: usize| dates_seen[slot].date(code(k), || get(k), src.date_format);
            let admitted = match date(0, ADMISSION) {
                Some(read) => read,
                None => Err("the admission date is missing".to_string()),
            }
            .map_err(|e| add(Severity::Error, "D02", ADMISSION, e))
            .ok();
            let discharged = match date(1, DISCHARGE) {
                Some(Ok(d)) => {
                    if admitted.is_some_and(|a| d < a) {
                        add(
                            Severity::Error,
                            "D03",
                            DISCHARGE,
                            "the discharge is before the admission".into(),
                        );
                    }
                    Some(d)
                }
                Some(Err(e)) => {
                    add(Severity::Error, "D02", DISCHARGE, e);
                    None
                }
                None => None,
            };
            let ready = match date(2, READY) {
                Some(Ok(d)) if admitted.is_some_and(|a| d < a) => {
                    add(
                        Severity::Warning,
                        "D04",
                        READY,
                        "the ready date is before the admission; ignored".into(),
                    );
                    None
                }
                Some(Ok(d)) if discharged.is_some_and(|x| d > x) => {
                    add(
                        Severity::Warning,
                        "D04",
                        READY,
                        "the ready date is after the discharge; ignored".into(),
                    );
                    None
                }
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    add(
                        Severity::Warning,
                        "D04",
                        READY,
                        format!("{e}; the ready date is ignored"),
                    );
                    None
                }
                None => None,
            };
            let mut coded = |slot: usize, k: usize, len: usize, letters: bool| {
                let v = null(get(k))?;
                if codes_seen[slot].get(code(k), || code_ok(v, len, letters)) {
                    Some(v)
                } else {
                    let col = FIELDS[k];
                    add(Severity::Warning, "D05", k, format!("\"{v}\" does not match the code pattern; the spell is left out of metrics that use {col}"));
                    None
                }
            };
            let admission_method = coded(0, ADMISSION_METHOD, 2, true);
            let discharge_method = coded(1, DISCHARGE_METHOD, 1, false);
            let destination = coded(2, DESTINATION, 2, false);
            let treatment_function = coded(3, TREATMENT_FUNCTION, 3, false);
            let mut whole_at =
                |slot: usize, k: usize| whole_seen[slot].get(code(k), || whole(get(k)));
            let (birth, age_at_admission) = if has_birth {
                let year = whole_at(0, BIRTH_YEAR).filter(|y| BIRTH_YEARS.contains(y));
                let month = whole_at(1, BIRTH_MONTH).filter(|m| BIRTH_MONTHS.contains(m));
                match (year, month) {
                    (Some(y), Some(m)) => (NaiveDate::from_ymd_opt(y as i32, m as u32, 1), None),
                    _ => {
                        add(Severity::Warning, "D06", BIRTH_YEAR, "the birth year or month is not valid; the spell is left out of age-restricted metrics".into());
                        (None, None)
                    }
                }
            } else {
                match whole_at(2, AGE).filter(|a| *a <= 130) {
                    Some(a) => (None, Some(a as i32)),
                    None => {
                        add(
                            Severity::Warning,
                            "D06",
                            AGE,
                            "the age is not valid; the spell is left out of age-restricted metrics"
                                .into(),
                        );
                        (None, None)
                    }
                }
            };
            let person = null(get(PERSON_ID));
            if pos[PERSON_ID].is_some() && person.is_none() {
                add(
                    Severity::Warning,
                    "D07",
                    PERSON_ID,
                    "no Person_ID; the spell is left out of the ascof-2d linkage".into(),
                );
            }
            let death = match date(3, DEATH) {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    add(
                        Severity::Warning,
                        "D02",
                        DEATH,
                        format!("{e}; the date of death is ignored"),
                    );
                    None
                }
                None => None,
            };
            let rejected = report.issues[issues_before..]
                .iter()
                .any(|i| i.severity == Severity::Error);
            let spell = null(get(SPELL_ID));
            match spell {
                Some(id) => ids.push(id_fingerprint(id)),
                None => no_id.push(loc),
            }
            if spell.is_some() && !rejected {
                widen(
                    &mut first,
                    &mut last,
                    admitted.map(days),
                    discharged.map(days),
                );
            }
            let key =
                area_seen.get(code(LA_CODE), || areas.key(Some(get(LA_CODE).trim()))) as usize - 1;
            let row = Row {
                loc,
                rejected,
                spell,
                person,
                birth: birth.map(days),
                age_at_admission,
                admitted: admitted.map(days),
                discharged: discharged.map(days),
                admission_method,
                discharge_method,
                destination,
                ready: ready.map(days),
                treatment_function,
                death: death.map(days),
            };
            if spill_error.is_none() {
                spill_error = partitions.push(key, &row).err();
            }
        }
    });
    if birth_form_missing {
        report.add(
            Loc::File,
            Severity::File,
            "F04",
            "Der_Birth_Year",
            "",
            "the file has neither Der_Birth_Year + Der_Birth_Month nor Age_at_Admission",
        );
        return refuse(
            ledger,
            report,
            summary,
            "no birth month or age column (F04)".to_string().into(),
        )
        .and(None);
    }
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why).and(None),
    };
    if let Some(why) = spill_error {
        return refuse(ledger, report, summary, why.into()).and(None);
    }
    // D01, in file order: a spell with no Spell_ID, and every copy of a repeated one.
    ids.sort_unstable();
    let mut repeated: Vec<u128> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(ids);
    repeated.dedup();
    // When a Spell_ID repeats, one pass over the partitions finds the copies and, from the
    // rows then kept, the coverage (as the frame of them all would give it).
    let mut unidentified: Vec<(Loc, Option<String>)> =
        no_id.into_iter().map(|l| (l, None)).collect();
    if !repeated.is_empty() {
        (first, last) = (None, None);
        for a in 0..areas.values.len() {
            let bytes = match partitions.bytes(a) {
                Ok(bytes) => bytes,
                Err(why) => return refuse(ledger, report, summary, why.into()).and(None),
            };
            for r in bytes.read::<Row>() {
                let Some(id) = r.spell else { continue };
                if repeated.binary_search(&id_fingerprint(id)).is_ok() {
                    unidentified.push((r.loc, Some(id.to_string())));
                    continue;
                }
                if !r.rejected {
                    widen(&mut first, &mut last, r.admitted, r.discharged);
                }
            }
        }
    }
    drop(repeated);
    unidentified.sort_by_key(|(loc, _)| *loc);
    for (loc, id) in &unidentified {
        match id {
            None => report.add(
                *loc,
                Severity::Error,
                "D01",
                "Spell_ID",
                "",
                "the spell has no Spell_ID",
            ),
            Some(id) => report.add(
                *loc,
                Severity::Error,
                "D01",
                "Spell_ID",
                id,
                "Spell_ID is repeated; every copy is rejected",
            ),
        }
    }
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let day = |d: i32| epoch + chrono::Duration::days(d as i64);
    super::settle(ledger, summary, report);
    Some(DischargeStore {
        areas: areas.values,
        partitions,
        unidentified: unidentified.into_iter().map(|(l, _)| l).collect(),
        coverage: first.zip(last).map(|(f, l)| (day(f), day(l))),
    })
}

/// Widens the coverage to take in a kept spell: from its admission, to its admission or
/// discharge, whichever is later.
fn widen(
    first: &mut Option<i32>,
    last: &mut Option<i32>,
    admitted: Option<i32>,
    discharged: Option<i32>,
) {
    if let Some(x) = admitted.max(discharged) {
        *last = Some(last.map_or(x, |l| l.max(x)));
    }
    if let Some(a) = admitted {
        *first = Some(first.map_or(a, |f| f.min(a)));
    }
}

/// A Spell_ID's fingerprint for D01.
fn id_fingerprint(id: &str) -> u128 {
    super::values::fingerprint128((0x0d01_0001, 0x0d01_0002), id)
}

impl DischargeStore {
    /// Whether a row is kept: not rejected by its own rules or by D01.
    fn kept(&self, r: &Row) -> bool {
        !r.rejected && !self.unidentified.contains(&r.loc)
    }

    /// The stored bytes of these areas, by area key, and how many rows they hold (the kept
    /// rows borrow their text from the bytes, and columns of that many rows never grow).
    fn stored(&self, wanted: &[String]) -> Result<(Vec<(usize, Stored<'_>)>, usize), String> {
        let mut stored = Vec::new();
        for (key, name) in self.areas.iter().enumerate() {
            if wanted.contains(name) {
                stored.push((key, self.partitions.bytes(key)?));
            }
        }
        let n = stored
            .iter()
            .map(|(key, _)| self.partitions.rows()[*key])
            .sum();
        Ok((stored, n))
    }

    /// The kept spells of these areas as plain columns (`Spells`).
    pub(crate) fn spells(&self, wanted: &[String]) -> Result<Spells, String> {
        let (stored, n) = self.stored(wanted)?;
        let days = || Vec::with_capacity(n);
        let codes = || Vec::with_capacity(n);
        let mut s = Spells {
            areas: Vec::new(),
            person: Vec::with_capacity(n),
            birth: days(),
            admitted: days(),
            discharged: days(),
            ready: days(),
            death: days(),
            age_at_admission: days(),
            admission_method: codes(),
            discharge_method: codes(),
            destination: codes(),
            treatment_function: codes(),
        };
        for (key, bytes) in &stored {
            let area = self.areas[*key].as_str();
            let before = s.len();
            for r in bytes.read::<Row>() {
                if !self.kept(&r) {
                    continue;
                }
                s.person.push(
                    r.person
                        .map(|p| super::events::person_key(area, Some(p), None)),
                );
                s.birth.push(r.birth);
                s.admitted.push(r.admitted);
                s.discharged.push(r.discharged);
                s.ready.push(r.ready);
                s.death.push(r.death);
                s.age_at_admission.push(r.age_at_admission);
                s.admission_method.push(Code::of(r.admission_method));
                s.discharge_method.push(Code::of(r.discharge_method));
                s.destination.push(Code::of(r.destination));
                s.treatment_function.push(Code::of(r.treatment_function));
            }
            if s.len() > before {
                s.areas.push((area.to_string(), s.len() - before));
            }
        }
        Ok(s)
    }
}

impl super::AreaRows for DischargeStore {
    fn areas(&self) -> Vec<(String, usize)> {
        self.areas
            .iter()
            .cloned()
            .zip(self.partitions.rows().iter().copied())
            .collect()
    }

    fn outside(&self, area: &str) -> Result<Vec<(Loc, String)>, String> {
        let mut out = Vec::new();
        for (key, name) in self.areas.iter().enumerate() {
            if name != area {
                let bytes = self.partitions.bytes(key)?;
                for r in bytes.read::<Row>() {
                    if self.kept(&r) {
                        out.push((r.loc, name.clone()));
                    }
                }
            }
        }
        out.sort_by_key(|(loc, _)| *loc);
        Ok(out)
    }

    /// The contract's columns, plus `birth` (the 1st of the birth month) and `__line`.
    fn frame(&self, wanted: &[String]) -> Result<DataFrame, String> {
        let (stored, n) = self.stored(wanted)?;
        // The kept rows' fields gathered in one pass over the rows (a pass per column read
        // every whole record again for each of 14 columns).
        let mut area: Vec<&str> = Vec::with_capacity(n);
        let mut text: [Vec<Option<&str>>; 6] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut days: [Vec<Option<i32>>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut age_at_admission: Vec<Option<i32>> = Vec::with_capacity(n);
        let mut line: Vec<u64> = Vec::with_capacity(n);
        for (key, bytes) in &stored {
            for r in bytes.read::<Row>() {
                if !self.kept(&r) {
                    continue;
                }
                area.push(self.areas[*key].as_str());
                let fields = [
                    r.spell,
                    r.person,
                    r.admission_method,
                    r.discharge_method,
                    r.destination,
                    r.treatment_function,
                ];
                for (column, v) in text.iter_mut().zip(fields) {
                    column.push(v);
                }
                for (column, v) in
                    days.iter_mut()
                        .zip([r.birth, r.admitted, r.discharged, r.ready, r.death])
                {
                    column.push(v);
                }
                age_at_admission.push(r.age_at_admission);
                line.push(r.loc.to_bits());
            }
        }
        let [spell, person, admission_method, discharge_method, destination, treatment] = text;
        let [birth, admitted, discharged, ready, death] = days;
        DataFrame::new_infer_height(vec![
            Column::new("LA_Code".into(), area),
            Column::new("Spell_ID".into(), spell),
            Column::new("Person_ID".into(), person),
            date_column("birth", birth),
            Column::new("Age_at_Admission".into(), age_at_admission),
            date_column("Admission_Date", admitted),
            date_column("Discharge_Date", discharged),
            Column::new("Admission_Method".into(), admission_method),
            Column::new("Discharge_Method".into(), discharge_method),
            Column::new("Discharge_Destination".into(), destination),
            date_column("Discharge_Ready_Date", ready),
            Column::new("Treatment_Function_Code".into(), treatment),
            date_column("Date_of_Death", death),
            Column::new("__line".into(), line),
        ])
        .map_err(|e| e.to_string())
    }
}
