//! The `satpam` command line: argument parsing only; each command lives in `cli/`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps general-purpose AI assistants off the WhatsApp Business Platform.
#[derive(Parser)]
#[command(name = "satpam", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Files that shape decisions, shared by every command that runs the engine.
#[derive(clap::Args, Clone, Debug)]
pub struct EngineFiles {
    /// Rules file (YAML). Default: the built-in rules/default.yaml.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Country policy table (YAML). Default: the built-in rules/countries.yaml.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Analyst overrides (YAML `overrides: [...]`).
    #[arg(long)]
    pub overrides: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: Kafka and gRPC in, signals out, admin API, metrics, hot reload.
    ///
    /// With no config it runs the embedded default: no broker, gRPC on
    /// 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics, signals on the
    /// Watch stream and in satpam-signals.jsonl. SATPAM_<SECTION>__<KEY>
    /// environment variables override the file.
    Serve {
        /// TOML config file (every key is optional; see the README).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the effective config (file + environment) as TOML and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Ask a running service's gRPC health endpoint; exit 0 when SERVING, 1 otherwise.
    ///
    /// For container health checks: calls grpc.health.v1.Health/Check and
    /// prints the status (SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNREACHABLE).
    Health {
        /// gRPC address of the service (host:port or http://host:port).
        #[arg(long, default_value = "127.0.0.1:50051")]
        grpc: String,
        /// Health service name; empty: the server as a whole.
        #[arg(long, default_value = "")]
        service: String,
        /// Limit for connecting and answering, ms.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
        #[command(flatten)]
        tls: cli::health::HealthTls,
    },
    /// Run a file of events through the engine on event time, at full speed.
    Replay {
        /// Events: JSONL (canonical proto3 JSON) or length-delimited protobuf.
        #[arg(long)]
        events: PathBuf,
        #[command(flatten)]
        files: EngineFiles,
        /// Write signals here as JSONL (`-` for stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Simulate labelled BSP traffic in memory, run it, show the scorecard and the evidence.
    Demo(cli::demo::DemoArgs),
    /// Score the engine's decisions against labelled events.
    Eval {
        /// Events (JSONL or length-delimited protobuf), in event-time order.
        #[arg(long)]
        events: PathBuf,
        /// Labels CSV: account_id,archetype,violating.
        #[arg(long)]
        labels: PathBuf,
        #[command(flatten)]
        files: EngineFiles,
        /// Print the scorecard as one JSON object.
        #[arg(long)]
        json: bool,
        /// Exit 1 when these targets are missed.
        #[arg(long, value_enum)]
        targets: Option<cli::eval::TargetSet>,
    },
    /// Validate a deployment's files before rolling it out.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Validate and inspect rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Validate and query the country policy by date.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The compliance report for one business account (Markdown, HTML or JSON).
    ///
    /// From a replayed events file (--events) or a running service (--grpc,
    /// Admin.GetAccount). States the risk and the action in force or coming,
    /// the behaviours behind it with their numbers, the rules that fired
    /// against their thresholds, what to change, and the country policy. It
    /// never contains message text.
    Report(cli::compliance::ReportArgs),
    /// Principals: what goes into [[auth.principals]].
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Read a bearer token from stdin; print its token_sha256 (hex SHA-256).
    HashToken,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate policy files; exits non-zero with file:line: reason on error.
    Check {
        /// Policy files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// What applied in a market on a date (or at an RFC 3339 instant), and the
    /// market's whole timeline.
    At {
        /// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant.
        #[arg(long)]
        date: String,
        /// ISO 3166-1 alpha-2 country of the account's users; empty: unknown.
        #[arg(long, default_value = "")]
        country: String,
        /// Policy file. Default: the built-in rules/countries.yaml.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load everything `serve` would (config with SATPAM_* environment, rules,
    /// country policy, overrides) and report every problem as file:line: reason;
    /// exit 1 on any.
    Check {
        /// TOML config file, as for `serve`; none: the embedded default.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate rule files; exits non-zero with file:line: reason on error.
    Check {
        /// Rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Backtest a rule change: replay one events file through the old and the
    /// new rules and report the accounts whose strongest action changes (by
    /// transition, tenant and rule), with scorecard deltas when labels are given.
    ///
    /// Exit 0 when done, 1 when --targets is missed by the new rules, 2 on
    /// an error (a bad rules file prints file:line: reason).
    Diff(cli::rules_diff::DiffArgs),
    /// List the features conditions can read.
    Features {
        /// Include the pattern-set features of this rules file.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            print_config,
        } => cli::serve::run(config.as_deref(), print_config),
        Command::Health {
            grpc,
            service,
            timeout_ms,
            tls,
        } => cli::health::run(&grpc, &service, timeout_ms, &tls),
        Command::Replay {
            events,
            files,
            out,
            json,
        } => cli::replay::run(&events, &files, out.as_deref(), json),
        Command::Demo(args) => cli::demo::run(&args),
        Command::Report(args) => cli::compliance::run(&args),
        Command::Eval {
            events,
            labels,
            files,
            json,
            targets,
        } => cli::eval::run(&events, &labels, &files, json, targets),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => cli::config_check::run(config.as_deref(), std::env::vars()),
        Command::Rules { command } => match command {
            RulesCommand::Check { files } => cli::rules::check(&files),
            RulesCommand::Features { rules } => cli::rules::features(rules.as_deref()),
            RulesCommand::Diff(args) => cli::rules_diff::run(&args),
        },
        Command::Auth {
            command: AuthCommand::HashToken,
        } => cli::auth::hash_token_cmd(&mut std::io::stdin().lock(), &mut std::io::stdout()),
        Command::Policy { command } => match command {
            PolicyCommand::Check { files } => cli::policy::check(&files),
            PolicyCommand::At {
                date,
                country,
                policy,
                json,
            } => cli::policy::at(&date, &country, policy.as_deref(), json),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("satpam: {e:#}");
            ExitCode::from(2)
        }
    }
}
