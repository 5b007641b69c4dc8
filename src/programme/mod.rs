//! The programme bcfmon monitors, as the rest of bcfmon trusts it: the shared settings of
//! `programme.toml` and every scheme with its finance and KPIs. `config` reads and validates
//! the TOML into these types; everything after it reads only them.

pub(crate) mod scheme;

pub(crate) use scheme::{LocalMetric, Scheme};

use crate::period::vocabulary;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::PathBuf;

vocabulary! {
    /// The kind of organisation a partner is: the council or an NHS body.
    pub(crate) PartnerKind {
        LocalAuthority = "local-authority",
        Nhs = "nhs",
    }
}

vocabulary! {
    /// The file format of an extract (otherwise taken from its extension).
    pub(crate) Format {
        Csv = "csv",
        Parquet = "parquet",
    }
}

vocabulary! {
    /// The character encoding of a CSV extract: UTF-8 (the contract's), Windows-1252 (a CSV
    /// saved from Excel) or UTF-16 (a SQL Server "Unicode" export; little-endian unless a
    /// byte-order mark says otherwise). A byte-order mark in the file always wins.
    pub(crate) Encoding {
        Utf8 = "utf-8",
        Windows1252 = "windows-1252",
        Utf16 = "utf-16",
    }
}

vocabulary! {
    /// How dates are written in a CSV extract (data-contract.md §0.3).
    pub(crate) DateFormat {
        Iso = "yyyy-mm-dd",
        DayMonthYear = "dd/mm/yyyy",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Area {
    pub name: String,
    /// ONS 9-character GSS code, e.g. `E08000033`.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partner {
    pub id: String,
    pub name: String,
    pub kind: PartnerKind,
}

/// Where one extract lives and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataSource {
    pub path: PathBuf,
    pub format: Option<Format>,
    pub date_format: DateFormat,
    pub encoding: Encoding,
    /// Where `path` is written in programme.toml (line, column), for messages about the file.
    pub path_at: (usize, usize),
    pub coverage_start: Option<NaiveDate>,
    pub coverage_end: Option<NaiveDate>,
}

/// The small-number rule for board-facing pages: counts from 1 to `max_count` are shown
/// as `*` and figures derived from them are suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disclosure {
    pub max_count: u32,
    pub marker: String,
}

/// The words the board uses for each target status (methods.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wording {
    pub on_track: String,
    pub at_risk: String,
    pub not_on_track: String,
    pub no_data: String,
}

/// Finance variance thresholds, in percent of plan: within `on_track_pct` is on track,
/// beyond `not_on_track_pct` is not on track, in between at risk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FinanceThresholds {
    pub on_track_pct: rust_decimal::Decimal,
    pub not_on_track_pct: rust_decimal::Decimal,
}

/// A comparator area of `[benchmarking] peers`: its ONS code, and the name the board reads
/// (when programme.toml gives none, the benchmarks extract's `Area_Name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    pub code: String,
    pub name: Option<String>,
}

/// The validated `programme.toml`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub title: String,
    pub area: Area,
    pub partners: Vec<Partner>,
    pub data: BTreeMap<String, DataSource>,
    pub peers: Vec<Peer>,
    pub disclosure: Disclosure,
    pub wording: Wording,
    pub finance: FinanceThresholds,
    pub bank_holidays: Vec<NaiveDate>,
    pub max_reject_rate: f64,
    /// `[metrics] method`: the ASCOF method (default `bcfmon`), overridden by `--method`.
    pub method: crate::method::Method,
}

impl Settings {
    pub(crate) fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.id == id)
    }

    /// The peer of this code, if it is one.
    pub(crate) fn peer(&self, code: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.code == code)
    }
}

/// The validated programme: shared settings and every scheme.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Programme {
    pub root: PathBuf,
    pub settings: Settings,
    pub schemes: Vec<Scheme>,
}

impl Programme {
    /// Every local metric declared in any scheme.
    pub(crate) fn local_metrics(&self) -> impl Iterator<Item = &LocalMetric> {
        self.schemes.iter().flat_map(|s| s.metrics.iter())
    }
}
