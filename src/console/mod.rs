//! The web console of `satpam serve` (`[console] listen`): server-rendered
//! HTML for trust-and-safety analysts, its stylesheet embedded in the
//! binary. It reads the same in-process handles the Admin service does
//! (the shards, the rule and override managers) and decides through the
//! same path as `Admin.SetOverride` ([`crate::service::decisions`]), with
//! the same principals and roles ([`auth`]). It never shows message text:
//! nothing of it is kept.
//!
//! config ([`crate::config::ConsoleSection`]) -> [`Console::build`] ->
//! [`spawn`] (the listener and the history task); [`start`] does all three
//! beside a running service (`satpam serve` calls it).

pub mod appeals;
pub mod auth;
pub mod backtest;
mod backtest_routes;
pub mod history;
pub mod html;
pub mod pages;
mod request;
pub mod routes;
pub mod shadow;
pub mod svg;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::auth::Gate;
use crate::config::{Config, ConsoleSection};
use crate::pipeline::shards::Shards;
use crate::service::actions_table::ActionsTable;
use crate::service::reload::{OverridesManager, RulesManager};
use crate::service::RunningService;
use crate::sink::SignalHub;
use crate::source::kafka::TopicWindowSettings;

/// What the console reads and writes through, from the service's parts.
pub struct ConsoleDeps {
    /// Every shard of the instance.
    pub shards: Arc<Shards>,
    /// The rules in force (and their hit counts).
    pub rules: Arc<RulesManager>,
    /// Overrides, set through the audited path.
    pub overrides: Arc<OverridesManager>,
    /// Principals, roles and the audit trail.
    pub gate: Arc<Gate>,
    /// The signal broadcast (the account history reads it).
    pub hub: Arc<SignalHub>,
    /// `engine.overrides`: appeals are kept beside it.
    pub overrides_path: Option<PathBuf>,
    /// The fleet's actions in force (`kafka.actions_topic`): the queue
    /// lists the accounts other instances hold from it.
    pub actions: Option<Arc<ActionsTable>>,
    /// The events topic, when Kafka is configured: a backtest can replay
    /// its last hours.
    pub events_topic: Option<TopicWindowSettings>,
}

/// The console at run time.
pub struct Console {
    /// Every shard of the instance.
    pub shards: Arc<Shards>,
    /// The rules in force.
    pub rules: Arc<RulesManager>,
    /// Overrides.
    pub overrides: Arc<OverridesManager>,
    /// Principals, roles and the audit trail.
    pub gate: Arc<Gate>,
    /// Sessions and CSRF.
    pub auth: auth::ConsoleAuth,
    /// Signals per account.
    pub history: Arc<history::History>,
    /// Signals kept per account (said on the page).
    pub history_per_account: usize,
    /// Appeals.
    pub appeals: appeals::Appeals,
    /// Backtests over `[console] backtest_dir` and the events topic.
    pub backtests: backtest::Backtests,
    /// The fleet's actions in force, when the actions topic is configured.
    pub actions: Option<Arc<ActionsTable>>,
    hub: Arc<SignalHub>,
}

impl Console {
    /// The console `config` describes over `deps`.
    pub fn build(config: &ConsoleSection, deps: ConsoleDeps) -> anyhow::Result<Console> {
        let auth = auth::ConsoleAuth::new(
            deps.gate.clone(),
            &config.trusted_header,
            config.session_ttl_s,
        )
        .map_err(anyhow::Error::msg)?;
        let appeals =
            appeals::Appeals::open(deps.overrides_path.as_deref().map(appeals::path_beside))
                .map_err(|e| anyhow::anyhow!("console appeals: {e}"))?;
        Ok(Console {
            shards: deps.shards,
            rules: deps.rules,
            overrides: deps.overrides,
            gate: deps.gate,
            auth,
            history: Arc::new(history::History::new(
                config.history_per_account,
                config.history_accounts,
            )),
            history_per_account: config.history_per_account,
            appeals,
            backtests: backtest::Backtests::new(&config.backtest_dir, deps.events_topic),
            actions: deps.actions,
            hub: deps.hub,
        })
    }
}

/// Starts the console of `config` (`[console] listen`) beside `service`,
/// which stops it on shutdown; the bound address, or `None` when the
/// console is off.
pub async fn start(
    service: &mut RunningService,
    config: &Config,
) -> anyhow::Result<Option<SocketAddr>> {
    if config.console.listen.is_empty() {
        return Ok(None);
    }
    let console = Console::build(
        &config.console,
        ConsoleDeps {
            shards: service.shards().clone(),
            rules: service.rules().clone(),
            overrides: service.overrides().clone(),
            gate: service.gate().clone(),
            hub: service.hub().clone(),
            overrides_path: config.engine.overrides.clone(),
            actions: service.actions_table(),
            events_topic: TopicWindowSettings::from_config(&config.kafka, &config.webhook),
        },
    )?;
    let (addr, tasks) = spawn(console, &config.console.listen, service.stop_signal()).await?;
    service.adopt(tasks);
    Ok(Some(addr))
}

/// Binds `listen`, follows the signal broadcast and serves the console
/// until `stop`; returns the bound address and the tasks.
pub async fn spawn(
    console: Console,
    listen: &str,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, Vec<JoinHandle<()>>)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|err| anyhow::anyhow!("console.listen {listen}: {err}"))?;
    let addr = listener.local_addr()?;
    let rx = console.hub.subscribe();
    let history = console.history.clone();
    let follow = tokio::spawn(history.follow(rx, stop.clone()));
    let app = routes::router(Arc::new(console));
    let serve = tokio::spawn(crate::service::tls_listen::serve_http(
        listener, None, app, "console", stop,
    ));
    tracing::info!(%addr, "console on http://{addr}/");
    Ok((addr, vec![follow, serve]))
}
