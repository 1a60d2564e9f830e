//! Scenario configuration.

/// What to generate: how many accounts, over how long, from which seed.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioConfig {
    /// Number of business phone numbers (accounts).
    pub accounts: usize,
    /// Length of the simulated stretch in hours of event time.
    pub hours: f64,
    /// Seed; the same config and text bank give byte-identical output.
    pub seed: u64,
    /// Emit empty `text` and set `text_length` instead.
    pub metadata_only: bool,
    /// Start of the stretch, milliseconds since the Unix epoch.
    pub start_ms: i64,
}

/// 2026-02-01T00:00:00Z.
pub const DEFAULT_START_MS: i64 = 1_769_904_000_000;

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            accounts: 100,
            hours: 24.0,
            seed: 1,
            metadata_only: false,
            start_ms: DEFAULT_START_MS,
        }
    }
}
