//! Loads the files that shape decisions, with the built-in defaults.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use satpam::decide::{CountryPolicy, Overrides};
use satpam::RuleSet;

use crate::EngineFiles;

/// Rules, policy and overrides, loaded and validated.
pub struct Loaded {
    /// The compiled rules.
    pub rules: Arc<RuleSet>,
    /// The country policy.
    pub policy: CountryPolicy,
    /// Analyst overrides.
    pub overrides: Overrides,
}

/// Loads `files`, falling back to the built-in defaults.
pub fn load(files: &EngineFiles) -> Result<Loaded> {
    let rules = match &files.rules {
        Some(p) => RuleSet::load(p).map_err(|e| anyhow!("rules did not load:\n{e}"))?,
        None => RuleSet::default_pack(),
    };
    let policy = match &files.policy {
        Some(p) => CountryPolicy::load(p).map_err(|e| anyhow!("policy did not load: {e}"))?,
        None => CountryPolicy::default(),
    };
    let overrides = match &files.overrides {
        Some(p) => Overrides::load(p).map_err(|e| anyhow!("overrides did not load: {e}"))?,
        None => Overrides::default(),
    };
    Ok(Loaded {
        rules: Arc::new(rules),
        policy,
        overrides,
    })
}
