//! The `discharges` extract (data-contract.md §3): hospital provider spells.

use super::partition::{
    read_day, read_loc, read_text, take, write_day, write_loc, write_text, Interner, Partitions,
    Record,
};
use super::values::{days, null, parse_date, required_date, whole};
use super::{date_column, read_rows, refuse, Ledger, Loc, Severity, Source};
use chrono::NaiveDate;
use polars::prelude::*;

/// A spell as the row pass leaves it (its area is its partition's).
struct Row {
    loc: Loc,
    /// Rejected by a rule of the row itself (D02, D03); D01 is settled after the pass.
    rejected: bool,
    spell: Option<String>,
    person: Option<String>,
    birth: Option<i32>,
    age_at_admission: Option<i32>,
    admitted: Option<i32>,
    discharged: Option<i32>,
    admission_method: Option<String>,
    discharge_method: Option<String>,
    destination: Option<String>,
    ready: Option<i32>,
    treatment_function: Option<String>,
    death: Option<i32>,
}

impl Record for Row {
    fn write(&self, out: &mut Vec<u8>) {
        write_loc(out, self.loc);
        out.push(u8::from(self.rejected));
        for t in [&self.spell, &self.person] {
            write_text(out, t.as_deref());
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
            &self.admission_method,
            &self.discharge_method,
            &self.destination,
        ] {
            write_text(out, t.as_deref());
        }
        write_day(out, self.ready);
        write_text(out, self.treatment_function.as_deref());
        write_day(out, self.death);
    }

    fn read(b: &mut &[u8]) -> Row {
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
    partitions: Partitions<Row>,
    /// Rows rejected by D01 (a missing or repeated Spell_ID), found after the pass.
    unidentified: foldhash::HashSet<Loc>,
    /// The first admission and the last admission or discharge of the kept spells.
    pub coverage: Option<(NaiveDate, NaiveDate)>,
}

/// Does `v` match a code pattern: `len` characters, digits (and capitals when `letters`)?
fn code_ok(v: &str, len: usize, letters: bool) -> bool {
    v.len() == len
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (letters && b.is_ascii_uppercase()))
}

