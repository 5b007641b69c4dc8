//! ascof-2d (metrics.md §4): older people discharged from hospital into reablement, linking
//! hospital spells to reablement episodes through the pseudonymised NHS number. Eligibility,
//! links and outcomes do not depend on the window and are derived once; windows only count.

use super::reablement::outcome_rank;
use crate::extract::events::Events;
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::HashMap;

/// Treatment function codes excluded from ascof-2d (data-contract.md §3).
fn excluded_treatment(code: &str) -> bool {
    const LIST: &[&str] = &[
        "199", "223", "290", "291", "331", "344", "345", "346", "424", "499", "501", "504", "560",
        "660", "661", "662", "840", "920",
    ];
    LIST.contains(&code) || code.starts_with("65") || code.starts_with('7')
}

fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .ok()
        .and_then(|c| {
            c.str()
                .ok()
                .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
        })
        .unwrap_or_else(|| vec![None; df.height()])
}

fn dates(df: &DataFrame, name: &str) -> Vec<Option<i32>> {
    df.column(name)
        .ok()
        .and_then(|c| {
            c.as_materialized_series()
                .date()
                .ok()
                .map(|d| d.physical().iter().collect())
        })
        .unwrap_or_else(|| vec![None; df.height()])
}

/// The derived tables: eligible discharges and linked reablement episodes.
pub struct Linked {
    /// `LA_Code, discharged, age, in_lt_community` per eligible spell.
    pub discharges: DataFrame,
    /// `LA_Code, discharged, age, in_lt_community, at_home` per linked episode.
    pub links: DataFrame,
    /// Whether the treatment function exclusion could be applied.
    pub treatment_checked: bool,
}

