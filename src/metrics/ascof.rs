//! The person-level events families (metrics.md §2, §5, §6, §10, §13): long-term admissions
//! (ascof-2b/2c), living in their own home (ascof-2e), self-directed support (ascof-3d),
//! reviews of long-term clients and assessments of older people.
//!
//! Each family is one pass over the people (`people.rs`): what does not depend on the window
//! (is an admission new? a person's spells of long-term support) is derived once per person,
//! and the person is then counted into every window whose rule they meet. A family fills all
//! its breakdowns at once; `slots` says where each metric's numerator and denominator are.

use super::catalogue::Metric;
use super::people::{age, span_of, top_rows, People, PersonCount, Slot, Tally, OPEN};
use super::{Ask, Plan};
use crate::catalogue::{MetricDef, Polarity, Unit, AGE_BANDS};
use crate::extract::codes::LONG_TERM_SUPPORT;
use crate::extract::events::{Events, EMPTY, INVALID_CODE};
use crate::method::{Rule, Rules};
use std::sync::Arc;

/// The catalogue entry of `ascof-2b`.
pub(crate) const ASCOF_2B: Metric = Metric {
    def: MetricDef {
            id: "ascof-2b",
            codes: &["ASCOF 2B", "2A(1)", "2A part 1"],
            title: "Number of adults aged 18-64 whose long-term support needs are met by admission to residential and nursing care homes, per 100,000 population",
            unit: Unit::Per100k,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["events", "population"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "People aged 18-64 with a new admission in the window: a long-term residential or nursing row (component empty or naming residential/nursing, never 'short') starting in the window, not self-funded, the person alive at the window start, with no such row for the person ending less than 365 days before it (or overlapping it). Someone with new admissions in both bands counts once, in 18-64. Denominator: mid-year population aged 18-64 for the year the window starts. Needs 365 days of history before the window.",
            section: "metrics.md §2",
    },
    plan: |ask| plan_admissions(ask, "18-64"),
};

/// The catalogue entry of `ascof-2c`.
pub(crate) const ASCOF_2C: Metric = Metric {
    def: MetricDef {
            id: "ascof-2c",
            codes: &["ASCOF 2C", "2A(2)", "2A part 2", "bcf-ltc-admissions-65"],
            title: "Number of adults aged 65 and over whose long-term support needs are met by admission to residential and nursing care homes, per 100,000 population",
            unit: Unit::Per100k,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["events", "population"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "As ascof-2b for people aged 65 and over at admission who had no 18-64 admission in the window; denominator: mid-year population aged 65+ for the year the window starts. Also the BCF 2025-26 metric bcf-ltc-admissions-65.",
            section: "metrics.md §3",
    },
    plan: |ask| plan_admissions(ask, "65+"),
};

/// The catalogue entry of `bcf-ltc-admissions-65`.
pub(crate) const BCF_LTC_ADMISSIONS_65: Metric = Metric {
    def: MetricDef {
            id: "bcf-ltc-admissions-65",
            codes: &[],
            title: "Long-term admissions to residential and nursing care, aged 65+, per 100,000 (BCF; computed as ascof-2c)",
            unit: Unit::Per100k,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["events", "population"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Identical to ascof-2c. Whether the national BCF definition is identical is unverified.",
            section: "metrics.md §3",
    },
    plan: |ask| plan_admissions(ask, "65+"),
};

/// The catalogue entry of `ascof-2e`.
pub(crate) const ASCOF_2E: Metric = Metric {
    def: MetricDef {
            id: "ascof-2e",
            codes: &["ASCOF 2E"],
            title: "Proportion of people who receive long-term support who live in their home or with family",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "People with long-term support in the window, by age band; numerator: those whose accommodation status as at the window end is settled (or inferred as at home from their services); denominator: everyone in the band, including unknown status.",
            section: "metrics.md §5",
    },
    plan: |ask| plan_own_home(ask, false),
};

/// The catalogue entry of `ascof-2e-ld`.
pub(crate) const ASCOF_2E_LD: Metric = Metric {
    def: MetricDef {
            id: "ascof-2e-ld",
            codes: &["1G"],
            title: "Proportion of adults aged 18-64 with a learning disability in long-term support who live in their home or with family",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "As ascof-2e, band 18-64 only, for people whose primary support reason as at the window end is learning disability support.",
            section: "metrics.md §5",
    },
    plan: |ask| plan_own_home(ask, true),
};

/// The catalogue entry of `ascof-3d-1a`.
pub(crate) const ASCOF_3D_1A: Metric = Metric {
    def: MetricDef {
            id: "ascof-3d-1a",
            codes: &["ASCOF 3D 1a", "1C(1A)"],
            title: "Proportion of people receiving long-term community support who receive self-directed support",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: true,
            max_lag_months: 0,
            follows_method: true,
            rule: "Snapshot at the window end: people in long-term community support (their highest setting); numerator: those with a direct payment or a council-managed personal budget.",
            section: "metrics.md §6",
    },
    plan: |ask| plan_clients_self_directed(ask, "1a"),
};

/// The catalogue entry of `ascof-3d-2a`.
pub(crate) const ASCOF_3D_2A: Metric = Metric {
    def: MetricDef {
            id: "ascof-3d-2a",
            codes: &["ASCOF 3D 2a", "1C(2A)"],
            title: "Proportion of people receiving long-term community support who receive direct payments",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: true,
            max_lag_months: 0,
            follows_method: true,
            rule: "Snapshot at the window end: people in long-term community support; numerator: those with a direct payment.",
            section: "metrics.md §6",
    },
    plan: |ask| plan_clients_self_directed(ask, "2a"),
};

/// The catalogue entry of `ascof-3d-1b`.
pub(crate) const ASCOF_3D_1B: Metric = Metric {
    def: MetricDef {
            id: "ascof-3d-1b",
            codes: &["ASCOF 3D 1b", "1C(1B)"],
            title: "Proportion of carers receiving self-directed support",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "Carers supported directly in the window (categories 1-3); numerator: those with a direct payment or managed personal budget.",
            section: "metrics.md §6",
    },
    plan: |ask| plan_carers_self_directed(ask, "1b"),
};

/// The catalogue entry of `ascof-3d-2b`.
pub(crate) const ASCOF_3D_2B: Metric = Metric {
    def: MetricDef {
            id: "ascof-3d-2b",
            codes: &["ASCOF 3D 2b", "1C(2B)"],
            title: "Proportion of carers receiving direct payments",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: true,
            rule: "Carers supported directly in the window (categories 1-3); numerator: those with a direct payment.",
            section: "metrics.md §6",
    },
    plan: |ask| plan_carers_self_directed(ask, "2b"),
};

/// The catalogue entry of `reviews-12-months`.
pub(crate) const REVIEWS_12_MONTHS: Metric = Metric {
    def: MetricDef {
            id: "reviews-12-months",
            codes: &[],
            title: "Proportion of people in long-term support for over 12 months who were reviewed in the last 12 months",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "People whose continuous long-term support spell started before the window and is open at its end, alive, aged 18+ or unknown; numerator: those with a completed service-user review (not of short-term support) in the window.",
            section: "metrics.md §10",
    },
    plan: plan_reviews_12_months,
};

/// The catalogue entry of `assessments-65plus`.
pub(crate) const ASSESSMENTS_65PLUS: Metric = Metric {
    def: MetricDef {
            id: "assessments-65plus",
            codes: &["JWS3"],
            title: "Number of older people receiving formal community care assessments",
            unit: Unit::Count,
            polarity: Polarity::LowIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: &[],
            params: &[],
            snapshot: false,
            max_lag_months: 0,
            follows_method: false,
            rule: "Distinct people aged 65+ at completion with a service-user assessment completed in the window.",
            section: "metrics.md §13",
    },
    plan: plan_assessments_65,
};

/// New care home admissions in one age band (§2, §3), per 100,000 of that band; needs 365
/// days of history before the window.
fn plan_admissions<'a>(ask: &Ask<'_, 'a>, band: &'static str) -> Result<Plan<'a>, String> {
    ask.frame("population")?;
    let (people, ev) = ask.people_and_events()?;
    let count = admissions(people, ev, ask.rules);
    let mut p = ask.counted("admissions", people, 2, count, admission_slot(band), None);
    p.population = Some(band);
    p.lookback = 365;
    Ok(p)
}

/// Clients with self-directed support or direct payments (§6, parts 1a and 2a).
fn plan_clients_self_directed<'a>(ask: &Ask<'_, 'a>, part: &str) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let (n, d) = self_directed_slots(part, ask.breakdown);
    let count = clients_self_directed(people, ev, ask.rules);
    Ok(ask.counted("3d-clients", people, 9, count, n, Some(d)))
}

