//! `bcfmon report`: builds the board pack and puts it in place atomically — written into a
//! folder beside the target, then renamed over it, so a failed run leaves the old pack as it was;
//! only a missing or empty folder, or a pack bcfmon wrote, is ever replaced (`output`).

use crate::output::{write_pack, Inputs};
use crate::period::Month;
use crate::pipeline::load_programme;
use std::path::{Path, PathBuf};

pub(crate) struct Args<'a> {
    pub root: &'a Path,
    pub period: Option<&'a str>,
    pub out: Option<&'a Path>,
    pub templates: Option<&'a Path>,
}

pub(crate) fn run(args: &Args<'_>) -> Result<(), String> {
    let who = |e: String| format!("bcfmon report: {e}");
    let programme = load_programme(args.root, "report")?;
    let inputs = Inputs::of(args.root, Some(&programme.settings), args.templates);
    // A given --out is checked before any work; the default (named by the month) when written.
    if let Some(out) = args.out {
        inputs.check_pack(out, "--out").map_err(who)?;
    }
    let prep = crate::pipeline::run(args.root, programme, args.period, false, "report")?;
    let month: Month = prep.month.ok_or(
        "bcfmon report: the extracts cover no complete month; give --period yyyy-mm".to_string(),
    )?;
    for n in &prep.notes {
        eprintln!("bcfmon report: note: {n}");
    }
    let files = crate::report::build(&prep, month, args.templates)
        .map_err(|e| format!("bcfmon report: {e}"))?;
    let out: PathBuf = args
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| args.root.join("out").join(month.to_string()));
    let what = if args.out.is_some() {
        "--out"
    } else {
        "the pack folder"
    };
    write_pack(&out, what, &files, &inputs).map_err(who)?;
    let pages = files.keys().filter(|k| k.ends_with(".html")).count();
    println!(
        "bcfmon report: {} ({} pages, {} files) for {}",
        out.display(),
        pages,
        files.len(),
        crate::report::month_words(month)
    );
    if let Some(note) = crate::extract::all::absent_note(&prep.data.absent) {
        eprintln!("bcfmon report: note: {note}");
    }
    let failures = prep
        .ledger
        .failures(prep.programme.settings.max_reject_rate, false);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bcfmon report: the pack was written, but {}",
            failures.join("\nbcfmon report: ")
        ))
    }
}
