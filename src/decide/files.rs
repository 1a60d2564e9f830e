//! The three files that shape decisions (rules, country policy, analyst
//! overrides), loaded one way for every caller: the service at start, and
//! `replay`, `eval`, `demo`, `rules diff` and `report`. A file not named
//! falls back to its built-in default (the default pack, the shipped
//! policy, no overrides).

use std::path::Path;
use std::sync::Arc;

use crate::decide::policy::PolicyError;
use crate::decide::{CountryPolicy, OverrideError, Overrides};
use crate::rules::{RuleError, RuleSet};

/// Which files to load; `None`: the built-in default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecisionFiles<'a> {
    /// The rules file (YAML).
    pub rules: Option<&'a Path>,
    /// The country policy file (YAML).
    pub policy: Option<&'a Path>,
    /// The overrides file (YAML `overrides: [...]`).
    pub overrides: Option<&'a Path>,
}

/// What a named overrides file that does not exist means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingOverrides {
    /// No overrides yet: the service keeps them in a file it writes on the
    /// first `SetOverride`.
    Empty,
    /// An error: a command was told to read that file.
    Refused,
}

/// The three, loaded and validated.
pub struct LoadedFiles {
    /// The compiled rules (shared: an engine context and its callers hold them).
    pub rules: Arc<RuleSet>,
    /// The country policy.
    pub policy: CountryPolicy,
    /// Analyst overrides.
    pub overrides: Overrides,
}

/// A file that did not load, with the file and the reason (each error
/// names the file and, where it has one, the line).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The rules file.
    #[error("rules did not load:\n{0}")]
    Rules(#[from] RuleError),
    /// The country policy file.
    #[error("policy did not load:\n{0}")]
    Policy(#[from] PolicyError),
    /// The overrides file.
    #[error("overrides did not load: {0}")]
    Overrides(#[from] OverrideError),
}

impl DecisionFiles<'_> {
    /// Loads the rules, the policy and the overrides, in that order; the
    /// first that fails is the error.
    pub fn load(&self, missing: MissingOverrides) -> Result<LoadedFiles, LoadError> {
        let rules = load_rules(self.rules)?;
        let policy = load_policy(self.policy)?;
        let overrides = match self.overrides {
            Some(p) if missing == MissingOverrides::Empty && !p.exists() => Overrides::default(),
            Some(p) => Overrides::load(p)?,
            None => Overrides::default(),
        };
        Ok(LoadedFiles {
            rules: Arc::new(rules),
            policy,
            overrides,
        })
    }
}

/// The rules file at `path`, or the built-in default pack: what the
/// service loads at start and on every reload of its file.
pub fn load_rules(path: Option<&Path>) -> Result<RuleSet, RuleError> {
    match path {
        Some(p) => RuleSet::load(p),
        None => Ok(RuleSet::default_pack()),
    }
}

/// The country policy file at `path`, or the shipped policy: what the
/// service loads at start and on every reload of its file.
pub fn load_policy(path: Option<&Path>) -> Result<CountryPolicy, PolicyError> {
    match path {
        Some(p) => CountryPolicy::load(p),
        None => Ok(CountryPolicy::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    // Long because it is a table of files, each with the error kind it must give.
    #[test]
    fn each_file_loads_or_fails_with_its_kind() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path();
        let rules = write(d, "rules.yaml", include_str!("../../rules/default.yaml"));
        let bad_rules = write(d, "bad.yaml", "version: x\nrules:\n  - id: [\n");
        let policy = write(d, "policy.yaml", include_str!("../../rules/countries.yaml"));
        let bad_policy = write(d, "bad-policy.yaml", "version: x\noutcomes: 3\n");
        let overrides = write(d, "overrides.yaml", "overrides: []\n");
        let bad_overrides = write(d, "bad-overrides.yaml", "overrides: 3\n");
        let missing = d.join("none.yaml");
        type Case<'a> = (
            &'a str,
            DecisionFiles<'a>,
            MissingOverrides,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "defaults",
                DecisionFiles::default(),
                MissingOverrides::Refused,
                None,
            ),
            (
                "all three",
                DecisionFiles {
                    rules: Some(&rules),
                    policy: Some(&policy),
                    overrides: Some(&overrides),
                },
                MissingOverrides::Refused,
                None,
            ),
            (
                "bad rules",
                DecisionFiles {
                    rules: Some(&bad_rules),
                    ..Default::default()
                },
                MissingOverrides::Empty,
                Some("rules"),
            ),
            (
                "bad policy",
                DecisionFiles {
                    policy: Some(&bad_policy),
                    ..Default::default()
                },
                MissingOverrides::Empty,
                Some("policy"),
            ),
            (
                "bad overrides",
                DecisionFiles {
                    overrides: Some(&bad_overrides),
                    ..Default::default()
                },
                MissingOverrides::Empty,
                Some("overrides"),
            ),
            (
                "missing overrides, service",
                DecisionFiles {
                    overrides: Some(&missing),
                    ..Default::default()
                },
                MissingOverrides::Empty,
                None,
            ),
            (
                "missing overrides, command",
                DecisionFiles {
                    overrides: Some(&missing),
                    ..Default::default()
                },
                MissingOverrides::Refused,
                Some("overrides"),
            ),
        ];
        for (name, files, missing, want) in cases {
            let got = files.load(missing).err().map(|e| match e {
                LoadError::Rules(_) => "rules",
                LoadError::Policy(_) => "policy",
                LoadError::Overrides(_) => "overrides",
            });
            assert_eq!(got, want, "{name}");
        }
    }
}