/// Carers with self-directed support or direct payments (§6, parts 1b and 2b).
fn plan_carers_self_directed<'a>(ask: &Ask<'_, 'a>, part: &str) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let (n, d) = self_directed_slots(part, ask.breakdown);
    let count = carers_self_directed(people, ev, ask.rules);
    Ok(ask.counted("3d-carers", people, 9, count, n, Some(d)))
}

/// Long-term clients living in their own home (§5), all or those with a learning disability.
fn plan_own_home<'a>(ask: &Ask<'_, 'a>, learning_disability: bool) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let (n, d) = own_home_slots(learning_disability, ask.breakdown);
    let count = own_home(people, ev, ask.rules);
    Ok(ask.counted("2e", people, 8, count, n, Some(d)))
}

/// Assessments of people aged 65+ (§13): a count.
fn plan_assessments_65<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let people = ask.people()?;
    Ok(ask.counted(
        "assessments",
        people,
        1,
        assessments_65(people),
        ASSESSED,
        None,
    ))
}

/// Long-term clients reviewed in the last 12 months (§10).
fn plan_reviews_12_months<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let count = reviews_12_months(people, ev);
    Ok(ask.counted(
        "reviews",
        people,
        2,
        count,
        REVIEWED,
        Some(IN_LONG_TERM_SUPPORT),
    ))
}

