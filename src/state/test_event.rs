//! One event for the state's unit tests to start from: an inbound text of
//! ten characters from user `u` of account `a` (tenant `t`), with no event
//! id; a test changes what it needs with struct update syntax.

use crate::event::{Country, Direction, Event, MessageKind, Sender};

/// The inbound text at event time `ts`.
pub(crate) fn inbound_text(ts: i64) -> Event {
    Event {
        event_id: String::new(),
        tenant_id: "t".into(),
        account_id: "a".into(),
        waba_id: String::new(),
        user_id: "u".into(),
        conversation_id: "a:u".into(),
        direction: Direction::Inbound,
        kind: MessageKind::Text,
        template_category: None,
        sender: Sender::Unknown,
        timestamp_ms: ts,
        text: String::new(),
        text_len: 10,
        user_country: Country::UNKNOWN,
        handoff: false,
        reply_to: None,
        delivery: None,
        business_id: String::new(),
    }
}
