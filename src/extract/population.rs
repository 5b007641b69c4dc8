//! The `population` extract (data-contract.md §2): ONS mid-year estimates, reduced to the
//! denominators the metrics use — people aged 18-64 and 65+ per area and year.

use super::values::{canonical, code, null, whole};
use super::{finish, read_rows, refuse, rejected_locs, Ledger, Loaded, Loc, Severity, Source};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// An age label: a single year, or a band [from, to] (`to` = None for open-ended bands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Age {
    Single(u32),
    Band(u32, Option<u32>),
}

const BANDS: &[(&str, u32, Option<u32>)] = &[
    ("18-64", 18, Some(64)),
    ("65+", 65, None),
    ("0-4", 0, Some(4)),
    ("5-9", 5, Some(9)),
    ("10-14", 10, Some(14)),
    ("15-19", 15, Some(19)),
    ("20-24", 20, Some(24)),
    ("25-29", 25, Some(29)),
    ("30-34", 30, Some(34)),
    ("35-39", 35, Some(39)),
    ("40-44", 40, Some(44)),
    ("45-49", 45, Some(49)),
    ("50-54", 50, Some(54)),
    ("55-59", 55, Some(59)),
    ("60-64", 60, Some(64)),
    ("65-69", 65, Some(69)),
    ("70-74", 70, Some(74)),
    ("75-79", 75, Some(79)),
    ("80-84", 80, Some(84)),
    ("85-89", 85, Some(89)),
];

fn parse_age(s: &str) -> Option<Age> {
    let t = code(s);
    if t == "90+" {
        // `90+` is both the last single-year label and the last ESP band: the same people.
        return Some(Age::Band(90, None));
    }
    if let Some(n) = whole(&t).filter(|n| *n <= 89) {
        return Some(Age::Single(n as u32));
    }
    BANDS
        .iter()
        .find(|(l, ..)| *l == t)
        .map(|(_, a, b)| Age::Band(*a, *b))
}

struct Row {
    loc: Loc,
    area: String,
    year: Option<i32>,
    sex: Option<&'static str>,
    age: Option<Age>,
    count: Option<u64>,
}