fn code(column: &str, value: &str) -> u8 {
    Events::code(column, value)
}

/// The keys whose value is one of `values`, ignoring case.
fn keys_named(events: &Events, column: &str, values: &[&str]) -> Vec<bool> {
    events.key_set(column, |v| {
        v.is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(v)))
    })
}

fn has(set: &[bool], key: u32) -> bool {
    set.get(key as usize).copied().unwrap_or(false)
}

/// The closed-list codes the families compare against.
#[derive(Clone, Copy)]
struct Codes {
    service_user: u8,
    carer: u8,
    carer_by_association: u8,
    service: u8,
    assessment: u8,
    review: u8,
    request: u8,
    nursing: u8,
    residential: u8,
    community: u8,
    prison: u8,
    direct: u8,
    involving: u8,
    by_direct_payment: u8,
    managed: u8,
    commissioned: u8,
    information: u8,
}

impl Codes {
    fn new() -> Codes {
        let st = |v| code("Service_Type", v);
        let mech = |v| code("Delivery_Mechanism", v);
        Codes {
            service_user: code("Client_Type", "Service user"),
            carer: code("Client_Type", "Unpaid carer"),
            carer_by_association: code("Client_Type", "Unpaid carer known by association"),
            service: code("Event_Type", "Service"),
            assessment: code("Event_Type", "Assessment"),
            review: code("Event_Type", "Review"),
            request: code("Event_Type", "Request"),
            nursing: st(LONG_TERM_SUPPORT[0]),
            residential: st(LONG_TERM_SUPPORT[1]),
            community: st(LONG_TERM_SUPPORT[2]),
            prison: st(LONG_TERM_SUPPORT[3]),
            direct: st("Unpaid carer support: Direct to unpaid carer"),
            involving: st("Unpaid carer support: Support involving the person cared-for"),
            by_direct_payment: mech("Direct payment"),
            managed: mech("CASSR managed personal budget"),
            commissioned: mech("CASSR commissioned support"),
            information: code(
                "Event_Outcome",
                "NFA: Information and advice or signposting",
            ),
        }
    }

    /// An LTS row (metrics.md §0.3): a service-user service row of one of the four LTS types.
    fn lts(&self, people: &People, r: usize) -> bool {
        self.long_term(people, r, false)
    }

    /// A service-user row of one of the four LTS types: a Service event, or any event when
    /// `typed_rows` (D3 of metrics.md §16).
    fn long_term(&self, people: &People, r: usize, typed_rows: bool) -> bool {
        people.client[r] == self.service_user
            && (typed_rows || people.event[r] == self.service)
            && [self.nursing, self.residential, self.community, self.prison]
                .contains(&people.service[r])
    }
}

/// The age bands a person of age `a` (18+ or unknown) is counted in: 0 = all, 1 = 18-64,
/// 2 = 65+ (an unknown age only in all).
pub(super) fn bands(a: Option<i32>) -> impl Iterator<Item = usize> {
    let band = match a {
        Some(a) if (18..=64).contains(&a) => Some(1),
        Some(a) if a >= 65 => Some(2),
        _ => None,
    };
    std::iter::once(0).chain(band)
}

/// The band index of a breakdown (`None` = all).
pub(super) fn band_index(breakdown: Option<&str>) -> usize {
    match breakdown {
        Some("18-64") => 1,
        Some("65+") => 2,
        _ => 0,
    }
}

/// ascof-2b/2c admissions: slot 0 counts 18-64, slot 1 counts 65+.
pub(crate) fn admission_slot(band: &str) -> Slot {
    Slot(usize::from(band != "18-64"))
}

