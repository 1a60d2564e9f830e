//! `satpam serve`: the engine as a service.
pub mod config;
pub mod reload;
pub mod shards;
pub mod pipeline;
pub mod admin;
pub mod watch;
pub mod http;
pub mod run;

pub use config::Config;
pub use run::{start, RunningService};
