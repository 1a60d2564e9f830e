//! Why the Kafka source did not start or stopped on its own.

use std::fmt;

/// A Kafka source that could not start, or that stopped with an error
/// (a fatal consumer error, a dead worker). Opaque; the message says what
/// and, for a fatal error, that the service stops (exit 1) with its
/// partitions' offsets uncommitted, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Setting up: the state directory, the consumer, a thread.
    Start(String),
    /// Stopped on a fatal error while running.
    Fatal(String),
    /// The poll thread panicked.
    PollPanicked,
}

impl SourceError {
    pub(super) fn start(why: impl fmt::Display) -> Self {
        SourceError {
            kind: Kind::Start(why.to_string()),
        }
    }

    pub(super) fn fatal(why: String) -> Self {
        SourceError {
            kind: Kind::Fatal(why),
        }
    }

    pub(super) fn poll_panicked() -> Self {
        SourceError {
            kind: Kind::PollPanicked,
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Start(why) | Kind::Fatal(why) => f.write_str(why),
            Kind::PollPanicked => f.write_str("the Kafka poll thread panicked"),
        }
    }
}

impl std::error::Error for SourceError {}
