//! Decision settings: the rules file's `decision:` section as compiled. The
//! rules own them (they are part of the file a rule author writes); `decide`
//! applies them.

/// Minimum evidence (24-hour window) before an action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinEvidence {
    /// Conversation sessions.
    pub sessions: u64,
    /// Distinct users (approximate).
    pub users: u64,
}

/// How an account's score becomes an action.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionConfig {
    /// FLAG at or above this score.
    pub flag: f64,
    /// THROTTLE at or above.
    pub throttle: f64,
    /// SUSPEND at or above.
    pub suspend: f64,
    /// A level holds while the score stays above its threshold minus this.
    pub hysteresis: f64,
    /// Event time the score must stay below before stepping down.
    pub cooldown_ms: i64,
    /// Rate a throttled account may send at.
    pub throttle_mps: f64,
    /// Minimum evidence for FLAG, THROTTLE, SUSPEND.
    pub min_evidence: [MinEvidence; 3],
}
