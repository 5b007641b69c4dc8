//! ascof-2a (metrics.md §1): short-term support (ST-Max) episodes of new clients and what
//! followed them. Episodes and their final outcomes do not depend on the window, so they are
//! derived once per person; each window then only counts the episodes ending inside it.

use super::catalogue::Metric;
use super::people::{self, People, PersonCount, Slot};
use super::{Ask, Plan};
use crate::catalogue::{MetricDef, Polarity, Unit, AGE_BANDS};
use crate::extract::codes::{EVENT_OUTCOME, SERVICE_TYPE};
use crate::extract::events::{Events, EMPTY, INVALID_CODE};
use crate::method::{Rule, Rules};

/// The catalogue entry of `ascof-2a`.
pub(crate) const ASCOF_2A: Metric = Metric {
    def: MetricDef {
            id: "ascof-2a",
            codes: &["ASCOF 2A", "2A"],
            title: "Proportion of people who received short-term services during the year, who previously were not receiving services, where no further request was made for ongoing support",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: false,
            sources: &["events"],
            breakdowns: AGE_BANDS,
            params: &[],
            snapshot: false,
            // The 7-day follow-up holds the latest month back.
            max_lag_months: 1,
            follows_method: true,
            rule: "ST-Max episodes (rows of one person no more than 7 days apart) ending in the window, for new clients (no long-term support ending less than 91 days before the episode start), aged 18+ or unknown, alive at the episode start. The final outcome is taken from death within 7 days, hospital admission, follow-on services, then requests, assessments and reviews, then equipment, then the episode's own outcome. Numerator: episodes whose final outcome is not long-term support or short-term residential/nursing care; denominator: episodes with a classifiable outcome. Coverage: 91 days before and 7 days after the window.",
            section: "metrics.md §1",
    },
    plan: plan_short_term_support,
};

/// Short-term support episodes in the window, counted by the episodes' family (§1); the
/// coverage asks 91 days before the window and 7 after it (metrics.md §0.4).
fn plan_short_term_support<'a>(ask: &Ask<'_, 'a>) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let (n, d) = slots(ask.breakdown);
    let count = short_term_support(people, ev, ask.rules);
    let mut p = ask.counted("2a", people, SLOTS, count, n, Some(d));
    p.lookback = 91;
    p.lookahead = 7;
    Ok(p)
}

