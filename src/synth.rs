//! `bcfmon synth`: a deterministic generator of every extract in the data contract, realistic
//! enough to exercise every metric rule, with a few bad rows of each kind the contract names.
//! The same seed and options always give byte-identical files.

use crate::config::Programme;
use crate::period::FinancialYear;
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::io::Write;
use std::path::{Path, PathBuf};

/// SplitMix64: small, fast and stable across platforms and crate versions, which keeps the
/// shipped example byte-identical from release to release.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in [lo, hi].
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1).max(1) as u64)) as i64
    }
    /// Picks by weight.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = (self.next_u64() % total as u64) as u32;
        for (t, w) in items {
            if x < *w {
                return *t;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

/// Writes one extract as CSV or Parquet, in batches so memory stays flat.
struct Table {
    header: Vec<&'static str>,
    path: PathBuf,
    parquet: bool,
    csv: Option<std::io::BufWriter<std::fs::File>>,
    batch: Vec<Vec<Option<String>>>,
    writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    rows: usize,
}

impl Table {
    fn create(
        dir: &Path,
        name: &str,
        header: &[&'static str],
        parquet: bool,
    ) -> Result<Table, String> {
        let path = file_path(dir, name, parquet);
        let file = std::fs::File::create(crate::output::partial_path(&path))
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut t = Table {
            header: header.to_vec(),
            path,
            parquet,
            csv: None,
            batch: vec![Vec::new(); header.len()],
            writer: None,
            rows: 0,
        };
        if parquet {
            let schema: Schema = header
                .iter()
                .map(|h| Field::new((*h).into(), DataType::String))
                .collect();
            t.writer = Some(
                ParquetWriter::new(file)
                    .batched(&schema)
                    .map_err(|e| e.to_string())?,
            );
        } else {
            let mut w = std::io::BufWriter::new(file);
            w.write_all(header.join(",").as_bytes())
                .and_then(|_| w.write_all(b"\n"))
                .map_err(|e| e.to_string())?;
            t.csv = Some(w);
        }
        Ok(t)
    }

    fn row(&mut self, cells: Vec<String>) -> Result<(), String> {
        self.rows += 1;
        if let Some(w) = &mut self.csv {
            let line = crate::table::csv_line(&cells);
            return w.write_all(line.as_bytes()).map_err(|e| e.to_string());
        }
        for (col, v) in self.batch.iter_mut().zip(cells) {
            col.push(if v.is_empty() { None } else { Some(v) });
        }
        if self.batch[0].len() >= 200_000 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(w) = &mut self.writer else {
            return Ok(());
        };
        if self.batch[0].is_empty() {
            return Ok(());
        }
        let columns: Vec<Column> = self
            .header
            .iter()
            .zip(self.batch.iter_mut())
            .map(|(h, v)| Column::new((*h).into(), std::mem::take(v)))
            .collect();
        let df = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
        w.write_batch(&df).map_err(|e| e.to_string())
    }

    fn finish(mut self) -> Result<(PathBuf, usize), String> {
        self.flush()?;
        if let Some(w) = &self.writer {
            w.finish().map_err(|e| e.to_string())?;
        }
        if let Some(mut w) = self.csv.take() {
            w.flush().map_err(|e| e.to_string())?;
        }
        let _ = self.parquet;
        Ok((self.path, self.rows))
    }
}

fn d(x: NaiveDate) -> String {
    x.format("%Y-%m-%d").to_string()
}

const EVENT_HEADER: &[&str] = &[
    "LA_Code",
    "Reporting_Period_Start_Date",
    "Reporting_Period_End_Date",
    "NHS_Number",
    "LA_Person_Unique_Identifier",
    "Der_Birth_Year",
    "Der_Birth_Month",
    "Date_of_Death",
    "Client_Type",
    "Primary_Support_Reason",
    "Accommodation_Status",
    "Event_Type",
    "Event_Start_Date",
    "Event_End_Date",
    "Event_Outcome",
    "Assessment_Type",
    "Service_Type",
    "Service_Component",
    "Delivery_Mechanism",
    "Review_Reason",
];

/// One event row, by field.
#[derive(Default, Clone)]
struct Ev {
    client: &'static str,
    event: &'static str,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    outcome: &'static str,
    assessment: &'static str,
    service: &'static str,
    component: &'static str,
    mechanism: &'static str,
    review: &'static str,
}

/// What `synth` makes.
pub(crate) struct Options {
    pub people: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub parquet: bool,
    pub area: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The extracts synth writes, in the order it writes them.
const WRITTEN: [&str; 7] = [
    "events",
    "discharges",
    "safeguarding",
    "chc",
    "population",
    "finance",
    "benchmarks",
];

fn file_path(dir: &Path, name: &str, parquet: bool) -> PathBuf {
    dir.join(format!(
        "{name}.{}",
        if parquet { "parquet" } else { "csv" }
    ))
}

/// Every file `generate` writes for `opts`.
pub(crate) fn files(opts: &Options) -> Vec<PathBuf> {
    WRITTEN
        .iter()
        .map(|n| file_path(&opts.out, n, opts.parquet))
        .collect()
}

/// Generates every extract into `opts.out`; returns (file, rows) per extract. Each file is
/// written beside its final name and renamed into place only when all are complete, so a
/// failed run leaves no half-written extract.
pub(crate) fn generate(
    opts: &Options,
    programme: Option<&Programme>,
) -> Result<Vec<(PathBuf, usize)>, String> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let written = write_all(opts, programme).and_then(|written| {
        for (path, _) in &written {
            std::fs::rename(crate::output::partial_path(path), path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(written)
    });
    if written.is_err() {
        for path in files(opts) {
            let _ = std::fs::remove_file(crate::output::partial_path(&path));
        }
    }
    written
}

fn write_all(
    opts: &Options,
    programme: Option<&Programme>,
) -> Result<Vec<(PathBuf, usize)>, String> {
    let mut rng = Rng::new(opts.seed);
    let area = opts.area.as_str();
    let (from, to) = (opts.from, opts.to);
    let span = (to - from).num_days();
    let day = |rng: &mut Rng, lo: i64, hi: i64| {
        from + chrono::Duration::days(rng.range(lo.max(0), hi.min(span)))
    };
    let add = |x: NaiveDate, n: i64| x + chrono::Duration::days(n);
    let mut events = Table::create(&opts.out, "events", EVENT_HEADER, opts.parquet)?;
    let mut discharges = Table::create(
        &opts.out,
        "discharges",
        &[
            "Spell_ID",
            "Person_ID",
            "LA_Code",
            "Der_Birth_Year",
            "Der_Birth_Month",
            "Admission_Date",
            "Discharge_Date",
            "Admission_Method",
            "Discharge_Method",
            "Discharge_Destination",
            "Discharge_Ready_Date",
            "Treatment_Function_Code",
        ],
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
        let death = rng.chance(0.08).then(|| day(&mut rng, 60, span));
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
            let s = day(&mut rng, 0, span - 30);
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
            let s = day(&mut rng, 0, span - 20);
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
            let a = day(&mut rng, 0, span - 5);
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
    let mut out = vec![events.finish()?, discharges.finish()?];

    // Safeguarding concerns and enquiries.
    let mut sg = Table::create(
        &opts.out,
        "safeguarding",
        &[
            "LA_Code",
            "Concern_ID",
            "Concern_Received_Date",
            "Decision_Date",
            "Decision",
            "Enquiry_Concluded_Date",
            "Outcome",
        ],
        opts.parquet,
    )?;
    for i in 0..(opts.people / 15).max(20) {
        let r = day(&mut rng, 0, span);
        let decided = (rng.chance(0.95)).then(|| {
            add(
                r,
                rng.weighted(&[(0, 3), (1, 4), (2, 3), (3, 2), (5, 1), (9, 1)]),
            )
        });
        let decided = decided.filter(|x| *x <= to);
        let decision = decided.map(|_| {
            rng.weighted(&[
                ("Section 42 enquiry", 30),
                ("Other safeguarding enquiry", 10),
                ("No enquiry", 60),
            ])
        });
        let concluded = match (decided, decision) {
            (Some(dd), Some(dec)) if dec != "No enquiry" && rng.chance(0.85) => {
                Some(add(dd, rng.range(7, 80))).filter(|x| *x <= to)
            }
            _ => None,
        };
        let outcome = concluded
            .map(|_| {
                rng.weighted(&[
                    ("Risk removed", 3),
                    ("Risk reduced", 5),
                    ("Risk remains", 2),
                    ("No risk identified", 2),
                ])
            })
            .unwrap_or("");
        sg.row(vec![
            area.into(),
            format!("SG-{i}"),
            d(r),
            decided.map(d).unwrap_or_default(),
            decision.unwrap_or("").into(),
            concluded.map(d).unwrap_or_default(),
            outcome.into(),
        ])?;
    }
    sg.row(vec![
        area.into(),
        "SG-BAD-1".into(),
        "2015-13-01".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ])?; // S02
    sg.row(vec![
        area.into(),
        "SG-0".into(),
        mid.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ])?; // S01 (repeats SG-0)
    out.push(sg.finish()?);

    // NHS Continuing Healthcare referrals.
    let mut chc = Table::create(
        &opts.out,
        "chc",
        &[
            "Area_Code",
            "Referral_ID",
            "Referral_Date",
            "Deferred",
            "Decision_Date",
            "Withdrawn_Date",
            "Decision",
        ],
        opts.parquet,
    )?;
    for i in 0..(opts.people / 40).max(10) {
        let r = day(&mut rng, 0, span);
        let fate = rng.weighted(&[("decided", 70), ("withdrawn", 10), ("pending", 20)]);
        let when = add(r, rng.range(10, 60));
        let (dec, wd) = match fate {
            "decided" if when <= to => (Some(when), None),
            "withdrawn" if when <= to => (None, Some(when)),
            _ => (None, None),
        };
        chc.row(vec![
            area.into(),
            format!("CHC-{i}"),
            d(r),
            if rng.chance(0.2) { "Y" } else { "N" }.into(),
            dec.map(d).unwrap_or_default(),
            wd.map(d).unwrap_or_default(),
            dec.map(|_| {
                if rng.chance(0.3) {
                    "Eligible"
                } else {
                    "Not eligible"
                }
            })
            .unwrap_or("")
            .into(),
        ])?;
    }
    chc.row(vec![
        area.into(),
        "CHC-BAD-1".into(),
        mid.clone(),
        "N".into(),
        later.clone(),
        later.clone(),
        String::new(),
    ])?; // C04
    out.push(chc.finish()?);

    // ONS-style population, single years of age, for each mid-year the windows use.
    let mut pop = Table::create(
        &opts.out,
        "population",
        &["Area_Code", "Area_Name", "Year", "Sex", "Age", "Count"],
        opts.parquet,
    )?;
    // About one person in fifteen of the population uses social care in a year.
    let scale = (opts.people as f64 * 15.0).max(1000.0);
    for year in (from.year() - 1)..=to.year() {
        for age in 0..=90 {
            let shape = if age < 65 {
                1.0
            } else {
                (1.0 - (age - 65) as f64 / 30.0).max(0.15)
            };
            let count =
                (scale / 80.0 * shape * (1.0 + 0.01 * (year - from.year()) as f64)).round() as u64;
            let label = if age == 90 {
                "90+".to_string()
            } else {
                age.to_string()
            };
            pop.row(vec![
                area.into(),
                "Synthetic area".into(),
                year.to_string(),
                "Persons".into(),
                label,
                count.to_string(),
            ])?;
        }
    }
    pop.row(vec![
        area.into(),
        "Synthetic area".into(),
        to.year().to_string(),
        "Persons".into(),
        "ninety".into(),
        "10".into(),
    ])?; // P02
    out.push(pop.finish()?);

    // Monthly finance actuals for every scheme and contributing partner in the programme.
    let mut fin = Table::create(
        &opts.out,
        "finance",
        &[
            "Scheme_Ref",
            "Month",
            "Partner",
            "Amount",
            "Funding_Stream",
            "Note",
        ],
        opts.parquet,
    )?;
    if let Some(p) = programme {
        for scheme in &p.schemes {
            for plan in &scheme.finance {
                let fy: FinancialYear = plan.financial_year;
                for c in &plan.contributions {
                    // The plan is spread over the months the scheme runs in the year.
                    let running = (0..12)
                        .scan(crate::period::Month::of(fy.start()), |m, _| {
                            let this = *m;
                            *m = m.next();
                            Some(this)
                        })
                        .filter(|m| match scheme.commencement {
                            crate::config::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        })
                        .count()
                        .max(1);
                    let monthly = (c.amount / Decimal::from(running)).round_dp(2);
                    let mut m = crate::period::Month::of(fy.start());
                    for k in 0..12 {
                        if m.end() > to {
                            break;
                        }
                        // Spending runs a little over or under plan, month by month.
                        let drift = Decimal::new(rng.range(-300, 500), 4);
                        let amount = (monthly + monthly * drift).round_dp(2);
                        let note = if k == 11 { "year-end accrual" } else { "" };
                        // No spend before a scheme commences (the draw is still made, so
                        // the rest of the data does not depend on commencement dates).
                        let started = match scheme.commencement {
                            crate::config::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        };
                        if started {
                            fin.row(vec![
                                scheme.reference.clone(),
                                m.to_string(),
                                c.partner.clone(),
                                crate::money::plain_2dp(amount),
                                c.funding_stream.clone().unwrap_or("Pooled fund".into()),
                                note.into(),
                            ])?;
                        }
                        m = m.next();
                    }
                }
                // Savings achieved, month by month from commencement, toward the target.
                if let Some(target) = plan.savings_full_year_effect.or(plan.savings_target) {
                    let partner = plan.contributions.first().map(|c| c.partner.clone());
                    let mut m = crate::period::Month::of(fy.start());
                    for k in 0..12i64 {
                        let started = match scheme.commencement {
                            crate::config::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        };
                        if started && m.end() <= to {
                            // Running at 90% of the full-year rate, a little more each month.
                            let monthly = target * Decimal::new(9 + k % 2, 1) / Decimal::from(12);
                            fin.row(vec![
                                scheme.reference.clone(),
                                m.to_string(),
                                partner.clone().unwrap_or_default(),
                                crate::money::plain_2dp(monthly.round_dp(2)),
                                crate::contract::SAVINGS_STREAM.into(),
                                "savings achieved".into(),
                            ])?;
                        }
                        m = m.next();
                    }
                }
            }
            // A refund as a line of its own. A scheme that names its funding streams has one
            // row per month, partner and stream (N03, N05), so its refunds are netted into
            // the month's row by the ledger that produces the extract: no extra line.
            let first = scheme.finance.first().and_then(|p| p.contributions.first());
            if let Some(first) = first.filter(|_| scheme.funding_streams().is_empty()) {
                let m = crate::period::Month::of(scheme.finance[0].financial_year.start()).next();
                fin.row(vec![
                    scheme.reference.clone(),
                    m.to_string(),
                    first.partner.clone(),
                    "-350.25".into(),
                    "Adjustment".into(),
                    "refund of an overpayment".into(),
                ])?;
            }
        }
        if let (Some(s), Some(partner)) = (p.schemes.first(), p.settings.partners.first()) {
            if let Some(plan) = s.finance.first() {
                let month = crate::period::Month::of(plan.financial_year.start()).to_string();
                fin.row(vec![
                    s.reference.clone(),
                    month.clone(),
                    partner.id.clone(),
                    "£1,000".into(),
                    // Only the amount is wrong (N04): the stream is one the scheme declares.
                    s.funding_streams()
                        .first()
                        .map_or("Adjustment".into(), |f| f.to_string()),
                    "typed with a pound sign".into(),
                ])?; // N04
                     // More bad rows only where there are enough good ones to stay under the
                     // programme's reject rate.
                let spend_rows: usize = p
                    .schemes
                    .iter()
                    .flat_map(|s| &s.finance)
                    .map(|f| 12 * f.contributions.len())
                    .sum();
                let copies = if spend_rows >= 100 { 2 } else { 0 };
                for _ in 0..copies {
                    fin.row(vec![
                        s.reference.clone(),
                        crate::period::Month::of(plan.financial_year.start())
                            .next()
                            .next()
                            .to_string(),
                        partner.id.clone(),
                        "120.00".into(),
                        "Adjustment".into(),
                        "keyed twice".into(),
                    ])?; // N05, both copies
                }
                if copies > 0 {
                    fin.row(vec![
                        "S99XX".into(),
                        month,
                        partner.id.clone(),
                        "10.00".into(),
                        "".into(),
                        "a scheme not in the plan".into(),
                    ])?; // N01
                }
            }
        }
    }
    out.push(fin.finish()?);

    // Published-style benchmarks for the peers and England.
    let mut bm = Table::create(
        &opts.out,
        "benchmarks",
        &[
            "Area_Code",
            "Area_Name",
            "Geography_Level",
            "Period",
            "Measure_Code",
            "Breakdown",
            "Numerator",
            "Denominator",
            "Value",
            "Source",
        ],
        opts.parquet,
    )?;
    let mut areas: Vec<(String, &str)> = programme
        .map(|p| {
            p.settings
                .peers
                .iter()
                .map(|c| (c.clone(), "Local authority"))
                .collect()
        })
        .unwrap_or_default();
    areas.push(("E92000001".into(), "National"));
    // Published-style measures, some by their published codes (metrics.md Appendix A).
    let measures: [(&str, &str, f64, f64); 5] = [
        ("ASCOF 2C", "65+", 560.0, 150.0),
        ("2A(1)", "18-64", 14.0, 5.0),
        ("ascof-2a", "Total", 75.0, 8.0),
        ("ASCOF 2E", "Total", 80.0, 6.0),
        ("1C(1A)", "Total", 90.0, 5.0),
    ];
    for (code, level) in &areas {
        let name = if *level == "National" {
            "England".to_string()
        } else {
            format!("Peer {code}")
        };
        for fy in (from.year() - 2)..to.year() {
            let label = FinancialYear(fy).to_string();
            for (measure, breakdown, centre, spread) in measures {
                let v = centre + spread * (rng.unit() * 2.0 - 1.0);
                bm.row(vec![
                    code.clone(),
                    name.clone(),
                    level.to_string(),
                    label.clone(),
                    measure.into(),
                    breakdown.into(),
                    String::new(),
                    String::new(),
                    format!("{v:.1}"),
                    "synthetic".into(),
                ])?;
            }
        }
    }
    let last = FinancialYear(to.year() - 1).to_string();
    bm.row(vec![
        "E92000001".into(),
        "England".into(),
        "National".into(),
        last,
        "ASCOF 2B".into(),
        "Total".into(),
        String::new(),
        String::new(),
        "n/a".into(),
        "synthetic".into(),
    ])?; // B02
    out.push(bm.finish()?);
    Ok(out)
}
