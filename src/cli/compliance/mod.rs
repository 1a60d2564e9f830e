//! `satpam report`: the compliance report for one business account, for the
//! business itself: the risk and the action in force or coming, the
//! behaviours behind it with their numbers, the rules that fired against
//! their thresholds, what to change, and the country policy. It reads the
//! account's state (counters and features) only, never message text. The
//! report itself is the library's [`satpam::report`]; this is where its
//! account state comes from ([`source`]) and how it is printed.

pub mod source;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use satpam::report::{document, facts, render, Lang};

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

/// The report's languages.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LangArg {
    /// English (default).
    En,
    /// Bahasa Indonesia.
    Id,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Id => Lang::Id,
        }
    }
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
    /// The language of the Markdown and HTML report (JSON has numbers only).
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
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
    let lang = Lang::from(args.lang);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&facts)?),
        Format::Markdown => print!("{}", render::markdown(&document::document(&facts, lang))),
        Format::Html => print!("{}", render::html(&document::document(&facts, lang))),
    }
    Ok(ExitCode::SUCCESS)
}
