//! `bcfmon synth`: writes a synthetic set of every extract, deterministic for a seed.

use crate::output::Inputs;
use crate::synth::{generate, Options};
use chrono::NaiveDate;
use std::path::Path;

pub(crate) struct Args<'a> {
    pub people: usize,
    pub seed: u64,
    pub out: &'a Path,
    pub root: &'a Path,
    pub parquet: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Overwrite files a previous synth wrote (never an input).
    pub force: bool,
    /// How many areas the people are spread over.
    pub areas: usize,
}

pub(crate) fn run(args: &Args<'_>) -> Result<(), String> {
    // The programme, when there is one, gives the area, the schemes and partners for the
    // finance rows, the peers, and the years to cover (the latest plan year and the one before).
    let programme = crate::config::load(args.root).ok();
    let latest_fy = programme.as_ref().and_then(|p| {
        p.schemes
            .iter()
            .flat_map(|s| s.finance.iter().map(|f| f.financial_year))
            .max()
    });
    let from = args
        .from
        .or(latest_fy.map(|fy| crate::period::FinancialYear(fy.0 - 1).start()))
        .unwrap_or(NaiveDate::from_ymd_opt(2023, 4, 1).expect("date"));
    let to = args
        .to
        .or(latest_fy.map(|fy| fy.end()))
        .unwrap_or(NaiveDate::from_ymd_opt(2025, 3, 31).expect("date"));
    if to <= from {
        return Err(format!(
            "bcfmon synth: --to {to} is not after --from {from}"
        ));
    }
    let area = programme
        .as_ref()
        .map(|p| p.settings.area.code.clone())
        .unwrap_or_else(|| "E06000099".into());
    let opts = Options {
        people: args.people,
        seed: args.seed,
        out: args.out.to_path_buf(),
        parquet: args.parquet,
        area,
        areas: args.areas,
        from,
        to,
    };
    // Every file is checked before any is written: never an input, never a file that is
    // there already unless --force.
    let inputs = Inputs::of(args.root, programme.as_ref().map(|p| &p.settings), None);
    if args.out.exists() && !args.out.is_dir() {
        return Err(format!(
            "bcfmon synth: --out {} is a file, not a folder; nothing was written",
            args.out.display()
        ));
    }
    let mut present = Vec::new();
    for path in crate::synth::files(&opts) {
        inputs
            .check_file(
                &path,
                "the synthetic file",
                "synth into a new folder, then move the files yourself if you mean to replace the extracts",
            )
            .map_err(|e| format!("bcfmon synth: {e}"))?;
        if path.exists() {
            present.push(path.display().to_string());
        }
    }
    if !present.is_empty() && !args.force {
        return Err(format!(
            "bcfmon synth: {} already exist{}; nothing was written\n  hint: give a new folder, or --force to overwrite files a previous synth wrote",
            present.join(", "),
            if present.len() == 1 { "s" } else { "" }
        ));
    }
    let written = generate(&opts, programme.as_ref()).map_err(|e| format!("bcfmon synth: {e}"))?;
    for (path, rows) in written {
        eprintln!("bcfmon synth: wrote {} ({rows} rows)", path.display());
    }
    Ok(())
}
