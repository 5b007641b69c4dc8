//! The metric engine on hand-made extracts (tests/fixtures/*), values worked out by hand,
//! and the proof that every catalogue metric can be computed.

use super::*;

/// `compute --period P` on a copy of a hand-made fixture: the result rows and the ledger's
/// lines after its header.
fn compute_fixture(name: &str, period: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let dir = copy_fixture(name);
    let out = run_in(
        dir.path(),
        &["compute", "--period", period, "--out", "r.csv"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&fs::read_to_string(dir.path().join("r.csv")).unwrap());
    let ledger = fs::read_to_string(dir.path().join("data_quality.csv")).unwrap();
    (rows, ledger.lines().skip(1).map(String::from).collect())
}

#[test]
fn compute_hand_made_extracts() {
    let dir = copy_fixture("engine");
    let out = run_in(dir.path(), &["compute", "--out", "results.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&fs::read_to_string(dir.path().join("results.csv")).unwrap());
    assert_eq!(rows[0].join(","), "area_code,metric,window,period,period_start,period_end,numerator,denominator,value,lower95,upper95,unit,status");
    let cells = |m, w, p| result_row(&rows, m, w, p)[6..9].to_vec();
    // Concerns decided within 2 working days (bank holiday 6 May 2024), May 2024:
    // SG-1 (received Thu 2 May, deadline Tue 7 May, decided 7 May) on time; SG-2 (8 May) late;
    // SG-3 (received 30 May, due 3 June, undecided at 31 May) left out; SG-4 (due 30 May,
    // undecided) late; SG-6 same day on time; SG-10 (received 1 May, decided 2 May) on time.
    // SG-7 (2024-05-32) and both SG-9 copies are rejected; SG-14 is another area (W08).
    assert_eq!(
        cells("safeguarding-concerns-timely", "month", "2024-05"),
        ["3", "5", "60.0"]
    );
    assert_eq!(
        cells("safeguarding-concerns-timely", "month", "2024-04"),
        ["1", "1", "100.0"]
    );
    // Enquiries concluded within 49 days, decided in May: SG-10 is open at 31 May and not
    // yet due (20 June), so left out: no denominator, no value (not 0).
    assert_eq!(
        cells("safeguarding-enquiries-49d", "month", "2024-05"),
        ["0", "0", ""]
    );
    assert_eq!(
        result_row(&rows, "safeguarding-enquiries-49d", "month", "2024-05")[12],
        "no-denominator"
    );
    // June: SG-3 (19 days) and SG-12 (23 days) on time; SG-11 open, not yet due: left out.
    assert_eq!(
        cells("safeguarding-enquiries-49d", "month", "2024-06"),
        ["2", "2", "100.0"]
    );
    // Open and overdue at each month end: SG-13 (decided 2 April, due 21 May) from May.
    assert_eq!(
        cells("safeguarding-enquiries-open-overdue", "snapshot", "2024-04"),
        ["0", "", "0"]
    );
    assert_eq!(
        cells("safeguarding-enquiries-open-overdue", "snapshot", "2024-06"),
        ["1", "", "1"]
    );
    // CHC pending: 30 April CHC-1; 31 May CHC-1 and CHC-3 (CHC-2 withdrawn 20 May);
    // 30 June CHC-3 and CHC-4 (CHC-1 decided 15 June). Over 28 days at 31 May: CHC-1 only.
    assert_eq!(cells("chc-backlog", "snapshot", "2024-04"), ["1", "", "1"]);
    assert_eq!(cells("chc-backlog", "snapshot", "2024-05"), ["2", "", "2"]);
    assert_eq!(cells("chc-backlog", "snapshot", "2024-06"), ["2", "", "2"]);
    assert_eq!(
        cells("chc-backlog/over-28-days", "snapshot", "2024-05"),
        ["1", "", "1"]
    );
    // Discharges in June: D1, D2, D4, D6, D7 alive and adult (D3 died, D5 is 17); to usual
    // residence D1, D4, D7 → 3/5 = 60.0%.
    assert_eq!(
        cells("bcf-discharge-usual-residence", "month", "2024-06"),
        ["3", "5", "60.0"]
    );
    // Delay: D1 2 days, D2 0, D6 3 (D4 same-day stay, D7 ready date after discharge, D3
    // none) → 5 days / 3 spells = 1.7; discharged on the ready date 1/3 = 33.3%.
    assert_eq!(
        cells("bcf-discharge-delay-avg", "month", "2024-06"),
        ["5", "3", "1.7"]
    );
    assert_eq!(
        cells("bcf-discharged-on-drd", "month", "2024-06"),
        ["1", "3", "33.3"]
    );
    // Emergency admissions 65+ in June: D1 (21, 74), D3 (22, 94), D7 (28, 79); D4 is 64.
    // 3 per 30,000 aged 65+ = 10.0 per 100,000.
    assert_eq!(
        cells("bcf-emergency-admissions-65", "month", "2024-06"),
        ["3", "30000", "10.0"]
    );
    // The local SQL metric, by Decision_Date: May SG-10 (39 days); June SG-3, SG-12.
    assert_eq!(cells("local-49d", "month", "2024-05"), ["1", "1", "100.0"]);
    assert_eq!(cells("local-49d", "month", "2024-06"), ["2", "2", "100.0"]);
    // Rolling 12 months needs coverage from June 2023: not available.
    assert_eq!(
        result_row(
            &rows,
            "safeguarding-concerns-timely",
            "rolling-12-months",
            "2024-06"
        )[12],
        "insufficient-coverage"
    );
    // No events extract: ascof-2c is not-computable, and the closing note (once, for every
    // extract not supplied) says why.
    assert_eq!(
        result_row(&rows, "ascof-2c", "rolling-12-months", "2024-06")[12],
        "not-computable"
    );
    assert!(
        out.stderr.contains(
            "note: not supplied: benchmarks, events, finance (neither configured in programme.toml nor found in data/); their metrics are not-computable"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("ascof-2c is not-computable"),
        "{}",
        out.stderr
    );
    // Wilson 95% for 3/5: 23.0724… – 88.2379… (methods.md §2.2).
    let r = result_row(&rows, "bcf-discharge-usual-residence", "month", "2024-06");
    assert_close(cell(&r[9]), Some(23.072428127601295), 1.0, "lower95");
    assert_close(cell(&r[10]), Some(88.23792257673522), 1.0, "upper95");

    // The ledger beside the output: every rejected or warned row by file and line.
    let dq = fs::read_to_string(dir.path().join("data_quality.csv")).unwrap();
    let dq_rows = parse_csv(&dq);
    assert_eq!(
        dq_rows[0].join(","),
        "file,line,severity,rule,column,value,message"
    );
    let rules: Vec<String> = dq_rows[1..]
        .iter()
        .map(|r| format!("{}:{}:{}", r[0].rsplit('/').next().unwrap(), r[1], r[3]))
        .collect();
    for expected in [
        "safeguarding.csv:8:S02",
        "safeguarding.csv:9:S01",
        "safeguarding.csv:10:S01",
        "chc.csv:5:C05",
        "chc.csv:6:C02",
        "discharges.csv:8:D04",
        "safeguarding.csv:16:W08",
    ] {
        assert!(
            rules.contains(&expected.to_string()),
            "{expected} in {rules:?}"
        );
    }
    // Byte-stable: a second run writes the same file.
    let again = run_in(dir.path(), &["compute", "--out", "again.csv"]);
    assert_eq!(again.code, 0);
    assert_eq!(
        fs::read(dir.path().join("results.csv")).unwrap(),
        fs::read(dir.path().join("again.csv")).unwrap()
    );
}

/// The enquiry deadline's `days` must be a number of days from 0 to 36,500: outside that a
/// deadline is not a date, so the metric is not-computable, and says why, rather than
/// failing in date arithmetic.
#[test]
fn enquiry_deadline_days_out_of_range_is_not_computable() {
    let dir = copy_fixture("engine");
    let scheme = dir.path().join("schemes/T1.toml");
    let text = fs::read_to_string(&scheme).unwrap().replacen(
        "metric = \"safeguarding-enquiries-49d\"\nwindow = \"month\"\n",
        "metric = \"safeguarding-enquiries-49d\"\nwindow = \"month\"\nparams = { days = -3 }\n",
        1,
    );
    fs::write(&scheme, text).unwrap();
    let out = run_in(dir.path(), &["compute", "--out", "r.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("safeguarding-enquiries-49d is not-computable: parameter days = -3 of safeguarding-enquiries-49d is not a number of days from 0 to 36500"),
        "{}",
        out.stderr
    );
    let rows = parse_csv(&fs::read_to_string(dir.path().join("r.csv")).unwrap());
    assert_eq!(
        result_row(&rows, "safeguarding-enquiries-49d", "month", "2024-05")[12],
        "not-computable"
    );
    // The other enquiry metric keeps its default of 49 days, as in the fixture's own test.
    assert_eq!(
        result_row(
            &rows,
            "safeguarding-enquiries-open-overdue",
            "snapshot",
            "2024-06"
        )[12],
        "ok"
    );
}

#[test]
fn check_counts_rows_read_accepted_and_rejected() {
    let dir = copy_fixture("engine");
    let out = run_in(dir.path(), &["check", "--strict"]);
    assert_eq!(out.code, 1, "with --strict, rejected rows fail the check");
    // 14 rows read = 11 accepted + 3 rejected (SG-7, and both copies of SG-9).
    assert!(
        out.stdout
            .contains("data/safeguarding.csv: 14 rows read, 11 accepted, 3 rejected"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("data/chc.csv: 5 rows read, 4 accepted, 1 rejected, 1 with warnings"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("data/safeguarding.csv:8: error S02 (Concern_Received_Date)"),
        "{}",
        out.stderr
    );
    for line in out.stdout.lines().filter(|l| l.contains("rows read")) {
        let n: Vec<usize> = line
            .split_whitespace()
            .filter_map(|w| w.trim_end_matches(',').parse().ok())
            .collect();
        assert_eq!(n[0], n[1] + n[2], "read = accepted + rejected: {line}");
    }
}

#[test]
fn compute_strict_and_formats() {
    let dir = copy_fixture("engine");
    let out = run_in(dir.path(), &["compute", "--strict", "--out", "r.json"]);
    assert_eq!(out.code, 1, "--strict fails on rejected rows");
    assert!(
        out.stderr.contains("3 rows rejected (--strict)"),
        "{}",
        out.stderr
    );
    // The output is still written whole.
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let first = &json.as_array().unwrap()[0];
    assert_eq!(first["area_code"], "E06000099");
    assert!(
        first["value"].is_null(),
        "no value is null, not an empty string"
    );
    let out = run_in(dir.path(), &["compute", "--out", "r.parquet"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        &fs::read(dir.path().join("r.parquet")).unwrap()[..4],
        b"PAR1"
    );
    let out = run_in(dir.path(), &["compute", "--out", "r.xlsx"]);
    assert_eq!(out.code, 1);
    // --all: every area in the extracts (E06000098 appears in safeguarding).
    let out = run_in(dir.path(), &["compute", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\nE06000098,safeguarding-concerns-timely,month,2024-05,"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("ascof-2c"),
        "--all lists only what the data supports"
    );
}

/// CLD events by hand (tests/fixtures/events): ASCOF 2B/2C, 3D clients, reviews and
/// assessments, with every edge the rules name.
#[test]
fn compute_events_families_by_hand() {
    let (rows, dq) = compute_fixture("events", "2025-03");
    let cells = |m, w, p| result_row(&rows, m, w, p)[6..9].to_vec();
    // ascof-2c, FY 2024-25 (population 65+ = 30,000): new admissions of P1 (first ever),
    // P3 (366 days after the last placement ended) and P4 (exactly 365 days: new). Not new:
    // P2 (326 days), P5 (364 days). Left out: P8 self-funded, P9 a "short" component,
    // P11 unknown birth. 3 × 100,000 / 30,000 = 10.0.
    assert_eq!(
        cells("ascof-2c", "financial-year", "2024-25"),
        ["3", "30000", "10.0"]
    );
    // The BCF long-term admissions metric is ascof-2c under another id (metrics.md §3).
    assert_eq!(
        cells("bcf-ltc-admissions-65", "financial-year", "2024-25"),
        ["3", "30000", "10.0"]
    );
    // ascof-2b: P6, aged 64 at admission: 1 per 100,000 aged 18-64.
    assert_eq!(
        cells("ascof-2b", "financial-year", "2024-25"),
        ["1", "100000", "1.0"]
    );
    // The year before lacks 365 days of history: insufficient coverage.
    assert_eq!(
        result_row(&rows, "ascof-2c", "financial-year", "2023-24")[12],
        "insufficient-coverage"
    );
    // ascof-3d at 31 March 2025, community clients: C1 (direct payment), C2 (managed
    // budget), C3 (commissioned), C4 (direct payment as a component, Release 1 spelling of
    // the service type). C5 ranks as nursing; C6 is 15; C7's support ended.
    assert_eq!(
        cells("ascof-3d-1a", "snapshot", "2025-03"),
        ["3", "4", "75.0"]
    );
    assert_eq!(
        cells("ascof-3d-2a", "snapshot", "2025-03"),
        ["2", "4", "50.0"]
    );
    // By age at 31 March 2025: 18-64 is C2 (54); 65+ is C1 (75), C3 (65), C4 (70).
    assert_eq!(
        cells("ascof-3d-1a/18-64", "snapshot", "2025-03"),
        ["1", "1", "100.0"]
    );
    assert_eq!(
        cells("ascof-3d-1a/65+", "snapshot", "2025-03"),
        ["2", "3", "66.7"]
    );
    // Reviews, 12 months to 31 March 2025: in long-term support since before April 2024 and
    // still at the end: C1, C2, C4, C5 (community then nursing 7 days later: one spell).
    // Reviewed: C1 (planned), C4 (empty reason, on the last day); C2's review was of
    // short-term support. 2/4 = 50.0.
    assert_eq!(
        cells("reviews-12-months", "rolling-12-months", "2025-03"),
        ["2", "4", "50.0"]
    );
    // Assessments completed in March 2025 by people aged 65+: A1 (twice: one person).
    // A2 is 60, A3's is open, A4 is a carer, A5's birth is unknown.
    assert_eq!(
        cells("assessments-65plus", "month", "2025-03"),
        ["1", "", "1"]
    );
    // Carers supported in the 12 months to 31 March 2025, each at their lowest category:
    // K1 (direct to the carer by direct payment) 1; K6 (a "Direct payment" component, no
    // mechanism) 1; K2 (managed budget) 2; K3 (commissioned 3, beside an information-only
    // assessment 5) 3. Left out: K5 (direct, no mechanism: 4), K4 and A4 (information and
    // advice: 5), K7 (support ended December 2023). 1b = categories 1-2 of 1-3: 3 of 4;
    // 2b = direct payments: 2 of 4.
    assert_eq!(
        cells("ascof-3d-1b", "rolling-12-months", "2025-03"),
        ["3", "4", "75.0"]
    );
    assert_eq!(
        cells("ascof-3d-2b", "rolling-12-months", "2025-03"),
        ["2", "4", "50.0"]
    );
    for entry in [
        "events.csv,32,error,E03,Event_Type,Visit,",
        "events.csv,33,error,E06,Event_End_Date,2025-03-01,",
        "events.csv,34,warning,W03,",
    ] {
        assert!(dq.iter().any(|l| l.contains(entry)), "{entry} in {dq:?}");
    }
}

/// ascof-2e by hand (tests/fixtures/own_home), FY 2024-25 (ws 1 April 2024, we 31 March 2025).
#[test]
fn compute_own_home_by_hand() {
    let (rows, _) = compute_fixture("own_home", "2025-03");
    let cells = |m| result_row(&rows, m, "financial-year", "2024-25")[6..9].to_vec();
    // The cohort (rule 1-2, age at the latest LTS end capped at we): H1 75 owner occupier
    // (settled); H2 34, ended 30 Sept 2024 in a registered care home (not settled); H3 45,
    // whose two top-ranked rows disagree (private tenant vs rough sleeper) so the status is
    // Unknown and rule 4 infers it from community support with home care: presumed at home
    // (settled); H4 65 (born January 1960: 23,831 days to we, 4 × 23,831 div 1,461 = 65), no
    // status, extra care housing (settled); H5 79 in nursing care, status Unknown, inferred
    // a nursing home (not settled); H10 35, social housing tenant (settled); H11 49, with
    // family (settled). Left out: H6 died before ws, H7 is 17, H8 has no birth month, H9
    // starts after we. 5 of 7 = 71.4.
    assert_eq!(cells("ascof-2e"), ["5", "7", "71.4"]);
    // 18-64: H2, H3, H10, H11, of whom H3, H10, H11 are settled. 65+: H1, H4, H5.
    assert_eq!(cells("ascof-2e/18-64"), ["3", "4", "75.0"]);
    assert_eq!(cells("ascof-2e/65+"), ["2", "3", "66.7"]);
    // Learning disability as at we (rule 7): H3 (both top rows agree) and H10, whose later
    // open assessment gives "Support to unpaid carer", which ranks as not known, so the
    // learning disability row stands. H11 (mental health) and H2 are not. 2 of 2.
    assert_eq!(cells("ascof-2e-ld"), ["2", "2", "100.0"]);
}

/// ascof-2a by hand (tests/fixtures/short_term): ST-Max episodes of new clients and their
/// final outcomes, with every edge of metrics.md §1. Born January 1950 unless said; A2 and
/// A4 were born March 1980 (44), A12 and A13 January 1960.
#[test]
fn compute_short_term_support_by_hand() {
    let (rows, ledger) = compute_fixture("short_term", "2025-04");
    assert!(ledger.is_empty(), "every row accepted: {ledger:?}");
    let cells = |m, w, p| result_row(&rows, m, w, p)[6..9].to_vec();
    // FY 2024-25, episodes ending 1 April 2024 - 31 March 2025. In the denominator:
    //   A1  one row, ended as planned (S4a: its own outcome, F empty)            num
    //   A2  two rows, the second starting exactly 7 days after the first ends: one
    //       episode; outcome of the later row, information and advice (18-64)     num
    //   A3  two rows 8 days apart: two episodes, both ended as planned           num ×2
    //   A4  followed 5 days later by long-term community support (S3, 18-64)     den only
    //   A5  followed by other short-term support in a short-term residential
    //       component (S3: "Residential or Nursing care")                        den only
    //   A7  died 8 days after the end (S1 needs ≤ 7)                             num
    //   A10 long-term support ended 91 days before the start: a new client        num
    //   A12 born January 1960, episode ends 31 Dec 2024 at 64 (18-64)             num
    //   A13 born January 1960, episode ends 1 Jan 2025 at 65 (65+)                num
    //   A15 no birth month: the total only                                       num
    //   A16 started before ws, ended 5 April 2024                                num
    //   A20 support declined, then only an ended-as-planned review in F, so no S4
    //       candidate; equipment nested in the episode (S5: ongoing low level)   num
    //   A21 progress outcome (not usable); a nested assessment ending 10 days
    //       before the episode end gives information and advice (S4c)            num
    //   A24 two other short-term services follow: the one in a short-term nursing
    //       component is preferred (S3: "Residential or Nursing care")           den only
    // Left out: A6 died 7 days after the end (S1 deceased); A8 admitted to hospital (S2);
    // A9 long-term support ended 90 days before the start (not a new client); A11 open;
    // A14 aged 16; A17 ended 31 March 2024 and A18 1 April 2025 (outside); A19 a review in
    // F declined support, which outranks the episode's "NFA: Other" (S4b); A22's nested
    // assessment ended 14 days before the end (S4c needs < 14), leaving the progress
    // outcome (S6); A26's two rows end on the same day and the lower rank, support
    // declined, is the episode outcome; A25's two nested assessments and reviews end on the
    // same day and the lower rank, support declined, is taken (S4c); A23 is an unpaid carer
    // (rule 1).
    // 15 episodes, 12 in the numerator: 80.0.
    assert_eq!(
        cells("ascof-2a", "financial-year", "2024-25"),
        ["12", "15", "80.0"]
    );
    // 18-64 by age at the end: A2, A4, A12. 65+: A1, A3 ×2, A5, A7, A10, A13, A16, A20, A21,
    // A24: 9 of 11 = 81.818… → 81.8.
    assert_eq!(
        cells("ascof-2a/18-64", "financial-year", "2024-25"),
        ["2", "3", "66.7"]
    );
    assert_eq!(
        cells("ascof-2a/65+", "financial-year", "2024-25"),
        ["9", "11", "81.8"]
    );
    // Rolling 12 months to April 2025: A16 (5 April 2024) leaves, A18 (1 April 2025) joins.
    assert_eq!(
        cells("ascof-2a", "rolling-12-months", "2025-04"),
        ["12", "15", "80.0"]
    );
    // To February 2025: the FY set without March 2025 (none end then) plus A17 (31 March
    // 2024): 13 of 16 = 81.25, exactly half way, rounded up (§0.5) to 81.3.
    assert_eq!(
        cells("ascof-2a", "rolling-12-months", "2025-02"),
        ["13", "16", "81.3"]
    );
    // To June 2024 (from 1 July 2023): A1, A2, A10, A15, A16, A17 — 6 of 6 (A19 declined).
    assert_eq!(
        cells("ascof-2a", "rolling-12-months", "2024-06"),
        ["6", "6", "100.0"]
    );
    // Coverage starts 1 April 2023: the window from 1 June 2023 lacks its 91 days of
    // history; the one from 1 July 2023 has exactly 91.
    assert_eq!(
        result_row(&rows, "ascof-2a", "rolling-12-months", "2024-05")[12],
        "insufficient-coverage"
    );
}

/// A local metric over the discharges reads their frame of texts, made for a batch only when
/// such a metric asks for it (the hospital metrics read the spells as plain columns).
#[test]
fn a_local_metric_reads_the_discharges_texts() {
    let dir = copy_fixture("engine");
    let scheme = dir.path().join("schemes/T1.toml");
    let mut toml = fs::read_to_string(&scheme).unwrap();
    toml.push_str(
        r#"
[[kpi]]
metric = "local-spells-300"
window = "month"

[[metric]]
id = "local-spells-300"
title = "Spells under treatment function 300, other than D1 (local SQL)"
source = "discharges"
unit = "percent"
date = "Discharge_Date"
denominator = "Discharge_Method IS NOT NULL"
numerator = "Treatment_Function_Code = '300' AND Spell_ID <> 'D1'"
polarity = "high-is-good"
"#,
    );
    fs::write(&scheme, toml).unwrap();
    let out = run_in(dir.path(), &["compute", "--out", "results.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&fs::read_to_string(dir.path().join("results.csv")).unwrap());
    // Discharged in June 2024: D1-D7, each with a discharge method (7). Function 300: D1,
    // D3-D7; less D1: D3, D4, D5, D6, D7 (5). 5/7 = 71.4%.
    assert_eq!(
        result_row(&rows, "local-spells-300", "month", "2024-06")[6..9],
        ["5", "7", "71.4"]
    );
    // The hospital metrics beside it are as without it (compute_hand_made_extracts).
    assert_eq!(
        result_row(&rows, "bcf-discharge-usual-residence", "month", "2024-06")[6..9],
        ["3", "5", "60.0"]
    );
}

/// ascof-2d by hand (tests/fixtures/discharge_reablement): hospital spells linked to
/// reablement episodes by NHS number, with every edge of metrics.md §4. Born June 1945
/// (78-79) unless said; D1 and X20 January 1955, D13 and D14 January 1960, D15 January 1939.
#[test]
fn compute_discharge_to_reablement_by_hand() {
    let (rows, ledger) = compute_fixture("discharge_reablement", "2025-04");
    assert!(ledger.is_empty(), "every row accepted: {ledger:?}");
    let cells = |m| result_row(&rows, m, "financial-year", "2024-25")[6..9].to_vec();
    // Eligible discharges in FY 2024-25 (part 2 denominator), 19 spells: S_D1, S_D2, S_D3,
    // S_D4, S_D5, S_D6, S_D7A, S_D7B, S_D8, S_D8E (elective), S_D9, S_D10, S_D12, S_D14
    // (65 at discharge on 1 Jan 2025), S_D15, S_D16G, S_D18, S_D19, S_D20 (not in events).
    // Not eligible: zero-day stays (S_D2R, S_D4R, S_D16F, S_D19R), S_D11 (in residential
    // care at admission), S_D13 (64 at discharge on 31 Dec 2024), S_D15X (died: method 4),
    // S_D16A-E (maternity admission, died, transfer destination 51, treatment functions
    // 710 and 650), S_D17A/B and S_D21 (discharged outside the year), S_D18R (still in).
    //
    // Linked episodes (part 2 numerator, part 1 denominator), 12:
    //   D1  discharged 2 days before the start                              at home
    //   D2  discharged exactly 7 days before; emergency readmission on day 84   not
    //   D4  discharged 3 days after the start; emergency readmission day 85  at home
    //   D7  two qualifying discharges: the later (9 Sept) is used, and death on
    //       2 Dec is day 84 from it (day 89 from the earlier)                    not
    //   D8  elective readmission within 84 days                             at home
    //   D9  long-term residential care starting on day 84                       not
    //   D10 long-term nursing care starting on day 85                       at home
    //   D12 in long-term community support at admission                     at home
    //   D14 aged 65                                                          at home
    //   D15 died in hospital 28 days later (the death is on a later spell)       not
    //   D18 emergency readmission still in hospital                              not
    //   D19 emergency admission the day after discharge but before the
    //       episode started (rule 5a needs after the start)                  at home
    // Not linked: D3 (discharged 8 days before the start), D5 (4 days after), D6 (admitted
    // the day after the start), D11 and D13 (their discharges are not eligible), D17 (its
    // links are outside the year).
    // Part 1: 7 of 12 = 58.333… → 58.3. Part 2: 12 of 19 = 63.157… → 63.2.
    assert_eq!(cells("ascof-2d-1"), ["7", "12", "58.3"]);
    assert_eq!(cells("ascof-2d-2"), ["12", "19", "63.2"]);
    // By age at discharge: 65-74 is D1, D14 (and X20, eligible only); 85+ is D15; 75-84
    // the other nine links (five at home) and fifteen eligible spells.
    assert_eq!(cells("ascof-2d-1/65-74"), ["2", "2", "100.0"]);
    assert_eq!(cells("ascof-2d-2/65-74"), ["2", "3", "66.7"]);
    assert_eq!(cells("ascof-2d-1/75-84"), ["5", "9", "55.6"]);
    assert_eq!(cells("ascof-2d-2/75-84"), ["9", "15", "60.0"]);
    assert_eq!(cells("ascof-2d-1/85+"), ["0", "1", "0.0"]);
    assert_eq!(cells("ascof-2d-2/85+"), ["1", "1", "100.0"]);
    // In long-term community support at admission: D12 alone.
    assert_eq!(cells("ascof-2d-1/in-lt-community"), ["1", "1", "100.0"]);
    assert_eq!(cells("ascof-2d-2/in-lt-community"), ["1", "1", "100.0"]);
    assert_eq!(cells("ascof-2d-1/not-in-lts"), ["6", "11", "54.5"]);
    assert_eq!(cells("ascof-2d-2/not-in-lts"), ["11", "18", "61.1"]);
    // Coverage: events run to 30 Sept 2025 but discharges only from 20 March 2024 to 30
    // June 2025, and both must span ws - 7 .. we + 84. Of the rolling windows only the one
    // to March 2025 does: to April 2025 needs follow-up to 23 July 2025, to February 2025
    // needs discharges from 23 Feb 2024.
    let rolling = |p| result_row(&rows, "ascof-2d-1", "rolling-12-months", p);
    assert_eq!(rolling("2025-03")[6..9], ["7", "12", "58.3"]);
    assert_eq!(rolling("2025-04")[12], "insufficient-coverage");
    assert_eq!(rolling("2025-02")[12], "insufficient-coverage");
}

/// Without Person_ID (a column the contract marks "M": needed for ascof-2d only) the spells
/// cannot be linked to events: ascof-2d is not-computable and the note says why.
#[test]
fn discharge_to_reablement_needs_person_id() {
    let dir = copy_fixture("discharge_reablement");
    let path = dir.path().join("data/discharges.csv");
    let text = fs::read_to_string(&path).unwrap();
    // Person_ID is the second column: drop it from every line.
    let without: String = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(1);
            cells.join(",") + "\n"
        })
        .collect();
    fs::write(&path, without).unwrap();
    let out = run_in(
        dir.path(),
        &["compute", "--period", "2025-04", "--out", "r.csv"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "ascof-2d-1 is not-computable: needs linked discharges: the discharges extract has no Person_ID"
        ),
        "{}",
        out.stderr
    );
    let rows = parse_csv(&fs::read_to_string(dir.path().join("r.csv")).unwrap());
    assert_eq!(
        result_row(&rows, "ascof-2d-2", "financial-year", "2024-25")[12],
        "not-computable"
    );
}

/// Every catalogue metric, and each of its breakdowns, has a way to be computed: on the
/// shipped example, which has every extract, `compute --all` (which drops only metrics that
/// are not computable at all) lists each of them.
#[test]
fn every_catalogue_metric_is_computable() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("all.csv");
    let run = run_in(
        &manifest_dir(),
        &["compute", "--all", "--out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = fs::read_to_string(&out).unwrap();
    let listed: std::collections::BTreeSet<String> =
        parse_csv(&text)[1..].iter().map(|r| r[1].clone()).collect();
    let mut missing = Vec::new();
    for def in bcfmon::api::CATALOGUE {
        let ids = std::iter::once(def.id.to_string())
            .chain(def.breakdowns.iter().map(|b| format!("{}/{b}", def.id)));
        for id in ids {
            if !listed.contains(&id) {
                missing.push(id);
            }
        }
    }
    assert!(missing.is_empty(), "not computable: {missing:?}");
}

/// `compute --out x.parquet` writes typed columns (integers, floats, dates, text) holding the
/// same values as the CSV, with null where the CSV cell is empty.
#[test]
fn compute_parquet_is_typed() {
    use polars::prelude::{DataType, ParquetReader, SerReader};
    let dir = copy_fixture("engine");
    for out in ["r.csv", "r.parquet"] {
        let run = run_in(
            dir.path(),
            &["compute", "--out", out, "--data-quality", "dq.csv"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let csv = parse_csv(&fs::read_to_string(dir.path().join("r.csv")).unwrap());
    let file = fs::File::open(dir.path().join("r.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, csv[0]);
    let (text, date, int, float) = (
        DataType::String,
        DataType::Date,
        DataType::Int64,
        DataType::Float64,
    );
    assert_eq!(
        df.dtypes(),
        [
            text.clone(),
            text.clone(),
            text.clone(),
            text.clone(),
            date.clone(),
            date,
            int.clone(),
            int,
            float.clone(),
            float.clone(),
            float,
            text.clone(),
            text
        ]
    );
    assert_eq!(df.height(), csv.len() - 1);
    // Every numerator, value and period end reads back as the CSV's text.
    let numerators = df.column("numerator").unwrap().i64().unwrap().clone();
    let values = df.column("value").unwrap().f64().unwrap().clone();
    let ends = df.column("period_end").unwrap().date().unwrap().clone();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for (i, row) in csv[1..].iter().enumerate() {
        assert_eq!(
            numerators.get(i).map(|n| n.to_string()).unwrap_or_default(),
            row[6]
        );
        assert_eq!(
            values.get(i),
            row[8].parse::<f64>().ok(),
            "value of row {i}"
        );
        let end = epoch + chrono::Duration::days(ends.physical().get(i).unwrap().into());
        assert_eq!(end.to_string(), row[5]);
    }
}

/// The events are validated a chunk of rows at a time, the rows of a chunk shared between
/// the cores (issue 17): the ledger still lists every problem in file order, a record of
/// the wrong width (E08) in its place among the others, then the repeated rows (W03).
#[test]
fn event_problems_are_listed_in_file_order() {
    let dir = copy_fixture("events");
    let events = dir.path().join("data/events.csv");
    let mut text = fs::read_to_string(&events).unwrap();
    let first_row = text.lines().nth(1).unwrap().to_string();
    let bogus = first_row.replacen(",Service,", ",Bogus,", 1);
    // Lines 68–71 of the file.
    for line in [
        "E06000099,2023-04-01",
        bogus.as_str(),
        first_row.as_str(),
        "E06000099,2023-04-01,2025-03-31",
    ] {
        text.push_str(line);
        text.push('\n');
    }
    fs::write(&events, text).unwrap();
    let out = run_in(dir.path(), &["compute", "--all", "--out", "r.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dq = parse_csv(&fs::read_to_string(dir.path().join("data_quality.csv")).unwrap());
    let issues: Vec<(u64, String)> = dq[1..]
        .iter()
        .filter(|r| r[0].ends_with("events.csv"))
        .map(|r| (r[1].parse().unwrap(), r[3].clone()))
        .collect();
    let mine: Vec<String> = issues
        .iter()
        .filter(|(line, _)| *line >= 68)
        .map(|(line, rule)| format!("{line}:{rule}"))
        .collect();
    assert_eq!(mine, ["68:E08", "69:W01", "69:E03", "71:E08", "70:W03"]);
    let in_rows: Vec<u64> = issues
        .iter()
        .filter(|(_, rule)| rule != "W03" && rule != "W07")
        .map(|(line, _)| *line)
        .collect();
    assert!(in_rows.windows(2).all(|w| w[0] <= w[1]), "{issues:?}");
}