/// ascof-2b/2c (metrics.md §2, §3): people with a new admission to residential or nursing
/// care starting in [ws, we].
///
/// Rule 1: "LTS rows of type Residential care or Nursing care whose Service_Component is
/// empty or contains `residential` or `nursing` (case-insensitive), and does not contain
/// `short`." An empty component is kept [ours]. Rule 3: a row is new when no candidate row of
/// the same person starting earlier has a derived end that is open or less than 365 days
/// before this start (an overlapping earlier row also makes it not new). Rules 2, 4, 5: known
/// birth, not self-funded, alive at ws, aged 18+ at the start; a person with new admissions
/// in both bands counts once, in the lower band.
///
/// D6 (metrics.md §16; DHSC's 2B2C script filters `Service_Component NOT LIKE '%Short%'`,
/// which is never true of an empty component): under DHSC's method an empty component is
/// dropped.
pub(crate) fn admissions<'a>(people: &'a People, events: &Events, rules: Rules) -> PersonCount<'a> {
    let c = Codes::new();
    let empty_kept = !rules.has(Rule::D6);
    let component_ok = events.key_set("Service_Component", |v| match v {
        None => empty_kept,
        Some(v) => {
            let l = v.to_lowercase();
            (l.contains("residential") || l.contains("nursing")) && !l.contains("short")
        }
    });
    let self_funded = code(
        "Event_Outcome",
        "NFA: Self-funded client or under 12wk disregard",
    );
    Arc::new(move |p, windows, t| {
        let Some(birth) = people.birth[p] else {
            return;
        };
        let mut rows: Vec<usize> = people
            .rows(p)
            .filter(|&r| {
                c.lts(people, r)
                    && (people.service[r] == c.nursing || people.service[r] == c.residential)
                    && has(&component_ok, people.component[r])
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        rows.sort_by_key(|&r| people.start[r]);
        // The new admissions (start, age at start) that can count: the rest of rules 2-5
        // do not depend on the window either, except being alive at ws.
        let mut admitted: Vec<(i32, i32)> = Vec::new();
        let mut latest_end: Option<i64> = None;
        let mut k = 0;
        while k < rows.len() {
            let s = people.start[rows[k]];
            let mut j = k;
            while j < rows.len() && people.start[rows[j]] == s {
                let new = latest_end.is_none_or(|e| e <= s as i64 - 365);
                let r = rows[j];
                let a = age(Some(birth), s).expect("birth known");
                if new && people.outcome[r] != self_funded && a >= 18 {
                    admitted.push((s, a));
                }
                j += 1;
            }
            for &r in &rows[k..j] {
                let e = people.end[r] as i64;
                latest_end = Some(latest_end.map_or(e, |l| l.max(e)));
            }
            k = j;
        }
        for (w, &(ws, we)) in windows.iter().enumerate() {
            if !people.alive_at(p, ws) {
                continue;
            }
            let youngest = admitted
                .iter()
                .filter(|(s, _)| ws <= *s && *s <= we)
                .map(|(_, a)| *a)
                .min();
            if let Some(a) = youngest {
                let band = if a >= 65 { "65+" } else { "18-64" };
                t.add(w, people.area[p] as usize, admission_slot(band), 1);
            }
        }
    })
}

/// ascof-2e's slots: (numerator, denominator) of a metric and breakdown.
pub(crate) fn own_home_slots(learning_disability: bool, breakdown: Option<&str>) -> (Slot, Slot) {
    let b = if learning_disability {
        OWN_HOME_LD
    } else {
        band_index(breakdown)
    };
    (own_home_settled(b), own_home_all(b))
}

/// ascof-2e's group for learning disability 18-64 (after all, 18-64 and 65+).
const OWN_HOME_LD: usize = 3;

/// ascof-2e: people of group `b` in settled accommodation (the numerator).
fn own_home_settled(b: usize) -> Slot {
    Slot(2 * b)
}

/// ascof-2e: every person of group `b` (the denominator).
fn own_home_all(b: usize) -> Slot {
    Slot(2 * b + 1)
}

/// ascof-2e (metrics.md §5): people in long-term support in the window, by age band at their
/// latest LTS end (capped at we); the numerator lives in settled accommodation as at we (or is
/// inferred to be at home from their services). Slots: all, 18-64, 65+, and learning
/// disability 18-64 (ascof-2e-ld), each numerator then denominator.
///
/// Rule 1: the cohort is people with an LTS row with start ≤ we and derived end ≥ ws (or
/// open), not dead before ws. Rule 2: age at max(min(derived end, we)) over those rows; under
/// 18 and unknown excluded. Rule 3: the known status of the top-ranked rows with start ≤ we
/// (latest min(end, we), then latest start); rows that disagree make it Unknown. Rule 4: for
/// Unknown (none known, or the top rows disagree), the inference from the top-ranked
/// service rows. Rule 7: ascof-2e-ld restricts to
/// people whose primary support reason as at we (resolved like rule 3, with "Support to
/// unpaid carer" also not known) is learning disability support.
///
/// D1 (metrics.md §16): under DHSC's method the accommodation status, its inference and the
/// primary support reason come from the person's rows of the whole extract, whatever their
/// dates, ranked by their uncapped derived end (open latest), as DHSC's person details table
/// (`Create_personal_details_table.sql`) is built once and joined to every period's cohort
/// (`Create_ASCOF_2E_2425_Onwards.sql`).
pub(crate) fn own_home<'a>(people: &'a People, events: &Events, rules: Rules) -> PersonCount<'a> {
    let whole_extract = rules.has(Rule::D1);
    let c = Codes::new();
    let mut settled = [false; 256];
    for s in crate::extract::codes::SETTLED_ACCOMMODATION {
        settled[code("Accommodation_Status", s) as usize] = true;
    }
    let unknown = code("Accommodation_Status", "Unknown");
    let known = move |a: u8| a != EMPTY && a != unknown && a != INVALID_CODE;
    let place = |name: &str| keys_named(events, "Service_Component", &[name]);
    let (home, shared, extra, supported) = (
        place("Home support or domiciliary care"),
        place("Shared Lives"),
        place("Extra care housing"),
        place("Community supported living"),
    );
    let st = |v| code("Service_Type", v);
    let hierarchy_of = [
        (c.nursing, 1),
        (c.residential, 2),
        (c.community, 3),
        (c.prison, 4),
        (st("Short term support: ST-Max"), 5),
        (st("Short term support: Ongoing low level"), 6),
        (st("Short term support: Other short term"), 7),
    ];
    let hierarchy = move |s: u8| {
        hierarchy_of
            .iter()
            .find(|(code, _)| *code == s)
            .map_or(8, |(_, h)| *h)
    };
    let reason_not_known = events.key_set("Primary_Support_Reason", |v| {
        v.is_none_or(|v| {
            v.eq_ignore_ascii_case("Unknown")
                || v.eq_ignore_ascii_case("Social support: Support to unpaid carer")
        })
    });
    let learning_disability = keys_named(
        events,
        "Primary_Support_Reason",
        &["Learning disability support"],
    );
    Arc::new(move |p, windows, t| {
        let Some(birth) = people.birth[p] else {
            return;
        };
        let rows = people.rows(p);
        let lts: Vec<usize> = rows.clone().filter(|&r| c.lts(people, r)).collect();
        // The days the person's LTS rows span: a window outside them holds no LTS row, so
        // it is passed over without looking at the rows (most windows, for most people).
        let Some((first, last)) = span_of(people, &lts) else {
            return;
        };
        let housing =
            |k: u32| has(&home, k) || has(&shared, k) || has(&extra, k) || has(&supported, k);
        let mut top = Vec::new();
        // The person details last read: (which rows had started, which ran to we), whether
        // settled, and learning disability once asked.
        let mut memo: Option<((u64, u64), bool, Option<bool>)> = None;
        for (w, &(ws, we)) in windows.iter().enumerate() {
            if we < first || ws > last || !people.alive_at(p, ws) {
                continue;
            }
            let capped = |r: usize| people.end[r].min(we);
            let latest = lts
                .iter()
                .filter(|&&r| people.start[r] <= we && people.end[r] >= ws)
                .map(|&r| capped(r))
                .max();
            let Some(a) = latest.and_then(|l| age(Some(birth), l)) else {
                continue;
            };
            if a < 18 {
                continue;
            }
            // The person details depend on the window only through which rows have started
            // by we and which run to we (the ranks then follow from fixed dates; under D1 not
            // at all): windows alike in both read them once.
            let alike = if whole_extract {
                Some((0, 0))
            } else if rows.len() <= 64 {
                Some(rows.clone().fold((0u64, 0u64), |(started, running), r| {
                    let bit = 1u64 << (r - rows.start);
                    (
                        started | if people.start[r] <= we { bit } else { 0 },
                        running | if people.end[r] >= we { bit } else { 0 },
                    )
                }))
            } else {
                None
            };
            let known_details = memo.filter(|m| alike.is_some_and(|k| k == m.0));
            // The rows the person details are read from, and the end they rank by.
            let as_at = rows
                .clone()
                .filter(|&r| whole_extract || people.start[r] <= we);
            let ranked_end = |r: usize| {
                if whole_extract {
                    people.end[r]
                } else {
                    capped(r)
                }
            };
            let is_settled = match known_details {
                Some(m) => m.1,
                None => {
                    top_rows(
                        as_at.clone().filter(|&r| known(people.accommodation[r])),
                        |r| (ranked_end(r), people.start[r]),
                        &mut top,
                    );
                    // A known status the top-ranked rows agree on; rows that disagree leave it
                    // Unknown, and Unknown goes to rule 4's inference like no status at all.
                    let status = top.first().and_then(|&first| {
                        let s = people.accommodation[first];
                        top.iter()
                            .all(|&r| people.accommodation[r] == s)
                            .then_some(settled[s as usize])
                    });
                    status.unwrap_or_else(|| {
                        top_rows(
                            as_at.clone().filter(|&r| people.event[r] == c.service),
                            |r| {
                                (
                                    ranked_end(r),
                                    10 - hierarchy(people.service[r]),
                                    i32::from(housing(people.component[r])),
                                    people.start[r],
                                )
                            },
                            &mut top,
                        );
                        let Some(&first) = top.first() else {
                            return false;
                        };
                        let tier = hierarchy(people.service[first]);
                        let any = |set: &[bool]| top.iter().any(|&r| has(set, people.component[r]));
                        let (h, s, e, l) = (any(&home), any(&shared), any(&extra), any(&supported));
                        let one_place = [h, s, e, l].iter().filter(|x| **x).count() == 1;
                        tier != 1 && tier != 2 && one_place && (s || e || l || (tier == 3 && h))
                    })
                }
            };
            if known_details.is_none() {
                memo = alike.map(|k| (k, is_settled, None));
            }
            let area = people.area[p] as usize;
            for b in bands(Some(a)) {
                t.add(w, area, own_home_settled(b), u64::from(is_settled));
                t.add(w, area, own_home_all(b), 1);
            }
            if a <= 64 {
                let ld = match memo.and_then(|m| m.2) {
                    Some(ld) => ld,
                    None => {
                        top_rows(
                            as_at
                                .clone()
                                .filter(|&r| !has(&reason_not_known, people.reason[r])),
                            |r| (ranked_end(r), people.start[r]),
                            &mut top,
                        );
                        let ld = top.first().is_some_and(|&first| {
                            let k = people.reason[first];
                            top.iter().all(|&r| people.reason[r] == k)
                                && has(&learning_disability, k)
                        });
                        if let Some(m) = memo.as_mut() {
                            m.2 = Some(ld);
                        }
                        ld
                    }
                };
                if ld {
                    t.add(
                        w,
                        area,
                        own_home_settled(OWN_HOME_LD),
                        u64::from(is_settled),
                    );
                    t.add(w, area, own_home_all(OWN_HOME_LD), 1);
                }
            }
        }
    })
}

