//! Command bodies of the `satpam` binary.

pub mod auth;
pub mod compliance;
pub mod config_check;
pub mod demo;
pub mod eval;
pub mod health;
pub mod load;
pub mod logging;
pub mod policy;
pub mod progress;
pub mod replay;
pub mod report;
pub mod rules;
pub mod rules_diff;
pub mod serve;
pub mod trace_ids;
