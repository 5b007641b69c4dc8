//! Shards of a many-area run (issue 17): which areas shard K of N computes, by a stable
//! assignment of area codes, and the note a shard leaves beside its results so that `merge`
//! can prove the shards are all there, each once, from the same data.

use std::path::{Path, PathBuf};

/// Shard `k` of `n` (1 ≤ k ≤ n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub k: u32,
    pub n: u32,
}

impl Shard {
    /// Reads `K/N`, as `--shard 2/4`.
    pub(crate) fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. 2/4");
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// Whether the shard computes this area: the 64-bit FNV-1a hash of the area code's
    /// bytes, modulo N, plus one, is K. The assignment depends on the code alone, so it is
    /// the same whichever areas the data holds and on every machine.
    pub(crate) fn holds(&self, area: &str) -> bool {
        fnv1a(area.as_bytes()) % u64::from(self.n) + 1 == u64::from(self.k)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// FNV-1a, 64 bits (Fowler, Noll and Vo): small, fixed and documented, so the assignment of
/// areas to shards can be reproduced anywhere.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What a shard's results file carries beside it (`<results>.shard`): which shard it is,
/// the areas it computed and where its ledger is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub shard: Shard,
    pub areas: Vec<String>,
    /// The ledger compute wrote for the shard, as written in the note (relative to the
    /// note's folder unless absolute).
    pub ledger: PathBuf,
}

/// The note's path for a results file: `<results>.shard`.
pub(crate) fn note_path(results: &Path) -> PathBuf {
    let mut name = results.file_name().unwrap_or_default().to_os_string();
    name.push(".shard");
    results.with_file_name(name)
}

impl Note {
    /// The note as written: a small TOML file a person can read.
    pub(crate) fn to_toml(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let areas: Vec<String> = self.areas.iter().map(|a| quote(a)).collect();
        format!(
            "# Written by bcfmon compute --shard; bcfmon merge reads it.\nshard = {}\nledger = {}\nareas = [{}]\n",
            quote(&self.shard.to_string()),
            quote(&self.ledger.display().to_string()),
            areas.join(", ")
        )
    }

    /// Reads a note, naming the file in any error.
    pub(crate) fn read(path: &Path) -> Result<Note, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the shard's note: {e}", path.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| format!("{}: not a shard's note: {e}", path.display()))?;
        let field = |key: &str| {
            table
                .get(key)
                .ok_or_else(|| format!("{}: the shard's note has no `{key}`", path.display()))
        };
        let shard = field("shard")?
            .as_str()
            .ok_or_else(|| format!("{}: `shard` is not text", path.display()))
            .and_then(|s| Shard::parse(s).map_err(|e| format!("{}: {e}", path.display())))?;
        let ledger = PathBuf::from(
            field("ledger")?
                .as_str()
                .ok_or_else(|| format!("{}: `ledger` is not text", path.display()))?,
        );
        let areas = field("areas")?
            .as_array()
            .ok_or_else(|| format!("{}: `areas` is not a list", path.display()))?
            .iter()
            .map(|a| {
                a.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{}: an area is not text", path.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            shard,
            areas,
            ledger,
        })
    }
}

/// One run's results and ledger, merged from its shards.
pub(crate) struct Merged {
    /// The result rows, as cells in `metrics::COLUMNS` order, sorted as a single run sorts
    /// them.
    pub rows: Vec<Vec<String>>,
    /// The ledger every shard wrote (they are the same, or `merge` refuses).
    pub ledger: Vec<u8>,
    pub areas: usize,
}

