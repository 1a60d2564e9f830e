//! The numbers a feature's sentence states, formatted for one language:
//! what `words` gathers and each language's sentences read.

/// The numbers a feature's sentence states, written for one language.
pub(super) struct Figures {
    /// The feature's value.
    pub(super) v: f64,
    /// Whether the account handed no session to a person in 24 hours.
    pub(super) no_handoffs: bool,
    /// Hand-offs to a person, last 24 hours.
    pub(super) handoffs: String,
    /// User messages read (scanned) in the last hour.
    pub(super) scanned_in: String,
    /// Replies read (scanned) in the last hour.
    pub(super) scanned_out: String,
    /// Sessions, last 24 hours.
    pub(super) sessions: String,
}
