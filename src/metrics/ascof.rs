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
    cache: &AsAtCache,
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
    // Each person's highest setting at we: the same for 1a, 2a and every band.
    let people = cache.get("ascof-3d-clients", (we, we), "people", || {
        events
            .frame
            .clone()
            .lazy()
            .filter(lts_row().and(open_at_we).and(alive))
            .with_columns([rank.alias("rank"), age_on(we).alias("age")])
            .group_by([col("LA_Code"), col("__person")])
            .agg([col("rank").min(), col("age").first()])
            .filter(col("age").is_null().or(col("age").gt_eq(lit(18))))
            .filter(col("rank").gt_eq(lit(3)).and(col("rank").lt_eq(lit(6))))
            .select([col("LA_Code"), col("rank"), col("age")])
    });
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

fn keys_in(events: &Events, column: &str, values: &[&str]) -> Expr {
    let keys = events.keys_where(column, |v| {
        v.is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(v)))
    });
    col(column).is_in(lit(Series::new("k".into(), keys)).implode(false), false)
}

/// ascof-3d carers (metrics.md §6, 1b and 2b): carers supported in the window, each at their
/// lowest category; the denominator is categories 1–3 (support direct to the carer through a
/// direct payment, a managed budget or commissioned support). `part` is `1b` or `2b`.
pub fn carers_self_directed(
    events: &Events,
    ws: NaiveDate,
    we: NaiveDate,
    part: &str,
    band: Option<&str>,
    cache: &AsAtCache,
) -> LazyFrame {
    let carer = is("Client_Type", "Unpaid carer")
        .or(is("Client_Type", "Unpaid carer known by association"));
    let in_window = col("Event_Start_Date")
        .lt_eq(lit(we))
        .and(col("__end").is_null().or(col("__end").gt_eq(lit(ws))));
    let alive = col("__death").is_null().or(col("__death").gt_eq(lit(ws)));
    let no_type = col("Service_Type").eq(lit(0u32));
    let info = is(
        "Event_Outcome",
        "NFA: Information and advice or signposting",
    );
    let direct = is(
        "Service_Type",
        "Unpaid carer support: Direct to unpaid carer",
    );
    let involving = is(
        "Service_Type",
        "Unpaid carer support: Support involving the person cared-for",
    );
    let assess_or_review = is("Event_Type", "Assessment").or(is("Event_Type", "Review"));
    let qualifies = no_type
        .clone()
        .and(info.clone())
        .or(direct.clone())
        .or(involving.clone())
        .or(assess_or_review.clone().and(no_type.clone()));
    // An empty component counts as "not a direct payment" [ours].
    let dp_component = keys_in(events, "Service_Component", &["Direct payment"]);
    let category = when(
        direct
            .clone()
            .and(is("Delivery_Mechanism", "Direct payment").or(dp_component.clone())),
    )
    .then(lit(1))
    .when(
        direct
            .clone()
            .and(is("Delivery_Mechanism", "CASSR managed personal budget")),
    )
    .then(lit(2))
    .when(
        direct
            .clone()
            .and(is("Delivery_Mechanism", "CASSR commissioned support")),
    )
    .then(lit(3))
    .when(direct)
    .then(lit(4))
    .when(involving)
    .then(lit(6))
    .when(assess_or_review.and(info.clone()))
    .then(lit(5))
    .when(is("Event_Type", "Request").or(info))
    .then(lit(5))
    .otherwise(lit(6));
    let numerator = if part == "2b" {
        col("cat").eq(lit(1))
    } else {
        col("cat").lt_eq(lit(2))
    };
    // Each carer's lowest category in the window: the same for 1b, 2b and every band.
    let people = cache.get("ascof-3d-carers", (ws, we), "people", || {
        events
            .frame
            .clone()
            .lazy()
            .filter(carer.and(in_window).and(alive).and(qualifies))
            .with_columns([category.alias("cat"), age_on(we).alias("age")])
            .group_by([col("LA_Code"), col("__person")])
            .agg([col("cat").min(), col("age").first()])
            .filter(col("age").is_null().or(col("age").gt_eq(lit(18))))
            .filter(col("cat").lt_eq(lit(3)))
            .select([col("LA_Code"), col("cat"), col("age")])
    });
    band_filter(people, band).group_by([col("LA_Code")]).agg([
        numerator.cast(DataType::UInt64).sum().alias("n"),
        len().cast(DataType::UInt64).alias("d"),
    ])
}