/// Merges the shards of one `compute --all --shard K/N` run into what a single `compute
/// --all` writes: every shard 1..N must be there once, all from the same data (their
/// ledgers are byte-identical, since every shard reads every row), each holding only its
/// own areas. The rows are sorted as a single run sorts them, and a metric no area could
/// compute is left out, as `--all` leaves it out.
pub(crate) fn merge(shards: &[PathBuf]) -> Result<Merged, String> {
    use crate::metrics::{ResultStatus, COLUMNS};
    let mut notes = Vec::with_capacity(shards.len());
    for path in shards {
        let note = Note::read(&note_path(path)).map_err(|e| {
            format!("{e}\n  hint: give the results files that compute --all --shard K/N wrote; each has its note ({}) beside it", note_path(path).display())
        })?;
        notes.push((path, note));
    }
    let Some((first, first_note)) = notes.first() else {
        return Err("no shards given".into());
    };
    let n = first_note.shard.n;
    let mut holder: Vec<Option<&Path>> = vec![None; n as usize];
    for (path, note) in &notes {
        if note.shard.n != n {
            return Err(format!(
                "{} is shard {} but {} is shard {}: they are not of one run; nothing was written",
                path.display(),
                note.shard,
                first.display(),
                first_note.shard
            ));
        }
        let slot = &mut holder[note.shard.k as usize - 1];
        if let Some(other) = slot {
            return Err(format!(
                "{} and {} are both shard {}; nothing was written",
                other.display(),
                path.display(),
                note.shard
            ));
        }
        *slot = Some(path.as_path());
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| holder[*k as usize - 1].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard{} {} missing: every shard of the run is needed; nothing was written",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ));
    }
    let ledger_of = |path: &Path, note: &Note| {
        let at = if note.ledger.is_absolute() {
            note.ledger.clone()
        } else {
            path.parent().unwrap_or(Path::new(".")).join(&note.ledger)
        };
        std::fs::read(&at)
            .map(|bytes| (at.clone(), bytes))
            .map_err(|e| format!("{}: cannot read the shard's ledger: {e}", at.display()))
    };
    let (first_ledger, ledger) = ledger_of(first, first_note)?;
    let column = |name: &str| {
        COLUMNS
            .iter()
            .position(|c| c.name == name)
            .expect("a results column")
    };
    let (area, metric, window, end, status) = (
        column("area_code"),
        column("metric"),
        column("window"),
        column("period_end"),
        column("status"),
    );
    let mut rows = Vec::new();
    let mut areas = 0;
    for (path, note) in &notes {
        let (at, bytes) = ledger_of(path, note)?;
        if bytes != ledger {
            return Err(format!(
                "{}'s ledger {} differs from {}'s {}: the shards were computed from different data or programmes; nothing was written",
                path.display(),
                at.display(),
                first.display(),
                first_ledger.display()
            ));
        }
        for row in crate::table::read_csv(path, COLUMNS)? {
            let a = &row[area];
            if !note.shard.holds(a) || !note.areas.contains(a) {
                return Err(format!(
                    "{}: area {a} is not one of shard {}'s; nothing was written",
                    path.display(),
                    note.shard
                ));
            }
            rows.push(row);
        }
        areas += note.areas.len();
    }
    rows.sort_by(|x, y| {
        (&x[area], &x[metric], &x[window], &x[end])
            .cmp(&(&y[area], &y[metric], &y[window], &y[end]))
    });
    let not_computable = ResultStatus::NotComputable.as_str();
    let computable: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r[status] != not_computable)
        .map(|r| r[metric].clone())
        .collect();
    rows.retain(|r| computable.contains(&r[metric]));
    Ok(Merged {
        rows,
        ledger,
        areas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of FNV-1a 64 (Noll's reference): "" and "a".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_area_is_in_exactly_one_shard() {
        let areas = ["E06000099", "E08000033", "E06990001", "E06990002", ""];
        for n in 1..=5 {
            for a in areas {
                let holders = (1..=n).filter(|&k| Shard { k, n }.holds(a)).count();
                assert_eq!(holders, 1, "{a} in {n} shards");
            }
        }
        assert_eq!(Shard::parse("2/4"), Ok(Shard { k: 2, n: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_note_reads_back_as_written() {
        let note = Note {
            shard: Shard { k: 2, n: 3 },
            areas: vec!["E06000099".into(), "E0699\"x".into()],
            ledger: PathBuf::from("data_quality.csv"),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.shard");
        std::fs::write(&path, note.to_toml()).unwrap();
        assert_eq!(Note::read(&path), Ok(note));
    }
}
