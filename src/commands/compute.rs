//! `bcfmon compute`: the tidy results table of every metric the schemes need (or, with
//! `--all`, every metric the data supports), with the data-quality ledger beside it.

use crate::metrics::{ResultRow, COLUMNS};
use crate::output::{resolve, write_atomic, Inputs};
use crate::pipeline::load_programme;
use crate::table::Table;
use std::path::{Path, PathBuf};

pub(crate) struct Args<'a> {
    pub root: &'a Path,
    pub period: Option<&'a str>,
    pub all: bool,
    pub strict: bool,
    pub out: Option<&'a Path>,
    pub data_quality: Option<&'a Path>,
    /// Write the judged KPI table instead of the results table.
    pub judge: bool,
    /// The ASCOF method, overriding the programme's.
    pub method: Option<crate::method::Method>,
    /// Write the gap between the ASCOF methods instead of the results table.
    pub explain_method: bool,
    /// Compute only this shard's areas (with `--all`), and leave a note for `merge`.
    pub shard: Option<crate::shard::Shard>,
}

fn render(rows: &[ResultRow], ext: &str) -> Result<Vec<u8>, String> {
    use rayon::prelude::*;
    if ext == "parquet" {
        return crate::metrics::to_parquet(rows);
    }
    let mut table = Table::new(COLUMNS);
    for cells in rows.par_iter().map(ResultRow::cells).collect::<Vec<_>>() {
        table.push(cells);
    }
    match ext {
        "json" => table.to_json(),
        _ => Ok(table.to_csv().into_bytes()),
    }
}

/// What to do when an output path is refused.
const FILE_HINT: &str = "give a new file outside schemes/ and data/, e.g. out/results.csv";

pub(crate) fn run(args: &Args<'_>) -> Result<(), String> {
    let who = |e: String| format!("bcfmon compute: {e}");
    let mut programme = load_programme(args.root, "compute")?;
    if let Some(m) = args.method {
        programme.settings.method = m;
    }
    // Every output is checked before any work: none may be an input, nor the other output.
    let inputs = Inputs::of(args.root, Some(&programme.settings), None);
    let dq_path: Option<PathBuf> = args
        .data_quality
        .map(Path::to_path_buf)
        .or_else(|| args.out.map(|o| o.with_file_name("data_quality.csv")));
    if let Some(out) = args.out {
        inputs.check_file(out, "--out", FILE_HINT).map_err(who)?;
    }
    if let Some(dq) = &dq_path {
        let option = if args.data_quality.is_some() {
            "--data-quality"
        } else {
            "the data-quality ledger beside --out,"
        };
        inputs.check_file(dq, option, FILE_HINT).map_err(who)?;
        if args.out.is_some_and(|o| resolve(o) == resolve(dq)) {
            return Err(who(format!(
                "--out and the data-quality ledger are both {}; nothing was written\n  hint: give --data-quality another file name",
                dq.display()
            )));
        }
    }
    // The output format is settled before any work, after the paths (an input named as --out is said to be one).
    let ext = args
        .out
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_else(|| "csv".into());
    if !matches!(ext.as_str(), "csv" | "json" | "parquet") {
        return Err(format!(
            "bcfmon compute: --out must end in .csv, .parquet or .json, not .{ext}"
        ));
    }
    for (asked, option) in [
        (args.judge, "--judge"),
        (args.explain_method, "--explain-method"),
        // merge reads a shard back exactly only from CSV (Parquet reads `0.0` as 0).
        (args.shard.is_some(), "--shard"),
    ] {
        if asked && ext != "csv" {
            return Err(format!(
                "bcfmon compute: {option} writes CSV; give --out a .csv name"
            ));
        }
    }
    if args.shard.is_some() && args.out.is_none() {
        return Err("bcfmon compute: --shard needs --out (the shard's results file, with its ledger and a note for merge beside it)".into());
    }
    let note_path = args
        .out
        .filter(|_| args.shard.is_some())
        .map(crate::shard::note_path);
    if let Some(note) = &note_path {
        inputs
            .check_file(note, "the shard's note beside --out,", FILE_HINT)
            .map_err(who)?;
    }
    let run = crate::pipeline::run(
        args.root,
        programme,
        args.period,
        args.all,
        args.shard,
        "compute",
    )?;
    for n in &run.notes {
        eprintln!("bcfmon compute: note: {n}");
    }
    // The ledger's text, when made beside the results (below).
    let (bytes, ledger_text) = if args.explain_method {
        let (gap, notes) = run
            .explain_method(args.all)
            .map_err(|e| format!("bcfmon compute: {e}; nothing was written"))?;
        for n in notes {
            eprintln!("bcfmon compute: note: {n}");
        }
        let columns = crate::metrics::gap_columns();
        let mut table = Table::new(&columns);
        for g in &gap {
            table.push(g.cells());
        }
        (table.to_csv().into_bytes(), None)
    } else if args.judge {
        let mut table = Table::new(crate::judge::JUDGED_COLUMNS);
        for j in &run.judged() {
            table.push(j.cells(&run.programme.settings.wording));
        }
        (table.to_csv().into_bytes(), None)
    } else {
        // The ledger's text is made while the results render (each was the run's one-core
        // tail in turn); neither is written until both are made.
        let (bytes, ledger) = rayon::join(
            || render(&run.rows, &ext),
            || dq_path.as_ref().map(|_| run.ledger.to_csv()),
        );
        (bytes?, ledger)
    };
    match args.out {
        Some(out) => write_atomic(out, &bytes).map_err(who)?,
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    if let Some(dq) = &dq_path {
        let text = ledger_text.unwrap_or_else(|| run.ledger.to_csv());
        write_atomic(dq, text.as_bytes()).map_err(who)?;
    }
    if let (Some(shard), Some(note), Some(out), Some(dq)) =
        (args.shard, &note_path, args.out, &dq_path)
    {
        let mut areas: Vec<String> = run.rows.iter().map(|r| r.area_code.clone()).collect();
        areas.sort();
        areas.dedup();
        // The ledger as the note names it: beside the results by name, else in full.
        let ledger = if resolve(dq).parent() == resolve(out).parent() {
            PathBuf::from(dq.file_name().unwrap_or_default())
        } else {
            resolve(dq)
        };
        let text = crate::shard::Note {
            shard,
            areas,
            ledger,
        }
        .to_toml();
        write_atomic(note, text.as_bytes()).map_err(who)?;
    }
    if let Some(note) = crate::extract::all::absent_note(&run.data.absent) {
        eprintln!("bcfmon compute: note: {note}");
    }
    let failures = run
        .ledger
        .failures(run.programme.settings.max_reject_rate, args.strict);
    // The process ends with this command.
    for problem in run.leave_to_exit() {
        eprintln!("bcfmon compute: warning: {problem}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bcfmon compute: {}",
            failures.join("\nbcfmon compute: ")
        ))
    }
}
