//! The events-based families (metrics.md §2, §3, §6, §10, §13): long-term admissions
//! (ascof-2b/2c), self-directed support for clients (ascof-3d-1a/2a), reviews of long-term
//! clients, and assessments of older people. Window-independent facts (is an admission
//! new? a person's continuous long-term support spells) are derived once; each window only
//! counts, with polars.

use crate::extract::events::Events;
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::HashMap;

/// `col = value` for a closed-list column of the events frame.
pub fn is(column: &str, value: &str) -> Expr {
    col(column).eq(lit(Events::code(column, value) as u32))
}

/// Age in whole years at a date: floor(days / 365.25) from the 1st of the birth month.
pub fn age_at(date: Expr) -> Expr {
    ((date.cast(DataType::Int32) - col("__birth").cast(DataType::Int32)) * lit(4))
        .floor_div(lit(1461))
}

/// Age in whole years on a fixed date (a literal date does not cast to days in polars, so
/// the day number is computed here).
pub fn age_on(d: NaiveDate) -> Expr {
    ((lit(crate::extract::values::days(d)) - col("__birth").cast(DataType::Int32)) * lit(4))
        .floor_div(lit(1461))
}

const LTS: [&str; 4] = [
    "Long term support: Nursing care",
    "Long term support: Residential care",
    "Long term support: Community",
    "Long term support: Prison",
];

/// An LTS row (metrics.md §0.3): a service-user service row of one of the four LTS types.
pub fn lts_row() -> Expr {
    let any_lts = LTS
        .iter()
        .map(|t| is("Service_Type", t))
        .reduce(|a, b| a.or(b))
        .expect("four types");
    is("Client_Type", "Service user")
        .and(is("Event_Type", "Service"))
        .and(any_lts)
}

fn u32s(df: &DataFrame, name: &str) -> Vec<Option<u32>> {
    df.column(name)
        .and_then(|c| c.u32().map(|ca| ca.iter().collect()))
        .unwrap_or_default()
}

fn dates(df: &DataFrame, name: &str) -> Vec<Option<i32>> {
    df.column(name)
        .and_then(|c| {
            c.as_materialized_series()
                .date()
                .map(|d| d.physical().iter().collect())
        })
        .unwrap_or_default()
}

/// Adds `__r` (a candidate row of ascof-2b/2c rule 1) and `__new` (rule 3: no candidate
/// row of the same person starting earlier whose derived end is open or less than 365 days
/// before this start; an overlapping earlier row also makes it not new).
///
/// Rule 1: "LTS rows of type Residential care or Nursing care whose Service_Component is
/// empty or contains `residential` or `nursing` (case-insensitive), and does not contain
/// `short`." An empty component is kept [ours].
pub fn with_admission_flags(events: &Events) -> PolarsResult<DataFrame> {
    let component_ok = events.keys_where("Service_Component", |v| match v {
        None => true,
        Some(v) => {
            let l = v.to_lowercase();
            (l.contains("residential") || l.contains("nursing")) && !l.contains("short")
        }
    });
    let components = Series::new("keys".into(), component_ok);
    let r = lts_row()
        .and(is("Service_Type", LTS[0]).or(is("Service_Type", LTS[1])))
        .and(col("Service_Component").is_in(lit(components).implode(false), false));
    let mut df = events
        .frame
        .clone()
        .lazy()
        .with_column(r.alias("__r"))
        .collect()?;
    let is_r: Vec<bool> = df
        .column("__r")?
        .bool()?
        .iter()
        .map(|b| b == Some(true))
        .collect();
    let person = u32s(&df, "__person");
    let start = dates(&df, "Event_Start_Date");
    let end = dates(&df, "__end");
    let mut by_person: HashMap<u32, Vec<usize>> = HashMap::new();
    for i in (0..df.height()).filter(|i| is_r[*i]) {
        by_person.entry(person[i].unwrap_or(0)).or_default().push(i);
    }
    let mut new = vec![false; df.height()];
    for rows in by_person.values_mut() {
        rows.sort_by_key(|i| start[*i]);
        // The latest derived end (open = +∞) among rows starting strictly earlier.
        let mut latest_end: Option<i64> = None;
        let mut k = 0;
        while k < rows.len() {
            let s = start[rows[k]].unwrap_or(i32::MIN);
            let mut j = k;
            while j < rows.len() && start[rows[j]].unwrap_or(i32::MIN) == s {
                new[rows[j]] = latest_end.is_none_or(|e| e <= s as i64 - 365);
                j += 1;
            }
            for idx in &rows[k..j] {
                let e = end[*idx].map_or(i64::MAX, |e| e as i64);
                latest_end = Some(latest_end.map_or(e, |l| l.max(e)));
            }
            k = j;
        }
    }
    df.with_column(Column::new("__new".into(), new))?;
    Ok(df)
}

