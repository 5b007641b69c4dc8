//! The pack as the board's performance report (issue 14): commentary, annotations, a rebase,
//! the special-cause rules, out-of-date data and the changes since the previous pack, on the
//! `board` fixture with data written here so every figure can be worked by hand.

use super::*;

/// Referrals per month, April 2023 to September 2024: 10 and 12 alternating for 11 months,
/// then 16 for the last 7 (from March 2024, when the new referral route opened).
const REFERRALS: [u32; 18] = [
    10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10, 16, 16, 16, 16, 16, 16, 16,
];

fn months() -> Vec<(i32, u32)> {
    (4..=12)
        .map(|m| (2023, m))
        .chain((1..=9).map(|m| (2024, m)))
        .collect()
}

/// The board fixture with its data: CHC referrals as above, and 9 safeguarding concerns a
/// month from April 2023 to June 2024 only (the extract's coverage ends there).
fn board() -> tempfile::TempDir {
    let dir = copy_fixture("board");
    fs::create_dir_all(dir.path().join("data")).unwrap();
    let mut chc = String::from(
        "Area_Code,Referral_ID,Referral_Date,Deferred,Decision_Date,Withdrawn_Date,Decision\n",
    );
    let mut k = 0;
    for ((y, m), n) in months().into_iter().zip(REFERRALS) {
        for day in 1..=n {
            k += 1;
            chc.push_str(&format!("E06000099,R{k},{y}-{m:02}-{day:02},,,,\n"));
        }
    }
    fs::write(dir.path().join("data/chc.csv"), chc).unwrap();
    let mut sg = String::from(
        "LA_Code,Concern_ID,Person_ID,Concern_Received_Date,Decision_Date,Decision,Enquiry_Concluded_Date,Outcome\n",
    );
    for (i, (y, m)) in months().into_iter().take(15).enumerate() {
        for day in 1..=9 {
            let id = i * 9 + day;
            sg.push_str(&format!(
                "E06000099,C{id},P{id},{y}-{m:02}-{day:02},{y}-{m:02}-{:02},No enquiry,,\n",
                day + 1
            ));
        }
    }
    fs::write(dir.path().join("data/safeguarding.csv"), sg).unwrap();
    dir
}

fn row<'a>(rows: &'a [Vec<String>], want: &[(&str, &str)]) -> &'a Vec<String> {
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    rows.iter()
        .skip(1)
        .find(|r| want.iter().all(|(k, v)| r[col(k)] == *v))
        .unwrap_or_else(|| panic!("no row {want:?}"))
}

fn get<'a>(rows: &'a [Vec<String>], r: &'a [String], name: &str) -> &'a str {
    let i = rows[0].iter().position(|h| h == name).expect(name);
    &r[i]
}

