//! Damaged extracts: the shipped example's CSV files are damaged at random, and bcfmon must
//! never panic, must account for every row it read (read = accepted + rejected, file by
//! file), and the real binary must exit 0 or 1.
//!
//! 300 cases in the normal run; `BCFMON_ROBUSTNESS_CASES=5000` for a long one, with
//! `BCFMON_ROBUSTNESS_SEED` to choose the sequence (a failure prints its seed and case).

use super::{copy_dir, manifest_dir, run_in};
use std::fs;
use std::path::Path;

/// xorshift64*: deterministic for a seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The kinds of damage, each a function of the file's bytes.
const DAMAGE: [&str; 12] = [
    "truncate",
    "flip bytes",
    "ragged row",
    "unbalanced quote",
    "NULs",
    "multi-megabyte field",
    "CR-only line ends",
    "UTF-8 mark",
    "UTF-16 mark on UTF-8 text",
    "UTF-16 text",
    "Windows-1252 bytes",
    "junk appended",
];

fn damage(kind: &str, bytes: &mut Vec<u8>, rng: &mut Rng) {
    let len = bytes.len();
    // Start of a random line after the header.
    let line_start = |rng: &mut Rng, bytes: &[u8]| -> usize {
        let starts: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .filter(|i| *i < bytes.len())
            .collect();
        if starts.is_empty() {
            0
        } else {
            starts[rng.below(starts.len())]
        }
    };
    match kind {
        "truncate" => bytes.truncate(rng.below(len)),
        "flip bytes" => {
            for _ in 0..1 + rng.below(20) {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
        }
        "ragged row" => {
            let at = line_start(rng, bytes);
            if rng.below(2) == 0 {
                bytes.insert(at, b',');
            } else if let Some(p) = bytes[at..].iter().position(|b| *b == b',') {
                bytes.remove(at + p);
            }
        }
        "unbalanced quote" => {
            let at = rng.below(len);
            bytes.insert(at, b'"');
        }
        "NULs" => {
            for _ in 0..1 + rng.below(5) {
                let at = rng.below(bytes.len());
                bytes.insert(at, 0);
            }
        }
        "multi-megabyte field" => {
            let at = line_start(rng, bytes);
            let field = vec![b'x'; 2 * 1024 * 1024 + rng.below(1024 * 1024)];
            bytes.splice(at..at, field);
        }
        "CR-only line ends" => {
            let text: Vec<u8> = bytes.iter().filter(|b| **b != b'\r').copied().collect();
            *bytes = text
                .into_iter()
                .map(|b| if b == b'\n' { b'\r' } else { b })
                .collect();
        }
        "UTF-8 mark" => {
            bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
        }
        "UTF-16 mark on UTF-8 text" => {
            bytes.splice(0..0, [0xFF, 0xFE]);
        }
        "UTF-16 text" => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut out = if rng.below(2) == 0 {
                vec![0xFF, 0xFE]
            } else {
                Vec::new()
            };
            out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            *bytes = out;
        }
        "Windows-1252 bytes" => {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                bytes.insert(at, [0xA3, 0xE9, 0x96][rng.below(3)]);
            }
        }
        _ => {
            for _ in 0..1 + rng.below(200) {
                bytes.push(rng.next() as u8);
            }
        }
    }
}

/// The shipped example's CSV extracts.
const FILES: [&str; 7] = [
    "events.csv",
    "discharges.csv",
    "safeguarding.csv",
    "finance.csv",
    "population.csv",
    "benchmarks.csv",
    "chc.csv",
];

/// Loads every extract under `root` in-process: the problems of the ledger, and `file`'s
/// (refused, rows rejected) — or the panic.
fn load(root: &Path, file: &str) -> Result<(Vec<String>, (bool, usize)), String> {
    let result = std::panic::catch_unwind(|| bcfmon::api::read_extracts(root));
    let files = result
        .map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into())
        })?
        .map_err(|e| e.join("; "))?;
    let mut problems = Vec::new();
    for f in &files {
        if f.read != f.accepted + f.rejected {
            problems.push(format!(
                "{}: read {} != accepted {} + rejected {}",
                f.file, f.read, f.accepted, f.rejected
            ));
        }
        if f.refused.as_deref().is_some_and(str::is_empty) {
            problems.push(format!("{}: refused without a reason", f.file));
        }
    }
    let seen = files
        .iter()
        .find(|f| f.file.ends_with(file))
        .map_or((false, 0), |f| (f.refused.is_some(), f.rejected));
    Ok((problems, seen))
}

#[test]
fn damaged_extracts_never_panic_and_every_row_is_counted() {
    let cases: usize = std::env::var("BCFMON_ROBUSTNESS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("BCFMON_ROBUSTNESS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261201);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["schemes", "data"] {
        copy_dir(&manifest_dir().join(sub), &root.join(sub));
    }
    let originals: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| fs::read(root.join("data").join(f)).unwrap())
        .collect();
    // What each undamaged file gives (the example has deliberate bad rows of its own).
    let baseline: Vec<(bool, usize)> = FILES
        .iter()
        .map(|f| load(root, f).expect("the example loads").1)
        .collect();
    let mut rng = Rng(seed | 1);
    let mut failures = Vec::new();
    let mut binary_runs = 0;
    // Cases whose damage bcfmon noticed (the file refused, or rows rejected).
    let mut damaged = 0;
    for case in 0..cases {
        let which = rng.below(FILES.len());
        let mut bytes = originals[which].clone();
        let mut kinds = Vec::new();
        for _ in 0..1 + rng.below(2) {
            // Each kind comes up in turn in the first cases, then at random.
            let kind = match DAMAGE.get(case) {
                Some(kind) => kind,
                None => DAMAGE[rng.below(DAMAGE.len())],
            };
            damage(kind, &mut bytes, &mut rng);
            kinds.push(kind);
        }
        let path = root.join("data").join(FILES[which]);
        fs::write(&path, &bytes).unwrap();
        let label = format!(
            "seed {seed} case {case}: {} ({})",
            FILES[which],
            kinds.join(", ")
        );
        match load(root, FILES[which]) {
            Ok((problems, seen)) if problems.is_empty() => {
                damaged += usize::from(seen != baseline[which]);
            }
            Ok((problems, _)) => failures.push(format!("{label}: {}", problems.join("; "))),
            Err(panic) => failures.push(format!("{label}: panicked: {panic}")),
        }
        // Every 25th case through the real binary: exit 0 or 1, never a crash.
        if case % 25 == 0 {
            binary_runs += 1;
            let out = run_in(root, &["check"]);
            if !(out.code == 0 || out.code == 1) || out.stderr.contains("panicked") {
                failures.push(format!(
                    "{label}: check exited {}: {}",
                    out.code, out.stderr
                ));
            }
        }
        fs::write(&path, &originals[which]).unwrap();
    }
    assert!(binary_runs >= cases / 25);
    // Most damage is seen (some, such as a byte-order mark or junk after a final line
    // that happens to parse, is harmless by design).
    assert!(
        damaged * 2 > cases,
        "only {damaged} of {cases} cases were noticed"
    );
    eprintln!("robustness: {cases} cases, {damaged} noticed, {binary_runs} through the binary");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
