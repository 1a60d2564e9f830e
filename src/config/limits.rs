//! `[limits]`: bounds on hostile input (docs/security.md, Limits). Plain
//! data; the service turns it into the engine's settings.

use serde::{Deserialize, Serialize};

use crate::limits::{EventTimeLimits, DEFAULT_MAX_FUTURE_MS, DEFAULT_MAX_PAST_MS};
use crate::state::store::{
    DEFAULT_MAX_ACCOUNTS_PER_TENANT, DEFAULT_MAX_CONVERSATIONS_PER_TENANT,
    DEFAULT_MAX_WABAS_PER_TENANT,
};

/// Default of [`LimitsSection::rules_compile_timeout_ms`].
pub const DEFAULT_RULES_COMPILE_TIMEOUT_MS: u64 = 30_000;

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// An event more than this ahead of the later of its shard's watermark
    /// and the wall clock is dead-lettered, ms; 0: no limit.
    pub max_future_ms: i64,
    /// An event more than this behind its shard's watermark is
    /// dead-lettered, ms; 0: no limit.
    pub max_past_ms: i64,
    /// Accounts one tenant may have tracked per shard; over it, the
    /// tenant's least recently active ones are evicted; 0: no cap.
    pub max_accounts_per_tenant: usize,
    /// Conversations one tenant may have tracked per shard; over it, the
    /// tenant's least recently active ones are evicted; 0: no cap.
    pub max_conversations_per_tenant: usize,
    /// WABAs (per-WABA aggregates) one tenant may have tracked per shard;
    /// over it, the tenant's least recently active ones are evicted; 0: no cap.
    pub max_wabas_per_tenant: usize,
    /// A rule reload still compiling after this long is abandoned (the
    /// running rules stay), ms.
    pub rules_compile_timeout_ms: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
            max_past_ms: DEFAULT_MAX_PAST_MS,
            max_accounts_per_tenant: DEFAULT_MAX_ACCOUNTS_PER_TENANT,
            max_conversations_per_tenant: DEFAULT_MAX_CONVERSATIONS_PER_TENANT,
            max_wabas_per_tenant: DEFAULT_MAX_WABAS_PER_TENANT,
            rules_compile_timeout_ms: DEFAULT_RULES_COMPILE_TIMEOUT_MS,
        }
    }
}

impl LimitsSection {
    /// The event-time window the engine's shards accept.
    pub fn event_time(&self) -> EventTimeLimits {
        EventTimeLimits {
            max_future_ms: self.max_future_ms,
            max_past_ms: self.max_past_ms,
        }
    }

    /// Checks values that parse but cannot work.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_future_ms < 0 || self.max_past_ms < 0 {
            return Err("limits.max_future_ms and limits.max_past_ms must be >= 0".into());
        }
        if self.rules_compile_timeout_ms == 0 {
            return Err("limits.rules_compile_timeout_ms must be at least 1".into());
        }
        Ok(())
    }
}