/// Reads and validates the extract (D01–D07). The frame has the contract's column names,
/// plus `birth` (the 1st of the birth month) and `__line`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<DischargeStore> {
    let (mut report, mut summary) = src.start();
    let mut partitions: Partitions<Row> = Partitions::new();
    let mut spill_error: Option<String> = None;
    let mut areas = Interner::new();
    // D01 needs every Spell_ID of the file: each is kept as a 128-bit fingerprint (a
    // collision among tens of millions is a 1e-24 chance), in a plain list sorted after
    // the pass (a third of the memory of a map of them); the rows without one are listed.
    let mut ids: Vec<u128> = Vec::new();
    let mut no_id: Vec<Loc> = Vec::new();
    let mut birth_form_missing = false;
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let issues_before = report.issues.len();
        let has_birth = c.has("Der_Birth_Year") && c.has("Der_Birth_Month");
        if !has_birth && !c.has("Age_at_Admission") {
            birth_form_missing = true;
            return;
        }
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |sev, rule: &str, col: &str, msg: String| {
            report.add(loc, sev, rule, col, get(col), msg)
        };
        let date = |col: &str| null(get(col)).map(|v| parse_date(v, src.date_format));
        let admitted = required_date(
            get("Admission_Date"),
            src.date_format,
            "the admission date is missing",
        )
        .map_err(|e| add(Severity::Error, "D02", "Admission_Date", e))
        .ok();
        let discharged = match date("Discharge_Date") {
            Some(Ok(d)) => {
                if admitted.is_some_and(|a| d < a) {
                    add(
                        Severity::Error,
                        "D03",
                        "Discharge_Date",
                        "the discharge is before the admission".into(),
                    );
                }
                Some(d)
            }
            Some(Err(e)) => {
                add(Severity::Error, "D02", "Discharge_Date", e);
                None
            }
            None => None,
        };
        let ready = match date("Discharge_Ready_Date") {
            Some(Ok(d)) if admitted.is_some_and(|a| d < a) => {
                add(
                    Severity::Warning,
                    "D04",
                    "Discharge_Ready_Date",
                    "the ready date is before the admission; ignored".into(),
                );
                None
            }
            Some(Ok(d)) if discharged.is_some_and(|x| d > x) => {
                add(
                    Severity::Warning,
                    "D04",
                    "Discharge_Ready_Date",
                    "the ready date is after the discharge; ignored".into(),
                );
                None
            }
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                add(
                    Severity::Warning,
                    "D04",
                    "Discharge_Ready_Date",
                    format!("{e}; the ready date is ignored"),
                );
                None
            }
            None => None,
        };
        let mut coded = |col: &str, len: usize, letters: bool| -> Option<String> {
            let v = null(get(col))?;
            if code_ok(v, len, letters) {
                Some(v.to_string())
            } else {
                add(Severity::Warning, "D05", col, format!("\"{v}\" does not match the code pattern; the spell is left out of metrics that use {col}"));
                None
            }
        };
        let admission_method = coded("Admission_Method", 2, true);
        let discharge_method = coded("Discharge_Method", 1, false);
        let destination = coded("Discharge_Destination", 2, false);
        let treatment_function = coded("Treatment_Function_Code", 3, false);
        let (birth, age_at_admission) = if has_birth {
            let year = whole(get("Der_Birth_Year")).filter(|y| (1900..=2099).contains(y));
            let month = whole(get("Der_Birth_Month")).filter(|m| (1..=12).contains(m));
            match (year, month) {
                (Some(y), Some(m)) => (NaiveDate::from_ymd_opt(y as i32, m as u32, 1), None),
                _ => {
                    add(Severity::Warning, "D06", "Der_Birth_Year", "the birth year or month is not valid; the spell is left out of age-restricted metrics".into());
                    (None, None)
                }
            }
        } else {
            match whole(get("Age_at_Admission")).filter(|a| *a <= 130) {
                Some(a) => (None, Some(a as i32)),
                None => {
                    add(
                        Severity::Warning,
                        "D06",
                        "Age_at_Admission",
                        "the age is not valid; the spell is left out of age-restricted metrics"
                            .into(),
                    );
                    (None, None)
                }
            }
        };
        let person = null(get("Person_ID")).map(str::to_string);
        if c.has("Person_ID") && person.is_none() {
            add(
                Severity::Warning,
                "D07",
                "Person_ID",
                "no Person_ID; the spell is left out of the ascof-2d linkage".into(),
            );
        }
        let death = match date("Date_of_Death") {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                add(
                    Severity::Warning,
                    "D02",
                    "Date_of_Death",
                    format!("{e}; the date of death is ignored"),
                );
                None
            }
            None => None,
        };
        let rejected = report.issues[issues_before..]
            .iter()
            .any(|i| i.severity == Severity::Error);
        let spell = null(get("Spell_ID")).map(str::to_string);
        match &spell {
            Some(id) => ids.push(id_fingerprint(id)),
            None => no_id.push(loc),
        }
        let key = areas.key(Some(get("LA_Code").trim())) as usize - 1;
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
    // One pass over the partitions finds the repeated copies and, from the rows then
    // kept, the coverage (as the frame of them all would give it).
    let mut unidentified: Vec<(Loc, Option<String>)> =
        no_id.into_iter().map(|l| (l, None)).collect();
    let (mut first, mut last): (Option<i32>, Option<i32>) = (None, None);
    for a in 0..areas.values.len() {
        let rows = match partitions.area(a) {
            Ok(rows) => rows,
            Err(why) => return refuse(ledger, report, summary, why.into()).and(None),
        };
        for r in rows {
            let Some(id) = r.spell else { continue };
            if repeated.binary_search(&id_fingerprint(&id)).is_ok() {
                unidentified.push((r.loc, Some(id)));
                continue;
            }
            if r.rejected {
                continue;
            }
            if let Some(x) = r.admitted.max(r.discharged) {
                last = Some(last.map_or(x, |l| l.max(x)));
            }
            if let Some(a) = r.admitted {
                first = Some(first.map_or(a, |f| f.min(a)));
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

/// A Spell_ID's fingerprint for D01.
fn id_fingerprint(id: &str) -> u128 {
    super::values::fingerprint128((0x0d01_0001, 0x0d01_0002), id)
}

impl DischargeStore {
    /// Whether a row is kept: not rejected by its own rules or by D01.
    fn kept(&self, r: &Row) -> bool {
        !r.rejected && !self.unidentified.contains(&r.loc)
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
                for r in self.partitions.area(key)? {
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
        let mut kept: Vec<(u32, Row)> = Vec::new();
        for (key, name) in self.areas.iter().enumerate() {
            if wanted.contains(name) {
                for r in self.partitions.area(key)? {
                    if self.kept(&r) {
                        kept.push((key as u32, r));
                    }
                }
            }
        }
        let text =
            |f: &dyn Fn(&Row) -> Option<&str>| kept.iter().map(|(_, r)| f(r)).collect::<Vec<_>>();
        let days = |f: &dyn Fn(&Row) -> Option<i32>| kept.iter().map(|(_, r)| f(r)).collect();
        DataFrame::new_infer_height(vec![
            Column::new(
                "LA_Code".into(),
                kept.iter()
                    .map(|(a, _)| self.areas[*a as usize].as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new("Spell_ID".into(), text(&|r| r.spell.as_deref())),
            Column::new("Person_ID".into(), text(&|r| r.person.as_deref())),
            date_column("birth", days(&|r| r.birth)),
            Column::new(
                "Age_at_Admission".into(),
                kept.iter()
                    .map(|(_, r)| r.age_at_admission)
                    .collect::<Vec<_>>(),
            ),
            date_column("Admission_Date", days(&|r| r.admitted)),
            date_column("Discharge_Date", days(&|r| r.discharged)),
            Column::new(
                "Admission_Method".into(),
                text(&|r| r.admission_method.as_deref()),
            ),
            Column::new(
                "Discharge_Method".into(),
                text(&|r| r.discharge_method.as_deref()),
            ),
            Column::new(
                "Discharge_Destination".into(),
                text(&|r| r.destination.as_deref()),
            ),
            date_column("Discharge_Ready_Date", days(&|r| r.ready)),
            Column::new(
                "Treatment_Function_Code".into(),
                text(&|r| r.treatment_function.as_deref()),
            ),
            date_column("Date_of_Death", days(&|r| r.death)),
            Column::new(
                "__line".into(),
                kept.iter()
                    .map(|(_, r)| r.loc.to_bits())
                    .collect::<Vec<u64>>(),
            ),
        ])
        .map_err(|e| e.to_string())
    }
}
