//! Many areas (issue 17): a council's pack benchmarked against its peers as bcfmon computed
//! them, from a results table for many areas given as the `benchmarks` extract.

use super::{copy_dir, manifest_dir, run_in};
use std::fs;

/// The shipped example with `data/benchmarks.csv` replaced by a results table (compute's
/// columns) for some of its peers.
fn example_with_results_as_benchmarks(results: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["schemes", "data"] {
        copy_dir(&manifest_dir().join(sub), &dir.path().join(sub));
    }
    fs::write(dir.path().join("data/benchmarks.csv"), results).unwrap();
    dir
}

#[test]
fn a_pack_compares_its_area_with_peers_computed_by_bcfmon() {
    // Calderdale's ascof-2c KPI (S2AA1, rolling 12 months) is 356.2 per 100,000 in the
    // 12 months to March 2016 (31 admissions over 8,704, the example's own figure). The
    // results table gives, for that window and period: Bradford 444.4 and Kirklees 210.5
    // (peers); Wakefield only a month earlier (not the period compared); St Helens no
    // figure (insufficient coverage); Wigan the monthly window (another window); an area
    // that is no peer; and a local metric of another programme (B03, ignored). Low is good,
    // so the bars read Kirklees, Calderdale, Bradford.
    let h = "area_code,metric,window,period,period_start,period_end,numerator,denominator,value,lower95,upper95,unit,status";
    let results = [
        h,
        "E08000032,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,40,9000,444.4,,,per-100000,ok",
        "E08000034,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,20,9500,210.5,,,per-100000,ok",
        "E08000036,ascof-2c,rolling-12-months,2016-02,2015-03-01,2016-02-29,10,9000,111.1,,,per-100000,ok",
        "E08000013,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,,,,,,per-100000,insufficient-coverage",
        "E08000010,ascof-2c,month,2016-03,2016-03-01,2016-03-31,3,9000,33.3,,,per-100000,ok",
        "E08000099,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,1,9000,11.1,,,per-100000,ok",
        "E08000032,local-waiting-list,month,2016-03,2016-03-01,2016-03-31,5,,5,,,count,ok",
    ]
    .join("\n");
    let dir = example_with_results_as_benchmarks(&format!("{results}\n"));
    let out = run_in(
        dir.path(),
        &["report", "--period", "2016-03", "--out", "pack"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = fs::read_to_string(dir.path().join("pack/schemes/S2AA1.html")).unwrap();
    let caption = "<caption>Values 12 months to March 2016: the peers as bcfmon computed them, from data&#x2f;benchmarks.csv, by the same rules as this pack</caption>";
    let from = page
        .find(caption)
        .unwrap_or_else(|| panic!("no caption in {page}"));
    let table = &page[from..from + page[from..].find("</table>").unwrap()];
    let at = |s: &str| table.find(s).unwrap_or_else(|| panic!("no {s} in {table}"));
    let kirklees = at(r#"<th scope="row">Kirklees</th><td class="num">210.5 per 100,000</td>"#);
    let own =
        at(r#"<th scope="row">Calderdale (this pack)</th><td class="num">356.2 per 100,000</td>"#);
    let bradford = at(r#"<th scope="row">Bradford</th><td class="num">444.4 per 100,000</td>"#);
    assert!(kirklees < own && own < bradford);
    for absent in ["Wakefield", "St Helens", "Wigan", "E08000099"] {
        assert!(!table.contains(absent), "{absent}");
    }
    let ledger = fs::read_to_string(dir.path().join("pack/data_quality.csv")).unwrap();
    assert!(
        ledger.contains(
            "data/benchmarks.csv,8,info,B03,metric,local-waiting-list,not a bcfmon metric"
        ),
        "{ledger}"
    );
}

/// Shards as separate processes, merged, equal the single run byte for byte (issue 17).
#[test]
fn shards_merged_equal_the_single_run() {
    let dir = synthetic_areas(1500, 17, 5, "csv");
    let root = dir.path();
    let run = |args: &[&str]| run_in(root, args);
    let o = run(&["compute", "--all", "--out", "single/all.csv"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(&[
        "compute",
        "--all",
        "--out",
        "single/all.parquet",
        "--data-quality",
        "single/dq.csv",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut areas = Vec::new();
    for k in 1..=3 {
        let o = run(&[
            "compute",
            "--all",
            "--shard",
            &format!("{k}/3"),
            "--out",
            &format!("s{k}/all.csv"),
        ]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let note = fs::read_to_string(root.join(format!("s{k}/all.csv.shard"))).unwrap();
        assert!(note.contains(&format!("shard = \"{k}/3\"")), "{note}");
        assert!(note.contains("ledger = \"data_quality.csv\""), "{note}");
        areas.push(note);
    }
    // The five areas (E06000099, E06990001-4) are each in one shard's note.
    for a in [
        "E06000099",
        "E06990001",
        "E06990002",
        "E06990003",
        "E06990004",
    ] {
        let quoted = format!("\"{a}\"");
        assert_eq!(
            areas.iter().filter(|n| n.contains(&quoted)).count(),
            1,
            "{a}"
        );
    }
    let shards = ["s1/all.csv", "s2/all.csv", "s3/all.csv"];
    let merge = |out: &str, given: &[&str]| {
        let mut args = vec!["merge", "--out", out];
        args.extend_from_slice(given);
        run(&args)
    };
    let o = merge("merged/all.csv", &shards);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let bytes = |p: &str| fs::read(root.join(p)).unwrap();
    assert_eq!(bytes("merged/all.csv"), bytes("single/all.csv"));
    assert_eq!(
        bytes("merged/data_quality.csv"),
        bytes("single/data_quality.csv")
    );
    // In any order, and to Parquet.
    let o = merge(
        "merged2/all.parquet",
        &["s3/all.csv", "s1/all.csv", "s2/all.csv"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(bytes("merged2/all.parquet"), bytes("single/all.parquet"));
    // A shard missing, a shard twice, shards of different data: refused, nothing written.
    let o = merge("bad/all.csv", &["s1/all.csv", "s2/all.csv"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("shard 3/3 missing"), "{}", o.stderr);
    let o = merge("bad/all.csv", &["s1/all.csv", "s1/all.csv", "s3/all.csv"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("are both shard 1/3"), "{}", o.stderr);
    let ledger = root.join("s2/data_quality.csv");
    let text = fs::read_to_string(&ledger).unwrap();
    fs::write(
        &ledger,
        format!("{text}data/events.csv,9,warning,W99,,,changed\n"),
    )
    .unwrap();
    let o = merge("bad/all.csv", &shards);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("differs from"), "{}", o.stderr);
    assert!(!root.join("bad").exists());
    // A merge never writes over a shard's files.
    let o = merge("s1/all.csv", &shards);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("an input"), "{}", o.stderr);
    // --shard is for --all.
    let o = run(&["compute", "--shard", "1/2", "--out", "x.csv"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// The area-partitioned engine (issue 17): every area computed in a batch of its own, with
/// every event row spilled to the temporary files, gives the results, the gap table and
/// the ledger of the run that holds every area at once, byte for byte.
#[test]
fn batches_of_areas_and_spilled_rows_equal_the_whole_run() {
    let dir = synthetic_areas(1200, 5, 4, "csv");
    let root = dir.path();
    let compute = |tag: &str, env: &[(&str, &str)]| {
        for (args, out) in [
            (vec!["--all"], "all.csv"),
            (vec!["--all", "--explain-method"], "gap.csv"),
            (vec![], "kpi.csv"),
        ] {
            let mut cmd = super::bcfmon();
            cmd.current_dir(root).arg("compute").args(&args);
            cmd.args(["--out", &format!("{tag}/{out}")]);
            cmd.args(["--data-quality", &format!("{tag}/dq-{out}")]);
            for (k, v) in env {
                cmd.env(k, v);
            }
            let o = cmd.output().expect("bcfmon runs");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    };
    compute("whole", &[]);
    compute(
        "parts",
        &[("BCFMON_BATCH_ROWS", "1"), ("BCFMON_SPILL_BYTES", "1")],
    );
    for f in [
        "all.csv",
        "gap.csv",
        "kpi.csv",
        "dq-all.csv",
        "dq-gap.csv",
        "dq-kpi.csv",
    ] {
        let whole = fs::read(root.join("whole").join(f)).unwrap();
        let parts = fs::read(root.join("parts").join(f)).unwrap();
        assert!(whole == parts, "{f} differs");
    }
    // The run is of four areas, each with figures, and a ledger with W03 (synth repeats
    // a row) in it.
    let all = fs::read_to_string(root.join("whole/all.csv")).unwrap();
    let areas: std::collections::BTreeSet<&str> = all
        .lines()
        .skip(1)
        .filter(|l| l.contains(",ascof-2a,") && l.ends_with(",ok"))
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(areas.len(), 4, "{areas:?}");
    let ledger = fs::read_to_string(root.join("whole/dq-all.csv")).unwrap();
    assert!(ledger.contains(",W03,"), "{ledger}");
}

/// A run whose partitioned rows went to temporary files removes them, whichever command
/// that reads the extracts ran and however it ended: from `c0cd06e` (session 30) until
/// `292e2e3` (session 33) `compute` left its run to the process's exit and with it the
/// folders, 2.4 GB a national run, until the disk was full.
#[test]
fn spilled_rows_leave_no_temporary_folder_behind() {
    let dir = synthetic_areas(1200, 9, 3, "csv");
    let root = dir.path();
    // Every row spilled (a budget of one byte), the temporary folders made in `tmpdir`.
    let spilled = |args: &[&str], tmpdir: &std::path::Path| {
        super::bcfmon()
            .current_dir(root)
            .args(args)
            .env("TMPDIR", tmpdir)
            .env("BCFMON_SPILL_BYTES", "1")
            .output()
            .expect("bcfmon runs")
    };
    // Both partitioned extracts' rows do go to files: with a temporary "folder" that is a
    // file, each is refused for it.
    let not_a_folder = root.join("not-a-folder");
    fs::write(&not_a_folder, "").unwrap();
    let o = spilled(&["check"], &not_a_folder);
    let stderr = String::from_utf8_lossy(&o.stderr);
    for extract in ["events", "discharges"] {
        let refused = format!("data/{extract}.csv: refused: cannot write the partitioned rows");
        assert!(stderr.contains(&refused), "{extract}: {stderr}");
    }
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let runs: [(&[&str], i32); 6] = [
        (&["compute", "--all", "--out", "all.csv"], 0),
        (
            &["compute", "--all", "--explain-method", "--out", "gap.csv"],
            0,
        ),
        (&["compute", "--judge", "--out", "judged.csv"], 0),
        // synth writes a few bad rows of each kind: --strict fails the run, after the
        // results are made.
        (&["compute", "--all", "--strict", "--out", "strict.csv"], 1),
        (&["check"], 0),
        (&["report", "--period", "2024-09"], 0),
    ];
    for (args, code) in runs {
        let o = spilled(args, tmp.path());
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let left: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

/// A synthetic set of `people` over `areas` areas from 2023-04 to 2025-03 in `format`, in a
/// copy of the base fixture.
fn synthetic_areas(people: usize, seed: u64, areas: usize, format: &str) -> tempfile::TempDir {
    let dir = super::copy_fixture("base");
    let (people, seed, areas) = (people.to_string(), seed.to_string(), areas.to_string());
    let o = run_in(
        dir.path(),
        &[
            "synth",
            "--people",
            &people,
            "--seed",
            &seed,
            "--areas",
            &areas,
            "--format",
            format,
            "--out",
            "data",
            "--from",
            "2023-04-01",
            "--to",
            "2025-03-31",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    dir
}

/// Four areas, as the many-files tests use them.
fn four_areas(format: &str) -> tempfile::TempDir {
    synthetic_areas(1000, 9, 4, format)
}

/// `compute --all` of the root as it now reads its extracts (into `many/`) gives the results
/// of the run before they were split (`one/all.csv`), byte for byte.
fn same_results_as_one_file(root: &std::path::Path) {
    let o = run_in(
        root,
        &[
            "compute",
            "--all",
            "--out",
            "many/all.csv",
            "--data-quality",
            "many/dq.csv",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read(root.join("one/all.csv")).unwrap() == fs::read(root.join("many/all.csv")).unwrap(),
        "the results of the split extract differ from the one file's"
    );
}

/// Points `[data.<extract>]` of the root's programme.toml at `path`.
fn extract_at(root: &std::path::Path, extract: &str, path: &str) {
    let toml = root.join("schemes/programme.toml");
    let text = fs::read_to_string(&toml).unwrap();
    fs::write(
        toml,
        format!("{text}\n[data.{extract}]\npath = \"{path}\"\n"),
    )
    .unwrap();
}

/// Splits `data/<extract>.csv` into `parts` files `data/<extract>/part-1.csv`, … (each with
/// the header), moves the whole file out of `data/` and points programme.toml at the glob.
/// Returns the data rows and where each part starts among them (and the end).
fn split_csv(root: &std::path::Path, extract: &str, parts: usize) -> (Vec<String>, Vec<usize>) {
    let text = fs::read_to_string(root.join(format!("data/{extract}.csv"))).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<String> = lines.map(str::to_string).collect();
    let cut: Vec<usize> = (0..=parts).map(|k| k * rows.len() / parts).collect();
    fs::create_dir(root.join(format!("data/{extract}"))).unwrap();
    for k in 0..parts {
        fs::write(
            root.join(format!("data/{extract}/part-{}.csv", k + 1)),
            format!("{header}\n{}\n", rows[cut[k]..cut[k + 1]].join("\n")),
        )
        .unwrap();
    }
    fs::rename(
        root.join(format!("data/{extract}.csv")),
        root.join(format!("{extract}-whole.csv")),
    )
    .unwrap();
    extract_at(root, extract, &format!("data/{extract}/part-*.csv"));
    (rows, cut)
}

/// Many files, one extract (issue 17): the events split over three CSV files named by a
/// glob give the results of the one file, and every issue of the ledger names the file
/// its row is in, at its line there.
#[test]
fn a_glob_of_csv_files_is_one_extract() {
    let dir = four_areas("csv");
    let root = dir.path();
    let o = run_in(
        root,
        &[
            "compute",
            "--all",
            "--out",
            "one/all.csv",
            "--data-quality",
            "one/dq.csv",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Split data/events.csv into data/events/part-1..3.csv; only the glob finds the rows.
    let (_, cut) = split_csv(root, "events", 3);
    same_results_as_one_file(root);
    // Line L of the one file (header = line 1) is line L - cut[k] of part k + 1.
    let moved: Vec<String> = fs::read_to_string(root.join("one/dq.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let Some(rest) = l.strip_prefix("data/events.csv,") else {
                return l.to_string();
            };
            let (line, rest) = rest.split_once(',').unwrap();
            let line: usize = line.parse().unwrap();
            let k = (0..3).rev().find(|k| line - 1 > cut[*k]).unwrap();
            format!("data/events/part-{}.csv,{},{rest}", k + 1, line - cut[k])
        })
        .collect();
    let many: Vec<String> = fs::read_to_string(root.join("many/dq.csv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        moved
            .iter()
            .any(|l| l.starts_with("data/events/part-3.csv,")),
        "{moved:?}"
    );
    assert_eq!(moved, many);
    // The discharges as a glob too: a KPI run ignores the other areas' spells (W08), each
    // named at its own file and line.
    let (rows, cut) = split_csv(root, "discharges", 2);
    let half = cut[1];
    let o = run_in(
        root,
        &[
            "compute",
            "--out",
            "kpi/kpi.csv",
            "--data-quality",
            "kpi/dq.csv",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ledger = fs::read_to_string(root.join("kpi/dq.csv")).unwrap();
    // The last row of the whole file is the last line of part 2: line rows.len() - half + 1.
    let last = rows.len() - half + 1;
    let w08: Vec<&str> = ledger
        .lines()
        .filter(|l| l.contains(",W08,") && l.starts_with("data/discharges"))
        .collect();
    assert!(
        w08.iter()
            .any(|l| l.starts_with("data/discharges/part-1.csv,")),
        "{ledger}"
    );
    assert!(
        w08.iter()
            .any(|l| l.starts_with("data/discharges/part-2.csv,")),
        "{ledger}"
    );
    assert!(
        w08.iter().all(|l| {
            let line: usize = l.split(',').nth(1).unwrap().parse().unwrap();
            (2..=last.max(half + 1)).contains(&line)
        }),
        "{w08:?}"
    );
    // A file the glob matches is an input: never written over.
    let before = fs::read(root.join("data/events/part-2.csv")).unwrap();
    let o = run_in(
        root,
        &["compute", "--all", "--out", "data/events/part-2.csv"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("an input"), "{}", o.stderr);
    assert_eq!(
        fs::read(root.join("data/events/part-2.csv")).unwrap(),
        before
    );
    // A glob that matches nothing is an error, like a missing file; nothing is written.
    let dir2 = four_areas("csv");
    extract_at(dir2.path(), "events", "data/events/*.csv");
    let o = run_in(dir2.path(), &["compute", "--all", "--out", "x.csv"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("path \"data/events/*.csv\" matches no file"),
        "{}",
        o.stderr
    );
    assert!(!dir2.path().join("x.csv").exists());
}

/// A hive-partitioned Parquet folder (`data/events/LA_Code=E06990001/part-0.parquet`, the
/// area in the folder name, not in the file) is one extract: the results equal the single
/// file's, and each issue names its part.
#[test]
fn a_hive_partitioned_parquet_folder_is_one_extract() {
    use polars::prelude::*;
    let dir = four_areas("parquet");
    let root = dir.path();
    let o = run_in(root, &["compute", "--all", "--out", "one/all.csv"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let whole = ParquetReader::new(fs::File::open(root.join("data/events.parquet")).unwrap())
        .finish()
        .unwrap();
    let areas: std::collections::BTreeSet<String> = whole
        .column("LA_Code")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    assert_eq!(areas.len(), 4);
    for area in &areas {
        let mask = whole
            .column("LA_Code")
            .unwrap()
            .str()
            .unwrap()
            .equal(area.as_str());
        let mut part = whole.filter(&mask).unwrap().drop("LA_Code").unwrap();
        let folder = root.join(format!("data/events/LA_Code={area}"));
        fs::create_dir_all(&folder).unwrap();
        ParquetWriter::new(fs::File::create(folder.join("part-0.parquet")).unwrap())
            .finish(&mut part)
            .unwrap();
    }
    fs::rename(
        root.join("data/events.parquet"),
        root.join("events-whole.parquet"),
    )
    .unwrap();
    extract_at(root, "events", "data/events");
    same_results_as_one_file(root);
    let ledger = fs::read_to_string(root.join("many/dq.csv")).unwrap();
    let first = areas.iter().next().unwrap();
    assert!(
        ledger.contains(&format!("data/events/LA_Code={first}/part-0.parquet,row ")),
        "{ledger}"
    );
    assert!(!ledger.contains("data/events,"), "{ledger}");
}

/// Parquet whose columns are all text is read as dictionary codes (`extract::coded`), each
/// distinct value judged once: the same rows as CSV give the same results and the same ledger,
/// issue for issue (synth writes the same rows, invalid ones included, in either format; a
/// CSV line is the Parquet row after the header).
#[test]
fn a_parquet_extract_reads_as_its_csv() {
    let (csv, parquet) = (four_areas("csv"), four_areas("parquet"));
    for dir in [&csv, &parquet] {
        let o = run_in(
            dir.path(),
            &[
                "compute",
                "--all",
                "--out",
                "all.csv",
                "--data-quality",
                "dq.csv",
            ],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let read =
        |dir: &tempfile::TempDir, name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read(&csv, "all.csv"), read(&parquet, "all.csv"));
    // Each CSV issue as the Parquet ledger names it: `data/x.csv,N` is `data/x.parquet,row N-1`.
    let as_parquet: Vec<String> = read(&csv, "dq.csv")
        .lines()
        .map(|l| match l.split_once(".csv,") {
            Some((file, rest)) => {
                let (line, rest) = rest.split_once(',').unwrap();
                match line.parse::<u64>() {
                    Ok(n) => format!("{file}.parquet,row {},{rest}", n - 1),
                    Err(_) => l.to_string(),
                }
            }
            None => l.to_string(),
        })
        .collect();
    let ledger = read(&parquet, "dq.csv");
    let parquet_lines: Vec<&str> = ledger.lines().collect();
    assert!(parquet_lines.len() > 10, "{ledger}");
    assert!(
        ledger.contains("events.parquet,row ") && ledger.contains(",W01,"),
        "the events' issues are in the ledger: {ledger}"
    );
    assert_eq!(as_parquet, parquet_lines);
}
