//! Why a reload or an override change was refused: the rules or policy
//! did not compile, the compile ran out of time, the overrides file could
//! not be written. Opaque, like the errors it wraps: the message names the
//! file and line where there is one and never quotes a reason or a text.

use std::fmt;

use crate::decide::policy::PolicyError;
use crate::decide::OverrideError;
use crate::rules::RuleError;

/// A refused reload (rules, policy) or override change; what was in force stays.
#[derive(Debug)]
pub struct ReloadError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Rules(RuleError),
    Policy(PolicyError),
    Override(OverrideError),
    /// `source` still compiling after `ms`.
    Timeout {
        source: String,
        ms: u128,
    },
    /// The blocking compile task panicked or was cancelled.
    CompilerFailed(String),
    /// A lock held by a thread that panicked.
    Poisoned(&'static str),
    /// The overrides topic did not take the change.
    Topic(String),
}

impl ReloadError {
    pub(crate) fn timeout(source: String, ms: u128) -> Self {
        ReloadError {
            kind: Kind::Timeout { source, ms },
        }
    }

    pub(crate) fn compiler_failed(why: impl fmt::Display) -> Self {
        ReloadError {
            kind: Kind::CompilerFailed(why.to_string()),
        }
    }

    pub(crate) fn topic(why: String) -> Self {
        ReloadError {
            kind: Kind::Topic(why),
        }
    }

    pub(crate) fn poisoned(what: &'static str) -> Self {
        ReloadError {
            kind: Kind::Poisoned(what),
        }
    }

    /// Whether the caller's input was refused (a rule or policy that does
    /// not compile, an invalid override) rather than the service failing
    /// (a file it cannot write, a poisoned lock, a compiler that died).
    pub fn is_invalid_input(&self) -> bool {
        match &self.kind {
            Kind::Rules(_) | Kind::Policy(_) | Kind::Timeout { .. } => true,
            Kind::Override(e) => e.is_invalid_override(),
            Kind::CompilerFailed(_) | Kind::Poisoned(_) | Kind::Topic(_) => false,
        }
    }
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Rules(e) => e.fmt(f),
            Kind::Policy(e) => e.fmt(f),
            Kind::Override(e) => e.fmt(f),
            Kind::Timeout { source, ms } => write!(
                f,
                "{source}: compiling the rules took longer than {ms} ms (limits.rules_compile_timeout_ms)"
            ),
            Kind::CompilerFailed(why) => write!(f, "the rules compiler failed: {why}"),
            Kind::Poisoned(what) => write!(f, "{what} lock poisoned"),
            Kind::Topic(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Rules(e) => Some(e),
            Kind::Policy(e) => Some(e),
            Kind::Override(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RuleError> for ReloadError {
    fn from(e: RuleError) -> Self {
        ReloadError {
            kind: Kind::Rules(e),
        }
    }
}

impl From<PolicyError> for ReloadError {
    fn from(e: PolicyError) -> Self {
        ReloadError {
            kind: Kind::Policy(e),
        }
    }
}

impl From<OverrideError> for ReloadError {
    fn from(e: OverrideError) -> Self {
        ReloadError {
            kind: Kind::Override(e),
        }
    }
}
