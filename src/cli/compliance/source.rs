//! Where a report's account state comes from: a replayed events file, or a
//! running service's `Admin.GetAccount`. Both give the same
//! `AccountState` (built by `service::account_state`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use satpam::decide::CountryPolicy;
use satpam::pb::v1 as pb;
use satpam::replay::Replayer;
use satpam::service::account_state::account_state;
use satpam::{EngineConfig, RuleSet};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Endpoint;

use crate::cli::load::load;
use crate::EngineFiles;

/// What a report is built from.
pub type Inputs = (pb::AccountState, Arc<RuleSet>, CountryPolicy);

/// Replays `events` and takes the account's state at the end.
pub fn from_events(
    events: &Path,
    tenant: &str,
    account: &str,
    files: &EngineFiles,
) -> Result<Inputs> {
    let loaded = load(files)?;
    let rules = loaded.rules.clone();
    let policy = loaded.policy.clone();
    let (mut reader, bar) = crate::cli::progress::open_events(events, "report")
        .with_context(|| format!("cannot open {}", events.display()))?;
    let mut replayer = Replayer::new(
        loaded.rules,
        loaded.policy,
        loaded.overrides,
        EngineConfig::default(),
    );
    while let Some(record) = reader.next_record() {
        replayer.feed(reader.position(), record);
    }
    bar.finish_and_clear();
    let (_, engine) = replayer.finish();
    let Some(mut entry) = engine.account(tenant, account) else {
        bail!(
            "account `{account}` of tenant `{tenant}` has no events in {}",
            events.display()
        );
    };
    let overrides = engine.overrides();
    let r#override = overrides.get(tenant, account, entry.behaviour.last_ms());
    let state = account_state(&mut entry, 0, &rules, &policy, r#override);
    Ok((state, rules, policy))
}

/// A request carrying the bearer token, if any.
fn with_token<T>(token: &Option<MetadataValue<Ascii>>, body: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(body);
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", t.clone());
    }
    r
}

/// Asks the service at `url` for the account's state; the rules and policy
/// that explain it are `files` (the service's version is checked).
pub fn from_grpc(
    url: &str,
    token_file: Option<&Path>,
    tenant: &str,
    account: &str,
    files: &EngineFiles,
) -> Result<Inputs> {
    let loaded = load(files)?;
    let token = match token_file {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let value = format!("Bearer {}", t.trim());
            Some(
                MetadataValue::try_from(value.as_str())
                    .map_err(|_| anyhow!("{}: not a usable token", p.display()))?,
            )
        }
        None => None,
    };
    let uri = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (state, served) = rt.block_on(async {
        let channel = Endpoint::from_shared(uri.clone())
            .with_context(|| format!("`{url}` is not a gRPC address"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect()
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let mut admin = pb::admin_client::AdminClient::new(channel);
        let state = admin
            .get_account(with_token(
                &token,
                pb::GetAccountRequest {
                    tenant_id: tenant.to_string(),
                    account_id: account.to_string(),
                },
            ))
            .await
            .map_err(|s| anyhow!("Admin.GetAccount: {}: {}", s.code(), s.message()))?
            .into_inner();
        let served = admin
            .get_rule_set(with_token(&token, pb::GetRuleSetRequest {}))
            .await
            .map(|r| r.into_inner().version)
            .ok();
        anyhow::Ok((state, served))
    })?;
    let rules = loaded.rules;
    if let Some(v) = served.filter(|v| v != rules.version()) {
        eprintln!(
            "satpam report: the service runs rules {v}; conditions and thresholds are read from {} (give it with --rules)",
            rules.version()
        );
    }
    Ok((state, rules, loaded.policy))
}
