//! bcfmon: monitors Better Care Fund and Section 75 pooled-budget schemes — configuration,
//! metrics, statistics, judgement and the board pack.

pub mod catalogue;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contract;
pub mod diag;
pub mod extract;
pub mod finance;
pub mod judge;
pub mod local;
pub mod metrics;
pub mod money;
pub mod output;
pub mod period;
pub mod pipeline;
pub mod report;
pub mod rounding;
pub mod stats;
pub mod synth;
pub mod table;
