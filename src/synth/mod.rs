//! `bcfmon synth`: a deterministic generator of every extract in the data contract, realistic
//! enough to exercise every metric rule, with a few bad rows of each kind the contract names.
//! The same seed and options always give byte-identical files.

mod benchmarks;
mod chc;
mod events;
mod finance;
mod population;
mod safeguarding;

use crate::period::FinancialYear;
use crate::programme::Programme;
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::io::Write;
use std::path::{Path, PathBuf};

/// SplitMix64: small, fast and stable across platforms and crate versions, which keeps the
/// shipped example byte-identical from release to release.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in [lo, hi].
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1).max(1) as u64)) as i64
    }
    /// Picks by weight.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = (self.next_u64() % total as u64) as u32;
        for (t, w) in items {
            if x < *w {
                return *t;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

/// Writes one extract as CSV or Parquet, in batches so memory stays flat.
struct Table {
    header: Vec<&'static str>,
    path: PathBuf,
    parquet: bool,
    csv: Option<std::io::BufWriter<std::fs::File>>,
    batch: Vec<Vec<Option<String>>>,
    writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    rows: usize,
}

impl Table {
    /// A new file for extract `name` with the contract's header, less the columns in `omit`
    /// (optional columns synth does not generate).
    fn create(dir: &Path, name: &str, omit: &[&str], parquet: bool) -> Result<Table, String> {
        let header = crate::contract::header_without(name, omit);
        let path = file_path(dir, name, parquet);
        let file = crate::output::create_partial(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut t = Table {
            header: header.clone(),
            path,
            parquet,
            csv: None,
            batch: vec![Vec::new(); header.len()],
            writer: None,
            rows: 0,
        };
        if parquet {
            let schema: Schema = header
                .iter()
                .map(|h| Field::new((*h).into(), DataType::String))
                .collect();
            t.writer = Some(
                ParquetWriter::new(file)
                    .batched(&schema)
                    .map_err(|e| e.to_string())?,
            );
        } else {
            let mut w = std::io::BufWriter::new(file);
            w.write_all(header.join(",").as_bytes())
                .and_then(|_| w.write_all(b"\n"))
                .map_err(|e| e.to_string())?;
            t.csv = Some(w);
        }
        Ok(t)
    }

    fn row(&mut self, cells: Vec<String>) -> Result<(), String> {
        self.rows += 1;
        if let Some(w) = &mut self.csv {
            let line = crate::table::csv_line(&cells);
            return w.write_all(line.as_bytes()).map_err(|e| e.to_string());
        }
        for (col, v) in self.batch.iter_mut().zip(cells) {
            col.push(if v.is_empty() { None } else { Some(v) });
        }
        if self.batch[0].len() >= 200_000 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(w) = &mut self.writer else {
            return Ok(());
        };
        if self.batch[0].is_empty() {
            return Ok(());
        }
        let columns: Vec<Column> = self
            .header
            .iter()
            .zip(self.batch.iter_mut())
            .map(|(h, v)| Column::new((*h).into(), std::mem::take(v)))
            .collect();
        let df = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
        w.write_batch(&df).map_err(|e| e.to_string())
    }

    fn finish(mut self) -> Result<(PathBuf, usize), String> {
        self.flush()?;
        if let Some(w) = &self.writer {
            w.finish().map_err(|e| e.to_string())?;
        }
        if let Some(mut w) = self.csv.take() {
            w.flush().map_err(|e| e.to_string())?;
        }
        let _ = self.parquet;
        Ok((self.path, self.rows))
    }
}

fn d(x: NaiveDate) -> String {
    x.format("%Y-%m-%d").to_string()
}

/// One event row, by field.
#[derive(Default, Clone)]
struct Ev {
    client: &'static str,
    event: &'static str,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    outcome: &'static str,
    assessment: &'static str,
    service: &'static str,
    component: &'static str,
    mechanism: &'static str,
    review: &'static str,
}

/// What `synth` makes.
pub(crate) struct Options {
    pub people: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub parquet: bool,
    /// The programme's area: the first of `areas`, and the one the deliberate bad rows,
    /// finance and benchmarks are for.
    pub area: String,
    /// How many areas the people are spread over (1: the programme's area alone).
    pub areas: usize,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The extracts synth writes, in the order it writes them.
const WRITTEN: [&str; 7] = [
    "events",
    "discharges",
    "safeguarding",
    "chc",
    "population",
    "finance",
    "benchmarks",
];

fn file_path(dir: &Path, name: &str, parquet: bool) -> PathBuf {
    dir.join(format!(
        "{name}.{}",
        if parquet { "parquet" } else { "csv" }
    ))
}

/// Every file `generate` writes for `opts`.
pub(crate) fn files(opts: &Options) -> Vec<PathBuf> {
    WRITTEN
        .iter()
        .map(|n| file_path(&opts.out, n, opts.parquet))
        .collect()
}

/// Generates every extract into `opts.out`; returns (file, rows) per extract. Each file is
/// written beside its final name and renamed into place only when all are complete, so a
/// failed run leaves no half-written extract.
pub(crate) fn generate(
    opts: &Options,
    programme: Option<&Programme>,
) -> Result<Vec<(PathBuf, usize)>, String> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let written = write_all(opts, programme).and_then(|written| {
        for (path, _) in &written {
            std::fs::rename(crate::output::partial_path(path), path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(written)
    });
    if written.is_err() {
        for path in files(opts) {
            let _ = std::fs::remove_file(crate::output::partial_path(&path));
        }
    }
    written
}

/// What every extract's generator shares: the options, the programme, and the days.
pub(super) struct Context<'a> {
    pub(super) opts: &'a Options,
    pub(super) programme: Option<&'a Programme>,
}

impl Context<'_> {
    /// Days from `from` to `to`.
    fn span(&self) -> i64 {
        (self.opts.to - self.opts.from).num_days()
    }

    /// The area of the k-th person (or concern, or referral): the areas take turns, the
    /// programme's first, then E06990001, E06990002, … (codes no real area has).
    fn area(&self, k: usize) -> String {
        match k % self.opts.areas.max(1) {
            0 => self.opts.area.clone(),
            i => format!("E0699{i:04}"),
        }
    }

    /// Every area, in turn order.
    fn areas(&self) -> Vec<String> {
        (0..self.opts.areas.max(1)).map(|k| self.area(k)).collect()
    }

    /// A day between `lo` and `hi` days after `from`, kept within the span.
    fn day(&self, rng: &mut Rng, lo: i64, hi: i64) -> NaiveDate {
        self.opts.from + chrono::Duration::days(rng.range(lo.max(0), hi.min(self.span())))
    }
}

fn write_all(
    opts: &Options,
    programme: Option<&Programme>,
) -> Result<Vec<(PathBuf, usize)>, String> {
    let mut rng = Rng::new(opts.seed);
    let cx = Context { opts, programme };
    // One random sequence through every extract, in this order, so a seed gives the same files.
    let mut out = events::events_and_discharges(&cx, &mut rng)?;
    out.push(safeguarding::safeguarding(&cx, &mut rng)?);
    out.push(chc::chc(&cx, &mut rng)?);
    out.push(population::population(&cx)?);
    out.push(finance::finance(&cx, &mut rng)?);
    out.push(benchmarks::benchmarks(&cx, &mut rng)?);
    Ok(out)
}
