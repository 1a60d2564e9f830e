//! The text scan: the first stage an event's text meets, and the last that
//! sees it. One pass of the rule set's matcher over the text of one side
//! yields [`ScanFacts`] (which pattern sets and topics hit, whether the text
//! has list, heading or code structure); the text itself goes no further.
//! The matcher is compiled from the rules file's pattern sets (`rules`
//! builds it and holds it), but the scan runs before any state is touched.

mod dense;
pub mod matcher;
pub mod structure;

pub use matcher::PatternMatcher;

/// Pattern sets whose hits an account can count (a rule set may declare no more).
pub const MAX_PATTERN_SETS: usize = 8;

/// What the text scan found in one message (no text, only derived facts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanFacts {
    /// The text was present and scanned.
    pub scanned: bool,
    /// Bit i set: pattern set i matched.
    pub pattern_hits: u32,
    /// Bit i set: topic i was raised.
    pub topics: u64,
    /// The text has list, heading or code structure.
    pub structured: bool,
}
