//! `bcfmon stats` against the reference results in tests/reference/ (methods.md §2):
//! PHEindicatormethods' intervals and DSRs, NHSRplotthedots' SPC.

use super::*;

fn reference(path: &str) -> PathBuf {
    manifest_dir().join("tests/reference").join(path)
}

/// Runs `stats proportion|rate` at multiplier 1 on a PHEindicatormethods test sheet and
/// compares value and both levels' limits, scaled by each row's multiplier.
fn check_crude(kind: &str, file: &str) {
    let path = reference(file);
    let out = run_in(
        &manifest_dir(),
        &[
            "stats",
            kind,
            "--input",
            path.to_str().unwrap(),
            "--numerator",
            "Numerator",
            "--denominator",
            "Denominator",
            "--multiplier",
            "1",
            "--confidence",
            "0.95,0.998",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = parse_csv(&fs::read_to_string(&path).unwrap());
    let got = parse_csv(&out.stdout);
    assert_eq!(got.len(), want.len());
    assert_eq!(
        &got[0][11..],
        ["value", "lower95", "upper95", "lower998", "upper998"]
    );
    for (g, w) in got.iter().zip(&want).skip(1) {
        let scale = w[10].parse::<f64>().unwrap();
        for k in 0..5 {
            assert_close(
                cell(&g[11 + k]),
                cell(&w[3 + k]),
                scale,
                &format!("{file} {} col {k}", w[0]),
            );
        }
    }
}

#[test]
fn stats_proportion_reproduces_phe_wilson() {
    check_crude(
        "proportion",
        "PHEindicatormethods/csv/testdata_Proportion__testdata_Prop.csv",
    );
}

#[test]
fn stats_rate_reproduces_phe_exact_and_byars() {
    check_crude(
        "rate",
        "PHEindicatormethods/csv/testdata_Rate__testdata_Rate.csv",
    );
}

#[test]
fn stats_rate_small_counts_across_the_exact_byars_switch() {
    let path = reference("PHEindicatormethods/generated/phe_rate_small_counts.csv");
    let out = run_in(
        &manifest_dir(),
        &[
            "stats",
            "rate",
            "--input",
            path.to_str().unwrap(),
            "--numerator",
            "x",
            "--denominator",
            "n",
            "--confidence",
            "0.95,0.998",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = parse_csv(&fs::read_to_string(&path).unwrap());
    let got = parse_csv(&out.stdout);
    for (g, w) in got.iter().zip(&want).skip(1) {
        for k in 0..5 {
            assert_close(
                cell(&g[11 + k]),
                cell(&w[3 + k]),
                1.0,
                &format!("x={} col {k}", w[1]),
            );
        }
    }
    assert_eq!(got.len(), 30);
}

#[test]
fn stats_dsr_reproduces_phe_dobson() {
    let path = reference("PHEindicatormethods/csv/testdata_DSR_ISR__testdata_multiarea.csv");
    let out = run_in(
        &manifest_dir(),
        &[
            "stats",
            "dsr",
            "--input",
            path.to_str().unwrap(),
            "--group",
            "area",
            "--count",
            "count",
            "--population",
            "pop",
            "--confidence",
            "0.95,0.998",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = parse_csv(&out.stdout);
    assert_eq!(
        got[0],
        [
            "area",
            "total_count",
            "total_pop",
            "value",
            "lower95",
            "upper95",
            "lower998",
            "upper998"
        ]
    );
    let want = parse_csv(
        &fs::read_to_string(reference(
            "PHEindicatormethods/generated/calculate_dsr_multiarea_esp2013.csv",
        ))
        .unwrap(),
    );
    assert_eq!(got.len(), 4);
    for (g, w) in got.iter().zip(&want).skip(1) {
        assert_eq!(g[0], w[0]);
        for k in 1..8 {
            assert_close(cell(&g[k]), cell(&w[k]), 1.0, &format!("{} col {k}", w[0]));
        }
    }
    // testdata_tiny has a total count of 9 (< 10): no value, totals still printed.
    assert_eq!(got[3][3..], ["", "", "", "", ""]);
}

#[test]
fn stats_dsr_rejects_the_invalid_reference_inputs() {
    // err1 has one unnamed group (columns `Age Band,count,pop,stdpop`); the others name areas.
    for (file, group, message) in [
        ("testdata_DSR_ISR__testdata_err1.csv", "Age Band", "count -"),
        (
            "testdata_DSR_ISR__testdata_err2.csv",
            "area",
            "population 0 must be greater than 0",
        ),
        (
            "testdata_DSR_ISR__testdata_err3.csv",
            "Age Band",
            "population -",
        ),
    ] {
        let path = reference(&format!("PHEindicatormethods/csv/{file}"));
        let out = run_in(
            &manifest_dir(),
            &[
                "stats",
                "dsr",
                "--input",
                path.to_str().unwrap(),
                "--group",
                group,
                "--count",
                "count",
                "--population",
                "pop",
            ],
        );
        assert_eq!(out.code, 1, "{file}");
        assert!(
            out.stderr.contains(message) && out.stderr.contains(": line "),
            "{file}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "no half-written output");
    }
}

#[test]
fn stats_spc_worked_examples_of_methods_md() {
    let dir = tempfile::tempdir().unwrap();
    // §4.2: decreasing direction, target 25.
    let values = [20, 22, 19, 21, 20, 23, 24, 25, 26, 27, 28, 29, 22, 21, 20];
    let mut text = String::from("month,count\n");
    for (i, v) in values.iter().enumerate() {
        text.push_str(&format!("{}-{:02}-01,{v}\n", 2024 + i / 12, i % 12 + 1));
    }
    fs::write(dir.path().join("s.csv"), &text).unwrap();
    let args = [
        "stats",
        "spc",
        "--input",
        "s.csv",
        "--x",
        "month",
        "--y",
        "count",
        "--improvement",
        "decrease",
        "--target",
        "25",
    ];
    let out = run_in(dir.path(), &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&out.stdout);
    let types: Vec<&str> = rows[1..].iter().map(|r| r[6].as_str()).collect();
    assert_eq!(
        types[2], "special_cause_improvement",
        "point 3 below the lower limit"
    );
    assert!(
        types[4..12].iter().all(|t| *t == "special_cause_concern"),
        "{types:?}"
    );
    assert_eq!(types[14], "common_cause");
    // mean 347/15; AMR after screening 19/13; LPL = 23.1333… − 2.66 × 1.4615… = 19.245641…
    assert!((cell(&rows[1][3]).unwrap() - 347.0 / 15.0).abs() < 1e-12);
    assert!((cell(&rows[1][4]).unwrap() - (347.0 / 15.0 - 2.66 * 19.0 / 13.0)).abs() < 1e-12);
    let mut summary = args.to_vec();
    summary.push("--summary");
    let out = run_in(dir.path(), &summary);
    let rows = parse_csv(&out.stdout);
    assert_eq!(
        rows[0],
        ["n", "mean", "lpl", "upl", "variation", "assurance"]
    );
    assert_eq!(rows[1][0], "15");
    assert_eq!(rows[1][4..], ["common_cause", "inconsistent"]);
}

#[test]
fn stats_spc_bad_input_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("dup.csv"),
        "date,value\n2024-01-01,1\n2024-02-01,2\n2024-01-01,3\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["stats", "spc", "--input", "dup.csv"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "bcfmon: dup.csv: line 4: date 2024-01-01 appears twice (also on line 2)"
    );
    fs::write(
        dir.path().join("nan.csv"),
        "date,value\n2024-01-01,1\n2024-02-30,2\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["stats", "spc", "--input", "nan.csv"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("line 3: date \"2024-02-30\" is not a real yyyy-mm-dd date"),
        "{}",
        out.stderr
    );
    fs::write(
        dir.path().join("v.csv"),
        "date,value\n2024-01-01,1\n\"2024-02-01\",n/a\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["stats", "spc", "--input", "v.csv"]);
    assert_eq!(
        out.stderr.trim(),
        "bcfmon: v.csv: line 3: value \"n/a\" is not a number"
    );
    let out = run_in(
        dir.path(),
        &["stats", "spc", "--input", "v.csv", "--rebase", "2024-03-01"],
    );
    assert_eq!(out.code, 1);
    // Usage errors: exit 2.
    for args in [
        &["stats", "spc", "--input", "v.csv", "--fix-after", "11"][..],
        &["stats", "spc", "--input", "v.csv", "--improvement", "up"][..],
        &[
            "stats",
            "proportion",
            "--input",
            "v.csv",
            "--confidence",
            "0.9",
        ][..],
        &["stats", "spc"][..],
    ] {
        assert_eq!(run_in(dir.path(), args).code, 2, "{args:?}");
    }
    // A missing file is bad input, not usage.
    assert_eq!(
        run_in(dir.path(), &["stats", "rate", "--input", "missing.csv"]).code,
        1
    );
}

#[test]
fn stats_output_guards_text_cells_but_not_numbers() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("p.csv"),
        "area,numerator,denominator\n=HYPERLINK(\"x\"),0,20\n-5 area,20,20\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["stats", "proportion", "--input", "p.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&out.stdout);
    assert_eq!(rows[1][0], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[2][0], "'-5 area");
    // 0 of 20: lower 0, upper 16.112515805281934 (reference p1, percent).
    assert_eq!(rows[1][4], "0");
    assert_close(cell(&rows[1][5]), Some(16.112515805281934), 1.0, "p1 upper");
}