/// ascof-3d slots for a part (`1a`, `2a`, `1b`, `2b`) and breakdown: (numerator, denominator).
pub(crate) fn self_directed_slots(part: &str, breakdown: Option<&str>) -> (Slot, Slot) {
    let b = band_index(breakdown);
    let n = if part.starts_with('1') {
        self_directed_wide(b)
    } else {
        self_directed_narrow(b)
    };
    (n, self_directed_all(b))
}

/// ascof-3d, band `b`: self-directed support (1a/1b), categories up to the wide one.
fn self_directed_wide(b: usize) -> Slot {
    Slot(3 * b)
}

/// ascof-3d, band `b`: direct payments only (2a/2b).
fn self_directed_narrow(b: usize) -> Slot {
    Slot(3 * b + 1)
}

/// ascof-3d, band `b`: everyone counted (the denominator).
fn self_directed_all(b: usize) -> Slot {
    Slot(3 * b + 2)
}

/// Counts a person at their best category into the 3d slots of their bands: the first
/// numerator (1a/1b) takes categories ≤ `wide`, the second (2a/2b) only `narrow`.
fn count_self_directed(
    t: &mut Tally,
    w: usize,
    area: usize,
    a: Option<i32>,
    cat: i32,
    wide: i32,
    narrow: i32,
) {
    for b in bands(a) {
        t.add(w, area, self_directed_wide(b), u64::from(cat <= wide));
        t.add(w, area, self_directed_narrow(b), u64::from(cat == narrow));
        t.add(w, area, self_directed_all(b), 1);
    }
}

