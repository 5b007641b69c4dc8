//! ascof-2d (metrics.md §4): older people discharged from hospital into reablement, linking
//! hospital spells to reablement episodes through the pseudonymised NHS number. Eligibility,
//! links and outcomes do not depend on the window and are derived once; windows only count.

use super::catalogue::Metric;
use super::people::{self, People, Slot, Span, Tally};
use super::reablement;
use super::{Ask, Plan};
use crate::catalogue::{MetricDef, Polarity, Unit};
use crate::extract::discharges::{Code, Spells};
use crate::extract::events::Events;
use rayon::prelude::*;
use std::sync::Arc;

/// The catalogue entry of `ascof-2d-1`.
pub(crate) const ASCOF_2D_1: Metric = Metric {
    def: MetricDef {
            id: "ascof-2d-1",
            codes: &["ASCOF 2D part 1"],
            title: "Proportion of people aged 65+ discharged from hospital into reablement who remained in the community within 12 weeks of discharge",
            unit: Unit::Percent,
            polarity: Polarity::HighIsGood,
            polarity_official: true,
            sources: &["discharges", "events"],
            breakdowns: &["65-74", "75-84", "85+", "in-lt-community", "not-in-lts"],
            params: &[],
            snapshot: false,
            // The 84-day follow-up holds the latest three months back.
            max_lag_months: 3,
            follows_method: false,
            rule: "Reablement episodes linked to an eligible discharge (discharge between 7 days before and 3 days after the episode start). Numerator: linked episodes with no emergency readmission, death, or residential/nursing admission within 84 days of discharge. Needs linked discharges and 84 days of follow-up.",
            section: "metrics.md §4",
    },
    plan: |ask| plan_discharge_to_reablement(ask, 1),
};

/// The catalogue entry of `ascof-2d-2`.
pub(crate) const ASCOF_2D_2: Metric = Metric {
    def: MetricDef {
            id: "ascof-2d-2",
            codes: &["ASCOF 2D part 2"],
            title: "Proportion of people aged 65+ discharged from hospital who received reablement",
            unit: Unit::Percent,
            polarity: Polarity::Neutral,
            polarity_official: false,
            sources: &["discharges", "events"],
            breakdowns: &["65-74", "75-84", "85+", "in-lt-community", "not-in-lts"],
            params: &[],
            snapshot: false,
            // The 84-day follow-up holds the latest three months back.
            max_lag_months: 3,
            follows_method: false,
            rule: "Numerator: reablement episodes linked to an eligible discharge; denominator: eligible discharges (aged 65+, stay of at least one night, not maternity or transfer, not died, not in long-term residential, nursing or prison care at admission).",
            section: "metrics.md §4",
    },
    plan: |ask| plan_discharge_to_reablement(ask, 2),
};

/// Discharges linked to reablement (§4): the links are made once per run and shared by both
/// parts. Events and discharges must cover 7 days before and 84 days after the window
/// (metrics.md §0.4).
fn plan_discharge_to_reablement<'a>(ask: &Ask<'_, 'a>, part: u8) -> Result<Plan<'a>, String> {
    let (people, ev) = ask.people_and_events()?;
    let spells = ask.spells()?;
    let linked = ask
        .data
        .linked
        .get_or_init(|| link(people, ev, spells).map(Arc::new))
        .clone()?;
    let (n, d) = slots(part, ask.breakdown);
    let mut p = ask.tallied("2d", Box::new(move |w| Ok(counts(&linked, w))), n, Some(d));
    p.lookback = 7;
    p.lookahead = 84;
    p.also_covered_by = Some("discharges");
    Ok(p)
}

/// Treatment function codes excluded from ascof-2d (data-contract.md §3).
fn excluded_treatment(code: &str) -> bool {
    const LIST: &[&str] = &[
        "199", "223", "290", "291", "331", "344", "345", "346", "424", "499", "501", "504", "560",
        "660", "661", "662", "840", "920",
    ];
    LIST.contains(&code) || code.starts_with("65") || code.starts_with('7')
}

/// A counted spell: an eligible discharge, or the discharge a reablement episode links to.
struct Counted {
    /// Index into `Linked::areas`.
    area: usize,
    discharged: i32,
    age: i32,
    in_lt_community: bool,
    /// For a link: none of readmission, death or bed-based care within 84 days (rule 5).
    at_home: bool,
}

/// The derived tables: eligible discharges and linked reablement episodes.
pub(crate) struct Linked {
    areas: Vec<String>,
    discharges: Vec<Counted>,
    links: Vec<Counted>,
}

