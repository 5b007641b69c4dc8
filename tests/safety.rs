//! Never lose a user's file, never fail quietly: outputs that would replace an input or a
//! folder bcfmon did not make, configured extracts that are not there, other encodings.

use super::{copy_dir, manifest_dir, run_in, Outcome};
use std::fs;
use std::path::Path;

/// The shipped example (schemes/ and data/) in a fresh temporary folder.
fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["schemes", "data"] {
        copy_dir(&manifest_dir().join(sub), &dir.path().join(sub));
    }
    dir
}

/// Every file under `dir` with its bytes, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn refused(out: &Outcome, words: &str) {
    assert_eq!(out.code, 1, "stdout {}\nstderr {}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(words),
        "{words:?} not in: {}",
        out.stderr
    );
}

#[test]
fn report_never_replaces_what_it_did_not_make() {
    let dir = example();
    let root = dir.path();
    let before = snapshot(root);
    for (out, words) in [
        (
            "schemes",
            "--out schemes is the schemes folder, an input; nothing was touched",
        ),
        ("data", "--out data is the data folder, an input"),
        (
            ".",
            "--out . is the root folder (it holds schemes/ and data/), an input",
        ),
        (
            "..",
            "holds the root folder (it holds schemes/ and data/), an input",
        ),
        ("schemes/programme.toml", "is the programme file, an input"),
    ] {
        refused(&run_in(root, &["report", "--out", out]), words);
    }
    // A regular file, and a folder of someone else's, are left as they are.
    fs::write(root.join("minutes.docx"), b"the minutes").unwrap();
    fs::create_dir(root.join("papers")).unwrap();
    fs::write(root.join("papers/agenda.pdf"), b"the agenda").unwrap();
    let mine = snapshot(root);
    refused(
        &run_in(root, &["report", "--out", "minutes.docx"]),
        "--out minutes.docx is a file, not a folder: the pack is a folder; nothing was touched",
    );
    refused(
        &run_in(root, &["report", "--out", "papers"]),
        "--out papers is a folder that is not a bcfmon pack (it holds agenda.pdf)",
    );
    assert_eq!(snapshot(root), mine, "nothing was touched");

    // A new folder, then the same pack again: written, then replaced.
    let ok = run_in(root, &["report", "--out", "pack"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let mark = fs::read_to_string(root.join("pack/.bcfmon-pack")).unwrap();
    assert!(mark.lines().any(|l| l == "index.html"), "{mark}");
    assert!(mark.lines().any(|l| l == "bcf-return.xlsx"), "{mark}");
    let again = run_in(root, &["report", "--out", "pack"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // An empty folder is fine too.
    fs::create_dir(root.join("empty")).unwrap();
    assert_eq!(run_in(root, &["report", "--out", "empty"]).code, 0);
    // A file added to a pack makes it the user's: refused, and the file stays.
    fs::write(root.join("pack/notes.txt"), b"my notes").unwrap();
    refused(
        &run_in(root, &["report", "--out", "pack"]),
        "--out pack holds files bcfmon did not write (notes.txt)",
    );
    assert_eq!(fs::read(root.join("pack/notes.txt")).unwrap(), b"my notes");
    // Nothing beside the packs is left behind by the runs.
    let mut left: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["data", "empty", "minutes.docx", "pack", "papers", "schemes"]
    );
    // Inputs are as they were.
    let after = snapshot(root);
    for (rel, bytes) in &before {
        assert!(
            after.iter().any(|(r, b)| r == rel && b == bytes),
            "{rel} changed"
        );
    }
}

#[test]
fn no_output_may_be_an_input() {
    let dir = example();
    let root = dir.path();
    let before = snapshot(root);
    refused(
        &run_in(root, &["compute", "--out", "data/events.csv"]),
        "bcfmon compute: --out data/events.csv is the events extract ([data.events] path), an input: bcfmon never writes over its inputs; nothing was written",
    );
    refused(
        &run_in(
            root,
            &[
                "compute",
                "--out",
                "results.csv",
                "--data-quality",
                "schemes/programme.toml",
            ],
        ),
        "--data-quality schemes/programme.toml is the programme file, an input",
    );
    // Through a symbolic link, and a path that only resolves to the input.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join("data/finance.csv"), root.join("link.csv")).unwrap();
        refused(
            &run_in(root, &["compute", "--out", "link.csv"]),
            "--out link.csv is the finance extract, an input",
        );
        fs::remove_file(root.join("link.csv")).unwrap();
    }
    refused(
        &run_in(
            root,
            &[
                "compute",
                "--out",
                "schemes/../schemes/S3PO2.toml.x/../S3PO2.toml",
            ],
        ),
        "is a scheme file, an input",
    );
    // --out beside data/ makes data/data_quality.csv the ledger: not an input, but both
    // outputs the same file is refused.
    refused(
        &run_in(root, &["compute", "--out", "data_quality.csv"]),
        "--out and the data-quality ledger are both data_quality.csv",
    );
    refused(
        &run_in(root, &["compute", "--out", "data"]),
        "--out data is the data folder, an input",
    );
    fs::create_dir(root.join("results")).unwrap();
    refused(
        &run_in(
            root,
            &["compute", "--out", "results", "--data-quality", "dq.csv"],
        ),
        "--out results is a folder; nothing was written",
    );
    fs::remove_dir(root.join("results")).unwrap();
    assert_eq!(snapshot(root), before, "nothing was written");
}

#[test]
fn synth_writes_no_input_and_overwrites_only_with_force() {
    let dir = example();
    let root = dir.path();
    let before = snapshot(root);
    refused(
        &run_in(root, &["synth", "--people", "50", "--out", "data"]),
        "bcfmon synth: the synthetic file data/events.csv is the events extract ([data.events] path), an input",
    );
    // With --force too: an input is never overwritten.
    refused(
        &run_in(
            root,
            &["synth", "--people", "50", "--out", "data", "--force"],
        ),
        "is the events extract ([data.events] path), an input",
    );
    assert_eq!(snapshot(root), before);
    let first = run_in(root, &["synth", "--people", "50", "--out", "new"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    refused(
        &run_in(root, &["synth", "--people", "60", "--out", "new"]),
        "already exist; nothing was written",
    );
    let written = fs::read(root.join("new/events.csv")).unwrap();
    let forced = run_in(
        root,
        &["synth", "--people", "60", "--out", "new", "--force"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(fs::read(root.join("new/events.csv")).unwrap(), written);
    // Only the seven extracts: no partial file is left.
    let mut names: Vec<String> = fs::read_dir(root.join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "benchmarks.csv",
            "chc.csv",
            "discharges.csv",
            "events.csv",
            "finance.csv",
            "population.csv",
            "safeguarding.csv"
        ]
    );
}

/// Sets `[data.<name>]` to `lines` in the example's programme.toml (its `path` line is
/// replaced; other keys, such as coverage dates, stay).
fn configure(root: &Path, name: &str, lines: &str) {
    let path = root.join("schemes/programme.toml");
    let text = fs::read_to_string(&path).unwrap();
    let table = format!("[data.{name}]\npath = \"data/{name}.csv\"");
    let text = if text.contains(&table) {
        text.replace(&table, &format!("[data.{name}]\n{lines}"))
    } else {
        format!("{text}\n[data.{name}]\n{lines}\n")
    };
    fs::write(path, text).unwrap();
}

/// Removes `[data.<name>]` (up to the next blank line) from the example's programme.toml.
fn unconfigure(root: &Path, name: &str) {
    let path = root.join("schemes/programme.toml");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find(&format!("[data.{name}]")).unwrap();
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 2);
    fs::write(path, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

/// The line of programme.toml on which `needle` stands (1-based).
fn line_of(root: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(root.join("schemes/programme.toml")).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn a_configured_extract_that_is_not_there_fails_the_run() {
    for (path, what) in [
        ("data/event.csv", "names no file; resolved: "),
        ("data", "is a folder with no Parquet file in it"),
        ("data/events_*.csv", "matches no file"),
    ] {
        let dir = example();
        let root = dir.path();
        configure(root, "events", &format!("path = \"{path}\""));
        let line = line_of(root, &format!("path = \"{path}\""));
        let expected =
            format!("schemes/programme.toml:{line}:8: [data.events] path \"{path}\" {what}");
        for command in [&["check"][..], &["compute"], &["report", "--out", "pack"]] {
            let out = run_in(root, command);
            refused(&out, &expected);
            assert!(out.stderr.contains("hint: "), "{}", out.stderr);
        }
        // The resolved path is absolute.
        let out = run_in(root, &["compute"]);
        let resolved = root.canonicalize().unwrap().join(path);
        if path == "data/event.csv" {
            assert!(
                out.stderr.contains(&resolved.display().to_string()),
                "{}",
                out.stderr
            );
        }
        assert!(out.stdout.is_empty(), "no results: {}", out.stdout);
        assert!(!root.join("pack").exists());
    }
}

#[test]
fn extracts_not_supplied_are_listed_once_at_the_end() {
    let dir = example();
    let root = dir.path();
    for name in ["safeguarding", "chc"] {
        fs::remove_file(root.join(format!("data/{name}.csv"))).unwrap();
        unconfigure(root, name);
    }
    for command in [&["compute", "--all"][..], &["report", "--out", "pack"]] {
        let out = run_in(root, command);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let last = out.stderr.lines().last().unwrap_or_default();
        assert!(
            last.ends_with(
                "not supplied: chc, safeguarding (neither configured in programme.toml nor found in data/); their metrics are not-computable"
            ),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.matches("not supplied").count(), 1);
    }
    let page = fs::read_to_string(root.join("pack/data-quality.html")).unwrap();
    assert!(page.contains("<strong>chc</strong>"), "{page}");
    assert!(page.contains("<strong>safeguarding</strong>"), "{page}");
}

/// The example's events re-encoded: `encode` maps the UTF-8 text to the file's bytes.
fn events_in(root: &Path, encoding: &str, bytes: Vec<u8>) {
    fs::write(root.join("data/events.csv"), bytes).unwrap();
    if !encoding.is_empty() {
        configure(
            root,
            "events",
            &format!("path = \"data/events.csv\"\nencoding = \"{encoding}\""),
        );
    }
}

fn compute_all(root: &Path) -> (String, String) {
    let out = run_in(root, &["compute", "--all", "--out", "r.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    (
        fs::read_to_string(root.join("r.csv")).unwrap(),
        fs::read_to_string(root.join("data_quality.csv")).unwrap(),
    )
}

#[test]
fn windows_1252_and_utf16_extracts_give_the_same_results() {
    // The example's events with a non-ASCII name in an optional text column (LA_Name is not
    // used by any metric), so each encoding has bytes of its own to decode.
    let utf8 = fs::read_to_string(manifest_dir().join("data/events.csv")).unwrap();
    let mut lines: Vec<String> = utf8.lines().map(str::to_string).collect();
    assert!(lines[0].starts_with("LA_Code,"), "{}", lines[0]);
    lines[0] = format!("{},LA_Name", lines[0]);
    for l in lines.iter_mut().skip(1) {
        l.push_str(",Calderdale – Café £");
    }
    let text = lines.join("\n") + "\n";

    let plain = example();
    events_in(plain.path(), "", text.clone().into_bytes());
    let (results, ledger) = compute_all(plain.path());
    assert!(results.lines().count() > 100);

    let (cp1252, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    assert!(cp1252.contains(&0xA3), "£ is one byte, 0xA3");
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let le_without_mark = le[2..].to_vec();
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (encoding, bytes) in [
        ("windows-1252", cp1252.into_owned()),
        ("utf-16", le.clone()),
        ("utf-16", le_without_mark),
        ("utf-16", be),
        // A mark wins whatever is declared (and whether or not anything is declared).
        ("", le.clone()),
    ] {
        let dir = example();
        events_in(dir.path(), encoding, bytes);
        let (r, l) = compute_all(dir.path());
        assert_eq!(r, results, "{encoding}: results equal UTF-8's");
        if encoding.is_empty() {
            // Read by its mark against the default utf-8: a W09 warning, no row affected.
            let w09: Vec<&str> = l.lines().filter(|x| x.contains(",W09,")).collect();
            assert_eq!(
                w09,
                ["data/events.csv,,warning,W09,,utf-16,\"the file starts with a utf-16 byte-order mark but [data.events] declares encoding = \"\"utf-8\"\"; it is read as utf-16\""]
            );
            let rest: Vec<&str> = l.lines().filter(|x| !x.contains(",W09,")).collect();
            assert_eq!(rest, ledger.lines().collect::<Vec<_>>());
        } else {
            assert_eq!(l, ledger, "{encoding}: ledger equals UTF-8's");
        }
    }
}

#[test]
fn bytes_invalid_in_their_encoding_are_located() {
    // Line 3 of the events gets a Windows-1252 £ (0xA3) where UTF-8 is declared.
    let dir = example();
    let root = dir.path();
    let mut bytes = fs::read(root.join("data/events.csv")).unwrap();
    let line3 = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 1;
    let at = line3 + 4;
    bytes.insert(at, 0xA3);
    fs::write(root.join("data/events.csv"), &bytes).unwrap();
    let out = run_in(root, &["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let expected = format!(
        "data/events.csv:3: file F01 (): byte {at} of the file (0xA3) is not valid utf-8 text; set encoding in [data.events] of schemes/programme.toml (with its path = \"...\"): \"windows-1252\" for a CSV saved from Excel, \"utf-16\" for a SQL Server Unicode export, \"utf-8\" otherwise"
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    // UTF-16 text without a mark, read as UTF-8: named for what it looks like.
    let dir = example();
    let root = dir.path();
    let text = fs::read_to_string(root.join("data/chc.csv")).unwrap();
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    fs::write(root.join("data/chc.csv"), le).unwrap();
    let out = run_in(root, &["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "data/chc.csv:1: file F01 (): every other byte is NUL: the file looks like UTF-16 text read as utf-8; set encoding in [data.chc]"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_file_has_a_place() {
    let dir = example();
    let root = dir.path();
    fs::write(root.join("schemes/S4CR1.toml"), "").unwrap();
    let out = run_in(root, &["check"]);
    refused(&out, "schemes/S4CR1.toml:1:1: the file is empty");
    let dir = example();
    let root = dir.path();
    fs::write(root.join("data/chc.csv"), "").unwrap();
    let out = run_in(root, &["check"]);
    refused(
        &out,
        "data/chc.csv:1: file F01 (): the file has no header row (it is empty)",
    );
}
