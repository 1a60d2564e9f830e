//! The country policy by date: what happens to an account that crosses the
//! line, in the market most of its users are in, on the day of each event.
//!
//! A policy file lists outcomes (`enforce`, `charge`, `allow`, `flag_only`),
//! each for a country, a named region (e.g. the EEA) or the `default`, with
//! optional `from`/`until` dates. It is validated and compiled once into a
//! timeline per country ([`CountryPolicy`], immutable, `Send + Sync`); the
//! engine asks [`CountryPolicy::at`] per event, a binary search over a few
//! breakpoints. Precedence: a country's own entry, then a region's, then the
//! default. See `rules/countries.yaml` for the format and the sources.

mod compile;
mod date;
mod file;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::event::Country;

pub use compile::PolicyError;
pub use date::{day_of, day_start_ms, format_date, parse_instant};

/// What the terms (or a regulator) allow in one market on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    /// The ban: FLAG, THROTTLE and SUSPEND as the ladder decides.
    Enforce,
    /// THROTTLE and SUSPEND become CHARGE: Meta charges the AI Provider per
    /// delivered non-template message instead of banning it.
    Charge,
    /// No action: the evidence is still recorded and visible.
    Allow,
    /// Only FLAG: the account is reviewed, traffic is never touched.
    FlagOnly,
}

impl PolicyOutcome {
    /// The name used in policy files and signals.
    pub fn name(self) -> &'static str {
        match self {
            PolicyOutcome::Enforce => "enforce",
            PolicyOutcome::Charge => "charge",
            PolicyOutcome::Allow => "allow",
            PolicyOutcome::FlagOnly => "flag_only",
        }
    }
}

/// A charge per delivered non-template message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeRate {
    /// ISO 4217 currency code, as Meta names it.
    pub currency: String,
    /// The amount per message.
    pub per_message: f64,
}

/// Where an entry applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every market without an entry of its own or of its region.
    Default,
    /// A named group of countries defined in the file.
    Region(String),
    /// One country.
    Country(Country),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Default => f.write_str("default"),
            Scope::Region(r) => f.write_str(r),
            Scope::Country(c) => f.write_str(c.as_str()),
        }
    }
}

/// One dated outcome of the policy file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntry {
    /// Unique id, carried on signals as the rule that chose the outcome.
    pub id: String,
    /// Where it applies.
    pub scope: Scope,
    /// What applies.
    pub outcome: PolicyOutcome,
    /// First instant it applies (inclusive); `None`: since always.
    pub from_ms: Option<i64>,
    /// First instant it no longer applies (exclusive); `None`: until changed.
    pub until_ms: Option<i64>,
    /// The charge per message, for `charge` when known.
    pub charge: Option<ChargeRate>,
    /// Where the entry comes from (a page, an order, a date).
    pub source: String,
    /// Marked uncertain in the file: reported, not confirmed.
    pub uncertain: bool,
    /// Free text.
    pub note: String,
    /// 1-based line in the file (0 when built in).
    pub line: usize,
}

/// The outcome in force for one account at one instant, and which entry
/// chose it. Small and `Copy`: the engine takes one per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// What applies.
    pub outcome: PolicyOutcome,
    entry: u16,
}

impl Applied {
    /// The outcome for an account whose replies are sent by Meta's own
    /// Business Agent: a business using AI for its customers, never an AI
    /// Provider.
    pub const BUSINESS_AGENT: Applied = Applied {
        outcome: PolicyOutcome::Allow,
        entry: u16::MAX,
    };
}

/// The id of the built-in rule that allows Meta's Business Agent.
pub const BUSINESS_AGENT_RULE: &str = "meta-business-agent";

/// From this breakpoint on (until the next), `applied` holds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    from_ms: i64,
    applied: Applied,
}

/// A validated, compiled policy: immutable; swap a new one in to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct CountryPolicy {
    version: String,
    entries: Vec<PolicyEntry>,
    regions: Vec<(String, Vec<Country>)>,
    /// Countries with an entry of their own or of a region, by
    /// [`country_slot`]: one array index per event, no hashing.
    timelines: Vec<Option<Box<[Segment]>>>,
    default_timeline: Vec<Segment>,
}

