//! The two ASCOF methods (metrics.md §16): `method = "dhsc"` against bcfmon's method on
//! tests/fixtures/dhsc, one hand-made person per rule, both results worked by hand.
//!
//! The fixture: area E06000099, reporting period 1 April 2023 - 30 June 2025, FY 2024-25
//! (ws 1 April 2024, we 31 March 2025). Born January 1950 unless said. Anchors, the same
//! under both methods: P01 an ST-Max episode ended as planned in September 2024 (ascof-2a);
//! P02 open community support, commissioned, owner occupier (ascof-3d clients rank 5,
//! ascof-2e settled); P03 a carer born 1970 with a direct payment (ascof-3d carers cat 1).
//! The rule people:
//!   P11 (D1) nursing care to 30 April 2025 as an owner occupier, then a review on 10 May
//!       2025 that records a registered care home. As at we: settled; from the whole
//!       extract the latest row (the review) is the care home: not settled.
//!   P12 (D2) born March 1960, open community support; a review on 20 January 2025 records
//!       a death on 1 February 2025 (on that row only). bcfmon ends the support at the
//!       person's death (aged 64: 18-64); DHSC's row has no death, so it stays open to we
//!       (aged 65: 65+).
//!   P13 (D3) a review on 1 May 2024 that carries Service_Type "Long term support:
//!       Community", then ST-Max from 3 June 2024. bcfmon: a new client (no LTS service);
//!       DHSC: the typed review ended 33 days before, so not a new client.
//!   P14 (D3) an assessment 20 March - 10 April 2025 typed long-term community support with
//!       a managed personal budget: in DHSC's ascof-3d client snapshot (rank 4), not in
//!       bcfmon's.
//!   P15 (D4) ST-Max 3 June - 1 July 2024 ended as planned, then an open assessment from 3
//!       July that declined support. bcfmon: support declined (rank 12) outranks ended as
//!       planned (14), out of the denominator; DHSC drops the open assessment, so the
//!       episode ended as planned.
//!   P16 (D5) two community support rows from 1 June 2023, same component: one open and
//!       commissioned, one to 31 May 2025 with a managed budget. bcfmon keeps both (rank 4,
//!       in 3d-1a's numerator); DHSC keeps the open one (rank 5).
//!   P17 (D6) born 1980, residential care from 1 June 2024 with no Service_Component: a new
//!       18-64 admission for bcfmon, dropped by DHSC.
//!   P18 (D7) a carer born 1970, direct support with a managed budget and no component:
//!       category 2 for bcfmon, no category for DHSC.
//!   P19 (D9) nursing care from 1 June 2022 whose row records a death on 1 February 2023
//!       (before the coverage); a review on 1 May 2024 records 1 December 2025 (W07: the
//!       latest is the person's). bcfmon ends the nursing care at the person's death, so it
//!       is in ascof-2e at we; D9 drops the row. D2 alone ends it at its own death in 2023,
//!       so under DHSC's whole method D9 changes nothing D2 has not (README).
//! D8 shows on every zero denominator (ascof-2e-ld, the 18-64 band of ascof-2a): 0.0.

use super::*;

