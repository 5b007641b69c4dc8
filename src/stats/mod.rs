//! Statistics as pure functions on plain slices (no polars): Making Data Count XmR SPC and
//! confidence intervals, specified in methods.md and tested against the reference results.

pub(crate) mod ci;
pub(crate) mod spc;
