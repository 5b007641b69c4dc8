//! The engine benchmark (not a test): generates 1M and 5M event rows (with proportionate
//! other extracts) as Parquet with `bcfmon synth`, then times `bcfmon compute --all` over three
//! financial years of monthly and rolling 12-month windows (the median of 3 runs, or
//! `BCFMON_BENCH_RUNS`), printing rows/s, wall seconds and peak memory. Run it with
//! `cargo bench --bench engine` (release build); figures go in the README. Targets: 5M events
//! in under 30 s and 4 GB, and 5M at most 6× the 1M time; each size is timed under both
//! ASCOF methods (`--method dhsc` within 1.2× of `bcfmon`), and `--explain-method` once. Then the board pack: `report` on
//! the shipped example (render time = report − compute, target under 2 s) and on a generated
//! programme of 40 schemes × 8 KPIs (target under 10 s). Between them, many areas: 4.1M
//! events over 40 areas, compute --all against a bare polars read of the same file in a
//! process of its own, as compute runs (the benchmark starts itself to run polars alone),
//! and beside it a read into memory the process already holds (and, to show where the time
//! goes, a read of every input file, `check`, and polars itself
//! applying the two settling rules that need a whole area's rows); and the
//! national case, 50M events over 150 areas (`BCFMON_BENCH_NATIONAL_ROWS=0` skips it).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// polars here runs on bcfmon's allocator, so that a read and a run are alike in that.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: &str = env!("CARGO_BIN_EXE_bcfmon");

