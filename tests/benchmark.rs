//! The engine benchmark (not a test): generates 1M and 5M event rows (with proportionate
//! other extracts) as Parquet with `bcfmon synth`, then times `bcfmon compute --all` over two
//! financial years of monthly and rolling 12-month windows, printing rows/s, wall seconds and
//! peak memory. Run it with `cargo bench --bench engine` (release build); figures go in the
//! README. Targets: 5M events in under 30 s and 4 GB, and 5M at most 6× the 1M time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

fn main() {
    let sizes: Vec<usize> = std::env::var("BCFMON_BENCH_ROWS")
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|_| vec![1_000_000, 5_000_000]);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base");
    let mut times = Vec::new();
    println!(
        "{:>10} {:>10} {:>9} {:>12} {:>10} {:>12}",
        "events", "people", "synth s", "compute s", "peak MB", "rows/s"
    );
    for target_rows in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        copy_dir(&fixture, root);
        // About 2.1 event rows per person in the generator.
        let people = target_rows * 10 / 21;
        let t0 = Instant::now();
        let ok = Command::new(BIN)
            .args([
                "synth",
                "--people",
                &people.to_string(),
                "--seed",
                "1",
                "--format",
                "parquet",
            ])
            .args(["--from", "2022-04-01", "--to", "2025-03-31", "--root"])
            .arg(root)
            .arg("--out")
            .arg(root.join("data"))
            .output()
            .expect("synth runs")
            .status
            .success();
        assert!(ok, "synth failed");
        let synth_s = t0.elapsed().as_secs_f64();
        let rows = count_event_rows(root);
        let (elapsed, peak_kb, ok) = run_measured(
            Command::new(BIN)
                .args(["compute", "--all", "--root"])
                .arg(root)
                .arg("--out")
                .arg(root.join("all.parquet"))
                .stderr(std::process::Stdio::null()),
        );
        assert!(ok, "compute --all failed");
        let secs = elapsed.as_secs_f64();
        println!(
            "{rows:>10} {people:>10} {synth_s:>9.1} {secs:>12.1} {:>10.0} {:>12.0}",
            peak_kb as f64 / 1024.0,
            rows as f64 / secs
        );
        times.push((rows, secs));
    }
    if let [(r1, t1), .., (r5, t5)] = times.as_slice() {
        println!(
            "scaling: {:.1}× the rows took {:.1}× the time",
            *r5 as f64 / *r1 as f64,
            t5 / t1
        );
    }
}
