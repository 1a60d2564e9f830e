//! Analyst overrides shared by the fleet through a compacted topic: a
//! `SetOverride` or `ClearOverride` on any instance is produced there
//! (keyed by tenant and account; a clear is a tombstone) and acknowledged
//! before the call returns, and every instance follows the topic from its
//! beginning, applying each record to its engine context. An override so
//! holds wherever the account's partition lives, and survives any restart.

use std::sync::Arc;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::decide::{Override, Overrides};
use crate::engine::EngineContext;
use crate::service::topic_follower::{FollowError, Follower, TableRecord};
use crate::sink::kafka_client::{acked, ensure_compacted_topic, TIMEOUT};
use crate::sink::table_key::{account_key, split_account_key};

/// Why the overrides topic could not be set up, read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("overrides topic: {what}: {reason}")]
pub struct OverridesTopicError {
    /// The step that failed (`create`, `producer`, `reader`, `assign`,
    /// `watermarks`, `read`, `thread`, `encode`, `send`, `delivery`).
    what: &'static str,
    /// Why.
    reason: String,
}

impl OverridesTopicError {
    fn new(what: &'static str, reason: impl std::fmt::Display) -> Self {
        OverridesTopicError {
            what,
            reason: reason.to_string(),
        }
    }
}

impl From<FollowError> for OverridesTopicError {
    fn from(e: FollowError) -> Self {
        OverridesTopicError {
            what: e.what,
            reason: e.reason,
        }
    }
}

/// The overrides topic, its producer and its follower thread.
pub struct OverridesTopic {
    topic: String,
    producer: FutureProducer,
    follower: Follower,
}

impl OverridesTopic {
    /// Creates the topic when missing, reads it to its end into `ctx`'s
    /// overrides (on top of those already there, e.g. from the overrides
    /// file), then follows it on a thread of its own.
    pub fn start(
        topic: String,
        producer: &ClientConfig,
        reader: &ClientConfig,
        ctx: Arc<EngineContext>,
    ) -> Result<Self, OverridesTopicError> {
        ensure_compacted_topic(producer, &topic, 1)
            .map_err(|e| OverridesTopicError::new("create", e))?;
        let mut pc = producer.clone();
        pc.set("acks", "all").set("enable.idempotence", "true");
        let producer: FutureProducer = pc
            .create()
            .map_err(|e| OverridesTopicError::new("producer", e))?;
        let (follower, applied) =
            Follower::start(&topic, reader, "satpam-overrides", move |r| apply(&ctx, r))?;
        tracing::info!(topic = %topic, records = applied, "overrides read from the overrides topic");
        Ok(OverridesTopic {
            topic,
            producer,
            follower,
        })
    }

    /// Produces `o` (set) or a tombstone (clear) for the account and waits
    /// for the broker's acknowledgement.
    pub fn publish(
        &self,
        tenant_id: &str,
        account_id: &str,
        o: Option<&Override>,
    ) -> Result<(), OverridesTopicError> {
        let key = account_key(tenant_id, account_id);
        let payload = match o {
            Some(o) => {
                Some(serde_json::to_vec(o).map_err(|e| OverridesTopicError::new("encode", e))?)
            }
            None => None,
        };
        let mut rec: FutureRecord<'_, str, Vec<u8>> =
            FutureRecord::to(&self.topic).partition(0).key(&key);
        if let Some(p) = &payload {
            rec = rec.payload(p);
        }
        let f = self
            .producer
            .send_result(rec)
            .map_err(|(e, _)| OverridesTopicError::new("send", e))?;
        acked(f, TIMEOUT).map_err(|e| OverridesTopicError::new("delivery", e))
    }

    /// Stops following.
    pub fn stop(&self) {
        self.follower.stop();
    }
}

/// Applies records to a copy of the overrides in force and swaps it in.
fn apply(ctx: &EngineContext, records: &[TableRecord]) {
    if records.is_empty() {
        return;
    }
    let mut next: Overrides = (*ctx.overrides()).clone();
    for r in records {
        match &r.value {
            Some(p) => match serde_json::from_slice::<Override>(p) {
                Ok(o) => {
                    if let Err(e) = next.set(o) {
                        tracing::warn!(error = %e, "an override on the overrides topic is refused");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an overrides topic record does not parse; skipped")
                }
            },
            None => {
                if let Some((tenant, account)) = split_account_key(&r.key) {
                    next.clear(tenant, account);
                }
            }
        }
    }
    ctx.swap_overrides(next);
}
