//! `bcfmon report`: builds the board pack and puts it in place atomically — written into a
//! folder beside the target, then renamed over it, so a failed run leaves the old pack as it was;
//! only a missing or empty folder, or a pack bcfmon wrote, is ever replaced (`output`).

use crate::output::{write_pack, Inputs};
use crate::period::Month;
use crate::pipeline::load_programme;
use crate::report::Previous;
use std::path::{Path, PathBuf};

pub(crate) struct Args<'a> {
    pub root: &'a Path,
    pub period: Option<&'a str>,
    pub out: Option<&'a Path>,
    pub templates: Option<&'a Path>,
    pub previous: Option<&'a Path>,
    pub from: Option<&'a str>,
    pub require_fresh: bool,
    pub method: Option<crate::method::Method>,
}

pub(crate) fn run(args: &Args<'_>) -> Result<(), String> {
    let who = |e: String| format!("bcfmon report: {e}");
    let mut programme = load_programme(args.root, "report")?;
    if let Some(m) = args.method {
        programme.settings.method = m;
    }
    let inputs = Inputs::of(args.root, Some(&programme.settings), args.templates);
    // A given --out is checked before any work; the default (named by the month) when written.
    if let Some(out) = args.out {
        inputs.check_pack(out, "--out").map_err(who)?;
    }
    let prep = crate::pipeline::run(args.root, programme, args.period, false, None, "report")?;
    let month: Month = prep.month.ok_or(
        "bcfmon report: the extracts cover no complete month; give --period yyyy-mm".to_string(),
    )?;
    for n in &prep.notes {
        eprintln!("bcfmon report: note: {n}");
    }
    // With --from, every month from it to the pack's month, each compared with the one
    // before; otherwise the one month.
    let months = match args.from {
        Some(from) => {
            let first = crate::period::parse_month(from).map_err(who)?;
            if first > month {
                return Err(who(format!(
                    "--from {first} is after the pack's month, {month}"
                )));
            }
            crate::period::months_between(first, month)
        }
        None => vec![month],
    };
    let judged = prep.judged();
    let mut stale = Vec::new();
    for (i, &m) in months.iter().enumerate() {
        let out: PathBuf = args
            .out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| args.root.join("out").join(m.to_string()));
        let given = if i == 0 { args.previous } else { None };
        let previous = previous_pack(given, &out, m, &prep.programme.settings)?;
        let built =
            crate::report::build(&prep, &judged, m, args.templates, &previous).map_err(who)?;
        let files = built.files;
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
            crate::report::month_words(m)
        );
        stale = built.stale;
    }
    if let Some(note) = crate::extract::all::absent_note(&prep.data.absent) {
        eprintln!("bcfmon report: note: {note}");
    }
    let mut failures = prep
        .ledger
        .failures(prep.programme.settings.max_reject_rate, false);
    if args.require_fresh {
        failures.extend(stale.iter().map(|s| format!("out of date: {s}")));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bcfmon report: the pack was written, but {}",
            failures.join("\nbcfmon report: ")
        ))
    }
}

/// The pack to compare with: `--previous` (which must hold a bcfmon pack), else the previous
/// month's folder beside the output when it holds one, else none.
fn previous_pack(
    given: Option<&Path>,
    out: &Path,
    month: Month,
    settings: &crate::programme::Settings,
) -> Result<Previous, String> {
    let dir = match given {
        Some(d) => d.to_path_buf(),
        None => crate::report::changes::previous_beside(out, month),
    };
    match crate::report::changes::read_pack(&dir, settings)
        .map_err(|e| format!("bcfmon report: {e}"))?
    {
        Some((m, snapshot)) if m < month => Ok(Previous::Pack { month: m, snapshot }),
        Some((m, _)) if given.is_some() => Err(format!(
            "bcfmon report: --previous {} is the pack for {m}, which is not before {month}",
            dir.display()
        )),
        None if given.is_some() => Err(format!(
            "bcfmon report: --previous {} holds no bcfmon pack with a summary.csv",
            dir.display()
        )),
        _ => Ok(Previous::None),
    }
}
