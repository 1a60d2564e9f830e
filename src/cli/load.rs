//! Loads the files that shape decisions, with the built-in defaults.

use anyhow::Result;
use satpam::decide::files::{DecisionFiles, LoadedFiles, MissingOverrides};

use crate::EngineFiles;

/// Rules, policy and overrides, loaded and validated.
pub type Loaded = LoadedFiles;

/// Loads `files`, falling back to the built-in defaults; a named overrides
/// file that does not exist is an error here (a command was told to read it).
pub fn load(files: &EngineFiles) -> Result<Loaded> {
    Ok(DecisionFiles {
        rules: files.rules.as_deref(),
        policy: files.policy.as_deref(),
        overrides: files.overrides.as_deref(),
    }
    .load(MissingOverrides::Refused)?)
}
