//! The rules file as written (serde). Nothing here is checked beyond its
//! shape; `compile` validates and turns it into a [`super::RuleSet`].

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFileSpec {
    /// The rule set's version, carried on every signal.
    pub version: String,
    /// How scores become actions.
    #[serde(default)]
    pub decision: DecisionSpec,
    /// Open-domain topic vocabularies, per language; users raising many
    /// unrelated topics is what general-purpose assistants attract.
    #[serde(default)]
    pub topics: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Named pattern sets shared by rules.
    #[serde(default)]
    pub pattern_sets: BTreeMap<String, PatternSetSpec>,
    /// The rules.
    pub rules: Vec<RuleSpec>,
}

/// One pattern set: terms per language, matched in one scan of the text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSetSpec {
    /// What the set finds.
    #[serde(default)]
    pub description: String,
    /// `inbound` (user messages) or `outbound` (business messages).
    pub side: SideSpec,
    /// Terms per language code (`en`, `id`, ...). Case-insensitive, whole
    /// words; a trailing `*` matches any word continuation.
    pub terms: BTreeMap<String, Vec<String>>,
    /// An optional regex that must also match, run only after a term hit.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Side of a pattern set.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SideSpec {
    /// User messages.
    Inbound,
    /// Business messages.
    Outbound,
}

/// One rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id.
    pub id: String,
    /// Version, bumped on every change.
    pub version: u32,
    /// What it catches and why.
    pub description: String,
    /// Contribution to the account score, in (0, 1].
    pub score: f64,
    /// `enforce` (default) or `shadow`.
    #[serde(default)]
    pub mode: ModeSpec,
    /// Minutes a firing keeps the rule active for the account (default 30).
    #[serde(default)]
    pub hold_minutes: Option<f64>,
    /// The condition, in the CEL subset (see README).
    pub when: String,
    /// Pattern sets declared with the rule (names are global).
    #[serde(default)]
    pub patterns: BTreeMap<String, PatternSetSpec>,
}

/// Whether a rule changes decisions.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModeSpec {
    /// Counts toward the score.
    #[default]
    Enforce,
    /// Evaluated and counted, never changes a decision.
    Shadow,
}

/// How scores become actions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionSpec {
    /// Score thresholds per action.
    pub thresholds: ThresholdsSpec,
    /// How far below a threshold the score must fall before stepping down.
    pub hysteresis: f64,
    /// Minutes the score must stay below before stepping down.
    pub cooldown_minutes: f64,
    /// Messages per second a throttled account may send.
    pub throttle_mps: f64,
    /// Minimum evidence before each action.
    pub min_evidence: MinEvidenceSpec,
}

impl Default for DecisionSpec {
    fn default() -> Self {
        DecisionSpec {
            thresholds: ThresholdsSpec::default(),
            hysteresis: 0.15,
            cooldown_minutes: 60.0,
            throttle_mps: 1.0,
            min_evidence: MinEvidenceSpec::default(),
        }
    }
}

/// Score thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdsSpec {
    /// FLAG at or above.
    pub flag: f64,
    /// THROTTLE at or above.
    pub throttle: f64,
    /// SUSPEND at or above.
    pub suspend: f64,
}

impl Default for ThresholdsSpec {
    fn default() -> Self {
        ThresholdsSpec {
            flag: 0.5,
            throttle: 0.75,
            suspend: 0.9,
        }
    }
}

/// Minimum evidence per action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinEvidenceSpec {
    /// Before FLAG.
    pub flag: EvidenceSpec,
    /// Before THROTTLE.
    pub throttle: EvidenceSpec,
    /// Before SUSPEND.
    pub suspend: EvidenceSpec,
}

impl Default for MinEvidenceSpec {
    fn default() -> Self {
        MinEvidenceSpec {
            flag: EvidenceSpec {
                sessions: 3,
                users: 3,
            },
            throttle: EvidenceSpec {
                sessions: 8,
                users: 6,
            },
            suspend: EvidenceSpec {
                sessions: 20,
                users: 15,
            },
        }
    }
}

/// Conversations and users behind a decision (24-hour window).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSpec {
    /// Conversation sessions.
    pub sessions: u64,
    /// Distinct users.
    pub users: u64,
}