/// Reads and validates the extract (P01–P05; an unknown `Sex` is rejected as P06, ours).
/// The frame has `Area_Code, Year, band (18-64 | 65+), population`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<Loaded> {
    let (mut report, mut summary) = src.start();
    let mut rows = Vec::new();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |rule: &str, col: &str, msg: String| {
            report.add(loc, Severity::Error, rule, col, get(col), msg)
        };
        let count = whole(get("Count"));
        if count.is_none() {
            add(
                "P01",
                "Count",
                "Count is not a non-negative whole number".into(),
            );
        }
        let age = parse_age(get("Age"));
        if age.is_none() {
            add(
                "P02",
                "Age",
                "not a single year 0..89, 90+, or a known band".into(),
            );
        }
        let year_text = get("Year").trim();
        let year = (year_text.len() == 4)
            .then(|| whole(year_text))
            .flatten()
            .map(|y| y as i32);
        if year.is_none() {
            add("P05", "Year", "Year is not 4 digits".into());
        }
        let sex = if c.has("Sex") {
            let s = canonical(get("Sex"), &["Persons", "Male", "Female"]);
            if s.is_none() {
                add("P06", "Sex", "Sex must be Persons, Male or Female".into());
            }
            s
        } else {
            Some("Persons")
        };
        rows.push(Row {
            loc,
            area: code(get("Area_Code")),
            year,
            sex,
            age,
            count,
        });
        let _ = null;
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    // P03: duplicate (area, year, sex, age) rejects all copies.
    let mut keys: HashMap<(String, i32, &str, Age), usize> = HashMap::new();
    for r in &rows {
        if let (Some(y), Some(s), Some(a)) = (r.year, r.sex, r.age) {
            *keys.entry((r.area.clone(), y, s, a)).or_default() += 1;
        }
    }
    for r in &rows {
        if let (Some(y), Some(s), Some(a)) = (r.year, r.sex, r.age) {
            if keys[&(r.area.clone(), y, s, a)] > 1 {
                report.add(
                    r.loc,
                    Severity::Error,
                    "P03",
                    "Age",
                    "",
                    format!(
                        "{} {y} {s} age {:?} appears more than once; every copy is rejected",
                        r.area, a
                    ),
                );
            }
        }
    }
    // P04: a group mixing single years and bands, or with overlapping bands.
    let mut groups: BTreeMap<(String, i32, &str), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let (Some(y), Some(s)) = (r.year, r.sex) {
            groups.entry((r.area.clone(), y, s)).or_default().push(i);
        }
    }
    for ((area, year, sex), idx) in &groups {
        let ages: Vec<Age> = idx.iter().filter_map(|i| rows[*i].age).collect();
        let singles = ages.iter().filter(|a| matches!(a, Age::Single(_))).count();
        // `90+` sits with single years as well as bands.
        let bands: Vec<(u32, u32)> = ages
            .iter()
            .filter_map(|a| match a {
                Age::Band(90, None) => None,
                Age::Band(f, t) => Some((*f, t.unwrap_or(u32::MAX))),
                _ => None,
            })
            .collect();
        let mut overlap = false;
        let mut all: Vec<(u32, u32)> = bands.clone();
        if ages.contains(&Age::Band(90, None)) {
            all.push((90, u32::MAX));
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if a.0 <= b.1 && b.0 <= a.1 {
                    overlap = true;
                }
            }
        }
        if (singles > 0 && !bands.is_empty()) || overlap {
            for i in idx {
                report.add(rows[*i].loc, Severity::Error, "P04", "Age", "", format!("{area} {year} {sex} mixes single years and bands, or has overlapping bands; all its rows are rejected"));
            }
        }
    }
    let rejected = rejected_locs(&report);
    // Per (area, year, sex): ages → counts, from the kept rows.
    let mut kept: BTreeMap<(String, i32, &str), HashMap<Age, u64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !rejected.contains(&r.loc)) {
        if let (Some(y), Some(s), Some(a), Some(c)) = (r.year, r.sex, r.age, r.count) {
            kept.entry((r.area.clone(), y, s)).or_default().insert(a, c);
        }
    }
    let derive = |ages: &HashMap<Age, u64>, band: &str| -> Option<u64> {
        if band == "18-64" {
            if let Some(c) = ages.get(&Age::Band(18, Some(64))) {
                return Some(*c);
            }
            (18..=64).map(|a| ages.get(&Age::Single(a)).copied()).sum()
        } else {
            if let Some(c) = ages.get(&Age::Band(65, None)) {
                return Some(*c);
            }
            let old = ages.get(&Age::Band(90, None)).copied();
            let singles: Option<u64> = (65..=89).map(|a| ages.get(&Age::Single(a)).copied()).sum();
            let fives: Option<u64> = [65, 70, 75, 80, 85]
                .iter()
                .map(|a| ages.get(&Age::Band(*a, Some(a + 4))).copied())
                .sum();
            Some(singles.or(fives)? + old?)
        }
    };
    let (mut areas, mut years, mut bands, mut pops) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let pairs: std::collections::BTreeSet<(String, i32)> =
        kept.keys().map(|(a, y, _)| (a.clone(), *y)).collect();
    for (area, year) in pairs {
        for band in ["18-64", "65+"] {
            // Persons rows when the area-year has them; otherwise Male + Female.
            let persons = kept
                .get(&(area.clone(), year, "Persons"))
                .and_then(|a| derive(a, band));
            let value = persons.or_else(|| {
                let m = kept
                    .get(&(area.clone(), year, "Male"))
                    .and_then(|a| derive(a, band))?;
                let f = kept
                    .get(&(area.clone(), year, "Female"))
                    .and_then(|a| derive(a, band))?;
                Some(m + f)
            });
            if let Some(v) = value {
                areas.push(area.clone());
                years.push(year);
                bands.push(band);
                pops.push(v);
            }
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("Area_Code".into(), areas),
        Column::new("Year".into(), years),
        Column::new("band".into(), bands),
        Column::new("population".into(), pops),
    ])
    .expect("columns of one length");
    finish(ledger, report, summary, frame)
}