/// Keeps, per person, the rows that rank first on `key` (highest value), so a chain of
/// these picks the top-ranked rows on several keys in turn.
fn top_by(frame: LazyFrame, key: &str) -> LazyFrame {
    // `over` fails only for an empty partition list, and this one names a column.
    let best = col(key)
        .max()
        .over([col("__person")])
        .expect("a partition column is given");
    frame.filter(col(key).eq(best))
}

/// The accommodation statuses of the settled group (data-contract.md §1.5.6, marked S).
pub const SETTLED: &[&str] = &[
    "Owner occupier or shared ownership scheme",
    "Tenant: Local authority or other social housing provider",
    "Tenant: Private landlord",
    "Settled mainstream housing with family or friends",
    "Supported accommodation, supported lodgings or supported group home",
    "Shared Lives scheme",
    "Approved premises for offenders released from prison or under probation supervision",
    "Sheltered housing, extra care housing or other sheltered housing",
    "Mobile accommodation for Gypsy, Roma and Traveller communities",
];

/// ascof-2e (metrics.md §5): people in long-term support in the window, by age band at their
/// latest LTS end (capped at we); the numerator lives in settled accommodation as at we (or is
/// inferred to be at home from their services). `band` `None` = both bands together.
/// With `learning_disability`, band 18-64 only, for people whose primary support reason as at
/// we is learning disability support (ascof-2e-ld).
pub fn own_home(
    events: &Events,
    ws: NaiveDate,
    we: NaiveDate,
    band: Option<&str>,
    learning_disability: bool,
    cache: &AsAtCache,
) -> LazyFrame {
    // min(derived end, we) with open = we, in days (a date literal would widen the column
    // to a datetime).
    let we_days = crate::extract::values::days(we);
    let capped = |c: &str| {
        when(col(c).is_null().or(col(c).gt(lit(we))))
            .then(lit(we_days))
            .otherwise(col(c).cast(DataType::Int32))
    };
    let all = events.frame.clone().lazy();
    // Rule 1-2: the cohort and each person's age at their latest capped LTS end.
    let cohort = all
        .clone()
        .filter(
            lts_row()
                .and(col("Event_Start_Date").lt_eq(lit(we)))
                .and(col("__end").is_null().or(col("__end").gt_eq(lit(ws))))
                .and(col("__death").is_null().or(col("__death").gt_eq(lit(ws)))),
        )
        .with_column(capped("__end").alias("capped"))
        .group_by([col("LA_Code"), col("__person")])
        .agg([col("capped").max(), col("__birth").first()])
        .with_column(
            ((col("capped").cast(DataType::Int32) - col("__birth").cast(DataType::Int32)) * lit(4))
                .floor_div(lit(1461))
                .alias("age"),
        )
        .filter(col("age").is_not_null().and(col("age").gt_eq(lit(18))))
        .select([col("LA_Code"), col("__person"), col("age")]);
    // Rule 3: the known accommodation status as at we (the top-ranked rows must agree).
    let unknown = [
        EMPTY_CODE,
        Events::code("Accommodation_Status", "Unknown"),
        INVALID_CODE_U8,
    ];
    let known = col("Accommodation_Status")
        .is_in(
            lit(Series::new(
                "u".into(),
                unknown.iter().map(|c| *c as u32).collect::<Vec<u32>>(),
            ))
            .implode(false),
            false,
        )
        .not();
    let ranked = all
        .clone()
        .filter(col("Event_Start_Date").lt_eq(lit(we)).and(known))
        .with_columns([
            capped("__end").cast(DataType::Int32).alias("k1"),
            col("Event_Start_Date").cast(DataType::Int32).alias("k2"),
        ]);
    let status = top_by(top_by(ranked, "k1"), "k2")
        .group_by([col("__person")])
        .agg([
            col("Accommodation_Status").n_unique().alias("n_status"),
            col("Accommodation_Status").first().alias("status"),
        ]);
    let settled_codes: Vec<u32> = SETTLED
        .iter()
        .map(|s| Events::code("Accommodation_Status", s) as u32)
        .collect();
    let settled_status = col("n_status").eq(lit(1u32)).and(col("status").is_in(
        lit(Series::new("s".into(), settled_codes)).implode(false),
        false,
    ));
    // Rule 4: inference from services for people without a known status.
    let hierarchy = when(is("Service_Type", LTS[0]))
        .then(lit(1))
        .when(is("Service_Type", LTS[1]))
        .then(lit(2))
        .when(is("Service_Type", LTS[2]))
        .then(lit(3))
        .when(is("Service_Type", LTS[3]))
        .then(lit(4))
        .when(is("Service_Type", "Short term support: ST-Max"))
        .then(lit(5))
        .when(is("Service_Type", "Short term support: Ongoing low level"))
        .then(lit(6))
        .when(is("Service_Type", "Short term support: Other short term"))
        .then(lit(7))
        .otherwise(lit(8));
    let place = |names: &[&str]| keys_in(events, "Service_Component", names);
    let housing = [
        "Shared Lives",
        "Community supported living",
        "Extra care housing",
        "Home support or domiciliary care",
    ];
    let services = all
        .filter(is("Event_Type", "Service").and(col("Event_Start_Date").lt_eq(lit(we))))
        .with_columns([
            capped("__end").cast(DataType::Int32).alias("k1"),
            (lit(10) - hierarchy.clone()).alias("k2"),
            place(&housing).cast(DataType::Int32).alias("k3"),
            col("Event_Start_Date").cast(DataType::Int32).alias("k4"),
            hierarchy.alias("tier"),
            place(&["Home support or domiciliary care"]).alias("home"),
            place(&["Shared Lives"]).alias("shared"),
            place(&["Extra care housing"]).alias("extra"),
            place(&["Community supported living"]).alias("supported"),
        ]);
    let inferred = top_by(top_by(top_by(top_by(services, "k1"), "k2"), "k3"), "k4")
        .group_by([col("__person")])
        .agg([
            col("tier").n_unique().alias("n_tier"),
            col("tier").first(),
            col("home").any(true),
            col("shared").any(true),
            col("extra").any(true),
            col("supported").any(true),
        ])
        .with_column(
            (col("home").cast(DataType::Int32)
                + col("shared").cast(DataType::Int32)
                + col("extra").cast(DataType::Int32)
                + col("supported").cast(DataType::Int32))
            .alias("n_places"),
        );
    let one_place = col("n_places").eq(lit(1));
    let tier = |t: i32| col("n_tier").eq(lit(1u32)).and(col("tier").eq(lit(t)));
    // Settled inferences: Shared Lives, extra care, supported living, or community + home support.
    let inferred_settled = tier(1).not().and(tier(2).not()).and(
        one_place
            .clone()
            .and(col("shared").or(col("extra")).or(col("supported")))
            .or(tier(3).and(one_place).and(col("home"))),
    );
    // Rules 3-4 depend on we only: every band, window and the LD variant share them, so each
    // person's answer as at we is derived once per run (a person and a flag each).
    let status = cache.get("ascof-2e", (we, we), "status", || {
        status.select([
            col("__person"),
            settled_status.fill_null(lit(false)).alias("settled_s"),
        ])
    });
    let inferred = cache.get("ascof-2e", (we, we), "inferred", || {
        inferred.select([
            col("__person"),
            inferred_settled.fill_null(lit(false)).alias("settled_i"),
        ])
    });
    let mut people = cohort
        .join(
            status,
            [col("__person")],
            [col("__person")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            inferred,
            [col("__person")],
            [col("__person")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            when(col("settled_s").is_not_null())
                .then(col("settled_s"))
                .otherwise(col("settled_i").fill_null(lit(false)))
                .alias("settled"),
        );
    if learning_disability {
        let ld = cache.get("ascof-2e", (we, we), "ld", || {
            learning_disability_at(events, we)
        });
        people = people.join(
            ld,
            [col("__person")],
            [col("__person")],
            JoinArgs::new(JoinType::Inner),
        );
        people = band_filter(people, Some("18-64"));
    } else {
        people = band_filter(people, band);
    }
    people.group_by([col("LA_Code")]).agg([
        col("settled").cast(DataType::UInt64).sum().alias("n"),
        len().cast(DataType::UInt64).alias("d"),
    ])
}

/// People whose primary support reason as at we is learning disability support: resolved
/// like the accommodation status, with "Support to unpaid carer" also ranking as not known.
fn learning_disability_at(events: &Events, we: NaiveDate) -> LazyFrame {
    let capped = when(col("__end").is_null().or(col("__end").gt(lit(we))))
        .then(lit(crate::extract::values::days(we)))
        .otherwise(col("__end").cast(DataType::Int32));
    let not_known = events.keys_where("Primary_Support_Reason", |v| {
        v.is_none_or(|v| {
            v.eq_ignore_ascii_case("Unknown")
                || v.eq_ignore_ascii_case("Social support: Support to unpaid carer")
        })
    });
    let ld = keys_in(
        events,
        "Primary_Support_Reason",
        &["Learning disability support"],
    );
    let ranked = events
        .frame
        .clone()
        .lazy()
        .filter(col("Event_Start_Date").lt_eq(lit(we)))
        .filter(
            col("Primary_Support_Reason")
                .is_in(
                    lit(Series::new("k".into(), not_known)).implode(false),
                    false,
                )
                .not(),
        )
        .with_columns([
            capped.cast(DataType::Int32).alias("k1"),
            col("Event_Start_Date").cast(DataType::Int32).alias("k2"),
            ld.alias("ld"),
        ]);
    top_by(top_by(ranked, "k1"), "k2")
        .group_by([col("__person")])
        .agg([
            col("Primary_Support_Reason").n_unique().alias("n_psr"),
            col("ld").all(true),
        ])
        .filter(col("n_psr").eq(lit(1u32)).and(col("ld")))
        .select([col("__person")])
}

/// Person-level derivations of a window, shared by the requests of a metric family (its
/// parts, bands and windows). The frames of the two families used last are kept: a family's
/// requests come together or interleave with one other (3d clients and carers), and keeping
/// every family's would cost memory for nothing. A query that fails is not cached and is
/// returned as it was, to fail where it is collected.
#[derive(Default, Clone)]
pub struct AsAtCache(std::sync::Arc<std::sync::Mutex<CacheState>>);

type CacheKey = (&'static str, NaiveDate, NaiveDate, &'static str);

#[derive(Default)]
pub struct CacheState {
    /// Least recently used first.
    families: Vec<&'static str>,
    frames: std::collections::HashMap<CacheKey, DataFrame>,
}

impl AsAtCache {
    pub fn get(
        &self,
        family: &'static str,
        window: (NaiveDate, NaiveDate),
        what: &'static str,
        make: impl FnOnce() -> LazyFrame,
    ) -> LazyFrame {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        state.families.retain(|f| *f != family);
        state.families.push(family);
        if state.families.len() > 2 {
            let old = state.families.remove(0);
            state.frames.retain(|k, _| k.0 != old);
        }
        let key = (family, window.0, window.1, what);
        if let Some(df) = state.frames.get(&key) {
            return df.clone().lazy();
        }
        let lf = make();
        match lf.clone().collect() {
            Ok(df) => {
                state.frames.insert(key, df.clone());
                df.lazy()
            }
            Err(_) => lf,
        }
    }
}

const EMPTY_CODE: u8 = crate::extract::events::EMPTY;
const INVALID_CODE_U8: u8 = crate::extract::events::INVALID_CODE;