/// Runs the command, sampling the child's peak resident memory (VmHWM) until it exits.
fn run_measured(cmd: &mut Command) -> (Duration, u64, bool) {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("bcfmon starts");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            for line in text.lines().filter(|l| l.starts_with("VmHWM:")) {
                let kb: u64 = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                peak_kb = peak_kb.max(kb);
            }
        }
        match child.try_wait().expect("wait") {
            Some(status) => return (start.elapsed(), peak_kb, status.success()),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A whole number from the environment, or `default`.
fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn count_event_rows(root: &Path) -> usize {
    // synth reports the rows it wrote on stderr; read the Parquet metadata instead via check.
    let out = Command::new(BIN)
        .args(["check", "--root"])
        .arg(root)
        .output()
        .expect("check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("events.parquet:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A synthetic Parquet set of about `target_rows` event rows over `areas` areas in a fresh
/// folder (the base fixture's programme), and how long synth took.
fn synthetic_set(target_rows: usize, areas: usize) -> (tempfile::TempDir, f64) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    copy_dir(&fixture, root);
    // About 2.1 event rows per person in the generator.
    let people = target_rows * 10 / 21;
    let t0 = Instant::now();
    let ok = Command::new(BIN)
        .args(["synth", "--people", &people.to_string(), "--seed", "1"])
        .args(["--format", "parquet", "--areas", &areas.to_string()])
        .args(["--from", "2022-04-01", "--to", "2025-03-31", "--root"])
        .arg(root)
        .arg("--out")
        .arg(root.join("data"))
        .output()
        .expect("synth runs")
        .status
        .success();
    assert!(ok, "synth failed");
    (dir, t0.elapsed().as_secs_f64())
}

/// `compute` with these arguments on a root, `repeats` times: the sorted run times and
/// the peak memory in KB. A run on a 2-core machine varies by a second or so either way
/// (page cache, the other core's load), hence the median of several.
fn time_compute(root: &Path, args: &[&str], repeats: usize) -> (Vec<f64>, u64) {
    let mut runs = Vec::new();
    let mut peak_kb = 0;
    for _ in 0..repeats {
        let (elapsed, peak, ok) = run_measured(
            Command::new(BIN)
                .arg("compute")
                .args(args)
                .arg("--root")
                .arg(root)
                .arg("--out")
                .arg(root.join("all.parquet"))
                .stderr(std::process::Stdio::null()),
        );
        assert!(ok, "compute {args:?} failed");
        runs.push(elapsed.as_secs_f64());
        peak_kb = peak_kb.max(peak);
    }
    runs.sort_by(f64::total_cmp);
    (runs, peak_kb)
}

fn main() {
    if polars_process() {
        return;
    }
    let sizes: Vec<usize> = std::env::var("BCFMON_BENCH_ROWS")
        // 0 skips the one-area cases, as it does the others.
        .map(|v| {
            v.split(',')
                .filter_map(|x| x.trim().parse().ok())
                .filter(|&n| n > 0)
                .collect()
        })
        .unwrap_or_else(|_| vec![1_000_000, 5_000_000]);
    let repeats: usize = std::env::var("BCFMON_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut times = Vec::new();
    println!(
        "{:>10} {:>10} {:>9} {:>12} {:>10} {:>12}",
        "events", "people", "synth s", "compute s", "peak MB", "rows/s"
    );
    for target_rows in sizes {
        let (dir, synth_s) = synthetic_set(target_rows, 1);
        let root = dir.path();
        let people = target_rows * 10 / 21;
        let rows = count_event_rows(root);
        // Each ASCOF method in turn (issue 16: DHSC's within 1.2× of bcfmon's).
        let mut by_method = Vec::new();
        for method in ["bcfmon", "dhsc"] {
            let (runs, peak_kb) = time_compute(root, &["--all", "--method", method], repeats);
            let secs = runs[runs.len() / 2];
            println!(
                "{rows:>10} {people:>10} {synth_s:>9.1} {secs:>12.1} {:>10.0} {:>12.0}   {method}: {:.1}-{:.1} s over {repeats} runs",
                peak_kb as f64 / 1024.0,
                rows as f64 / secs,
                runs[0],
                runs[runs.len() - 1],
            );
            by_method.push(secs);
        }
        println!(
            "{rows:>10} rows: method dhsc took {:.2}× bcfmon's time (target at most 1.2×)",
            by_method[1] / by_method[0]
        );
        // The gap between the methods (every ASCOF figure under 11 ways of counting, with
        // the people each moved): one run, for the README.
        let (elapsed, peak, ok) = run_measured(
            Command::new(BIN)
                .args(["compute", "--all", "--explain-method", "--root"])
                .arg(root)
                .arg("--out")
                .arg(root.join("gap.csv"))
                .stderr(std::process::Stdio::null()),
        );
        assert!(ok, "compute --explain-method failed");
        println!(
            "{rows:>10} rows: compute --all --explain-method {:.1} s, peak {:.0} MB",
            elapsed.as_secs_f64(),
            peak as f64 / 1024.0
        );
        times.push((rows, by_method[0]));
    }
    if let [(r1, t1), .., (r5, t5)] = times.as_slice() {
        println!(
            "scaling: {:.1}× the rows took {:.1}× the time",
            *r5 as f64 / *r1 as f64,
            t5 / t1
        );
    }
    areas_benchmark(repeats);
    national_benchmark(times.last().copied());
    pack_benchmark();
}

/// The national case (issue 17): `BCFMON_BENCH_NATIONAL_ROWS` event rows (default 50M; 0
/// skips it) over `BCFMON_BENCH_NATIONAL_AREAS` areas (default 150) in Parquet, made with
/// synth; one `compute --all`, its wall time, peak memory and rows/s, and its time against
/// the largest size above (target: peak under 4 GB, at most 12× the 5M time).
fn national_benchmark(largest: Option<(usize, f64)>) {
    let (target_rows, areas) = (
        env_usize("BCFMON_BENCH_NATIONAL_ROWS", 50_000_000),
        env_usize("BCFMON_BENCH_NATIONAL_AREAS", 150),
    );
    if target_rows == 0 {
        return;
    }
    let (dir, synth_s) = synthetic_set(target_rows, areas);
    let root = dir.path();
    let rows = count_event_rows(root);
    let (runs, peak_kb) = time_compute(root, &["--all"], 1);
    let secs = runs[0];
    let against = largest.map_or(String::new(), |(r, t)| {
        format!(
            "; {:.1}× the time of {r} rows (target at most 12× the 5M time)",
            secs / t
        )
    });
    println!(
        "national: {rows} events over {areas} areas (synth {synth_s:.0} s): compute --all {secs:.0} s, peak {:.0} MB (target under 4096), {:.0} rows/s{against}",
        peak_kb as f64 / 1024.0,
        rows as f64 / secs,
    );
}

/// What a polars process of the benchmark's own does (`BCFMON_BENCH_POLARS`): polars on its
/// own, with nothing of bcfmon, on the files `BCFMON_BENCH_POLARS_FILES` lists.
#[derive(Clone, Copy)]
enum Polars {
    /// Every column of every file read into a frame.
    Read,
    /// The events read, and the rows that repeat an earlier row exactly dropped (W03).
    Repeats,
    /// The events read, and each person's earliest birth year and latest death gathered
    /// (W07), by area, NHS number and the council's identifier.
    Persons,
}

impl Polars {
    const ALL: [Polars; 3] = [Polars::Read, Polars::Repeats, Polars::Persons];

    fn name(self) -> &'static str {
        match self {
            Polars::Read => "read",
            Polars::Repeats => "w03",
            Polars::Persons => "w07",
        }
    }

    /// Does it, giving the rows read (or left, for a rule).
    fn run(self, files: &[std::path::PathBuf]) -> usize {
        use polars::prelude::*;
        let read = |path: &Path| {
            let file = std::fs::File::open(path).expect("an input file");
            ParquetReader::new(file).finish().expect("a Parquet file")
        };
        match self {
            Polars::Read => files.iter().map(|f| read(f).height()).sum(),
            Polars::Repeats => read(&files[0])
                .lazy()
                .unique(None, UniqueKeepStrategy::First)
                .collect()
                .expect("polars' unique")
                .height(),
            Polars::Persons => read(&files[0])
                .lazy()
                .group_by([
                    col("LA_Code"),
                    col("NHS_Number"),
                    col("LA_Person_Unique_Identifier"),
                ])
                .agg([col("Der_Birth_Year").min(), col("Date_of_Death").max()])
                .collect()
                .expect("polars' group_by")
                .height(),
        }
    }

    /// Runs it in a process of its own, as `compute` runs, and gives the process's wall
    /// time (waited for, not polled: a read takes a fraction of a second) and the rows it
    /// read or left (the process prints them).
    fn in_process_of_its_own(self, files: &[std::path::PathBuf]) -> (f64, usize) {
        let joined = std::env::join_paths(files).expect("paths without a separator");
        let t = Instant::now();
        let out = Command::new(std::env::current_exe().expect("the benchmark's own path"))
            .env("BCFMON_BENCH_POLARS", self.name())
            .env("BCFMON_BENCH_POLARS_FILES", joined)
            .output()
            .expect("the benchmark starts itself");
        let elapsed = t.elapsed().as_secs_f64();
        assert!(out.status.success(), "polars {} failed", self.name());
        let rows = String::from_utf8_lossy(&out.stdout).trim().parse();
        (elapsed, rows.expect("the rows the polars process printed"))
    }
}

/// The benchmark started as a polars process of its own: does what `BCFMON_BENCH_POLARS`
/// names and exits (true), or is the benchmark itself (false).
fn polars_process() -> bool {
    let Ok(name) = std::env::var("BCFMON_BENCH_POLARS") else {
        return false;
    };
    let op = Polars::ALL
        .into_iter()
        .find(|op| op.name() == name)
        .expect("a known polars operation");
    let files: Vec<std::path::PathBuf> =
        std::env::split_paths(&std::env::var_os("BCFMON_BENCH_POLARS_FILES").expect("files"))
            .collect();
    println!("{}", op.run(&files));
    true
}

/// Many areas (issue 17): `BCFMON_BENCH_AREA_ROWS` event rows (default 4.1M) over
/// `BCFMON_BENCH_AREAS` areas (default 40), generated with `synth --areas`; times `compute
/// --all` against a bare polars read of every column of the same events file, each run
/// paired with a read, and prints the median of the pairs' ratios (target at most 5×).
///
/// The read is timed as `compute` is: a process of its own, started on the file (in the
/// page cache) and timed to its exit (waited for, where `compute` is polled every 20 ms for
/// its memory, which can only add to its time). A process's first read is about three
/// times its later ones (measured 6 December 2026: 0.62-0.80 s, then 0.20-0.26 s): the
/// first pays for the 1.4 GB its frame needs (0.8-0.9 s of system time over both cores, the
/// kernel faulting pages in), the later ones reuse memory the allocator still holds.
/// `compute` always starts with none, so a read into memory already held is not what it is
/// compared with; that steady read is printed beside, with its multiple. polars here uses
/// bcfmon's allocator, whose first read is quicker than glibc's. Beside them, where the
/// run's time goes, each paired with a read of its own: a read of every input file, `check`
/// (reads, validates and settles every extract and computes nothing), and polars itself
/// applying the two settling rules that need all of an area's rows at once.
fn areas_benchmark(repeats: usize) {
    let (target_rows, areas) = (
        env_usize("BCFMON_BENCH_AREA_ROWS", 4_100_000),
        env_usize("BCFMON_BENCH_AREAS", 40),
    );
    if target_rows == 0 {
        return;
    }
    let (dir, synth_s) = synthetic_set(target_rows, areas);
    let root = dir.path();
    let rows = count_event_rows(root);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let events = vec![root.join("data/events.parquet")];
    let fresh_read = || {
        let (elapsed, read) = Polars::Read.in_process_of_its_own(&events);
        assert_eq!(read, rows);
        elapsed
    };
    // The steady read: in this process, right after a read (not timed) whose freed memory
    // the allocator still holds. With time between them it gives that memory back, and a
    // read is as slow as a first one again (measured: 0.84-0.96 s here, between runs).
    let steady_read = || {
        assert_eq!(Polars::Read.run(&events), rows);
        let t = Instant::now();
        assert_eq!(Polars::Read.run(&events), rows);
        t.elapsed().as_secs_f64()
    };
    let mut inputs: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("data"))
        .expect("the data folder")
        .map(|e| e.expect("a data file").path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    inputs.sort();
    let check = || {
        let (elapsed, _, ok) = run_measured(
            Command::new(BIN)
                .args(["check", "--root"])
                .arg(root)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        );
        assert!(ok, "check failed");
        elapsed.as_secs_f64()
    };
    // Each compute run right after the reads it is paired with, so that all are timed in
    // the same minute: this machine's speed varies by half within the hour, and a ratio of
    // times taken apart measured the hour as much as the engine.
    let (mut fresh, mut steady, mut runs, mut peak_kb) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..repeats {
        fresh.push(fresh_read());
        steady.push(steady_read());
        let (run, peak) = time_compute(root, &["--all"], 1);
        runs.extend(run);
        peak_kb = peak_kb.max(peak);
    }
    let ratios =
        |reads: &[f64]| -> Vec<f64> { runs.iter().zip(reads).map(|(c, b)| c / b).collect() };
    let (to_fresh, to_steady) = (ratios(&fresh), ratios(&steady));
    // Where the time goes, each part paired with a read of the events in a process of its
    // own; check also with the read of every input file it makes, as validation's own
    // multiple.
    let (mut all_reads, mut checks, mut checks_of_all, mut check_s, mut rules) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        let (b, (all, held), c) = (
            fresh_read(),
            Polars::Read.in_process_of_its_own(&inputs),
            check(),
        );
        assert!(held > rows);
        all_reads.push(all / b);
        checks.push(c / b);
        checks_of_all.push(c / all);
        check_s.push(c);
        let b = fresh_read();
        let (w03, kept) = Polars::Repeats.in_process_of_its_own(&events);
        let (w07, persons) = Polars::Persons.in_process_of_its_own(&events);
        assert!(kept > 0 && kept <= rows && persons > 0 && persons <= rows);
        rules.push((w03 / b, w07 / b));
    }
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        format!("{lo:.2}-{hi:.2} s")
    };
    let (fresh_spread, steady_spread) = (spread(&fresh), spread(&steady));
    let compute = median(runs.clone());
    println!(
        "{rows} events over {areas} areas (synth {synth_s:.1} s): compute --all {compute:.1} s, peak {:.0} MB, {:.0} rows/s: {:.1}× a bare polars read of every column in a process of its own, as compute runs ({:.2} s; {fresh_spread}) (median of the paired runs' ratios; target at most 5×); {:.1}× a read into memory the process already holds ({:.2} s; {steady_spread})",
        peak_kb as f64 / 1024.0,
        rows as f64 / compute,
        median(to_fresh),
        median(fresh),
        median(to_steady),
        median(steady),
    );
    let check_median = median(check_s);
    println!(
        "  where it goes, each against a read of its own: a read of all {} input files {:.1}× the events' read; check (read, validate and settle every extract, no metric) {check_median:.1} s, {:.1}× the events' read and {:.1}× the read of every input file, and {:.0}% of compute's time",
        inputs.len(),
        median(all_reads),
        median(checks),
        median(checks_of_all),
        100.0 * check_median / compute
    );
    println!(
        "  polars itself, each in a process of its own with its own read of the events: exact repeats dropped (W03) {:.1}× the events' read, each person's birth and death gathered (W07) {:.1}×",
        median(rules.iter().map(|p| p.0).collect()),
        median(rules.iter().map(|p| p.1).collect())
    );
}