impl Default for CountryPolicy {
    /// The built-in policy (`rules/countries.yaml`).
    fn default() -> Self {
        const SRC: &str = include_str!("../../../rules/countries.yaml");
        Self::from_yaml(SRC, "rules/countries.yaml")
            .unwrap_or_else(|e| panic!("built-in country policy: {e}"))
    }
}

/// Slots of the per-country table: AA..ZZ.
pub(crate) const COUNTRY_SLOTS: usize = 26 * 26;

/// The table slot of a known country (`None` for `??`).
pub(crate) fn country_slot(c: Country) -> Option<usize> {
    match c.as_str().as_bytes() {
        [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            Some(usize::from(a - b'A') * 26 + usize::from(b - b'A'))
        }
        _ => None,
    }
}

fn lookup(timeline: &[Segment], at_ms: i64) -> Applied {
    let i = timeline.partition_point(|s| s.from_ms <= at_ms);
    // Compilation makes the first segment start at i64::MIN, so i >= 1.
    timeline[i.saturating_sub(1)].applied
}

impl CountryPolicy {
    /// A policy that enforces everywhere, always.
    pub fn enforce_everywhere() -> Self {
        compile::build(
            "enforce-everywhere".into(),
            Vec::new(),
            vec![PolicyEntry {
                id: "enforce".into(),
                scope: Scope::Default,
                outcome: PolicyOutcome::Enforce,
                from_ms: None,
                until_ms: None,
                charge: None,
                source: String::new(),
                uncertain: false,
                note: String::new(),
                line: 0,
            }],
            "built-in",
        )
        .unwrap_or_else(|e| panic!("built-in policy: {e}"))
    }

    /// Parses and validates a policy file; errors name the file and line.
    pub fn from_yaml(src: &str, file: &str) -> Result<Self, PolicyError> {
        file::parse(src, file)
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| PolicyError::io(&name, &e))?;
        Self::from_yaml(&src, &name)
    }

    /// The version the file names; carried on signals.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[PolicyEntry] {
        &self.entries
    }

    /// The named regions and their countries.
    pub fn regions(&self) -> &[(String, Vec<Country>)] {
        &self.regions
    }

    /// The outcome in force for an account whose main market is `country`
    /// (the default when unknown) at `at_ms`.
    pub fn at(&self, country: Option<Country>, at_ms: i64) -> Applied {
        lookup(self.timeline_of(country), at_ms)
    }

    fn timeline_of(&self, country: Option<Country>) -> &[Segment] {
        country
            .and_then(country_slot)
            .and_then(|i| self.timelines.get(i))
            .and_then(|t| t.as_deref())
            .unwrap_or(&self.default_timeline)
    }

    /// The outcome alone (see [`CountryPolicy::at`]).
    pub fn outcome(&self, country: Option<Country>, at_ms: i64) -> PolicyOutcome {
        self.at(country, at_ms).outcome
    }

    /// The entry that chose `applied`; `None` for the built-in Business
    /// Agent rule.
    pub fn entry(&self, applied: Applied) -> Option<&PolicyEntry> {
        self.entries.get(usize::from(applied.entry))
    }

    /// The id of the rule that chose `applied`.
    pub fn rule_id(&self, applied: Applied) -> &str {
        self.entry(applied)
            .map_or(BUSINESS_AGENT_RULE, |e| e.id.as_str())
    }

    /// The charge per message of `applied`, when it charges and the rate is known.
    pub fn charge_rate(&self, applied: Applied) -> Option<&ChargeRate> {
        self.entry(applied).and_then(|e| e.charge.as_ref())
    }

    /// The instants at which the outcome of `country` changes, with what
    /// applies from each (the first from `i64::MIN`).
    pub fn timeline(&self, country: Option<Country>) -> Vec<(i64, Applied)> {
        self.timeline_of(country)
            .iter()
            .map(|s| (s.from_ms, s.applied))
            .collect()
    }
}

#[cfg(test)]
mod tests;
