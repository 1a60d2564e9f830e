//! The domain event: what the engine sees of one message. No prost types past
//! this point; `convert` builds these from the wire types once.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Who sent the message, from the business's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// User to business.
    Inbound,
    /// Business to user.
    Outbound,
}

/// The WhatsApp message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Plain text.
    Text,
    /// A pre-approved template (outbound).
    Template,
    /// Buttons or a list sent by the business.
    Interactive,
    /// The user tapped a button or picked a list item.
    ButtonReply,
    /// Image, document, audio, video or sticker.
    Media,
    /// A shared location.
    Location,
    /// A reaction to another message.
    Reaction,
    /// Anything else.
    Other,
}

/// Category of a template message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateCategory {
    /// Promotions and offers.
    Marketing,
    /// Order, delivery and account updates.
    Utility,
    /// One-time passwords.
    Authentication,
}

/// Who produced an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    /// An automated bot.
    Bot,
    /// A human agent.
    HumanAgent,
    /// Meta's own Business Agent, answering for the business (allowed AI).
    MetaBusinessAgent,
    /// Not reported (or an inbound message).
    Unknown,
}

/// Where an outbound message got to (a Cloud API status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Sent to WhatsApp's servers.
    Sent,
    /// Delivered to the user's device.
    Delivered,
    /// Read (or a voice message played) by the user.
    Read,
    /// Not delivered.
    Failed,
}

/// How Meta priced a message (`pricing.category` of a status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PricingCategory {
    /// Not reported.
    Unknown,
    /// A free-form answer inside the 24-hour customer service window.
    Service,
    /// A utility template.
    Utility,
    /// A marketing template.
    Marketing,
    /// An authentication template.
    Authentication,
    /// Any other category.
    Other,
}

/// A delivery report of a message the business sent. An event that
/// carries one is a report, not a message: it feeds the account's delivery
/// windows only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The state reported.
    pub state: DeliveryState,
    /// The pricing category, when reported.
    pub category: PricingCategory,
    /// Whether Meta bills the message.
    pub billable: bool,
}

/// An ISO 3166-1 alpha-2 country code, upper case; `??` when unknown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Default for Country {
    fn default() -> Self {
        Country::UNKNOWN
    }
}

impl Country {
    /// The unknown country.
    pub const UNKNOWN: Country = Country(*b"??");

    /// Parses a two-letter code, case-insensitively. Empty means unknown.
    pub fn parse(code: &str) -> Option<Country> {
        match code.as_bytes() {
            [] => Some(Country::UNKNOWN),
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters or '?', by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether the country is known.
    pub fn is_known(&self) -> bool {
        *self != Country::UNKNOWN
    }
}

/// Written as its two bytes.
impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Read back only when it is two upper-case ASCII letters or `??`.
impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = <[u8; 2]>::deserialize(d)?;
        if b == Country::UNKNOWN.0 || b.iter().all(u8::is_ascii_uppercase) {
            Ok(Country(b))
        } else {
            Err(serde::de::Error::custom(format_args!(
                "invalid country code bytes {b:?}"
            )))
        }
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated message event.
///
/// `text` is sensitive: it is scanned once and never logged or persisted.
#[derive(Clone, PartialEq)]
pub struct Event {
    /// The wamid or the BSP's id.
    pub event_id: String,
    /// The BSP or tenant that owns the account.
    pub tenant_id: String,
    /// The business phone number id: the unit that gets enforced.
    pub account_id: String,
    /// The WhatsApp Business Account id (may be empty).
    pub waba_id: String,
    /// The business portfolio that owns the WABA (may be empty).
    pub business_id: String,
    /// The end user.
    pub user_id: String,
    /// The conversation (defaults to account + user).
    pub conversation_id: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The message type.
    pub kind: MessageKind,
    /// Set for templates.
    pub template_category: Option<TemplateCategory>,
    /// Who sent an outbound message.
    pub sender: Sender,
    /// Event time, ms since the Unix epoch.
    pub timestamp_ms: i64,
    /// The text, possibly empty.
    pub text: String,
    /// Length in characters: of `text` when present, else as reported.
    pub text_len: u32,
    /// The end user's country.
    pub user_country: Country,
    /// The conversation was handed to a human at this event.
    pub handoff: bool,
    /// The event this one answers, when known (for a delivery report: the
    /// message it reports on).
    pub reply_to: Option<String>,
    /// Set when the event is a delivery report rather than a message.
    pub delivery: Option<Delivery>,
}

impl fmt::Debug for Event {
    // Hand-written so that the text never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_id", &self.event_id)
            .field("tenant_id", &self.tenant_id)
            .field("account_id", &self.account_id)
            .field("conversation_id", &self.conversation_id)
            .field("direction", &self.direction)
            .field("kind", &self.kind)
            .field("sender", &self.sender)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("text_len", &self.text_len)
            .field("user_country", &self.user_country)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl Event {
    /// Whether the message carries text to scan.
    pub fn has_text(&self) -> bool {
        !self.text.is_empty()
    }
}