/// ascof-2b/2c (metrics.md §2 rules 2, 4, 5): people with a new admission starting in
/// [ws, we], known birth, not self-funded, alive at ws, aged 18+; a person with new
/// admissions in both bands counts once, in the lower band. `band` is `18-64` or `65+`.
pub fn admissions(flagged: &DataFrame, ws: NaiveDate, we: NaiveDate, band: &str) -> LazyFrame {
    let start = col("Event_Start_Date");
    let admitted = col("__new")
        .and(start.clone().gt_eq(lit(ws)))
        .and(start.clone().lt_eq(lit(we)))
        .and(col("__birth").is_not_null())
        .and(
            is(
                "Event_Outcome",
                "NFA: Self-funded client or under 12wk disregard",
            )
            .not(),
        )
        .and(col("__death").is_null().or(col("__death").gt_eq(lit(ws))));
    let in_band = if band == "18-64" {
        col("age").lt_eq(lit(64))
    } else {
        col("age").gt_eq(lit(65))
    };
    flagged
        .clone()
        .lazy()
        .filter(admitted)
        .with_column(age_at(start).alias("age"))
        .filter(col("age").gt_eq(lit(18)))
        .group_by([col("LA_Code"), col("__person")])
        .agg([col("age").min()])
        .filter(in_band)
        .group_by([col("LA_Code")])
        .agg([len().cast(DataType::UInt64).alias("n")])
}

/// ascof-3d clients (metrics.md §6): a snapshot at we of people in long-term support, ranked
/// to their "highest" setting; the denominator is community support (ranks 3–6). `part` is
/// `1a` (direct payment or managed personal budget) or `2a` (direct payment).
pub fn clients_self_directed(
    events: &Events,
    we: NaiveDate,
    part: &str,
    band: Option<&str>,
) -> LazyFrame {
    let dp_keys = events.keys_where("Service_Component", |v| {
        v.is_some_and(|v| v.eq_ignore_ascii_case("Direct payment"))
    });
    let dp_component =
        col("Service_Component").is_in(lit(Series::new("k".into(), dp_keys)).implode(false), false);
    let mech = |m: &str| is("Delivery_Mechanism", m);
    let dp = dp_component.clone().or(mech("Direct payment"));
    let managed = dp_component
        .clone()
        .not()
        .and(mech("CASSR managed personal budget"));
    let commissioned = dp_component.not().and(mech("CASSR commissioned support"));
    let rank = when(is("Service_Type", LTS[0]))
        .then(lit(1))
        .when(is("Service_Type", LTS[1]))
        .then(lit(2))
        .when(is("Service_Type", LTS[2]).and(dp.clone()))
        .then(lit(3))
        .when(is("Service_Type", LTS[2]).and(managed.clone()))
        .then(lit(4))
        .when(is("Service_Type", LTS[2]).and(commissioned.clone()))
        .then(lit(5))
        .when(is("Service_Type", LTS[2]))
        .then(lit(6))
        .when(managed)
        .then(lit(7))
        .when(commissioned)
        .then(lit(8))
        .otherwise(lit(9));
    let open_at_we = col("Event_Start_Date")
        .lt_eq(lit(we))
        .and(col("__end").is_null().or(col("__end").gt_eq(lit(we))));
    let alive = col("__death").is_null().or(col("__death").gt_eq(lit(we)));
    let numerator_ranks = if part == "2a" {
        col("rank").eq(lit(3))
    } else {
        col("rank").lt_eq(lit(4))
    };
    let people = events
        .frame
        .clone()
        .lazy()
        .filter(lts_row().and(open_at_we).and(alive))
        .with_columns([rank.alias("rank"), age_on(we).alias("age")])
        .group_by([col("LA_Code"), col("__person")])
        .agg([col("rank").min(), col("age").first()])
        .filter(col("age").is_null().or(col("age").gt_eq(lit(18))))
        .filter(col("rank").gt_eq(lit(3)).and(col("rank").lt_eq(lit(6))));
    band_filter(people, band).group_by([col("LA_Code")]).agg([
        numerator_ranks.cast(DataType::UInt64).sum().alias("n"),
        len().cast(DataType::UInt64).alias("d"),
    ])
}

fn band_filter(people: LazyFrame, band: Option<&str>) -> LazyFrame {
    match band {
        Some("18-64") => people.filter(col("age").gt_eq(lit(18)).and(col("age").lt_eq(lit(64)))),
        Some("65+") => people.filter(col("age").gt_eq(lit(65))),
        _ => people,
    }
}

/// assessments-65plus (metrics.md §13): "the number of distinct people with an
/// Event_Type = Assessment, Client_Type = Service user row whose Event_End_Date is in
/// [ws, we] (completed in the window) and whose age at that end date is ≥ 65."
pub fn assessments_65(events: &Events, ws: NaiveDate, we: NaiveDate) -> LazyFrame {
    let end = col("Event_End_Date");
    events
        .frame
        .clone()
        .lazy()
        .filter(
            is("Event_Type", "Assessment")
                .and(is("Client_Type", "Service user"))
                .and(end.clone().gt_eq(lit(ws)))
                .and(end.clone().lt_eq(lit(we)))
                .and(age_at(end).gt_eq(lit(65)).fill_null(lit(false))),
        )
        .group_by([col("LA_Code")])
        .agg([col("__person").n_unique().cast(DataType::UInt64).alias("n")])
}