/// Derives eligibility (rule 1), reablement episodes (rule 2), links (rule 3) and the 84-day
/// outcome (rule 5). `Err` when the extracts cannot be linked ("needs linked discharges").
pub(crate) fn link(people: &People, events: &Events, d: &Spells) -> Result<Linked, String> {
    if d.len() > 0 && d.person.iter().all(Option::is_none) {
        return Err("needs linked discharges: the discharges extract has no Person_ID".into());
    }
    let code = |c: &str, v: &str| Events::code(c, v);
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
    let service = &people.service;
    let (start, end) = (&people.start, &people.end);
    // A person's service-user service rows.
    let service_rows = |p: u32| {
        people
            .rows(p as usize)
            .filter(|&r| people.client[r] == service_user && people.event[r] == svc)
    };
    let open_at = |r: usize, d: i32| start[r] <= d && end[r] >= d;

    // Rule 1: eligible discharges.
    let areas: Vec<&str> = d.area_of_rows().collect();
    let (adm_m, dis_m, dest, tfc) = (
        &d.admission_method,
        &d.discharge_method,
        &d.destination,
        &d.treatment_function,
    );
    let (admitted, discharged, spell_death) = (&d.admitted, &d.discharged, &d.death);
    struct Spell {
        area: usize,
        key: Option<u32>,
        admitted: i32,
        discharged: i32,
        age: i32,
        in_lt_community: bool,
    }
    let mut eligible: Vec<Spell> = Vec::new();
    // Each spell's person in events, by the pseudonymised NHS number (rule 3's link).
    let keys: Vec<Option<u32>> = d
        .person
        .par_iter()
        .map(|key| events.by_nhs_number.get(key.as_ref()?).copied())
        .collect();
    let mut area_names: Vec<String> = Vec::new();
    let mut area_index: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut linked_any = false;
    for i in 0..d.len() {
        let (Some(a), Some(x)) = (admitted[i], discharged[i]) else {
            continue;
        };
        // From the birth month when given, else the age at admission (data-contract §3).
        let Some(age) = d.age_at(i, Some(x)) else {
            continue;
        };
        let bad = |v: Code, list: &[&str]| v.is_empty() || v.is_in(list);
        if a >= x
            || age < 65
            || bad(adm_m[i], &["31", "32", "82", "83"])
            || bad(dis_m[i], &["4", "5"])
            || bad(dest[i], &["49", "50", "51", "52", "79", "87", "88"])
        {
            continue;
        }
        if tfc[i].as_str().is_some_and(excluded_treatment) {
            continue;
        }
        let name = areas[i];
        let area = *area_index.entry(name).or_insert_with(|| {
            area_names.push(name.to_string());
            area_names.len() - 1
        });
        let key = keys[i];
        linked_any |= key.is_some();
        let in_bed_care = key.is_some_and(|k| {
            service_rows(k)
                .any(|j| [nursing, residential, prison].contains(&service[j]) && open_at(j, a))
        });
        if in_bed_care {
            continue;
        }
        let in_lt_community =
            key.is_some_and(|k| service_rows(k).any(|j| service[j] == community && open_at(j, a)));
        eligible.push(Spell {
            area,
            key,
            admitted: a,
            discharged: x,
            age,
            in_lt_community,
        });
    }
    if !linked_any && !eligible.is_empty() {
        return Err("needs linked discharges: no hospital spell's Person_ID matches an NHS_Number in events".into());
    }
    // Spells by person, for links, emergency readmissions and deaths (any spell, not only
    // eligible). (person, admission, emergency, death) of every linked spell, and (person,
    // eligible spell), each sorted by person so a person's spells are one run.
    let mut spells: Vec<(u32, i32, bool, Option<i32>)> = (0..d.len())
        .filter_map(|i| {
            let emergency = adm_m[i].is_in(super::hospital::EMERGENCY);
            Some((keys[i]?, admitted[i]?, emergency, spell_death[i]))
        })
        .collect();
    spells.sort_unstable();
    let mut by_person: Vec<(u32, usize)> = eligible
        .iter()
        .enumerate()
        .filter_map(|(n, s)| Some((s.key?, n)))
        .collect();
    by_person.sort_unstable();
    // Rule 2: reablement episodes, clustered as ascof-2a rule 3; rule 3: links.
    let mut links = Vec::new();
    // Both lists are in person order: each person's spells are the next run of `later`, not
    // a search of all the spells (two binary searches a person were a third of the linkage).
    let mut later = &spells[..];
    for group in by_person.chunk_by(|a, b| a.0 == b.0) {
        let p = group[0].0;
        let candidates = group.iter().map(|(_, n)| *n);
        let person_spells = {
            let skipped = later.iter().take_while(|s| s.0 < p).count();
            later = &later[skipped..];
            let to = later.iter().take_while(|s| s.0 == p).count();
            let (run, rest) = later.split_at(to);
            later = rest;
            run
        };
        let st: Vec<usize> = service_rows(p)
            .filter(|&r| service[r] == st_max && reablement(people.component[r]))
            .collect();
        // Each episode starts at its first row (rows are clustered in start order).
        let episode_starts = reablement::cluster(people, st)
            .into_iter()
            .map(|ep| start[ep[0]]);
        let person_death = people.death[p as usize];
        for es in episode_starts {
            let Some(best) = candidates
                .clone()
                .map(|n| &eligible[n])
                .filter(|s| s.discharged >= es - 7 && s.discharged <= es + 3 && s.admitted <= es)
                .max_by_key(|s| s.discharged)
            else {
                continue;
            };
            let x = best.discharged;
            let within = |day: i32| day >= x && day <= x + 84;
            let readmitted = person_spells
                .iter()
                .any(|(_, a, emergency, _)| *emergency && *a > x && *a > es && *a <= x + 84);
            // The death date may come from events or from any of the person's spells (rule
            // 5b names both sources); a death in the 84 days from either counts.
            let died = std::iter::once(person_death)
                .chain(person_spells.iter().map(|s| s.3))
                .flatten()
                .any(within);
            let bed = service_rows(p)
                .any(|r| (service[r] == nursing || service[r] == residential) && within(start[r]));
            links.push(Counted {
                area: best.area,
                discharged: x,
                age: best.age,
                in_lt_community: best.in_lt_community,
                at_home: !(readmitted || died || bed),
            });
        }
    }
    let discharges = eligible
        .into_iter()
        .map(|s| Counted {
            area: s.area,
            discharged: s.discharged,
            age: s.age,
            in_lt_community: s.in_lt_community,
            at_home: false,
        })
        .collect();
    Ok(Linked {
        areas: area_names,
        discharges,
        links,
    })
}

