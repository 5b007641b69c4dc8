//! ascof-2a (metrics.md §1): short-term support (ST-Max) episodes of new clients and what
//! followed them. Episodes and their final outcomes do not depend on the window, so they are
//! derived once per run; each window then only counts episodes ending inside it.

use crate::extract::codes::{EVENT_OUTCOME, SERVICE_TYPE};
use crate::extract::events::{Events, EMPTY, INVALID_CODE};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::HashMap;

/// Outcome rank (metrics.md §0.3): ranks 1-17 follow DHSC's hierarchy; outcomes that say
/// nothing about what happened next get +100 and are not usable; empty or invalid is 999.
pub fn outcome_rank(code: u8) -> u32 {
    if code == EMPTY || code == INVALID_CODE {
        return 999;
    }
    match EVENT_OUTCOME[code as usize - 1] {
        "Progress to reablement/ST-Max" => 101,
        "Progress to assessment, review or reassessment" => 102,
        "Progress to support planning or services" => 104,
        "Continuation of support or services" => 105,
        "Admitted to hospital" => 6,
        "NFA: Responsibility moved to another local authority" => 7,
        "NFA: Referral to NHS services or NHS funded social care" => 8,
        "NFA: Self-funded client or under 12wk disregard" => 9,
        "NFA: Information and advice or signposting" => 10,
        "NFA: Referral to other service within the local authority" => 11,
        "NFA: Support declined" => 12,
        "NFA: Deceased" => 13,
        "NFA: Support ended as planned" => 14,
        "NFA: Support ended for other reason" => 15,
        "NFA: No services offered for other reason" => 16,
        "NFA: Other" => 17,
        _ => 999,
    }
}

fn outcome_text(code: u8) -> &'static str {
    if code == EMPTY || code == INVALID_CODE {
        "Invalid and not mapped"
    } else {
        EVENT_OUTCOME[code as usize - 1]
    }
}

/// The final outcomes in the denominator (rule 7).
pub const DENOMINATOR: &[&str] = &[
    "Long term support: Nursing care",
    "Long term support: Residential care",
    "Long term support: Community",
    "Long term support: Prison",
    "Short term support: Ongoing low level",
    "Short term support: Other short term",
    "Short term support: Residential or Nursing care",
    "NFA: Information and advice or signposting",
    "NFA: Support ended as planned",
    "NFA: Responsibility moved to another local authority",
    "NFA: Other",
    "NFA: No services offered for other reason",
    "NFA: Support ended for other reason",
    "NFA: Referral to other service within the local authority",
];

/// Denominator outcomes that are not in the numerator: further long-term or bed-based care.
pub const NOT_NUMERATOR: &[&str] = &[
    "Long term support: Nursing care",
    "Long term support: Residential care",
    "Long term support: Community",
    "Long term support: Prison",
    "Short term support: Residential or Nursing care",
];

const OPEN: i64 = i64::MAX / 4;

struct Row {
    event: u8,
    service: u8,
    component: u32,
    outcome: u8,
    start: i64,
    /// Derived end; open = OPEN.
    end: i64,
    index: usize,
}