/// Derives eligibility (rule 1), reablement episodes (rule 2), links (rule 3) and the 84-day
/// outcome (rule 5). `Err` when the extracts cannot be linked ("needs linked discharges").
pub fn link(events: &Events, discharges: &DataFrame) -> Result<Linked, String> {
    if discharges.column("Person_ID").is_err() {
        return Err("needs linked discharges: the discharges extract has no Person_ID".into());
    }
    let code = |c: &str, v: &str| Events::code(c, v) as u32;
    let f = &events.frame;
    let u32s = |n: &str| -> Vec<u32> {
        f.column(n)
            .and_then(|c| c.u32().map(|c| c.iter().map(|v| v.unwrap_or(0)).collect()))
            .unwrap_or_default()
    };
    let (person, event, service, component, outcome) = (
        u32s("__person"),
        u32s("Event_Type"),
        u32s("Service_Type"),
        u32s("Service_Component"),
        u32s("Event_Outcome"),
    );
    let client = u32s("Client_Type");
    let (start, end, death) = (
        dates(f, "Event_Start_Date"),
        dates(f, "__end"),
        dates(f, "__death"),
    );
    let service_user = code("Client_Type", "Service user");
    let svc = code("Event_Type", "Service");
    let st_max = code("Service_Type", "Short term support: ST-Max");
    let (nursing, residential, community, prison) = (
        code("Service_Type", "Long term support: Nursing care"),
        code("Service_Type", "Long term support: Residential care"),
        code("Service_Type", "Long term support: Community"),
        code("Service_Type", "Long term support: Prison"),
    );
    let dict = &events.dictionaries["Service_Component"];
    let reablement = |k: u32| k > 0 && dict[k as usize - 1].eq_ignore_ascii_case("Reablement");

    // A person's service-user service rows, by person.
    let mut rows: HashMap<u32, Vec<usize>> = HashMap::new();
    for i in 0..f.height() {
        if client[i] == service_user && event[i] == svc && start[i].is_some() {
            rows.entry(person[i]).or_default().push(i);
        }
    }
    let open_at =
        |i: usize, d: i32| start[i].is_some_and(|s| s <= d) && end[i].is_none_or(|e| e >= d);

    // Rule 1: eligible discharges.
    let d = discharges;
    let (areas, persons) = (strs(d, "LA_Code"), strs(d, "Person_ID"));
    let (adm_m, dis_m, dest) = (
        strs(d, "Admission_Method"),
        strs(d, "Discharge_Method"),
        strs(d, "Discharge_Destination"),
    );
    let tfc = strs(d, "Treatment_Function_Code");
    let treatment_checked = d.column("Treatment_Function_Code").is_ok();
    let (admitted, discharged, birth, spell_death) = (
        dates(d, "Admission_Date"),
        dates(d, "Discharge_Date"),
        dates(d, "birth"),
        dates(d, "Date_of_Death"),
    );
    let age_at_admission: Vec<Option<i32>> = d
        .column("Age_at_Admission")
        .ok()
        .and_then(|c| c.i32().ok().map(|c| c.iter().collect()))
        .unwrap_or_else(|| vec![None; d.height()]);
    struct Spell {
        area: String,
        key: Option<u32>,
        admitted: i32,
        discharged: i32,
        age: i32,
        in_lt_community: bool,
        death: Option<i32>,
    }
    let mut eligible: Vec<Spell> = Vec::new();
    let mut linked_any = false;
    for i in 0..d.height() {
        let (Some(a), Some(x)) = (admitted[i], discharged[i]) else {
            continue;
        };
        let age = match (birth[i], age_at_admission[i]) {
            (Some(b), _) => ((x as i64 - b as i64) * 4).div_euclid(1461) as i32,
            (None, Some(a)) => a,
            _ => continue,
        };
        let bad =
            |v: &Option<String>, list: &[&str]| v.as_deref().is_none_or(|v| list.contains(&v));
        if a >= x
            || age < 65
            || bad(&adm_m[i], &["31", "32", "82", "83"])
            || bad(&dis_m[i], &["4", "5"])
            || bad(&dest[i], &["49", "50", "51", "52", "79", "87", "88"])
        {
            continue;
        }
        if tfc[i].as_deref().is_some_and(excluded_treatment) {
            continue;
        }
        let area = areas[i].clone().unwrap_or_default();
        let key = persons[i].as_ref().and_then(|p| {
            events
                .by_nhs_number
                .get(&format!("{area}\u{1f}{p}"))
                .copied()
        });
        linked_any |= key.is_some();
        let person_rows = key.and_then(|k| rows.get(&k));
        let in_bed_care = person_rows.is_some_and(|r| {
            r.iter()
                .any(|&j| [nursing, residential, prison].contains(&service[j]) && open_at(j, a))
        });
        if in_bed_care {
            continue;
        }
        let in_lt_community = person_rows
            .is_some_and(|r| r.iter().any(|&j| service[j] == community && open_at(j, a)));
        eligible.push(Spell {
            area,
            key,
            admitted: a,
            discharged: x,
            age,
            in_lt_community,
            death: spell_death[i],
        });
    }
    if !linked_any && !eligible.is_empty() {
        return Err("needs linked discharges: no hospital spell's Person_ID matches an NHS_Number in events".into());
    }
    // Spells by person, for links and emergency readmissions (any spell, not only eligible).
    let mut spells_by_person: HashMap<u32, Vec<(i32, bool)>> = HashMap::new();
    for i in 0..d.height() {
        let area = areas[i].clone().unwrap_or_default();
        if let (Some(p), Some(a)) = (&persons[i], admitted[i]) {
            if let Some(k) = events.by_nhs_number.get(&format!("{area}\u{1f}{p}")) {
                let emergency = adm_m[i]
                    .as_deref()
                    .is_some_and(|m| super::hospital::EMERGENCY.contains(&m));
                spells_by_person.entry(*k).or_default().push((a, emergency));
            }
        }
    }
    let mut eligible_by_person: HashMap<u32, Vec<usize>> = HashMap::new();
    for (n, s) in eligible.iter().enumerate() {
        if let Some(k) = s.key {
            eligible_by_person.entry(k).or_default().push(n);
        }
    }
    // Rule 2: reablement episodes, clustered as ascof-2a rule 3; rule 3: links.
    let (mut l_area, mut l_dis, mut l_age, mut l_ltc, mut l_home) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (p, idx) in &rows {
        let Some(candidates) = eligible_by_person.get(p) else {
            continue;
        };
        let mut st: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| service[i] == st_max && reablement(component[i]))
            .collect();
        st.sort_by_key(|&i| {
            (
                start[i],
                end[i].unwrap_or(i32::MAX),
                outcome_rank(outcome[i] as u8),
                i,
            )
        });
        let mut episode_starts = Vec::new();
        let mut latest_end = i64::MIN;
        for i in st {
            let s = start[i].expect("filtered") as i64;
            if episode_starts.is_empty() || s > latest_end.saturating_add(7) {
                episode_starts.push(s as i32);
            }
            latest_end = latest_end.max(end[i].map_or(i64::MAX / 4, |e| e as i64));
        }
        let person_death = idx.first().and_then(|&i| death[i]);
        for es in episode_starts {
            let Some(best) = candidates
                .iter()
                .map(|&n| &eligible[n])
                .filter(|s| s.discharged >= es - 7 && s.discharged <= es + 3 && s.admitted <= es)
                .max_by_key(|s| s.discharged)
            else {
                continue;
            };
            let x = best.discharged;
            let within = |day: i32| day >= x && day <= x + 84;
            let readmitted = spells_by_person.get(p).is_some_and(|v| {
                v.iter()
                    .any(|(a, emergency)| *emergency && *a > x && *a > es && *a <= x + 84)
            });
            let died = person_death.or(best.death).is_some_and(within);
            let bed = idx.iter().any(|&j| {
                (service[j] == nursing || service[j] == residential) && start[j].is_some_and(within)
            });
            l_area.push(best.area.clone());
            l_dis.push(Some(x));
            l_age.push(best.age);
            l_ltc.push(best.in_lt_community);
            l_home.push(!(readmitted || died || bed));
        }
    }
    let discharges = DataFrame::new_infer_height(vec![
        Column::new(
            "LA_Code".into(),
            eligible.iter().map(|s| s.area.clone()).collect::<Vec<_>>(),
        ),
        crate::extract::date_column(
            "discharged",
            eligible.iter().map(|s| Some(s.discharged)).collect(),
        ),
        Column::new(
            "age".into(),
            eligible.iter().map(|s| s.age).collect::<Vec<_>>(),
        ),
        Column::new(
            "in_lt_community".into(),
            eligible
                .iter()
                .map(|s| s.in_lt_community)
                .collect::<Vec<_>>(),
        ),
    ])
    .map_err(|e| e.to_string())?;
    let links = DataFrame::new_infer_height(vec![
        Column::new("LA_Code".into(), l_area),
        crate::extract::date_column("discharged", l_dis),
        Column::new("age".into(), l_age),
        Column::new("in_lt_community".into(), l_ltc),
        Column::new("at_home".into(), l_home),
    ])
    .map_err(|e| e.to_string())?;
    Ok(Linked {
        discharges,
        links,
        treatment_checked,
    })
}