/// Times `compute --judge` and `report` on a root; the difference is the rendering.
fn time_pack(what: &str, root: &Path) {
    let (compute, _, ok) = run_measured(
        Command::new(BIN)
            .args(["compute", "--judge", "--root"])
            .arg(root)
            .arg("--out")
            .arg(root.join("judged.csv"))
            .stderr(std::process::Stdio::null()),
    );
    assert!(ok, "compute --judge failed");
    let (report, peak_kb, _) = run_measured(
        Command::new(BIN)
            .args(["report", "--root"])
            .arg(root)
            .arg("--out")
            .arg(root.join("pack"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    assert!(root.join("pack/index.html").exists(), "report failed");
    println!(
        "{what}: compute --judge {:.2} s, report {:.2} s, rendering {:.2} s, peak {:.0} MB",
        compute.as_secs_f64(),
        report.as_secs_f64(),
        (report.as_secs_f64() - compute.as_secs_f64()).max(0.0),
        peak_kb as f64 / 1024.0
    );
}

fn pack_benchmark() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&manifest.join("schemes"), &dir.path().join("schemes"));
    copy_dir(&manifest.join("data"), &dir.path().join("data"));
    time_pack("shipped example (6 schemes, 20 KPIs)", dir.path());

    // 40 schemes × 8 KPIs on the example's programme and a synthetic set made for them.
    let big = tempfile::tempdir().expect("temp dir");
    let root = big.path();
    std::fs::create_dir_all(root.join("schemes")).unwrap();
    std::fs::copy(
        manifest.join("schemes/programme.toml"),
        root.join("schemes/programme.toml"),
    )
    .unwrap();
    let metrics = [
        ("ascof-2c", "rolling-12-months"),
        ("ascof-2b", "rolling-12-months"),
        ("ascof-3d-1a", "snapshot"),
        ("ascof-3d-2a", "snapshot"),
        ("bcf-emergency-admissions-65", "month"),
        ("bcf-discharge-delay-avg", "month"),
        ("chc-backlog", "snapshot"),
        ("reviews-12-months", "rolling-12-months"),
    ];
    for k in 1..=40 {
        let mut text = format!(
            "reference = \"G{k:02}\"\nname = \"Generated scheme {k}\"\nlead_commissioner = \"CMBC\"\n\
             fund_manager = \"Manager {k}\"\ncommencement = \"ongoing\"\ndelivery = \"contract\"\n\
             provider = \"Provider {k}\"\ncontract_term = \"ongoing\"\ngovernance = [\"Board\"]\n\
             outline = \"Generated for the benchmark.\"\n\n[finance]\nfinancial_year = \"2015-16\"\n\
             value = \"{v}.00\"\n\n[[finance.contribution]]\npartner = \"CCCG\"\namount = \"{v}.00\"\n",
            v = 100_000 + 1_000 * k
        );
        for (i, (metric, window)) in metrics.iter().enumerate() {
            text.push_str(&format!(
                "\n[[kpi]]\nmetric = \"{metric}\"\nwindow = \"{window}\"\nheadline = {}\n",
                i == 0
            ));
        }
        std::fs::write(root.join(format!("schemes/G{k:02}.toml")), text).unwrap();
    }
    let ok = Command::new(BIN)
        .args([
            "synth",
            "--people",
            "3000",
            "--seed",
            "2015",
            "--from",
            "2013-04-01",
        ])
        .arg("--root")
        .arg(root)
        .arg("--out")
        .arg(root.join("synthetic"))
        .output()
        .expect("synth runs")
        .status
        .success();
    assert!(ok, "synth failed");
    // synth never writes over a configured extract (the programme names data/*.csv), so
    // the files are moved there, as its hint says.
    std::fs::rename(root.join("synthetic"), root.join("data")).expect("data folder");
    // The synthetic extracts' coverage, as the shipped programme states it.
    time_pack("generated programme (40 schemes × 8 KPIs)", root);
}
