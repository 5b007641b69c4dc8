//! The integration tests: one binary whose modules each run the real `bcfmon` on fixture
//! folders (see tests/README.md). This file holds the helpers they share.

mod board;
mod check;
mod compute;
mod method;
mod national;
mod pack;
mod pdf;
mod robustness;
mod safety;
mod stats;
mod synth;

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bcfmon() -> Command {
    Command::cargo_bin("bcfmon").expect("the bcfmon binary is built")
}

/// Copies a fixture folder into a fresh temporary folder.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &manifest_dir().join("tests/fixtures").join(name),
        dir.path(),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    let out = bcfmon()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("bcfmon runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses CSV text (the reference files and bcfmon's own output) into rows of cells.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn cell(s: &str) -> Option<f64> {
    if s.is_empty() || s == "NA" {
        None
    } else {
        Some(s.parse().unwrap_or_else(|_| panic!("{s:?} is a number")))
    }
}

fn assert_close(got: Option<f64>, want: Option<f64>, scale: f64, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let g = g * scale;
            assert!(g == w || ((g - w) / w).abs() <= 1e-9, "{what}: {g} vs {w}");
        }
        _ => panic!("{what}: {got:?} vs {want:?}"),
    }
}

/// The row of `compute` output for (metric, window, period), as cells.
fn result_row<'a>(
    rows: &'a [Vec<String>],
    metric: &str,
    window: &str,
    period: &str,
) -> &'a [String] {
    rows.iter()
        .find(|r| r[1] == metric && r[2] == window && r[3] == period)
        .unwrap_or_else(|| panic!("no row {metric} {window} {period}"))
}
