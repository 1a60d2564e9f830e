//! Per-conversation state: turns, pending inbound for reply latency, sessions,
//! topics, and a short ring of recent event ids for de-duplication.

use serde::{Deserialize, Serialize};

use crate::event::{Direction, Event, MessageKind};

/// A gap after which a conversation's next message starts a new session.
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1_000;
/// Recent event ids remembered per conversation for de-duplication.
pub const RECENT_IDS: usize = 8;

/// The 32 bits of an event id's 64-bit hash that a conversation remembers:
/// an idle conversation then costs 32 bytes less. Two ids in one
/// conversation's last eight collide with probability about 2e-9 per event.
fn short_id(id_hash: u64) -> u32 {
    (id_hash ^ (id_hash >> 32)) as u32
}

/// What one conversation remembers. Small and `Copy`-free of heap data so
/// that an idle conversation costs a fixed, reported number of bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationState {
    first_ms: i64,
    last_ms: i64,
    /// Event time of the oldest unanswered inbound message, 0 for none.
    pending_since_ms: i64,
    inbound: u32,
    outbound: u32,
    turns: u32,
    topic_mask: u64,
    recent_ids: [u32; RECENT_IDS],
    recent_pos: u8,
    handed_off: bool,
    /// xxh3-64 of the tenant id: what the per-tenant cap counts by.
    tenant: u64,
}

/// A conversation as snapshot format 2 wrote it (before the tenant hash);
/// read back with tenant 0, which no cap counts.
#[derive(Deserialize)]
pub(crate) struct ConversationStateV2 {
    first_ms: i64,
    last_ms: i64,
    pending_since_ms: i64,
    inbound: u32,
    outbound: u32,
    turns: u32,
    topic_mask: u64,
    recent_ids: [u32; RECENT_IDS],
    recent_pos: u8,
    handed_off: bool,
}

impl From<ConversationStateV2> for ConversationState {
    fn from(v: ConversationStateV2) -> Self {
        ConversationState {
            first_ms: v.first_ms,
            last_ms: v.last_ms,
            pending_since_ms: v.pending_since_ms,
            inbound: v.inbound,
            outbound: v.outbound,
            turns: v.turns,
            topic_mask: v.topic_mask,
            recent_ids: v.recent_ids,
            recent_pos: v.recent_pos,
            handed_off: v.handed_off,
            tenant: 0,
        }
    }
}

/// What observing one event changed in its conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationUpdate {
    /// The event id was seen recently in this conversation: ignore the event.
    pub duplicate: bool,
    /// The first event of the conversation.
    pub new_conversation: bool,
    /// The event starts a session (first event, or after [`SESSION_GAP_MS`]).
    pub new_session: bool,
    /// A user came back: an inbound message opened a new session of a known conversation.
    pub returning: bool,
    /// The event answers an unanswered inbound message after this many ms.
    pub reply_latency_ms: Option<i64>,
}

/// A read-only view of a conversation for features.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConversationView {
    /// Completed inbound -> outbound exchanges.
    pub turns: u32,
    /// Inbound messages.
    pub inbound: u32,
    /// Outbound messages.
    pub outbound: u32,
    /// Distinct topics the user raised.
    pub topics: u32,
    /// Minutes since the first message.
    pub age_min: f64,
    /// Whether a human took over at some point.
    pub handed_off: bool,
}

impl ConversationState {
    /// An empty conversation of the tenant whose id hashes (xxh3-64) to `tenant`.
    pub fn of_tenant(tenant: u64) -> Self {
        ConversationState {
            tenant,
            ..ConversationState::default()
        }
    }

    /// The xxh3-64 of the tenant id (0 when unknown).
    pub fn tenant(&self) -> u64 {
        self.tenant
    }

