//! The `discharges` extract (data-contract.md §3): hospital provider spells.

use super::values::{days, null, parse_date, required_date, whole};
use super::{
    date_column, finish, read_rows, refuse, rejected_locs, require_unique_ids, Ledger, Loaded, Loc,
    Severity, Source,
};
use chrono::NaiveDate;
use polars::prelude::*;

struct Row {
    loc: Loc,
    area: String,
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

/// Does `v` match a code pattern: `len` characters, digits (and capitals when `letters`)?
fn code_ok(v: &str, len: usize, letters: bool) -> bool {
    v.len() == len
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (letters && b.is_ascii_uppercase()))
}

/// Reads and validates the extract (D01–D07). The frame has the contract's column names,
/// plus `birth` (the 1st of the birth month) and `__line`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<Loaded> {
    let (mut report, mut summary) = src.start();
    let mut rows = Vec::new();
    let mut birth_form_missing = false;
    let read = read_rows(src, &mut report, |c, loc, f, report| {
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
        rows.push(Row {
            loc,
            area: get("LA_Code").trim().to_string(),
            spell: null(get("Spell_ID")).map(str::to_string),
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
        });
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
        );
    }
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    let ids: Vec<(Loc, Option<&str>)> = rows.iter().map(|r| (r.loc, r.spell.as_deref())).collect();
    require_unique_ids(&mut report, ("D01", "Spell_ID", "spell"), &ids);
    let rejected = rejected_locs(&report);
    let kept: Vec<&Row> = rows.iter().filter(|r| !rejected.contains(&r.loc)).collect();
    let text = |f: &dyn Fn(&Row) -> Option<&str>| kept.iter().map(|r| f(r)).collect::<Vec<_>>();
    let frame = DataFrame::new_infer_height(vec![
        Column::new(
            "LA_Code".into(),
            kept.iter().map(|r| r.area.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("Spell_ID".into(), text(&|r| r.spell.as_deref())),
        Column::new("Person_ID".into(), text(&|r| r.person.as_deref())),
        date_column("birth", kept.iter().map(|r| r.birth).collect()),
        Column::new(
            "Age_at_Admission".into(),
            kept.iter().map(|r| r.age_at_admission).collect::<Vec<_>>(),
        ),
        date_column("Admission_Date", kept.iter().map(|r| r.admitted).collect()),
        date_column(
            "Discharge_Date",
            kept.iter().map(|r| r.discharged).collect(),
        ),
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
        date_column(
            "Discharge_Ready_Date",
            kept.iter().map(|r| r.ready).collect(),
        ),
        Column::new(
            "Treatment_Function_Code".into(),
            text(&|r| r.treatment_function.as_deref()),
        ),
        date_column("Date_of_Death", kept.iter().map(|r| r.death).collect()),
        Column::new(
            "__line".into(),
            kept.iter().map(|r| r.loc.to_string()).collect::<Vec<_>>(),
        ),
    ])
    .expect("columns of one length");
    finish(ledger, report, summary, frame)
}
