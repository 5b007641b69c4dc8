//! `check`, `new scheme`, `metrics` and the command line: scheme files validated with exact
//! messages (the invalid corpus), bad bytes, usage errors.

use super::*;

#[test]
fn shipped_example_passes_check() {
    let out = run_in(&manifest_dir(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // 6 schemes; pooled value: S3PO2 657,810 + S1RE1 2,400,000 + S2AA1 3,150,000
    // + S4CR1 850,000 + S5DH1 520,000 + S6S117 1,850,000 = 9,427,810.
    assert!(out.stdout.contains("6 schemes"), "{}", out.stdout);
    assert!(
        out.stdout.contains("pooled budget 2015-16: £9,427,810"),
        "{}",
        out.stdout
    );
    // CMBC: 600,000 + 425,000 + 999,000 = 2,024,000.
    assert!(out.stdout.contains("£2,024,000"), "{}", out.stdout);
}

#[test]
fn base_fixture_passes_check() {
    let dir = copy_fixture("base");
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("1 scheme, 1 KPI (1 headline), 1 local metric"));
}

/// Every file in tests/invalid/ replaces (or adds) one file of the base fixture; `check` must
/// exit 1 with exactly the messages in the matching `.expected` file. `BLESS=1` rewrites them.
#[test]
fn invalid_corpus_gives_exact_messages() {
    let corpus = manifest_dir().join("tests/invalid");
    let mut cases: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = fs::read_to_string(case).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        let target = header
            .strip_prefix("# replaces: ")
            .expect("a `# replaces:` header");
        let dir = copy_fixture("base");
        fs::write(dir.path().join(target), body).unwrap();
        let out = run_in(dir.path(), &["check"]);
        let expected_path = case.with_extension("expected");
        if std::env::var_os("BLESS").is_some() {
            fs::write(&expected_path, &out.stderr).unwrap();
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if out.code != 1 || out.stderr != expected || !out.stdout.is_empty() {
            failures.push(format!(
                "{}: exit {}\n--- got\n{}--- expected\n{}",
                case.display(),
                out.code,
                out.stderr,
                expected
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn non_utf8_bytes_are_located() {
    let dir = copy_fixture("base");
    let mut bytes = b"reference = \"A1\"\nname = \"Re".to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b"ablement\"\n");
    fs::write(dir.path().join("schemes/A1.toml"), bytes).unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("schemes/A1.toml:2:11: the file is not valid UTF-8 text"),
        "{}",
        out.stderr
    );
}

/// A tiny deterministic generator, so the "random" inputs are the same on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn never_panics_on_random_bytes_or_huge_files() {
    let dir = copy_fixture("base");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let base = fs::read_to_string(dir.path().join("schemes/A1.toml")).unwrap();
    for round in 0..12 {
        let content: Vec<u8> = match round % 3 {
            // Pure noise.
            0 => (0..4096).map(|_| xorshift(&mut state) as u8).collect(),
            // Printable noise, closer to TOML.
            1 => (0..4096)
                .map(|_| b"[]=\"'{},.\n abc123#-"[(xorshift(&mut state) % 19) as usize])
                .collect(),
            // The valid file with bytes flipped.
            _ => {
                let mut b = base.clone().into_bytes();
                for _ in 0..8 {
                    let i = (xorshift(&mut state) as usize) % b.len();
                    b[i] = xorshift(&mut state) as u8;
                }
                b
            }
        };
        fs::write(dir.path().join("schemes/A1.toml"), &content).unwrap();
        let out = run_in(dir.path(), &["check"]);
        assert!(
            out.code == 0 || out.code == 1,
            "round {round}: exit {}",
            out.code
        );
        assert!(
            !out.stderr.contains("panicked"),
            "round {round}: {}",
            out.stderr
        );
    }
    // A multi-megabyte scheme file: a valid one padded with 5 MB of comments and 20,000 KPIs.
    let mut huge = base.clone();
    huge.push_str(
        &"# padding padding padding padding padding padding padding padding\n".repeat(80_000),
    );
    for _ in 0..20_000 {
        huge.push_str("[[kpi]]\nmetric = \"ascof-2b\"\n");
    }
    fs::write(dir.path().join("schemes/A1.toml"), &huge).unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("20001 KPIs"), "{}", out.stdout);
}

#[test]
fn new_scheme_round_trips_through_check() {
    let dir = copy_fixture("base");
    let out = run_in(dir.path(), &["new", "scheme", "B7"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = dir.path().join("schemes/B7.toml");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("reference = \"B7\""));
    assert!(text.contains("(LA, ICB)"), "lists the programme's partners");

    // Unfilled, every placeholder is reported.
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("schemes/B7.toml:8:8: `name` still holds the placeholder"),
        "{}",
        out.stderr
    );

    // Filled in as a fund manager would, it passes.
    let filled = text
        .replace("\"<scheme name>\"", "\"Falls prevention\"")
        .replace("\"<partner id>\"", "\"LA\"")
        .replace("\"<name>\"", "\"B. Officer\"")
        .replace("\"<provider>\"", "\"LA\"")
        .replace("\"<scheme type>\"", "\"Prevention\"")
        .replace("\"<first committee>\"", "\"Prevention Board\"")
        .replace(
            "<what the scheme does, for whom, and why>",
            "Strength and balance classes.",
        )
        .replace("\"<2025-26>\"", "\"2025-26\"")
        .replace("\"<£ value>\"", "\"£12,500\"")
        .replace("\"<£ amount>\"", "\"12500.00\"")
        .replace("\"<metric id>\"", "\"ascof-2c\"")
        .replace("\"<KPI label>\"", "\"ASCOF 2C\"")
        .replace("\"<high-is-good or low-is-good>\"", "\"low-is-good\"")
        .replace("\"<2024-25>\"", "\"2024-25\"");
    fs::write(&path, filled).unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2 schemes"));

    // It never overwrites.
    let out = run_in(dir.path(), &["new", "scheme", "B7"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already exists"));
}

#[test]
fn metrics_lists_and_explains_the_catalogue() {
    let out = run_in(&manifest_dir(), &["metrics"]);
    assert_eq!(out.code, 0);
    for id in [
        "ascof-2a",
        "ascof-2c",
        "ascof-3d-2b",
        "bcf-discharge-delay-avg",
        "chc-backlog",
    ] {
        assert!(out.stdout.contains(id), "{id} listed");
    }
    // A published code resolves through metrics.md Appendix A.
    let out = run_in(&manifest_dir(), &["metrics", "2A(2)"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("ascof-2c — "), "{}", out.stdout);
    assert!(out.stdout.contains("polarity:   low-is-good (inferred)"));
    let out = run_in(&manifest_dir(), &["metrics", "ascof-2x"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("did you mean `ascof-2a`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run_in(&manifest_dir(), &["chekc"]);
    assert_eq!(out.code, 2);
    let out = run_in(&manifest_dir(), &["check", "--rot", "x"]);
    assert_eq!(out.code, 2);
}

#[test]
fn missing_schemes_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("schemes: there is no schemes/ folder here"),
        "{}",
        out.stderr
    );
}

/// A discharges file with no birth month or age columns is refused (F04), and a record of
/// the wrong width in it is still listed (E08) before the refusal, as a row's own problems
/// are whenever a file is refused after its rows were read.
#[test]
fn a_refused_discharges_file_still_lists_its_short_records() {
    let dir = copy_fixture("discharge_reablement");
    let path = dir.path().join("data/discharges.csv");
    let text = fs::read_to_string(&path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !header[i].starts_with("Der_Birth_"))
        .collect();
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",")
        })
        .collect();
    let short_line = out.len() + 1;
    out.push("S_X,too,few".into());
    fs::write(&path, out.join("\n") + "\n").unwrap();
    let run = run_in(dir.path(), &["check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let e08 = format!(
        "data/discharges.csv:{short_line}: error E08 (): the record has 3 fields; the header has {}",
        keep.len()
    );
    let at = |needle: &str| run.stderr.find(needle);
    let (Some(short), Some(refused)) = (at(&e08), at("file F04 (Der_Birth_Year)")) else {
        panic!("{}", run.stderr)
    };
    assert!(short < refused, "{}", run.stderr);
}