fn breakdown_filter(lf: LazyFrame, breakdown: Option<&str>) -> LazyFrame {
    match breakdown {
        Some("65-74") => lf.filter(col("age").lt_eq(lit(74))),
        Some("75-84") => lf.filter(col("age").gt_eq(lit(75)).and(col("age").lt_eq(lit(84)))),
        Some("85+") => lf.filter(col("age").gt_eq(lit(85))),
        Some("in-lt-community") => lf.filter(col("in_lt_community")),
        Some("not-in-lts") => lf.filter(col("in_lt_community").not()),
        _ => lf,
    }
}

/// Counts per area for a window: part `1` (at home after 84 days, of linked episodes) or
/// part `2` (linked episodes, of eligible discharges).
pub fn counts(
    linked: &Linked,
    ws: NaiveDate,
    we: NaiveDate,
    part: u8,
    breakdown: Option<&str>,
) -> LazyFrame {
    let in_window = col("discharged")
        .gt_eq(lit(ws))
        .and(col("discharged").lt_eq(lit(we)));
    let links = breakdown_filter(
        linked.links.clone().lazy().filter(in_window.clone()),
        breakdown,
    );
    if part == 1 {
        return links.group_by([col("LA_Code")]).agg([
            col("at_home").cast(DataType::UInt64).sum().alias("n"),
            len().cast(DataType::UInt64).alias("d"),
        ]);
    }
    let n = links
        .group_by([col("LA_Code")])
        .agg([len().cast(DataType::UInt64).alias("n")]);
    let d = breakdown_filter(
        linked.discharges.clone().lazy().filter(in_window),
        breakdown,
    )
    .group_by([col("LA_Code")])
    .agg([len().cast(DataType::UInt64).alias("d")]);
    d.join(
        n,
        [col("LA_Code")],
        [col("LA_Code")],
        JoinArgs::new(JoinType::Left),
    )
    .with_column(col("n").fill_null(lit(0u64)))
}