/// ascof-3d clients (metrics.md §6, 1a and 2a): a snapshot at we of people in long-term
/// support (an LTS row open at we, alive at we, 18+ or unknown age), each ranked to their
/// "highest" setting: 1 nursing, 2 residential, community by 3 direct payment, 4 managed
/// personal budget, 5 commissioned support, 6 other; then 7 managed, 8 commissioned, 9 other.
/// The denominator is community support (ranks 3–6); 1a counts ranks 3–4, 2a rank 3.
///
/// D3 (metrics.md §16): under DHSC's method the cohort is any service-user row with one of
/// the four long-term Service_Types, whatever its Event_Type (DHSC's 3D script selects the
/// clients by `Service_Type_Cleaned IN (...)` alone).
pub(crate) fn clients_self_directed<'a>(
    people: &'a People,
    events: &Events,
    rules: Rules,
) -> PersonCount<'a> {
    let c = Codes::new();
    let typed_rows = rules.has(Rule::D3);
    let dp_component = keys_named(events, "Service_Component", &["Direct payment"]);
    let rank = move |r: usize| {
        let dp_c = has(&dp_component, people.component[r]);
        let m = people.mechanism[r];
        let dp = dp_c || m == c.by_direct_payment;
        let managed = !dp_c && m == c.managed;
        let commissioned = !dp_c && m == c.commissioned;
        let s = people.service[r];
        match () {
            _ if s == c.nursing => 1,
            _ if s == c.residential => 2,
            _ if s == c.community && dp => 3,
            _ if s == c.community && managed => 4,
            _ if s == c.community && commissioned => 5,
            _ if s == c.community => 6,
            _ if managed => 7,
            _ if commissioned => 8,
            _ => 9,
        }
    };
    Arc::new(move |p, windows, t| {
        let long_term: Vec<usize> = people
            .rows(p)
            .filter(|&r| c.long_term(people, r, typed_rows))
            .collect();
        // The days the long-term rows span: a snapshot outside them finds none.
        let Some((first, last)) = span_of(people, &long_term) else {
            return;
        };
        for (w, &(_, we)) in windows.iter().enumerate() {
            if we < first || we > last || !people.alive_at(p, we) {
                continue;
            }
            let best = long_term
                .iter()
                .filter(|&&r| people.start[r] <= we && people.end[r] >= we)
                .map(|&r| rank(r))
                .min();
            let Some(best) = best else { continue };
            let a = age(people.birth[p], we);
            if a.is_some_and(|a| a < 18) || !(3..=6).contains(&best) {
                continue;
            }
            count_self_directed(t, w, people.area[p] as usize, a, best, 4, 3);
        }
    })
}