/// The breakdowns (rule 6), in slot order: total, `/65-74`, `/75-84`, `/85+` (age at
/// discharge), `/in-lt-community`, `/not-in-lts`.
const BREAKDOWNS: [&str; 6] = ["", "65-74", "75-84", "85+", "in-lt-community", "not-in-lts"];

fn in_breakdown(c: &Counted, b: &str) -> bool {
    match b {
        "65-74" => c.age <= 74,
        "75-84" => (75..=84).contains(&c.age),
        "85+" => c.age >= 85,
        "in-lt-community" => c.in_lt_community,
        "not-in-lts" => !c.in_lt_community,
        _ => true,
    }
}

/// The slots of a part and breakdown: (numerator, denominator). Per breakdown the slots are
/// linked episodes, those at home after 84 days, and eligible discharges.
pub(crate) fn slots(part: u8, breakdown: Option<&str>) -> (Slot, Slot) {
    let b = BREAKDOWNS
        .iter()
        .position(|x| Some(*x) == breakdown)
        .unwrap_or(0);
    let (linked, at_home, eligible) = (Slot(3 * b), Slot(3 * b + 1), Slot(3 * b + 2));
    if part == 1 {
        (at_home, linked)
    } else {
        (linked, eligible)
    }
}

/// Counts every window at once: part 1 is at home after 84 days of linked episodes, part 2 is
/// linked episodes of eligible discharges, each by discharge date in [ws, we].
pub(crate) fn counts(linked: &Linked, windows: &[Span]) -> Tally {
    let slots_of = |c: &Counted, link: bool| -> u64 {
        BREAKDOWNS
            .iter()
            .enumerate()
            .filter(|(_, b)| in_breakdown(c, b))
            .fold(0, |mask, (b, _)| {
                mask | if link {
                    (1 << (3 * b)) | (u64::from(c.at_home) << (3 * b + 1))
                } else {
                    1 << (3 * b + 2)
                }
            })
    };
    let items = linked
        .links
        .iter()
        .map(|c| (c, true))
        .chain(linked.discharges.iter().map(|c| (c, false)))
        .map(|(c, link)| (c.area, c.discharged, slots_of(c, link)));
    people::tally_dated(linked.areas.clone(), windows, 3 * BREAKDOWNS.len(), items)
}
