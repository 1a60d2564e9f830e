//! The per-country policy table: where the assistant ban is enforced, where
//! a charge per AI reply replaces it, and where only flags are raised.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::event::Country;

/// What the law or the terms allow in one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    /// FLAG, THROTTLE and SUSPEND as the ladder decides.
    Enforce,
    /// THROTTLE and SUSPEND become CHARGE (a charge per AI reply).
    Charge,
    /// Only FLAG: the account is reviewed, traffic is never touched.
    FlagOnly,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    default: PolicyOutcome,
    #[serde(default)]
    countries: BTreeMap<String, CountryEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountryEntry {
    outcome: PolicyOutcome,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// The policy table. An account follows the policy of the country most of
/// its users are in.
#[derive(Debug, Clone, PartialEq)]
pub struct CountryPolicy {
    default: PolicyOutcome,
    countries: BTreeMap<Country, PolicyOutcome>,
}

impl Default for CountryPolicy {
    /// The built-in table (`rules/countries.yaml`).
    fn default() -> Self {
        const SRC: &str = include_str!("../../rules/countries.yaml");
        Self::from_yaml(SRC, "rules/countries.yaml")
            .unwrap_or_else(|e| panic!("built-in country policy: {e}"))
    }
}

impl CountryPolicy {
    /// A table that enforces everywhere.
    pub fn enforce_everywhere() -> Self {
        CountryPolicy {
            default: PolicyOutcome::Enforce,
            countries: BTreeMap::new(),
        }
    }

    /// Parses a policy file; errors name the file and line.
    pub fn from_yaml(src: &str, file: &str) -> Result<Self, String> {
        let f: PolicyFile = serde_yaml::from_str(src)
            .map_err(|e| format!("{file}:{}: {e}", e.location().map_or(0, |l| l.line())))?;
        let mut countries = BTreeMap::new();
        for (code, entry) in f.countries {
            let c = Country::parse(&code)
                .filter(|c| c.is_known())
                .ok_or_else(|| format!("{file}: `{code}` is not an ISO 3166-1 alpha-2 code"))?;
            countries.insert(c, entry.outcome);
        }
        Ok(CountryPolicy {
            default: f.default,
            countries,
        })
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_yaml(&src, &path.display().to_string())
    }

    /// The outcome for a country (the default when unknown or absent).
    pub fn outcome(&self, country: Option<Country>) -> PolicyOutcome {
        country
            .and_then(|c| self.countries.get(&c).copied())
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_charges_in_italy() {
        let p = CountryPolicy::default();
        assert_eq!(p.outcome(Country::parse("IT")), PolicyOutcome::Charge);
        assert_eq!(p.outcome(Country::parse("ID")), PolicyOutcome::Enforce);
        assert_eq!(p.outcome(None), PolicyOutcome::Enforce);
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(CountryPolicy::from_yaml("default: maybe\n", "p.yaml").is_err());
        let e = CountryPolicy::from_yaml(
            "default: enforce\ncountries:\n  ITA: {outcome: charge}\n",
            "p.yaml",
        );
        assert!(e.is_err_and(|m| m.contains("ITA")));
    }
}