/// ascof-3d carers (metrics.md §6, 1b and 2b): carers supported in the window (a qualifying
/// carer row with start ≤ we and derived end ≥ ws, alive at ws, 18+ or unknown age at we),
/// each at their lowest category: support direct to the carer by 1 direct payment, 2 managed
/// budget, 3 commissioned support, 4 other; 5 information and advice; 6 support involving the
/// cared-for person. The denominator is categories 1–3; 1b counts 1–2, 2b category 1. An
/// empty component counts as "not a direct payment" [ours].
///
/// D7 (metrics.md §16): under DHSC's method a direct-support row with an empty component
/// and no direct payment takes none of categories 2–4 (DHSC's 3D carers CASE compares
/// `Service_Component NOT LIKE 'Direct payment'`, never true of an empty one) and falls to
/// the CASE's later arms, which look at the event type alone: an assessment or review is 5
/// with information and advice and 6 otherwise, a request 5, a service nothing.
pub(crate) fn carers_self_directed<'a>(
    people: &'a People,
    events: &Events,
    rules: Rules,
) -> PersonCount<'a> {
    let c = Codes::new();
    let empty_component_uncategorised = rules.has(Rule::D7);
    let dp_component = keys_named(events, "Service_Component", &["Direct payment"]);
    let category = move |r: usize| -> Option<i32> {
        let s = people.service[r];
        let e = people.event[r];
        let m = people.mechanism[r];
        let no_type = s == EMPTY;
        let info = people.outcome[r] == c.information;
        let direct = s == c.direct;
        let involving = s == c.involving;
        let assess_or_review = e == c.assessment || e == c.review;
        let qualifies = (no_type && info) || direct || involving || (assess_or_review && no_type);
        if !qualifies {
            return None;
        }
        let dp = m == c.by_direct_payment || has(&dp_component, people.component[r]);
        if empty_component_uncategorised && direct && !dp && people.component[r] == 0 {
            return match () {
                _ if assess_or_review => Some(if info { 5 } else { 6 }),
                _ if e == c.request => Some(5),
                _ => None,
            };
        }
        Some(match () {
            _ if direct && dp => 1,
            _ if direct && m == c.managed => 2,
            _ if direct && m == c.commissioned => 3,
            _ if direct => 4,
            _ if involving => 6,
            _ if assess_or_review && info => 5,
            _ if e == c.request || info => 5,
            _ => 6,
        })
    };
    Arc::new(move |p, windows, t| {
        let carer_rows: Vec<usize> = people
            .rows(p)
            .filter(|&r| people.client[r] == c.carer || people.client[r] == c.carer_by_association)
            .collect();
        // The days the carer rows span: a window outside them holds none.
        let Some((first, last)) = span_of(people, &carer_rows) else {
            return;
        };
        for (w, &(ws, we)) in windows.iter().enumerate() {
            if we < first || ws > last || !people.alive_at(p, ws) {
                continue;
            }
            let best = carer_rows
                .iter()
                .filter(|&&r| people.start[r] <= we && people.end[r] >= ws)
                .filter_map(|&r| category(r))
                .min();
            let Some(best) = best else { continue };
            let a = age(people.birth[p], we);
            if a.is_some_and(|a| a < 18) || best > 3 {
                continue;
            }
            count_self_directed(t, w, people.area[p] as usize, a, best, 2, 1);
        }
    })
}

