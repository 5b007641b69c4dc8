//! `bcfmon merge`: one results table and one ledger from the shards of `compute --all
//! --shard K/N`, byte-identical to a single `compute --all` (the rules are `shard::merge`'s).

use crate::metrics::COLUMNS;
use crate::output::{resolve, write_atomic};
use crate::table::Table;
use std::path::{Path, PathBuf};

pub(crate) fn run(
    out: &Path,
    data_quality: Option<&Path>,
    shards: &[PathBuf],
) -> Result<(), String> {
    let who = |e: String| format!("bcfmon merge: {e}");
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(ext.as_str(), "csv" | "json" | "parquet") {
        return Err(who(format!(
            "--out must end in .csv, .parquet or .json, not {}",
            out.display()
        )));
    }
    let dq = data_quality.map_or_else(|| out.with_file_name("data_quality.csv"), Path::to_path_buf);
    // No output may be an input: a shard's results, its note or its ledger, nor the other output.
    let mut inputs: Vec<PathBuf> = Vec::new();
    for s in shards {
        inputs.push(resolve(s));
        let note = crate::shard::note_path(s);
        if let Ok(n) = crate::shard::Note::read(&note) {
            let ledger = if n.ledger.is_absolute() {
                n.ledger
            } else {
                s.parent().unwrap_or(Path::new(".")).join(n.ledger)
            };
            inputs.push(resolve(&ledger));
        }
        inputs.push(resolve(&note));
    }
    for (path, option) in [(out, "--out"), (dq.as_path(), "the ledger")] {
        if inputs.contains(&resolve(path)) {
            return Err(who(format!("{option} {} is one of the shards' files, an input: bcfmon never writes over its inputs; nothing was written", path.display())));
        }
    }
    if resolve(out) == resolve(&dq) {
        return Err(who(format!(
            "--out and the ledger are both {}; nothing was written",
            out.display()
        )));
    }
    let merged = crate::shard::merge(shards).map_err(who)?;
    let mut table = Table::new(COLUMNS);
    for row in &merged.rows {
        table.push(row.clone());
    }
    let bytes = match ext.as_str() {
        "json" => table.to_json().map_err(who)?,
        "parquet" => table.to_parquet().map_err(who)?,
        _ => table.to_csv().into_bytes(),
    };
    write_atomic(out, &bytes).map_err(who)?;
    write_atomic(&dq, &merged.ledger).map_err(who)?;
    eprintln!(
        "bcfmon merge: {} shards, {} areas, {} rows: {}",
        shards.len(),
        merged.areas,
        merged.rows.len(),
        out.display()
    );
    Ok(())
}