/// Outcome rank (metrics.md §0.3): ranks 1-17 follow DHSC's hierarchy; outcomes that say
/// nothing about what happened next get +100 and are not usable; empty or invalid is 999.
pub(crate) fn outcome_rank(code: u8) -> u32 {
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

/// DHSC's plain outcome hierarchy (1–17, empty or not mapped 999), which its unique events
/// sort by (rule D5): the rank above without the +100 for outcomes that say nothing about
/// what happened next.
pub(crate) fn dhsc_hierarchy(code: u8) -> u32 {
    match outcome_rank(code) {
        999 => 999,
        r => r % 100,
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
pub(crate) const DENOMINATOR: &[&str] = &[
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
pub(crate) const NOT_NUMERATOR: &[&str] = &[
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
    /// Position in `People`'s row slices.
    pos: usize,
}

/// An ST-Max episode with what the window rules need (rules 1-6).
struct Episode {
    area: usize,
    /// The episode's end; `None` while open.
    end: Option<i32>,
    final_outcome: &'static str,
    /// Age at the episode's end (unknown for an open episode or birth).
    age: Option<i32>,
    died_before_start: bool,
    new_client: bool,
}

/// Rule 3: a person's ST-Max rows (positions in `people`'s row slices) as episodes, in
/// order. The rows are sorted by start, derived end, outcome rank and line; a row belongs to
/// the current episode if it starts at most 7 days after the latest derived end among the
/// earlier rows (overlaps included), else it starts a new one. ascof-2d clusters its
/// reablement rows the same way (metrics.md §4 rule 2).
pub(crate) fn cluster(people: &People, mut rows: Vec<usize>) -> Vec<Vec<usize>> {
    rows.sort_by_key(|&r| {
        (
            people.start[r],
            people.end[r],
            outcome_rank(people.outcome[r]),
            people.index[r],
        )
    });
    let mut episodes: Vec<Vec<usize>> = Vec::new();
    let mut latest_end = i32::MIN;
    for r in rows {
        // An open end (`people::OPEN`) saturates: every later row joins.
        match episodes.last_mut() {
            Some(ep) if people.start[r] <= latest_end.saturating_add(7) => ep.push(r),
            _ => episodes.push(vec![r]),
        }
        latest_end = latest_end.max(people.end[r]);
    }
    episodes
}

/// The codes and look-ups the episode rules compare against, made once per family.
struct Codes<'e> {
    service_user: u8,
    st_max: u8,
    service_event: u8,
    lts: Vec<u8>,
    request_like: Vec<u8>,
    assess_review: Vec<u8>,
    ended_as_planned: u8,
    hospital: u8,
    dict: &'e [String],
    /// D3 (metrics.md §16): any row with a Service_Type counts as a service for the
    /// new-client test and the sequel service (DHSC's 2A script, the New_Client_Record_Flag
    /// and the sequel service hierarchy, read Service_Type whatever the Event_Type).
    typed_rows_are_services: bool,
}

impl<'e> Codes<'e> {
    fn new(events: &'e Events, rules: Rules) -> Codes<'e> {
        let code = |c: &str, v: &str| Events::code(c, v);
        Codes {
            service_user: code("Client_Type", "Service user"),
            st_max: code("Service_Type", "Short term support: ST-Max"),
            service_event: code("Event_Type", "Service"),
            lts: SERVICE_TYPE[..4]
                .iter()
                .map(|t| code("Service_Type", t))
                .collect(),
            request_like: ["Request", "Assessment", "Review"]
                .iter()
                .map(|t| code("Event_Type", t))
                .collect(),
            assess_review: ["Assessment", "Review"]
                .iter()
                .map(|t| code("Event_Type", t))
                .collect(),
            ended_as_planned: code("Event_Outcome", "NFA: Support ended as planned"),
            hospital: code("Event_Outcome", "Admitted to hospital"),
            dict: &events.dictionaries["Service_Component"],
            typed_rows_are_services: rules.has(Rule::D3),
        }
    }

    fn component_is(&self, key: u32, name: &str) -> bool {
        key > 0 && self.dict[key as usize - 1].eq_ignore_ascii_case(name)
    }

    /// Whether a row is a service for the new-client test and the sequel service: a
    /// Service event (bcfmon), or any row with a Service_Type (D3).
    fn as_service(&self, r: &Row) -> bool {
        r.event == self.service_event || (self.typed_rows_are_services && r.service != EMPTY)
    }
}

/// Person p's ST-Max episodes, with their final outcomes (rules 1-6), into `out`.
fn episodes(people: &People, c: &Codes<'_>, p: usize, rows: &mut Vec<Row>, out: &mut Vec<Episode>) {
    // Most people have no ST-Max row, and so no episode: they are passed over before their
    // rows are gathered.
    let st_max = |r: usize| {
        people.client[r] == c.service_user
            && people.event[r] == c.service_event
            && people.service[r] == c.st_max
    };
    if !people.rows(p).any(st_max) {
        return;
    }
    rows.clear();
    rows.extend(
        people
            .rows(p)
            .filter(|&r| people.client[r] == c.service_user)
            .map(|r| Row {
                event: people.event[r],
                service: people.service[r],
                component: people.component[r],
                outcome: people.outcome[r],
                start: people.start[r] as i64,
                end: if people.end[r] == people::OPEN {
                    OPEN
                } else {
                    people.end[r] as i64
                },
                index: people.index[r] as usize,
                pos: r,
            }),
    );
    let rows = &*rows;
    let to_date = |d: i64| if d >= OPEN { None } else { Some(d as i32) };
    let st: Vec<usize> = rows
        .iter()
        .filter(|r| r.event == c.service_event && r.service == c.st_max)
        .map(|r| r.pos)
        .collect();
    if st.is_empty() {
        return;
    }
    let row_at = |pos: usize| {
        rows.iter()
            .find(|r| r.pos == pos)
            .expect("an ST-Max row of this person")
    };
    let episodes = cluster(people, st)
        .into_iter()
        .map(|ep| ep.into_iter().map(row_at).collect::<Vec<&Row>>());
    let (p_birth, p_death) = (people.birth[p], people.death[p].map(|d| d as i64));
    let bed = |r: &Row| {
        c.component_is(r.component, "Short term residential care")
            || c.component_is(r.component, "Short term nursing care")
    };
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
            r.event == c.service_event
                && r.service == c.st_max
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
        let final_outcome: &'static str = if p_death.is_some_and(|d| d <= ep_end.saturating_add(7))
        {
            "NFA: Deceased"
        } else if ep_outcome == c.hospital {
            "Admitted to hospital"
        } else if let Some(s3) = follow
            .iter()
            .filter(|r| {
                c.as_service(r)
                    && r.service != EMPTY
                    && r.service != INVALID_CODE
                    && (r.service as usize) <= 7
            })
            .min_by_key(|r| (r.service, !bed(r)))
        {
            let name = SERVICE_TYPE[s3.service as usize - 1];
            if name == "Short term support: Other short term" && bed(s3) {
                "Short term support: Residential or Nursing care"
            } else {
                name
            }
        } else {
            let usable = |o: u8| outcome_rank(o) < 100;
            let f_requests: Vec<&&Row> = follow
                .iter()
                .filter(|r| c.request_like.contains(&r.event))
                .collect();
            let mut candidates: Vec<u8> = Vec::new();
            if usable(ep_outcome)
                && (follow.is_empty() || f_requests.iter().any(|r| r.outcome != c.ended_as_planned))
            {
                candidates.push(ep_outcome);
            }
            candidates.extend(
                f_requests
                    .iter()
                    .filter(|r| usable(r.outcome) && r.outcome != c.ended_as_planned)
                    .map(|r| r.outcome),
            );
            if let Some(n) = nested
                .iter()
                .filter(|r| {
                    c.assess_review.contains(&r.event) && usable(r.outcome) && ep_end - r.end < 14
                })
                .max_by_key(|r| (r.end, std::cmp::Reverse(outcome_rank(r.outcome))))
            {
                candidates.push(n.outcome);
            }
            if let Some(best) = candidates.into_iter().min_by_key(|o| outcome_rank(*o)) {
                outcome_text(best)
            } else if nested
                .iter()
                .any(|r| r.event == c.service_event && c.component_is(r.component, "Equipment"))
            {
                "Short term support: Ongoing low level"
            } else {
                outcome_text(ep_outcome)
            }
        };
        // Rule 5: a new client has no LTS row starting before the episode whose derived
        // end is open or less than 91 days before the episode start.
        let new_client = !rows.iter().any(|r| {
            c.as_service(r)
                && c.lts.contains(&r.service)
                && r.start < ep_start
                && (r.end >= OPEN || ep_start - r.end < 91)
        });
        let age = to_date(ep_end).and_then(|e| people::age(p_birth, e));
        out.push(Episode {
            area: people.area[p] as usize,
            end: to_date(ep_end),
            final_outcome,
            age,
            died_before_start: p_death.is_some_and(|d| d < ep_start),
            new_client,
        });
    }
}

/// ascof-2a slots for a breakdown: (numerator, denominator).
pub(crate) fn slots(breakdown: Option<&str>) -> (Slot, Slot) {
    let b = super::ascof::band_index(breakdown);
    (Slot(2 * b), Slot(2 * b + 1))
}

/// ascof-2a's slots: numerator then denominator for all, 18-64 and 65+.
const SLOTS: usize = 6;

/// ascof-2a (rules 4, 7, 8): episodes of new clients ending in [ws, we], aged 18+ or unknown
/// at the end, alive at the start, whose final outcome is in the denominator list; the
/// numerator leaves out further long-term or bed-based care. Bands `18-64` / `65+` by age at
/// the end (an unknown age counts in the total only). Counted person by person.
pub(crate) fn short_term_support<'a>(
    people: &'a People,
    events: &'a Events,
    rules: Rules,
) -> PersonCount<'a> {
    let c = Codes::new(events, rules);
    std::sync::Arc::new(move |p, windows, t| {
        let (mut rows, mut eps) = (Vec::new(), Vec::new());
        episodes(people, &c, p, &mut rows, &mut eps);
        for e in &eps {
            let counted = e.new_client
                && !e.died_before_start
                && e.age.is_none_or(|a| a >= 18)
                && DENOMINATOR.contains(&e.final_outcome);
            let Some(end) = e.end.filter(|_| counted) else {
                continue;
            };
            let numerator = !NOT_NUMERATOR.contains(&e.final_outcome);
            for w in people::windows_holding(windows, end) {
                for b in super::ascof::bands(e.age) {
                    t.add(w, e.area, Slot(2 * b), u64::from(numerator));
                    t.add(w, e.area, Slot(2 * b + 1), 1);
                }
            }
        }
    })
}
