//! Loads the files that shape decisions, with the built-in defaults.

use std::sync::Arc;

use anyhow::Result;
use satpam::decide::files::{DecisionFiles, MissingOverrides};
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

/// Loads `files`, falling back to the built-in defaults; a named overrides
/// file that does not exist is an error here (a command was told to read it).
pub fn load(files: &EngineFiles) -> Result<Loaded> {
    let loaded = DecisionFiles {
        rules: files.rules.as_deref(),
        policy: files.policy.as_deref(),
        overrides: files.overrides.as_deref(),
    }
    .load(MissingOverrides::Refused)?;
    Ok(Loaded {
        rules: Arc::new(loaded.rules),
        policy: loaded.policy,
        overrides: loaded.overrides,
    })
}
