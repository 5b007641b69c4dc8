//! One module per command; each returns `Err(message)` for exit status 1.

pub mod check;
pub mod compute;
pub mod metrics;
pub mod new_scheme;
pub mod report;
pub mod stats;
pub mod synth;