fn u32_col(df: &DataFrame, name: &str) -> PolarsResult<Vec<u32>> {
    Ok(df
        .column(name)?
        .u32()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

fn date_col(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i32>>> {
    Ok(df
        .column(name)?
        .as_materialized_series()
        .date()?
        .physical()
        .iter()
        .collect())
}

/// Every ST-Max episode with its final outcome (rules 1-6). Columns: `LA_Code, __person,
/// ep_start, ep_end (null = open), final, age_end, died_before_start, new_client`.
pub fn episodes(events: &Events) -> PolarsResult<DataFrame> {
    let code = |c: &str, v: &str| Events::code(c, v);
    let service_user = code("Client_Type", "Service user") as u32;
    let f = &events.frame;
    let client = u32_col(f, "Client_Type")?;
    let event = u32_col(f, "Event_Type")?;
    let service = u32_col(f, "Service_Type")?;
    let outcome = u32_col(f, "Event_Outcome")?;
    let component = u32_col(f, "Service_Component")?;
    let person = u32_col(f, "__person")?;
    let start = date_col(f, "Event_Start_Date")?;
    let end = date_col(f, "__end")?;
    let birth = date_col(f, "__birth")?;
    let death = date_col(f, "__death")?;
    let area = f.column("LA_Code")?.str()?.clone();
    let dict = &events.dictionaries["Service_Component"];
    let component_is =
        |key: u32, name: &str| key > 0 && dict[key as usize - 1].eq_ignore_ascii_case(name);

    let st_max = code("Service_Type", "Short term support: ST-Max");
    let service_event = code("Event_Type", "Service");
    let lts: Vec<u8> = SERVICE_TYPE[..4]
        .iter()
        .map(|t| code("Service_Type", t))
        .collect();
    let request_like: Vec<u8> = ["Request", "Assessment", "Review"]
        .iter()
        .map(|t| code("Event_Type", t))
        .collect();
    let assess_review: Vec<u8> = ["Assessment", "Review"]
        .iter()
        .map(|t| code("Event_Type", t))
        .collect();
    let ended_as_planned = code("Event_Outcome", "NFA: Support ended as planned");
    let hospital = code("Event_Outcome", "Admitted to hospital");

    let mut by_person: HashMap<u32, Vec<Row>> = HashMap::new();
    for i in 0..f.height() {
        if client[i] != service_user {
            continue;
        }
        let Some(s) = start[i] else { continue };
        by_person.entry(person[i]).or_default().push(Row {
            event: event[i] as u8,
            service: service[i] as u8,
            component: component[i],
            outcome: outcome[i] as u8,
            start: s as i64,
            end: end[i].map_or(OPEN, |e| e as i64),
            index: i,
        });
    }
    let mut persons: Vec<u32> = by_person.keys().copied().collect();
    persons.sort_unstable();
    let (
        mut o_area,
        mut o_person,
        mut o_start,
        mut o_end,
        mut o_final,
        mut o_age,
        mut o_dead,
        mut o_new,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    let to_date = |d: i64| if d >= OPEN { None } else { Some(d as i32) };
    for p in persons {
        let rows = &by_person[&p];
        let mut st: Vec<&Row> = rows
            .iter()
            .filter(|r| r.event == service_event && r.service == st_max)
            .collect();
        if st.is_empty() {
            continue;
        }
        // Rule 3: sort by start, derived end, outcome rank, then line.
        st.sort_by_key(|r| (r.start, r.end, outcome_rank(r.outcome), r.index));
        let mut episodes: Vec<Vec<&Row>> = Vec::new();
        let mut latest_end = i64::MIN;
        for r in st {
            if !episodes.is_empty() && r.start <= latest_end.saturating_add(7) {
                episodes.last_mut().expect("non-empty").push(r);
            } else {
                episodes.push(vec![r]);
            }
            latest_end = latest_end.max(r.end);
        }
        let any = rows[0].index;
        let (p_birth, p_death) = (birth[any], death[any].map(|d| d as i64));
        for ep in episodes {
            let ep_start = ep.iter().map(|r| r.start).min().expect("non-empty");
            let ep_end = ep.iter().map(|r| r.end).max().expect("non-empty");
            // The outcome of the row with the latest end; ties: lowest rank, then later line.
            let last = ep
                .iter()
                .filter(|r| r.end == ep_end)
                .min_by_key(|r| (outcome_rank(r.outcome), std::cmp::Reverse(r.index)))
                .expect("non-empty");
            let ep_outcome = last.outcome;
            // F and N exclude the episode's own ST-Max rows (those starting within it).
            let own = |r: &Row| {
                r.event == service_event
                    && r.service == st_max
                    && r.start >= ep_start
                    && r.start <= ep_end
            };
            let follow: Vec<&Row> = rows
                .iter()
                .filter(|r| {
                    !own(r)
                        && r.start >= ep_start
                        && r.end > ep_end
                        && r.start <= ep_end.saturating_add(7)
                })
                .collect();
            let nested: Vec<&Row> = rows
                .iter()
                .filter(|r| !own(r) && r.start >= ep_start && ep_start < r.end && r.end <= ep_end)
                .collect();
            let final_outcome: String = if p_death.is_some_and(|d| d <= ep_end.saturating_add(7)) {
                "NFA: Deceased".into()
            } else if ep_outcome == hospital {
                "Admitted to hospital".into()
            } else if let Some(s3) = follow
                .iter()
                .filter(|r| {
                    r.event == service_event
                        && r.service != EMPTY
                        && r.service != INVALID_CODE
                        && (r.service as usize) <= 7
                })
                .min_by_key(|r| {
                    let bed = component_is(r.component, "Short term residential care")
                        || component_is(r.component, "Short term nursing care");
                    (r.service, !bed)
                })
            {
                let bed = component_is(s3.component, "Short term residential care")
                    || component_is(s3.component, "Short term nursing care");
                let name = SERVICE_TYPE[s3.service as usize - 1];
                if name == "Short term support: Other short term" && bed {
                    "Short term support: Residential or Nursing care".into()
                } else {
                    name.into()
                }
            } else {
                let usable = |o: u8| outcome_rank(o) < 100;
                let f_requests: Vec<&&Row> = follow
                    .iter()
                    .filter(|r| request_like.contains(&r.event))
                    .collect();
                let mut candidates: Vec<u8> = Vec::new();
                if usable(ep_outcome)
                    && (follow.is_empty()
                        || f_requests.iter().any(|r| r.outcome != ended_as_planned))
                {
                    candidates.push(ep_outcome);
                }
                candidates.extend(
                    f_requests
                        .iter()
                        .filter(|r| usable(r.outcome) && r.outcome != ended_as_planned)
                        .map(|r| r.outcome),
                );
                if let Some(c) = nested
                    .iter()
                    .filter(|r| {
                        assess_review.contains(&r.event) && usable(r.outcome) && ep_end - r.end < 14
                    })
                    .max_by_key(|r| (r.end, std::cmp::Reverse(outcome_rank(r.outcome))))
                {
                    candidates.push(c.outcome);
                }
                if let Some(best) = candidates.into_iter().min_by_key(|o| outcome_rank(*o)) {
                    outcome_text(best).into()
                } else if nested
                    .iter()
                    .any(|r| r.event == service_event && component_is(r.component, "Equipment"))
                {
                    "Short term support: Ongoing low level".into()
                } else {
                    outcome_text(ep_outcome).into()
                }
            };
            // Rule 5: a new client has no LTS row starting before the episode whose derived
            // end is open or less than 91 days before the episode start.
            let new_client = !rows.iter().any(|r| {
                r.event == service_event
                    && lts.contains(&r.service)
                    && r.start < ep_start
                    && (r.end >= OPEN || ep_start - r.end < 91)
            });
            let age = match (p_birth, to_date(ep_end)) {
                (Some(b), Some(e)) => Some(((e as i64 - b as i64) * 4).div_euclid(1461) as i32),
                _ => None,
            };
            o_area.push(area.get(any).unwrap_or("").to_string());
            o_person.push(p);
            o_start.push(Some(ep_start as i32));
            o_end.push(to_date(ep_end));
            o_final.push(final_outcome);
            o_age.push(age);
            o_dead.push(p_death.is_some_and(|d| d < ep_start));
            o_new.push(new_client);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new("LA_Code".into(), o_area),
        Column::new("__person".into(), o_person),
        crate::extract::date_column("ep_start", o_start),
        crate::extract::date_column("ep_end", o_end),
        Column::new("final".into(), o_final),
        Column::new("age_end".into(), o_age),
        Column::new("died_before_start".into(), o_dead),
        Column::new("new_client".into(), o_new),
    ])
}

/// ascof-2a for a window (rules 4, 7, 8): episodes of new clients ending in [ws, we], aged
/// 18+ or unknown at the end, alive at the start; band `18-64` / `65+` by age at the end.
pub fn short_term_support(
    episodes: &DataFrame,
    ws: NaiveDate,
    we: NaiveDate,
    band: Option<&str>,
) -> LazyFrame {
    let den_set = lit(Series::new("d".into(), DENOMINATOR)).implode(false);
    let not_num = lit(Series::new("n".into(), NOT_NUMERATOR)).implode(false);
    let mut lf = episodes.clone().lazy().filter(
        col("ep_end")
            .gt_eq(lit(ws))
            .and(col("ep_end").lt_eq(lit(we)))
            .and(col("new_client"))
            .and(col("died_before_start").not())
            .and(col("age_end").is_null().or(col("age_end").gt_eq(lit(18))))
            .and(col("final").is_in(den_set, false)),
    );
    lf = match band {
        Some("18-64") => lf.filter(
            col("age_end")
                .gt_eq(lit(18))
                .and(col("age_end").lt_eq(lit(64))),
        ),
        Some("65+") => lf.filter(col("age_end").gt_eq(lit(65))),
        _ => lf,
    };
    lf.group_by([col("LA_Code")]).agg([
        col("final")
            .is_in(not_num, false)
            .not()
            .cast(DataType::UInt64)
            .sum()
            .alias("n"),
        len().cast(DataType::UInt64).alias("d"),
    ])
}