/// assessments-65plus: its one slot, the people assessed.
pub(crate) const ASSESSED: Slot = Slot(0);

/// reviews-12-months: the people reviewed in the window (numerator).
pub(crate) const REVIEWED: Slot = Slot(0);

/// reviews-12-months: the people in long-term support for over 12 months (denominator).
pub(crate) const IN_LONG_TERM_SUPPORT: Slot = Slot(1);

/// assessments-65plus (metrics.md §13): "the number of distinct people with an
/// Event_Type = Assessment, Client_Type = Service user row whose Event_End_Date is in
/// [ws, we] (completed in the window) and whose age at that end date is ≥ 65." One slot.
pub(crate) fn assessments_65(people: &People) -> PersonCount<'_> {
    let c = Codes::new();
    Arc::new(move |p, windows, t| {
        let ends: Vec<i32> = people
            .rows(p)
            .filter(|&r| {
                people.event[r] == c.assessment
                    && people.client[r] == c.service_user
                    && people.recorded_end[r] != OPEN
                    && age(people.birth[p], people.recorded_end[r]).is_some_and(|a| a >= 65)
            })
            .map(|r| people.recorded_end[r])
            .collect();
        if ends.is_empty() {
            return;
        }
        for (w, &(ws, we)) in windows.iter().enumerate() {
            if ends.iter().any(|e| ws <= *e && *e <= we) {
                t.add(w, people.area[p] as usize, ASSESSED, 1);
            }
        }
    })
}

/// A person's continuous long-term support spells (metrics.md §10 rule 1): their LTS rows by
/// start; a row continues the spell if it starts at most 7 days after the latest derived end
/// so far. (start, end) with `OPEN` for an open spell.
fn lts_spells(people: &People, c: &Codes, p: usize) -> Vec<(i32, i32)> {
    let mut rows: Vec<usize> = people.rows(p).filter(|&r| c.lts(people, r)).collect();
    rows.sort_by_key(|&r| people.start[r]);
    let mut spells: Vec<(i32, i32)> = Vec::new();
    for r in rows {
        let (s, e) = (people.start[r], people.end[r]);
        match spells.last_mut() {
            Some(last) if (s as i64) <= last.1 as i64 + 7 => last.1 = last.1.max(e),
            _ => spells.push((s, e)),
        }
    }
    spells
}

/// reviews-12-months (metrics.md §10 rules 2–3): people whose spell started before ws and is
/// open at we, alive at we, aged 18+ or unknown; the numerator has a completed service-user
/// review in [ws, we] whose reason is not "Review of short term support". Slots: numerator, then
/// denominator.
pub(crate) fn reviews_12_months<'a>(people: &'a People, events: &Events) -> PersonCount<'a> {
    let c = Codes::new();
    let short = keys_named(events, "Review_Reason", &["Review of short term support"]);
    Arc::new(move |p, windows, t| {
        let spells = lts_spells(people, &c, p);
        if spells.is_empty() {
            return;
        }
        let reviews: Vec<i32> = people
            .rows(p)
            .filter(|&r| {
                people.event[r] == c.review
                    && people.client[r] == c.service_user
                    && !has(&short, people.review_reason[r])
            })
            .map(|r| people.recorded_end[r])
            .collect();
        for (w, &(ws, we)) in windows.iter().enumerate() {
            let eligible = spells.iter().any(|(s, e)| *s < ws && *e >= we)
                && people.alive_at(p, we)
                && age(people.birth[p], we).is_none_or(|a| a >= 18);
            if !eligible {
                continue;
            }
            let reviewed = reviews.iter().any(|e| ws <= *e && *e <= we);
            let area = people.area[p] as usize;
            t.add(w, area, REVIEWED, u64::from(reviewed));
            t.add(w, area, IN_LONG_TERM_SUPPORT, 1);
        }
    })
}
