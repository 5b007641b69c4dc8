//! `synth`: deterministic, every extract, and the engine runs clean on it.

use super::*;

#[test]
fn synth_is_deterministic_and_compute_all_runs_clean_on_it() {
    let dir = copy_fixture("base");
    let a = run_in(
        dir.path(),
        &[
            "synth",
            "--people",
            "1500",
            "--seed",
            "9",
            "--out",
            "a",
            "--from",
            "2022-04-01",
            "--to",
            "2025-03-31",
        ],
    );
    assert_eq!(a.code, 0, "{}", a.stderr);
    let b = run_in(
        dir.path(),
        &[
            "synth",
            "--people",
            "1500",
            "--seed",
            "9",
            "--out",
            "b",
            "--from",
            "2022-04-01",
            "--to",
            "2025-03-31",
        ],
    );
    assert_eq!(b.code, 0);
    for name in [
        "events",
        "population",
        "discharges",
        "safeguarding",
        "finance",
        "benchmarks",
        "chc",
    ] {
        let fa = fs::read(dir.path().join(format!("a/{name}.csv"))).unwrap();
        let fb = fs::read(dir.path().join(format!("b/{name}.csv"))).unwrap();
        assert_eq!(fa, fb, "{name} is byte-identical for the same seed");
        assert!(fa.len() > 100, "{name} has rows");
    }
    // The programme's finance rows: A1 is planned for 2024-25 by LA and ICB, each through
    // its declared funding stream (which `check` below accepts, N03).
    let finance = fs::read_to_string(dir.path().join("a/finance.csv")).unwrap();
    assert!(
        finance
            .lines()
            .any(|l| l.starts_with("A1,2024-04,ICB,") && l.ends_with(",NHS minimum contribution,")),
        "{finance}"
    );
    assert!(
        finance
            .lines()
            .any(|l| l.starts_with("A1,2024-04,LA,") && l.ends_with(",iBCF,")),
        "{finance}"
    );
    // Use the synthetic data as the fixture's data/ and run everything.
    fs::rename(dir.path().join("a"), dir.path().join("data")).unwrap();
    let out = run_in(dir.path(), &["compute", "--all", "--out", "all.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_csv(&fs::read_to_string(dir.path().join("all.csv")).unwrap());
    let metrics: std::collections::BTreeSet<&str> = rows[1..]
        .iter()
        .map(|r| r[1].split('/').next().unwrap())
        .collect();
    for m in [
        "ascof-2a",
        "ascof-2b",
        "ascof-2c",
        "ascof-2d-1",
        "ascof-2d-2",
        "ascof-2e",
        "ascof-3d-1a",
        "ascof-3d-1b",
        "reviews-12-months",
        "safeguarding-concerns-timely",
        "chc-backlog",
        "bcf-discharge-delay-avg",
        "bcf-emergency-admissions-65",
    ] {
        assert!(
            metrics.contains(m),
            "{m} computed on synthetic data: {metrics:?}"
        );
    }
    assert!(
        rows[1..]
            .iter()
            .any(|r| r[12] == "ok" && r[1] == "ascof-2a"),
        "some ascof-2a windows are computable"
    );
    let check = run_in(dir.path(), &["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    for line in check.stdout.lines().filter(|l| l.contains("rows read")) {
        let n: Vec<usize> = line
            .split_whitespace()
            .filter_map(|w| w.trim_end_matches(',').parse().ok())
            .collect();
        assert_eq!(n[0], n[1] + n[2], "read = accepted + rejected: {line}");
        assert!(
            n[2] >= 1,
            "each synthetic file has its deliberate bad rows: {line}"
        );
    }
}

/// `synth --areas N` spreads the people over N areas (issue 17): the programme's and
/// E06990001…; one area is the default's files byte for byte; `compute --all` gives every
/// area its own figures.
#[test]
fn synth_spreads_people_over_areas() {
    let dir = copy_fixture("base");
    let synth = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "synth",
            "--people",
            "1500",
            "--seed",
            "3",
            "--out",
            out,
            "--from",
            "2023-04-01",
            "--to",
            "2025-03-31",
        ];
        args.extend_from_slice(extra);
        let o = run_in(dir.path(), &args);
        assert_eq!(o.code, 0, "{}", o.stderr);
    };
    synth("one", &[]);
    synth("one-again", &["--areas", "1"]);
    synth("three", &["--areas", "3"]);
    for name in ["events", "population", "discharges", "safeguarding", "chc"] {
        let read = |d: &str| fs::read(dir.path().join(format!("{d}/{name}.csv"))).unwrap();
        assert_eq!(
            read("one"),
            read("one-again"),
            "{name}: --areas 1 is the default"
        );
    }
    let areas_of = |name: &str| {
        let text = fs::read_to_string(dir.path().join(format!("three/{name}.csv"))).unwrap();
        let mut codes: Vec<String> = parse_csv(&text)[1..].iter().map(|r| r[0].clone()).collect();
        codes.sort();
        codes.dedup();
        codes
    };
    // The people take turns: person n lives in area n mod 3.
    let expected = ["E06000099", "E06990001", "E06990002"];
    assert_eq!(areas_of("events"), expected);
    assert_eq!(areas_of("population"), expected);
    assert_eq!(areas_of("safeguarding"), expected);
    // Each area's population is its third of the people's: the same single-year counts
    // in every area.
    let pop = parse_csv(&fs::read_to_string(dir.path().join("three/population.csv")).unwrap());
    let count = |area: &str| {
        pop.iter()
            .filter(|r| r[0] == area)
            .map(|r| r[5].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(count("E06990001"), count("E06990002"));
    // compute --all on the three areas: every area has ascof-2a figures.
    let root = dir.path();
    fs::remove_dir_all(root.join("data")).ok();
    copy_dir(&root.join("three"), &root.join("data"));
    let o = run_in(root, &["compute", "--all", "--out", "all.csv"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = parse_csv(&fs::read_to_string(root.join("all.csv")).unwrap());
    for area in expected {
        assert!(
            rows.iter()
                .any(|r| r[0] == area && r[1] == "ascof-2a" && r[12] == "ok"),
            "{area}"
        );
    }
}
