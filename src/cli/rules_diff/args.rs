//! The arguments of `satpam rules diff`.

use std::path::PathBuf;

use crate::cli::eval::TargetSet;

/// `satpam rules diff` arguments.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Events (JSONL or length-delimited protobuf), in event-time order.
    #[arg(long)]
    pub events: PathBuf,
    /// The rules in force (YAML).
    #[arg(long)]
    pub old: PathBuf,
    /// The candidate rules (YAML).
    #[arg(long)]
    pub new: PathBuf,
    /// Labels CSV `account_id,archetype,violating` (any archetype names):
    /// adds both scorecards and their deltas.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Country policy table (YAML). Default: the built-in rules/countries.yaml.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Analyst overrides (YAML `overrides: [...]`).
    #[arg(long)]
    pub overrides: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the new rules miss these targets (needs --labels).
    #[arg(long, value_enum, requires = "labels")]
    pub targets: Option<TargetSet>,
}