/// Continuous long-term support spells (metrics.md §10 rule 1): a person's LTS rows sorted
/// by start; a row continues the spell if it starts at most 7 days after the latest derived
/// end so far. Columns `LA_Code, __person, __birth, __death, spell_start, spell_end`.
pub fn lts_spells(events: &Events) -> PolarsResult<DataFrame> {
    let lts = events.frame.clone().lazy().filter(lts_row()).collect()?;
    let person = u32s(&lts, "__person");
    let start = dates(&lts, "Event_Start_Date");
    let end = dates(&lts, "__end");
    let birth = dates(&lts, "__birth");
    let death = dates(&lts, "__death");
    let area = lts.column("LA_Code")?.str()?.clone();
    let mut order: Vec<usize> = (0..lts.height()).collect();
    order.sort_by_key(|i| (person[*i], start[*i]));
    let (mut a, mut p, mut b, mut d, mut s, mut e) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut current: Option<(u32, i32, Option<i32>)> = None;
    let mut flush = |cur: (u32, i32, Option<i32>), i: usize| {
        a.push(area.get(i).unwrap_or("").to_string());
        p.push(cur.0);
        b.push(birth[i]);
        d.push(death[i]);
        s.push(Some(cur.1));
        e.push(cur.2);
    };
    let mut last_index = 0;
    for &i in &order {
        let (Some(pi), Some(si)) = (person[i], start[i]) else {
            continue;
        };
        match current {
            Some((cp, cs, ce)) if cp == pi && ce.is_none_or(|ce| si <= ce + 7) => {
                let merged = match (ce, end[i]) {
                    (None, _) | (_, None) => None,
                    (Some(x), Some(y)) => Some(x.max(y)),
                };
                current = Some((cp, cs, merged));
            }
            Some(cur) => {
                flush(cur, last_index);
                current = Some((pi, si, end[i]));
            }
            None => current = Some((pi, si, end[i])),
        }
        last_index = i;
    }
    if let Some(cur) = current {
        flush(cur, last_index);
    }
    DataFrame::new_infer_height(vec![
        Column::new("LA_Code".into(), a),
        Column::new("__person".into(), p),
        crate::extract::date_column("__birth", b),
        crate::extract::date_column("__death", d),
        crate::extract::date_column("spell_start", s),
        crate::extract::date_column("spell_end", e),
    ])
}

/// reviews-12-months (metrics.md §10 rules 2–3): people whose spell started before ws and is
/// open at we, alive at we, aged 18+ or unknown; the numerator has a completed service-user
/// review in [ws, we] whose reason is not "Review of short term support".
pub fn reviews_12_months(
    events: &Events,
    spells: &DataFrame,
    ws: NaiveDate,
    we: NaiveDate,
) -> LazyFrame {
    let eligible = spells
        .clone()
        .lazy()
        .filter(
            col("spell_start")
                .lt(lit(ws))
                .and(
                    col("spell_end")
                        .is_null()
                        .or(col("spell_end").gt_eq(lit(we))),
                )
                .and(col("__death").is_null().or(col("__death").gt_eq(lit(we)))),
        )
        .with_column(age_on(we).alias("age"))
        .filter(col("age").is_null().or(col("age").gt_eq(lit(18))))
        .select([col("LA_Code"), col("__person")])
        .unique(None, UniqueKeepStrategy::Any);
    let short_keys = events.keys_where("Review_Reason", |v| {
        v.is_some_and(|v| v.eq_ignore_ascii_case("Review of short term support"))
    });
    let end = col("Event_End_Date");
    let reviewed = events
        .frame
        .clone()
        .lazy()
        .filter(
            is("Event_Type", "Review")
                .and(is("Client_Type", "Service user"))
                .and(end.clone().gt_eq(lit(ws)))
                .and(end.lt_eq(lit(we)))
                .and(
                    col("Review_Reason")
                        .is_in(
                            lit(Series::new("k".into(), short_keys)).implode(false),
                            false,
                        )
                        .not(),
                ),
        )
        .select([col("LA_Code"), col("__person")])
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(lit(true).alias("reviewed"));
    eligible
        .join(
            reviewed,
            [col("LA_Code"), col("__person")],
            [col("LA_Code"), col("__person")],
            JoinArgs::new(JoinType::Left),
        )
        .group_by([col("LA_Code")])
        .agg([
            col("reviewed")
                .fill_null(lit(false))
                .cast(DataType::UInt64)
                .sum()
                .alias("n"),
            len().cast(DataType::UInt64).alias("d"),
        ])
}