    /// Observes `event` (whose id hashes to `id_hash`, and whose text raised
    /// the topics in `topic_mask`).
    pub fn observe(&mut self, event: &Event, id_hash: u64, topic_mask: u64) -> ConversationUpdate {
        let mut update = ConversationUpdate::default();
        let seen = self.inbound + self.outbound > 0;
        let id = short_id(id_hash);
        if seen && self.recent_ids.contains(&id) {
            update.duplicate = true;
            return update;
        }
        self.recent_ids[usize::from(self.recent_pos) % RECENT_IDS] = id;
        self.recent_pos = self.recent_pos.wrapping_add(1) % RECENT_IDS as u8;

        let ts = event.timestamp_ms;
        if !seen {
            update.new_conversation = true;
            update.new_session = true;
            self.first_ms = ts;
        } else if ts.saturating_sub(self.last_ms) >= SESSION_GAP_MS {
            update.new_session = true;
            update.returning = event.direction == Direction::Inbound;
            // An old unanswered message is not waiting for this session's reply.
            self.pending_since_ms = 0;
        }
        self.last_ms = self.last_ms.max(ts);
        self.first_ms = self.first_ms.min(ts);
        self.topic_mask |= topic_mask;
        self.handed_off |= event.handoff;

        match event.direction {
            Direction::Inbound => {
                self.inbound = self.inbound.saturating_add(1);
                if self.pending_since_ms == 0 {
                    self.pending_since_ms = ts;
                }
            }
            Direction::Outbound => {
                self.outbound = self.outbound.saturating_add(1);
                let answers = !matches!(event.kind, MessageKind::Template | MessageKind::Reaction);
                if answers && self.pending_since_ms != 0 {
                    update.reply_latency_ms = Some(ts.saturating_sub(self.pending_since_ms).max(0));
                    self.pending_since_ms = 0;
                    self.turns = self.turns.saturating_add(1);
                }
            }
        }
        update
    }

    /// Event time of the latest message.
    pub fn last_ms(&self) -> i64 {
        self.last_ms
    }

    /// The view features read.
    pub fn view(&self, now_ms: i64) -> ConversationView {
        ConversationView {
            turns: self.turns,
            inbound: self.inbound,
            outbound: self.outbound,
            topics: self.topic_mask.count_ones(),
            age_min: now_ms.saturating_sub(self.first_ms).max(0) as f64 / 60_000.0,
            handed_off: self.handed_off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Sender;

    fn ev(dir: Direction, kind: MessageKind, ts: i64) -> Event {
        Event {
            direction: dir,
            kind,
            sender: Sender::Bot,
            ..crate::state::test_event::inbound_text(ts)
        }
    }

    #[test]
    fn reply_latency_turns_sessions_and_duplicates() {
        let mut c = ConversationState::default();
        let u = c.observe(&ev(Direction::Inbound, MessageKind::Text, 1_000), 1, 0b1);
        assert!(u.new_conversation && u.new_session && !u.returning);
        // A second inbound before the reply keeps the oldest pending time.
        c.observe(&ev(Direction::Inbound, MessageKind::Text, 2_000), 2, 0b10);
        let u = c.observe(&ev(Direction::Outbound, MessageKind::Text, 4_000), 3, 0);
        assert_eq!(u.reply_latency_ms, Some(3_000));
        // A template does not answer.
        c.observe(&ev(Direction::Inbound, MessageKind::Text, 5_000), 4, 0);
        let u = c.observe(&ev(Direction::Outbound, MessageKind::Template, 6_000), 5, 0);
        assert_eq!(u.reply_latency_ms, None);
        // The same id again is a duplicate and changes nothing.
        let before = c.view(6_000);
        assert!(
            c.observe(&ev(Direction::Outbound, MessageKind::Text, 7_000), 3, 0)
                .duplicate
        );
        assert_eq!(c.view(6_000), before);
        // After the session gap the user returns.
        let u = c.observe(
            &ev(
                Direction::Inbound,
                MessageKind::Text,
                6_000 + SESSION_GAP_MS,
            ),
            6,
            0,
        );
        assert!(u.new_session && u.returning && !u.new_conversation);
        let v = c.view(6_000 + SESSION_GAP_MS);
        assert_eq!((v.turns, v.inbound, v.outbound, v.topics), (1, 4, 2, 2));
    }
}