/// The gap table (`compute --explain-method`) of the fixture to March 2025.
fn gap() -> Vec<Vec<String>> {
    let dir = copy_fixture("dhsc");
    let out = run_in(
        dir.path(),
        &[
            "compute",
            "--explain-method",
            "--period",
            "2025-03",
            "--out",
            "gap.csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    parse_csv(&fs::read_to_string(dir.path().join("gap.csv")).unwrap())
}

/// (numerator, denominator, value, status, numerator moved, denominator moved) of a metric's
/// window ending 31 March 2025, counted one way (`bcfmon`, `D1`…`D9`, `dhsc`).
fn way(rows: &[Vec<String>], metric: &str, rule: &str) -> [String; 6] {
    let r = rows
        .iter()
        .find(|r| r[1] == metric && r[5] == "2025-03-31" && r[6] == rule && r[2] != "month")
        .unwrap_or_else(|| panic!("no row {metric} {rule}"));
    [7, 8, 9, 10, 11, 12].map(|i| r[i].clone())
}

fn cells(v: [&str; 6]) -> [String; 6] {
    v.map(String::from)
}

#[test]
fn explain_method_counts_each_rule_on_its_own_person() {
    let rows = gap();
    assert_eq!(rows[0].join(","), "area_code,metric,window,period,period_start,period_end,rule,numerator,denominator,value,status,numerator_moved,denominator_moved");
    // ascof-2a, FY 2024-25: bcfmon P01 and P13 (both ended as planned), P15 out: 2/2.
    assert_eq!(
        way(&rows, "ascof-2a", "bcfmon"),
        cells(["2", "2", "100.0", "ok", "", ""])
    );
    // D3: P13 is not a new client: 1/1, one episode moved out of both.
    assert_eq!(
        way(&rows, "ascof-2a", "D3"),
        cells(["1", "1", "100.0", "ok", "1", "1"])
    );
    // D4: P15's open assessment is dropped: ended as planned, 3/3.
    assert_eq!(
        way(&rows, "ascof-2a", "D4"),
        cells(["3", "3", "100.0", "ok", "1", "1"])
    );
    // DHSC: P01 and P15; P13 out, P15 in.
    assert_eq!(
        way(&rows, "ascof-2a", "dhsc"),
        cells(["2", "2", "100.0", "ok", "2", "2"])
    );
    // D8: nobody aged 18-64 ends an episode: no value under bcfmon, 0.0 under DHSC.
    assert_eq!(
        way(&rows, "ascof-2a/18-64", "bcfmon"),
        cells(["0", "0", "", "no-denominator", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-2a/18-64", "D8"),
        cells(["0", "0", "0.0", "no-denominator", "0", "0"])
    );
    // ascof-2b: P17 per 100,000 of 100,000 aged 18-64: 1.0; D6 drops it.
    assert_eq!(
        way(&rows, "ascof-2b", "bcfmon"),
        cells(["1", "100000", "1.0", "ok", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-2b", "D6"),
        cells(["0", "100000", "0.0", "ok", "1", ""])
    );
    assert_eq!(
        way(&rows, "ascof-2b", "dhsc"),
        cells(["0", "100000", "0.0", "ok", "1", ""])
    );
    // ascof-2e, bcfmon: P02, P11, P12, P16 settled; P17 (care home) and P19 (nursing home)
    // not: 4/6. 18-64: P12, P17 (1/2); 65+: P02, P11, P16, P19 (3/4).
    assert_eq!(
        way(&rows, "ascof-2e", "bcfmon"),
        cells(["4", "6", "66.7", "ok", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-2e/18-64", "bcfmon"),
        cells(["1", "2", "50.0", "ok", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-2e/65+", "bcfmon"),
        cells(["3", "4", "75.0", "ok", "", ""])
    );
    // D1: P11's care home from the whole extract: 3/6.
    assert_eq!(
        way(&rows, "ascof-2e", "D1"),
        cells(["3", "6", "50.0", "ok", "1", "0"])
    );
    // D2: P12 moves to 65+ (settled); P19's row ends at its own death in 2023 and leaves.
    assert_eq!(
        way(&rows, "ascof-2e", "D2"),
        cells(["4", "5", "80.0", "ok", "0", "1"])
    );
    assert_eq!(
        way(&rows, "ascof-2e/18-64", "D2"),
        cells(["0", "1", "0.0", "ok", "1", "1"])
    );
    assert_eq!(
        way(&rows, "ascof-2e/65+", "D2"),
        cells(["4", "4", "100.0", "ok", "1", "2"])
    );
    // D9: P19's nursing row is dropped: 4/5.
    assert_eq!(
        way(&rows, "ascof-2e", "D9"),
        cells(["4", "5", "80.0", "ok", "0", "1"])
    );
    // DHSC: P02, P12, P16 settled; P11 and P17 not: 3/5.
    assert_eq!(
        way(&rows, "ascof-2e", "dhsc"),
        cells(["3", "5", "60.0", "ok", "1", "1"])
    );
    assert_eq!(
        way(&rows, "ascof-2e-ld", "dhsc"),
        cells(["0", "0", "0.0", "no-denominator", "0", "0"])
    );
    // ascof-3d-1a, snapshot at 31 March 2025: P02 (rank 5) and P16 (rank 4): 1/2.
    assert_eq!(
        way(&rows, "ascof-3d-1a", "bcfmon"),
        cells(["1", "2", "50.0", "ok", "", ""])
    );
    // D3: P14's typed assessment is in, with a managed budget: 2/3.
    assert_eq!(
        way(&rows, "ascof-3d-1a", "D3"),
        cells(["2", "3", "66.7", "ok", "1", "1"])
    );
    // D5: P16's managed row collapses into the open commissioned one: 0/2.
    assert_eq!(
        way(&rows, "ascof-3d-1a", "D5"),
        cells(["0", "2", "0.0", "ok", "1", "0"])
    );
    assert_eq!(
        way(&rows, "ascof-3d-1a", "dhsc"),
        cells(["1", "3", "33.3", "ok", "2", "1"])
    );
    // ascof-3d carers, FY 2024-25: P03 (category 1) and P18 (2): 1b 2/2, 2b 1/2. D7 takes
    // P18 out: 1/1 for both.
    assert_eq!(
        way(&rows, "ascof-3d-1b", "bcfmon"),
        cells(["2", "2", "100.0", "ok", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-3d-2b", "bcfmon"),
        cells(["1", "2", "50.0", "ok", "", ""])
    );
    assert_eq!(
        way(&rows, "ascof-3d-1b", "D7"),
        cells(["1", "1", "100.0", "ok", "1", "1"])
    );
    assert_eq!(
        way(&rows, "ascof-3d-2b", "dhsc"),
        cells(["1", "1", "100.0", "ok", "0", "1"])
    );
    // A rule moves no one in a metric it does not touch.
    for rule in ["D1", "D2", "D3", "D4", "D5", "D6", "D8", "D9"] {
        assert_eq!(way(&rows, "ascof-3d-1b", rule)[4..], ["0", "0"], "{rule}");
    }
}

#[test]
fn method_is_set_in_the_programme_or_on_the_command_line() {
    let dir = copy_fixture("dhsc");
    let kpis = |args: &[&str]| {
        let mut all = vec!["compute", "--period", "2025-03", "--out", "r.csv"];
        all.extend_from_slice(args);
        let out = run_in(dir.path(), &all);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let rows = parse_csv(&fs::read_to_string(dir.path().join("r.csv")).unwrap());
        let ascof_2e = result_row(&rows, "ascof-2e", "financial-year", "2024-25")[6..9].to_vec();
        let snapshot = result_row(&rows, "ascof-3d-1a", "snapshot", "2025-03")[6..9].to_vec();
        (ascof_2e, snapshot)
    };
    // The default is bcfmon's method (the gap table's `bcfmon` rows above).
    let owned = |a: [&str; 3]| a.map(String::from).to_vec();
    let bcfmon = (owned(["4", "6", "66.7"]), owned(["1", "2", "50.0"]));
    let dhsc = (owned(["3", "5", "60.0"]), owned(["1", "3", "33.3"]));
    assert_eq!(kpis(&[]), bcfmon);
    assert_eq!(kpis(&["--method", "dhsc"]), dhsc);
    let programme = dir.path().join("schemes/programme.toml");
    let text = fs::read_to_string(&programme).unwrap();
    fs::write(
        &programme,
        format!("{text}\n[metrics]\nmethod = \"dhsc\"\n"),
    )
    .unwrap();
    assert_eq!(kpis(&[]), dhsc);
    assert_eq!(kpis(&["--method", "bcfmon"]), bcfmon);
    // A method that is not one is named with its line and column, and the allowed values.
    fs::write(
        &programme,
        format!("{text}\n[metrics]\nmethod = \"DHSC\"\n"),
    )
    .unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("programme.toml:13:10") || out.stdout.contains("programme.toml:13:10"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!((out.stdout.clone() + &out.stderr).contains("did you mean `dhsc`?"));
}

#[test]
fn the_pack_names_the_method_of_every_ascof_figure() {
    let dir = copy_fixture("dhsc");
    let out = run_in(
        dir.path(),
        &[
            "report", "--period", "2025-03", "--method", "dhsc", "--out", "pack",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = fs::read_to_string(dir.path().join("pack/schemes/T5.html")).unwrap();
    assert_eq!(
        page.matches("DHSC published method</a>").count(),
        2,
        "both ASCOF cards"
    );
    let defs = fs::read_to_string(dir.path().join("pack/definitions.html")).unwrap();
    assert!(defs.contains("The ASCOF method: DHSC published method"));
    assert!(defs.contains("create_FilterToEventsInPeriod_procedure.sql"));
}
