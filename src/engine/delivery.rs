//! The engine's delivery reports: an event that carries a [`Delivery`] is
//! a status of a message the account sent, not a message. It is counted in
//! the account's delivery windows (read as the `account.delivered_*`
//! features on the account's next message) and nothing else: no
//! conversation, session, user or message count moves, no rule runs and no
//! signal comes of it. A report for an account the shard holds no state
//! for is dropped (counted as processed): state is made by messages.

use std::sync::atomic::Ordering;

use xxhash_rust::xxh3::xxh3_64;

use super::{Engine, Outcome};
use crate::event::{Delivery, Event};
use crate::state::key_of;

impl Engine {
    /// Counts the report `d` of event `e` (already inside the shard's
    /// event-time window). A report id seen among the account's latest
    /// reports is a [`Outcome::Duplicate`].
    pub(super) fn observe_delivery(&self, e: &Event, d: Delivery) -> Outcome {
        let key = key_of(&e.tenant_id, &e.account_id);
        let id_hash = xxh3_64(e.event_id.as_bytes());
        let counted = self
            .store
            .with_delivery(key, |w| w.observe(id_hash, d, e.timestamp_ms));
        if counted == Some(false) {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
            return Outcome::Duplicate;
        }
        self.watermark_ms
            .fetch_max(e.timestamp_ms, Ordering::Relaxed);
        self.maybe_sweep(e.timestamp_ms);
        Outcome::Processed(None)
    }
}
