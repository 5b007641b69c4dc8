//! `bcfmon report`: builds the board pack and puts it in place atomically — written into a
//! folder beside the target, then renamed over it, so a failed run leaves the old pack as it was.

use super::compute::{failures, prepare};
use crate::period::Month;
use std::path::{Path, PathBuf};

pub struct Args<'a> {
    pub root: &'a Path,
    pub period: Option<&'a str>,
    pub out: Option<&'a Path>,
    pub templates: Option<&'a Path>,
}

pub fn run(args: &Args<'_>) -> Result<(), String> {
    let prep = prepare(args.root, args.period, false, "report")?;
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
    write_pack(&out, &files).map_err(|e| format!("bcfmon report: {e}"))?;
    let pages = files.keys().filter(|k| k.ends_with(".html")).count();
    println!(
        "bcfmon report: {} ({} pages, {} files) for {}",
        out.display(),
        pages,
        files.len(),
        crate::report::month_words(month)
    );
    let failures = failures(&prep.ledger, prep.programme.settings.max_reject_rate, false);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bcfmon report: the pack was written, but {}",
            failures.join("\nbcfmon report: ")
        ))
    }
}

/// Writes every file into `.<name>.building` beside `out`, then swaps it into place.
pub fn write_pack(out: &Path, files: &crate::report::Files) -> Result<(), String> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: not a folder name", out.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let building = parent.join(format!(".{name}.building"));
    let old = parent.join(format!(".{name}.old"));
    for stale in [&building, &old] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(|e| format!("{}: {e}", stale.display()))?;
        }
    }
    let write_all = || -> Result<(), String> {
        for (rel, bytes) in files {
            let path = building.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(e);
    }
    if out.exists() {
        std::fs::rename(out, &old).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    if let Err(e) = std::fs::rename(&building, out) {
        // Put the old pack back.
        let _ = std::fs::rename(&old, out);
        return Err(format!("{}: {e}", out.display()));
    }
    if old.exists() {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}
