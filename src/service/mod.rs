//! `satpam serve`: the engine as a service.
pub mod account_state;
pub mod actions_table;
pub mod admin;
pub mod audited_reloads;
pub mod build;
pub mod decisions;
pub mod http;
mod listeners;
pub mod otlp;
pub mod overrides_topic;
pub mod policy_reload;
pub mod reload;
pub mod reload_error;
pub mod run;
pub mod tls;
pub mod tls_listen;
pub mod topic_follower;
pub mod watch;
pub mod webhook;

pub use crate::config::Config;
pub use run::{start, RunningService};
