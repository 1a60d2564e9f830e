//! The event the memory and scale benches fill state with: one message of a
//! short exchange, its text withheld (40 characters long), a user in
//! Indonesia, a bot on the business side.

use satpam::event::{Country, Direction, MessageKind, Sender};
use satpam::Event;

/// Who an event of [`text_turn`] is from and to.
pub struct TurnIds {
    /// The tenant (BSP).
    pub tenant_id: String,
    /// The business phone number.
    pub account_id: String,
    /// The number's WABA (empty for none).
    pub waba_id: String,
    /// The user; the conversation is `account:user`.
    pub user_id: String,
}

/// A text message of `ids`' conversation at `ts`, inbound from the user or
/// outbound from a bot.
pub fn text_turn(ids: TurnIds, event_id: String, ts: i64, direction: Direction) -> Event {
    let TurnIds {
        tenant_id,
        account_id,
        waba_id,
        user_id,
    } = ids;
    Event {
        event_id,
        tenant_id,
        conversation_id: format!("{account_id}:{user_id}"),
        account_id,
        waba_id,
        user_id,
        direction,
        kind: MessageKind::Text,
        template_category: None,
        sender: if direction == Direction::Outbound {
            Sender::Bot
        } else {
            Sender::Unknown
        },
        timestamp_ms: ts,
        text: String::new(),
        text_len: 40,
        user_country: Country::parse("ID").unwrap_or_default(),
        handoff: false,
        reply_to: None,
        delivery: None,
        business_id: String::new(),
    }
}
