//! Traffic families: independently designed generators whose labels share
//! one CSV format, so a rule pack tuned on one can be scored on the other.

use super::archetype::Archetype;

/// Which generator produces a scenario's accounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Family {
    /// The project's original generator (docs/scenario.md), the one the
    /// default rule pack was tuned on.
    #[default]
    Baseline,
    /// An independently designed family of assistants in their own shapes,
    /// evasion classes and hard negatives (docs/scenario-adversarial.md),
    /// written before any rule was looked at. The default pack is tuned on
    /// some of its seeds, never on its reporting seeds (20261701, 20261702).
    Adversarial,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 2] = [Family::Baseline, Family::Adversarial];

    /// The name used on the command line (`--family`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Baseline => "baseline",
            Family::Adversarial => "adversarial",
        }
    }

    /// Parses a name produced by [`Family::name`].
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The archetypes this family labels accounts with, in summary order.
    pub fn archetypes(self) -> &'static [Archetype] {
        match self {
            Family::Baseline => &Archetype::ALL,
            Family::Adversarial => &Archetype::ADVERSARIAL,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