#[test]
fn board_report_commentary_rules_rebase_and_staleness() {
    let dir = board();
    let out = run_in(
        dir.path(),
        &["report", "--period", "2024-09", "--require-fresh"],
    );
    // The pack is written, but --require-fresh fails the run: the concerns KPI's latest
    // figure is June 2024 (the safeguarding coverage ends there) and its lag allowed is 0.
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("out of date: B1 Safeguarding concerns received: Out of date: the latest figure is for June 2024, and a figure for the pack's month is expected."),
        "{}",
        out.stderr
    );
    let pack = dir.path().join("out/2024-09");
    let metrics = parse_csv(&fs::read_to_string(pack.join("metrics.csv")).unwrap());
    // B1, September 2024, without a rebase. Worked by hand (NHSRplotthedots rules):
    // mean = (6×10 + 5×12 + 7×16) / 18 = 232/18 = 12.889; moving ranges: ten of 2, one of
    // 6 (10 → 16), six of 0; 6 > 3.267 × 26/17 is screened out, so the mean moving range is
    // 20/16 = 1.25 and the limits 12.889 ± 2.66 × 1.25 = 9.564 to 16.214; the 2-sigma line
    // is 12.889 + 2/3 × 3.325 = 15.106. The last 7 points (16) are all above the mean (a
    // shift of 7) and between 2 and 3 sigma (two in three); none beyond a limit, no trend.
    let b1 = row(
        &metrics,
        &[
            ("scheme", "B1"),
            ("metric", "referrals"),
            ("period_end", "2024-09-30"),
        ],
    );
    assert_eq!(get(&metrics, b1, "value"), "16");
    assert_eq!(
        get(&metrics, b1, "special_cause_rule"),
        "shift+two-in-three"
    );
    // Fewer is better, so a high special cause is concern.
    assert_eq!(get(&metrics, b1, "variation"), "concern_high");
    // The period's commentary, action, owner and due date.
    assert_eq!(
        get(&metrics, b1, "commentary"),
        "Referrals are still high; the route is being reviewed."
    );
    assert_eq!(
        get(&metrics, b1, "action"),
        "Review the referral criteria with GPs."
    );
    assert_eq!(get(&metrics, b1, "owner"), "Head of Service");
    assert_eq!(get(&metrics, b1, "due"), "2024-12-31");
    // B2 is the same series rebased at March 2024: the new group is seven 16s, its moving
    // ranges all 0, so the limits sit on the mean and no rule fires.
    let b2 = row(
        &metrics,
        &[
            ("scheme", "B2"),
            ("metric", "referrals"),
            ("period_end", "2024-09-30"),
        ],
    );
    assert_eq!(get(&metrics, b2, "special_cause_rule"), "");
    assert_eq!(get(&metrics, b2, "variation"), "common_cause");
    // B2 has commentary for August only: not carried into September's row.
    assert_eq!(get(&metrics, b2, "commentary"), "");

    let summary = parse_csv(&fs::read_to_string(pack.join("summary.csv")).unwrap());
    let s1 = row(&summary, &[("scheme", "B1"), ("metric", "referrals")]);
    assert_eq!(get(&summary, s1, "status"), "Not on track");
    assert_eq!(
        get(&summary, s1, "exception"),
        "off target; special cause concern"
    );
    let s2 = row(&summary, &[("scheme", "B2")]);
    assert_eq!(
        get(&summary, s2, "exception"),
        "off target; no commentary for this month"
    );
    assert_eq!(get(&summary, s2, "commentary_period"), "August 2024");
    let stale = row(&summary, &[("metric", "concerns")]);
    assert_eq!(get(&summary, stale, "out_of_date"), "yes");
    assert_eq!(get(&summary, stale, "period_end"), "2024-06-30");
    assert_eq!(
        get(&summary, stale, "exception"),
        "out of date; no commentary for this month"
    );

    let page = |name: &str| fs::read_to_string(pack.join(name)).unwrap();
    let b1_page = page("schemes/B1.html");
    // The rules in plain words, and the annotations as numbered markers: the scheme's and the
    // KPI's, in date order, in the chart's text alternative and listed under it.
    assert!(b1_page.contains("Rules met by the latest point: a shift: 7 or more points in a row on one side of the average; two of three points in a row close to a process limit."));
    assert!(b1_page.contains("Numbered markers: 1: 15 October 2023, Office move; 2: 1 April 2024, New referral route opened."));
    assert!(b1_page.contains("<strong>Marker 2</strong>, 1 April 2024: New referral route opened"));
    assert!(b1_page.contains("<strong>Escalated to:</strong> Health and Wellbeing Board"));
    assert!(b1_page.contains("Out of date: the latest figure is for June 2024"));
    let b2_page = page("schemes/B2.html");
    assert!(b2_page.contains("Limits recalculated from March 2024: New referral route opened."));
    assert!(b2_page.contains(
        "Commentary from August 2024 <span class=\"note\">(none for September 2024)</span>"
    ));
    let index = page("index.html");
    assert!(index.contains("<h2 id=\"kpis\">Every KPI at a glance</h2>"));
    // Every KPI in the summary, each with a trend line and its text alternative.
    assert_eq!(index.matches("<svg class=\"spark\"").count(), 3);
    assert!(
        index.contains("aria-label=\"Trend over 18 periods: 10 in Apr 2023, 16 in Sep 2024\""),
        "{index}"
    );
    assert!(index.contains("<li>Special cause concern</li>"));
    assert!(index.contains("<li>No commentary for this month</li>"));
}

#[test]
fn board_report_lists_changes_since_the_previous_pack() {
    let dir = board();
    // Without an earlier pack, the previous month is computed from today's data.
    let first = run_in(dir.path(), &["report", "--period", "2024-08"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let index = fs::read_to_string(dir.path().join("out/2024-08/index.html")).unwrap();
    assert!(
        index.contains("Compared with July 2024, computed from today&#x27;s data"),
        "{index}"
    );
    // A referral dated 28 May 2024 arrives late: May's figure is revised from 16 to 17.
    let chc = dir.path().join("data/chc.csv");
    let mut text = fs::read_to_string(&chc).unwrap();
    text.push_str("E06000099,R999,2024-05-28,,,,\n");
    fs::write(&chc, text).unwrap();
    let second = run_in(dir.path(), &["report", "--period", "2024-09"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let changes = fs::read_to_string(dir.path().join("out/2024-09/changes.csv")).unwrap();
    // The August pack is found beside the September one; nothing else changed (both KPIs
    // were already off target with the same special causes and exceptions in August).
    assert_eq!(
        changes,
        "kind,scheme,item,before,after\n\
         revised figure,B1,\"Referrals received, May 2024\",16,17\n\
         revised figure,B2,\"Referrals received (rebased), May 2024\",16,17\n"
    );
    let index = fs::read_to_string(dir.path().join("out/2024-09/index.html")).unwrap();
    assert!(index.contains("<h2 id=\"changes\">Changes since August 2024</h2>"));
    assert!(index.contains("Compared with the pack for August 2024."));
    // --previous must name a pack.
    let bad = run_in(
        dir.path(),
        &["report", "--period", "2024-09", "--previous", "data"],
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--previous data holds no bcfmon pack"),
        "{}",
        bad.stderr
    );
}

#[test]
fn board_keys_are_checked_like_every_other_field() {
    let dir = board();
    let path = dir.path().join("schemes/B2.toml");
    let text = fs::read_to_string(&path).unwrap();
    let text = text
        .replace("period = \"2024-08\"", "period = \"2024-13\"")
        .replace(
            "rebase = [{ period = \"2024-03\", reason = \"New referral route opened\" }]",
            "rebase = [{ period = \"2024-03\", reason = \"New route\" }]\nshift_length = 1\nwobble = true",
        );
    fs::write(&path, text).unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 1);
    // Each names its file, line and column.
    assert!(
        out.stderr
            .contains("schemes/B2.toml:29:1: unknown key `wobble` in [kpi.spc]"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("schemes/B2.toml:28:16: `shift_length` must be at least 2"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("schemes/B2.toml:32:10: `2024-13` is not a month: write it as yyyy-mm"),
        "{}",
        out.stderr
    );
}
