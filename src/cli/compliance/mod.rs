//! `satpam report`: the compliance report for one business account, for the
//! business itself: the risk and the action in force or coming, the
//! behaviours behind it with their numbers, the rules that fired against
//! their thresholds, what to change, and the country policy. It reads the
//! account's state (counters and features) only, never message text.

pub mod document;
pub mod facts;
pub mod render;
pub mod source;
pub mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::EngineFiles;

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Markdown (default).
    Markdown,
    /// One self-contained HTML page (inline CSS, no scripts, no external assets).
    Html,
    /// The numbers behind the report, as JSON.
    Json,
}

/// `satpam report` arguments.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The tenant (BSP) that owns the account.
    #[arg(long)]
    pub tenant: String,
    /// The business account (phone number id).
    #[arg(long)]
    pub account: String,
    /// Replay this events file (JSONL or length-delimited protobuf) and report
    /// on the account's state at its end.
    #[arg(long, conflicts_with = "grpc", required_unless_present = "grpc")]
    pub events: Option<PathBuf>,
    /// Ask a running `satpam serve` (Admin.GetAccount) at this address.
    #[arg(long)]
    pub grpc: Option<String>,
    /// A file holding the bearer token for --grpc (see [auth] in the README).
    #[arg(long, requires = "grpc")]
    pub token_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// With --events: the files the replay runs with. With --grpc: the rules
    /// (conditions, ladder) and policy (timeline) the report explains the
    /// service's state with; they should be the service's own.
    #[command(flatten)]
    pub files: EngineFiles,
}

/// Prints the report.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let (state, rules, policy) = match (&args.events, &args.grpc) {
        (Some(events), _) => source::from_events(events, &args.tenant, &args.account, &args.files)?,
        (None, Some(url)) => source::from_grpc(
            url,
            args.token_file.as_deref(),
            &args.tenant,
            &args.account,
            &args.files,
        )?,
        (None, None) => anyhow::bail!("give --events FILE or --grpc URL"),
    };
    let facts = facts::build(&state, &rules, &policy);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&facts)?),
        Format::Markdown => print!("{}", render::markdown(&document::document(&facts))),
        Format::Html => print!("{}", render::html(&document::document(&facts))),
    }
    Ok(ExitCode::SUCCESS)
}
