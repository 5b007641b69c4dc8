//! synth: the events and the hospital discharges, written together in one pass per person.

use super::*;

/// The contract's optional events columns synth leaves empty, so it does not write them.
const EVENTS_NOT_WRITTEN: &[&str] = &[
    "LA_Name",
    "Date_of_Birth",
    "Gender",
    "Ethnicity",
    "Employment_Status",
    "Has_Unpaid_Carer",
    "Client_Funding_Status",
    "Event_Reference",
    "Request_Route_of_Access",
    "Eligible_Needs_Identified",
    "Method_of_Assessment",
    "Total_Hrs_Caring_per_week",
    "No_of_adults_being_cared_for",
    "Adult_1_Linked_Person_ID",
    "Adult_2_Linked_Person_ID",
    "Adult_3_Linked_Person_ID",
    "Provider_CQC_Location_ID",
    "Review_Outcomes_Achieved",
    "Method_of_Review",
    "Unit_Cost",
    "Cost_Frequency_Unit_Type",
    "Planned_units_per_week",
];

/// The events and the hospital discharges, person by person (one pass, so a discharge links
/// to the person's reablement), with the contract's bad rows of each kind.
pub(super) fn events_and_discharges(
    cx: &Context<'_>,
    rng: &mut Rng,
) -> Result<Vec<(PathBuf, usize)>, String> {
    let area = cx.opts.area.as_str();
    let (from, to, span) = (cx.opts.from, cx.opts.to, cx.span());
    let opts = cx.opts;
    let day = |rng: &mut Rng, lo: i64, hi: i64| cx.day(rng, lo, hi);
    let add = |x: NaiveDate, n: i64| x + chrono::Duration::days(n);
    let mut events = Table::create(&opts.out, "events", EVENTS_NOT_WRITTEN, opts.parquet)?;
    let mut discharges = Table::create(
        &opts.out,
        "discharges",
        &["Age_at_Admission", "Date_of_Death"],
        opts.parquet,
    )?;
    let mut spell_no = 0u64;
    let settled = [
        ("Owner occupier or shared ownership scheme", 40),
        (
            "Tenant: Local authority or other social housing provider",
            20,
        ),
        ("Tenant: Private landlord", 8),
        ("Settled mainstream housing with family or friends", 12),
        (
            "Supported accommodation, supported lodgings or supported group home",
            5,
        ),
        (
            "Sheltered housing, extra care housing or other sheltered housing",
            5,
        ),
        ("Unknown", 6),
        ("Staying with family or friends as a short term guest", 2),
        ("", 2),
    ];
    let reasons = [
        ("Physical support: Personal care support", 50),
        ("Learning disability support", 15),
        ("Mental health support", 15),
        ("Support with memory and cognition", 12),
        ("Sensory support: Support for visual impairment", 3),
        ("", 5),
    ];
    for n in 0..opts.people {
        let person_area = cx.area(n);
        let area = person_area.as_str();
        let nhs = format!("9{:09}", n);
        let la_id = format!("A{n}");
        let age_kind = rng.unit();
        let birth_year = to.year()
            - if age_kind < 0.02 {
                rng.range(5, 17)
            } else if age_kind < 0.32 {
                rng.range(18, 64)
            } else {
                rng.range(65, 100)
            } as i32;
        let birth_month = rng.range(1, 12) as u32;
        let death = rng.chance(0.08).then(|| day(rng, 60, span));
        let carer = rng.chance(0.1);
        let accommodation = rng.weighted(&settled);
        let reason = if carer {
            "Social support: Support to unpaid carer"
        } else {
            rng.weighted(&reasons)
        };
        let has_nhs = rng.chance(0.95);
        let mut rows: Vec<Ev> = Vec::new();
        let mut spells: Vec<(NaiveDate, NaiveDate, &str)> = Vec::new();
        let alive_until = death.unwrap_or(to);
        if carer {
            let s = day(rng, 0, span - 30);
            rows.push(Ev {
                client: "Unpaid carer",
                event: "Assessment",
                start: Some(s),
                end: Some(add(s, rng.range(1, 20))),
                outcome: rng.weighted(&[
                    ("NFA: Information and advice or signposting", 5),
                    ("Progress to support planning or services", 5),
                ]),
                ..Default::default()
            });
            let mech = rng.weighted(&[
                ("Direct payment", 40),
                ("CASSR managed personal budget", 20),
                ("CASSR commissioned support", 30),
                ("", 10),
            ]);
            let s2 = add(s, rng.range(10, 40));
            let one_off = rng.chance(0.5);
            rows.push(Ev {
                client: "Unpaid carer",
                event: "Service",
                start: Some(s2),
                end: if one_off { Some(s2) } else { None },
                outcome: if one_off {
                    "NFA: Support ended as planned"
                } else {
                    ""
                },
                service: "Unpaid carer support: Direct to unpaid carer",
                component: if mech == "Direct payment" && rng.chance(0.5) {
                    "Direct payment"
                } else {
                    "Unpaid carer respite"
                },
                mechanism: if mech == "Direct payment" && rng.chance(0.3) {
                    ""
                } else {
                    mech
                },
                ..Default::default()
            });
        } else {
            // A request, often an assessment, then short-term or long-term support.
            let s = day(rng, 0, span - 20);
            if s < alive_until {
                let path =
                    rng.weighted(&[("advice", 30), ("assess", 35), ("stmax", 25), ("lts", 10)]);
                let req_end = add(s, rng.range(0, 5));
                rows.push(Ev {
                    client: "Service user",
                    event: "Request",
                    start: Some(s),
                    end: Some(req_end),
                    outcome: match path {
                        "advice" => "NFA: Information and advice or signposting",
                        "stmax" => "Progress to reablement/ST-Max",
                        _ => "Progress to assessment, review or reassessment",
                    },
                    ..Default::default()
                });
                let mut t = req_end;
                if path == "assess" || path == "lts" {
                    let a_end = add(t, rng.range(3, 25));
                    let long = path == "lts" || rng.chance(0.5);
                    rows.push(Ev {
                        client: "Service user",
                        event: "Assessment",
                        start: Some(add(t, 1)),
                        end: (a_end < to).then_some(a_end),
                        outcome: if long {
                            "Progress to support planning or services"
                        } else {
                            rng.weighted(&[
                                ("NFA: Information and advice or signposting", 5),
                                ("NFA: Self-funded client or under 12wk disregard", 2),
                                ("NFA: Support declined", 1),
                            ])
                        },
                        assessment: if long {
                            "Long term assessment"
                        } else {
                            "Short term assessment"
                        },
                        ..Default::default()
                    });
                    t = a_end;
                    if long && a_end < alive_until {
                        let kind = rng.weighted(&[
                            ("Long term support: Community", 70),
                            ("Long term support: Residential care", 18),
                            ("Long term support: Nursing care", 10),
                            ("Long term support: Prison", 2),
                        ]);
                        let ls = add(a_end, rng.range(1, 20));
                        let open = rng.chance(0.6);
                        let le = if open {
                            None
                        } else {
                            Some(add(ls, rng.range(30, 700)))
                        };
                        let le = le.filter(|e| *e < to);
                        let (component, mechanism) = match kind {
                            "Long term support: Community" => {
                                let m = rng.weighted(&[
                                    ("Direct payment", 25),
                                    ("CASSR managed personal budget", 45),
                                    ("CASSR commissioned support", 30),
                                ]);
                                (
                                    if m == "Direct payment" {
                                        "Direct payment"
                                    } else {
                                        rng.weighted(&[
                                            ("Home support or domiciliary care", 6),
                                            ("Day support", 2),
                                            ("Shared Lives", 1),
                                            ("Extra care housing", 1),
                                        ])
                                    },
                                    m,
                                )
                            }
                            "Long term support: Residential care" => (
                                rng.weighted(&[
                                    ("Long term residential care", 16),
                                    ("", 3),
                                    ("Short term residential care", 1),
                                ]),
                                "CASSR commissioned support",
                            ),
                            "Long term support: Nursing care" => (
                                rng.weighted(&[("Long term nursing care", 8), ("", 2)]),
                                "CASSR commissioned support",
                            ),
                            _ => ("", ""),
                        };
                        let self_funded = kind.contains("Residential") && rng.chance(0.06);
                        rows.push(Ev {
                            client: "Service user",
                            event: "Service",
                            start: Some(ls),
                            end: le,
                            outcome: if le.is_some() {
                                if self_funded {
                                    "NFA: Self-funded client or under 12wk disregard"
                                } else {
                                    rng.weighted(&[
                                        ("NFA: Support ended as planned", 3),
                                        ("Admitted to hospital", 1),
                                        ("NFA: Support ended for other reason", 1),
                                    ])
                                }
                            } else {
                                ""
                            },
                            service: kind,
                            component,
                            mechanism,
                            ..Default::default()
                        });
                        // Yearly reviews, most on time.
                        let mut anniversary = add(ls, 365);
                        while anniversary < le.unwrap_or(to).min(alive_until) {
                            if rng.chance(0.75) {
                                let r = add(anniversary, rng.range(-30, 30));
                                if r < to {
                                    rows.push(Ev {
                                        client: "Service user",
                                        event: "Review",
                                        start: Some(r),
                                        end: Some(r),
                                        outcome: "Continuation of support or services",
                                        review: rng.weighted(&[
                                            ("Planned review", 8),
                                            ("Unplanned review", 2),
                                            ("Review of short term support", 1),
                                        ]),
                                        ..Default::default()
                                    });
                                }
                            }
                            anniversary = add(anniversary, 365);
                        }
                        // A readmission to a care home some months after a placement ended.
                        if let (Some(e), true) =
                            (le, kind.contains("Residential") && rng.chance(0.3))
                        {
                            let rs = add(e, rng.range(100, 500));
                            if rs < to {
                                rows.push(Ev {
                                    client: "Service user",
                                    event: "Service",
                                    start: Some(rs),
                                    service: "Long term support: Residential care",
                                    component: "Long term residential care",
                                    mechanism: "CASSR commissioned support",
                                    ..Default::default()
                                });
                            }
                        }
                    }
                }
                if path == "stmax" {
                    let ss = add(t, rng.range(0, 7));
                    // Most older people arrive from a hospital spell discharged 0-3 days before.
                    if birth_year <= to.year() - 65 && rng.chance(0.5) {
                        let dis = add(ss, -rng.range(0, 3));
                        spells.push((add(dis, -rng.range(2, 15)), dis, "21"));
                    }
                    let dur = rng.range(10, 42);
                    let split = rng.chance(0.15);
                    let first_end = add(ss, if split { dur / 2 } else { dur });
                    let component = if rng.chance(0.85) {
                        "Reablement"
                    } else {
                        "Other short term support"
                    };
                    let outcome = rng.weighted(&[
                        ("NFA: Support ended as planned", 50),
                        ("Progress to support planning or services", 20),
                        ("Admitted to hospital", 8),
                        ("Continuation of support or services", 10),
                        ("NFA: Information and advice or signposting", 12),
                    ]);
                    if first_end < to {
                        rows.push(Ev {
                            client: "Service user",
                            event: "Service",
                            start: Some(ss),
                            end: Some(first_end),
                            outcome: if split {
                                "Continuation of support or services"
                            } else {
                                outcome
                            },
                            service: "Short term support: ST-Max",
                            component,
                            ..Default::default()
                        });
                        if split {
                            let s2 = add(first_end, rng.range(0, 10));
                            let e2 = add(s2, dur / 2);
                            rows.push(Ev {
                                client: "Service user",
                                event: "Service",
                                start: Some(s2),
                                end: (e2 < to).then_some(e2),
                                outcome: if e2 < to { outcome } else { "" },
                                service: "Short term support: ST-Max",
                                component,
                                ..Default::default()
                            });
                        }
                        if rng.chance(0.2) {
                            let fs = add(first_end, rng.range(0, 10));
                            if fs < to {
                                rows.push(Ev {
                                    client: "Service user",
                                    event: "Service",
                                    start: Some(fs),
                                    service: "Long term support: Community",
                                    component: "Home support or domiciliary care",
                                    mechanism: "CASSR commissioned support",
                                    ..Default::default()
                                });
                            }
                        } else if rng.chance(0.1) {
                            let es = add(ss, 3);
                            rows.push(Ev {
                                client: "Service user",
                                event: "Service",
                                start: Some(es),
                                end: Some(add(es, 2)),
                                outcome: "NFA: Support ended as planned",
                                service: "Short term support: Other short term",
                                component: "Equipment",
                                ..Default::default()
                            });
                        }
                    } else {
                        rows.push(Ev {
                            client: "Service user",
                            event: "Service",
                            start: Some(ss),
                            service: "Short term support: ST-Max",
                            component,
                            ..Default::default()
                        });
                    }
                }
            }
        }
        // Other hospital spells, more for older people.
        let n_spells = if birth_year <= to.year() - 65 {
            rng.range(0, 2)
        } else {
            rng.range(0, 1)
        };
        for _ in 0..n_spells {
            let a = day(rng, 0, span - 5);
            spells.push((
                a,
                add(a, rng.range(0, 20)),
                rng.weighted(&[
                    ("21", 40),
                    ("22", 10),
                    ("28", 5),
                    ("11", 25),
                    ("12", 15),
                    ("31", 5),
                ]),
            ));
        }
        let death_text = death.map(d).unwrap_or_default();
        for ev in rows {
            // Events after a death do not happen; a death ends what is open (§1.4).
            if let (Some(dd), Some(s)) = (death, ev.start) {
                if s > dd {
                    continue;
                }
            }
            events.row(vec![
                area.to_string(),
                d(from),
                d(to),
                if has_nhs { nhs.clone() } else { String::new() },
                la_id.clone(),
                birth_year.to_string(),
                birth_month.to_string(),
                death_text.clone(),
                ev.client.into(),
                reason.into(),
                accommodation.into(),
                ev.event.into(),
                ev.start.map(d).unwrap_or_default(),
                ev.end.map(d).unwrap_or_default(),
                ev.outcome.into(),
                ev.assessment.into(),
                ev.service.into(),
                ev.component.into(),
                ev.mechanism.into(),
                ev.review.into(),
            ])?;
        }
        for (a, x, method) in spells {
            spell_no += 1;
            let died = death.is_some_and(|dd| dd >= a && dd <= x);
            let x = if died { death.expect("died") } else { x };
            let in_progress = x > to;
            let ready = (!in_progress && x > a && rng.chance(0.9)).then(|| {
                add(
                    x,
                    -rng.range(0, 3).min((x - a).num_days()) * i64::from(rng.chance(0.35)),
                )
            });
            discharges.row(vec![
                format!("SP{spell_no}"),
                if has_nhs { nhs.clone() } else { String::new() },
                area.into(),
                birth_year.to_string(),
                birth_month.to_string(),
                d(a),
                if in_progress { String::new() } else { d(x) },
                method.into(),
                if in_progress {
                    String::new()
                } else if died {
                    "4".into()
                } else {
                    "1".into()
                },
                if in_progress {
                    "98".into()
                } else if died {
                    "79".into()
                } else {
                    rng.weighted(&[("19", 80), ("54", 8), ("65", 5), ("99", 7)])
                        .to_string()
                },
                ready.map(d).unwrap_or_default(),
                rng.weighted(&[("300", 5), ("100", 2), ("110", 2), ("430", 2), ("710", 1)])
                    .to_string(),
            ])?;
        }
    }
    // A few bad rows of each kind the contract names (data-contract.md §1.6, §3).
    let bad_base = |event: &str, start: &str, end: &str, service: &str| {
        vec![
            area.to_string(),
            d(from),
            d(to),
            "9999999990".into(),
            "BAD1".into(),
            "1950".into(),
            "1".into(),
            String::new(),
            "Service user".into(),
            String::new(),
            String::new(),
            event.into(),
            start.into(),
            end.into(),
            String::new(),
            String::new(),
            service.into(),
            String::new(),
            String::new(),
            String::new(),
        ]
    };
    let mid = d(add(from, span / 2));
    let later = d(add(from, span / 2 + 10));
    events.row(bad_base("Visit", &mid, &later, ""))?; // E03
    events.row(bad_base(
        "Service",
        &later,
        &mid,
        "Long term support: Community",
    ))?; // E06
    events.row(bad_base(
        "Service",
        &mid,
        "2015-02-30",
        "Long term support: Community",
    ))?; // E05
    events.row(bad_base(
        "Service",
        &mid,
        &later,
        "Long term support: Palace",
    ))?; // W01
    events.row(bad_base(
        "Service",
        &mid,
        &later,
        "Long term support: Palace",
    ))?; // W03 (a copy)
    spell_no += 1;
    discharges.row(vec![
        format!("SP{spell_no}"),
        "9999999990".into(),
        area.into(),
        "1950".into(),
        "1".into(),
        later.clone(),
        mid.clone(),
        "21".into(),
        "1".into(),
        "19".into(),
        String::new(),
        "300".into(),
    ])?; // D03
    spell_no += 1;
    discharges.row(vec![
        format!("SP{spell_no}"),
        "9999999991".into(),
        area.into(),
        "1950".into(),
        "1".into(),
        mid.clone(),
        later.clone(),
        "21".into(),
        "1".into(),
        "19".into(),
        d(add(from, span / 2 + 20)),
        "300".into(),
    ])?; // D04
    Ok(vec![events.finish()?, discharges.finish()?])
}
