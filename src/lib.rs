//! bcfmon: monitors Better Care Fund and Section 75 pooled-budget schemes — configuration,
//! metrics, statistics, judgement and the board pack.
//!
//! The binary is the product: `cli::run` is its entry point. The stages, in the order a run
//! passes through them, are `config` (schemes and programme.toml into trusted types),
//! `extract` (the extracts validated into a ledger), `metrics` (the engine), `judge`,
//! `finance` and `report` (the pack), joined by `pipeline`; `output` decides where anything
//! may be written. `api` is the small surface other Rust code (and the tests) may call.

mod catalogue;
pub mod cli;
mod commands;
mod config;
mod contract;
mod diag;
mod extract;
mod finance;
mod judge;
mod local;
mod method;
mod metrics;
mod money;
mod output;
mod period;
mod pipeline;
mod programme;
mod report;
mod rounding;
mod shard;
mod stats;
mod synth;
mod table;

/// What code outside bcfmon may call: the metric catalogue, and the extracts of a programme
/// read as `check` reads them.
pub mod api {
    pub use crate::catalogue::{MetricDef, Param, Polarity, Unit};
    pub use crate::extract::FileSummary;
    pub use crate::metrics::catalogue::{Metric, CATALOGUE};

    /// Reads the programme under `root` and every extract it names or has in `data/`, as
    /// `check` does: each file's row counts, or every message that stopped the reading (a
    /// scheme problem, a configured extract that is not there).
    pub fn read_extracts(root: &std::path::Path) -> Result<Vec<FileSummary>, Vec<String>> {
        let programme = crate::config::load(root)
            .map_err(|d| d.iter().map(|d| d.to_string()).collect::<Vec<_>>())?;
        let mut ledger = crate::extract::Ledger::default();
        crate::extract::all::load_all(
            root,
            &programme,
            &mut ledger,
            crate::metrics::catalogue::definition,
        )?;
        Ok(ledger.files)
    }
}
