//! One module per command; each returns `Err(message)` for exit status 1.

pub(crate) mod check;
pub(crate) mod compute;
pub(crate) mod merge;
pub(crate) mod metrics;
pub(crate) mod new_scheme;
pub(crate) mod report;
pub(crate) mod stats;
pub(crate) mod synth;
