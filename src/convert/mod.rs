//! The edge between wire types (`pb::v1`) and domain types: validation with
//! reasons on the way in (here), signal encoding on the way out
//! ([`signal`]).

mod decoder;
pub mod signal;
mod wire;

pub use decoder::{DecodeError, EventDecoder};

use crate::event::{
    Country, Delivery, DeliveryState, Direction, Event, MessageKind, PricingCategory, Sender,
    TemplateCategory,
};
use crate::limits::EventTimeError;
use crate::pb::v1 as pb;

/// Longest identifier accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Longest text accepted, in bytes (WhatsApp caps text bodies at 4096 chars).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Why an event was rejected. The reason never quotes message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A required field is empty.
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    /// An identifier is longer than [`MAX_ID_LEN`].
    #[error("field `{0}` is longer than {MAX_ID_LEN} bytes")]
    TooLong(&'static str),
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("text is longer than {MAX_TEXT_BYTES} bytes")]
    TextTooLong,
    /// An enum field holds an unknown or unspecified value.
    #[error("field `{field}` has invalid value {value}")]
    InvalidEnum {
        /// The field.
        field: &'static str,
        /// The raw value.
        value: i32,
    },
    /// The timestamp is not positive.
    #[error("timestamp_ms must be positive, got {0}")]
    BadTimestamp(i64),
    /// The country is not a two-letter code.
    #[error("user_country must be an ISO 3166-1 alpha-2 code")]
    BadCountry,
    /// An identifier holds a control character (NUL included).
    #[error("field `{0}` contains a control character or NUL")]
    ControlCharacter(&'static str),
    /// A delivery report that is not outbound, or carries text.
    #[error("a delivery report must be OUTBOUND and carry no text")]
    BadDeliveryReport,
    /// The event's time lies outside the window its shard accepts.
    #[error("{0}")]
    EventTime(EventTimeError),
}

fn required(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Missing(field));
    }
    bounded(field, value)
}

fn bounded(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.len() > MAX_ID_LEN {
        return Err(ValidationError::TooLong(field));
    }
    if has_control(value) {
        return Err(ValidationError::ControlCharacter(field));
    }
    Ok(())
}

/// Whether `s` holds a control character (C0 with NUL, DEL, or C1). Ids
/// with one are refused: they break logs, headers and keys downstream.
pub fn has_control(s: &str) -> bool {
    // C0 and DEL are single bytes; a C1 character is 0xC2 0x80..=0x9F.
    let b = s.as_bytes();
    // The usual id is printable ASCII: one branch-free pass decides it.
    if b.iter().fold(true, |ok, &c| ok & (0x20..0x7f).contains(&c)) {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// Checks an identifier that is not part of an event (an override's
/// tenant or account, say): not empty, at most [`MAX_ID_LEN`] bytes, no
/// control character.
pub fn check_id(field: &'static str, value: &str) -> Result<(), ValidationError> {
    required(field, value)
}

/// What validation decided about a message, before any string moves.
struct Checked {
    direction: Direction,
    kind: MessageKind,
    template_category: Option<TemplateCategory>,
    sender: Sender,
    user_country: Country,
    delivery: Option<Delivery>,
}

/// Checks a delivery report's enums: the state must be given.
fn check_delivery(d: &pb::DeliveryReport) -> Result<Delivery, ValidationError> {
    let state = match pb::DeliveryState::try_from(d.state) {
        Ok(pb::DeliveryState::Sent) => DeliveryState::Sent,
        Ok(pb::DeliveryState::Delivered) => DeliveryState::Delivered,
        Ok(pb::DeliveryState::Read) => DeliveryState::Read,
        Ok(pb::DeliveryState::Failed) => DeliveryState::Failed,
        _ => {
            return Err(ValidationError::InvalidEnum {
                field: "delivery.state",
                value: d.state,
            })
        }
    };
    let category = match pb::PricingCategory::try_from(d.pricing_category) {
        Ok(pb::PricingCategory::Unspecified) => PricingCategory::Unknown,
        Ok(pb::PricingCategory::Service) => PricingCategory::Service,
        Ok(pb::PricingCategory::Utility) => PricingCategory::Utility,
        Ok(pb::PricingCategory::Marketing) => PricingCategory::Marketing,
        Ok(pb::PricingCategory::Authentication) => PricingCategory::Authentication,
        Ok(pb::PricingCategory::Other) => PricingCategory::Other,
        Err(_) => {
            return Err(ValidationError::InvalidEnum {
                field: "delivery.pricing_category",
                value: d.pricing_category,
            })
        }
    };
    bounded("delivery.message_id", &d.message_id)?;
    Ok(Delivery {
        state,
        category,
        billable: d.billable,
    })
}

/// Checks every field of `m` without taking it apart.
fn check(m: &pb::MessageEvent) -> Result<Checked, ValidationError> {
    let direction = match pb::Direction::try_from(m.direction) {
        Ok(pb::Direction::Inbound) => Direction::Inbound,
        Ok(pb::Direction::Outbound) => Direction::Outbound,
        _ => {
            return Err(ValidationError::InvalidEnum {
                field: "direction",
                value: m.direction,
            })
        }
    };
    let kind = match pb::MessageKind::try_from(m.kind) {
        Ok(pb::MessageKind::Unspecified) | Ok(pb::MessageKind::Text) => MessageKind::Text,
        Ok(pb::MessageKind::Template) => MessageKind::Template,
        Ok(pb::MessageKind::Interactive) => MessageKind::Interactive,
        Ok(pb::MessageKind::ButtonReply) => MessageKind::ButtonReply,
        Ok(
            pb::MessageKind::Image
            | pb::MessageKind::Document
            | pb::MessageKind::Audio
            | pb::MessageKind::Video
            | pb::MessageKind::Sticker,
        ) => MessageKind::Media,
        Ok(pb::MessageKind::Location) => MessageKind::Location,
        Ok(pb::MessageKind::Reaction) => MessageKind::Reaction,
        Ok(pb::MessageKind::Other) => MessageKind::Other,
        Err(_) => {
            return Err(ValidationError::InvalidEnum {
                field: "kind",
                value: m.kind,
            })
        }
    };
    let template_category = match pb::TemplateCategory::try_from(m.template_category) {
        Ok(pb::TemplateCategory::Unspecified) => None,
        Ok(pb::TemplateCategory::Marketing) => Some(TemplateCategory::Marketing),
        Ok(pb::TemplateCategory::Utility) => Some(TemplateCategory::Utility),
        Ok(pb::TemplateCategory::Authentication) => Some(TemplateCategory::Authentication),
        Err(_) => {
            return Err(ValidationError::InvalidEnum {
                field: "template_category",
                value: m.template_category,
            })
        }
    };
    let sender = match pb::Sender::try_from(m.sender) {
        Ok(pb::Sender::Bot) => Sender::Bot,
        Ok(pb::Sender::HumanAgent) => Sender::HumanAgent,
        Ok(pb::Sender::MetaBusinessAgent) => Sender::MetaBusinessAgent,
        Ok(pb::Sender::Unknown) | Ok(pb::Sender::Unspecified) => Sender::Unknown,
        Err(_) => {
            return Err(ValidationError::InvalidEnum {
                field: "sender",
                value: m.sender,
            })
        }
    };
    if m.timestamp_ms <= 0 {
        return Err(ValidationError::BadTimestamp(m.timestamp_ms));
    }
    if m.text.len() > MAX_TEXT_BYTES {
        return Err(ValidationError::TextTooLong);
    }
    let user_country = Country::parse(&m.user_country).ok_or(ValidationError::BadCountry)?;
    required("account_id", &m.account_id)?;
    required("user_id", &m.user_id)?;
    bounded("conversation_id", &m.conversation_id)?;
    bounded("reply_to", &m.reply_to)?;
    required("event_id", &m.event_id)?;
    required("tenant_id", &m.tenant_id)?;
    bounded("waba_id", &m.waba_id)?;
    bounded("business_id", &m.business_id)?;
    let delivery = match &m.delivery {
        None => None,
        Some(d) => {
            if direction != Direction::Outbound || !m.text.is_empty() {
                return Err(ValidationError::BadDeliveryReport);
            }
            Some(check_delivery(d)?)
        }
    };
    Ok(Checked {
        direction,
        kind,
        template_category,
        sender,
        user_country,
        delivery,
    })
}

/// Builds the event from a checked message: moves its strings, fails never.
fn build(mut m: pb::MessageEvent, c: Checked) -> Event {
    let mut e = decoder::blank();
    decoder::refill(&mut e, &mut m, c, &mut String::new());
    e
}

/// A refused message, handed back untouched with the reason.
#[derive(Debug)]
pub struct Refusal {
    /// Why it was refused.
    pub reason: ValidationError,
    /// The message as it came.
    pub message: Box<pb::MessageEvent>,
}

/// Validates and converts a message, handing it back untouched with the
/// reason when it is refused (so that it can be dead-lettered as it came,
/// without encoding every accepted message just in case).
pub fn event_or_refusal(m: pb::MessageEvent) -> Result<Event, Refusal> {
    event_or_refusal_with(m, |_| Ok(()))
}

/// [`event_or_refusal`] with one more check, `extra`, run on a message
/// that passed validation (the shard's event-time window, say).
pub fn event_or_refusal_with(
    m: pb::MessageEvent,
    extra: impl FnOnce(&pb::MessageEvent) -> Result<(), ValidationError>,
) -> Result<Event, Refusal> {
    match check(&m).and_then(|c| extra(&m).map(|()| c)) {
        Ok(c) => Ok(build(m, c)),
        Err(reason) => Err(Refusal {
            reason,
            message: Box::new(m),
        }),
    }
}

impl TryFrom<pb::MessageEvent> for Event {
    type Error = ValidationError;

    fn try_from(m: pb::MessageEvent) -> Result<Self, Self::Error> {
        let c = check(&m)?;
        Ok(build(m, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn valid() -> pb::MessageEvent {
        pb::MessageEvent {
            event_id: "wamid.1".into(),
            tenant_id: "bsp".into(),
            account_id: "acc".into(),
            user_id: "u1".into(),
            direction: pb::Direction::Inbound as i32,
            kind: pb::MessageKind::Text as i32,
            timestamp_ms: 1_000,
            text: "héllo".into(),
            user_country: "id".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_event_converts_with_defaults() {
        let e = Event::try_from(valid()).expect("valid");
        assert_eq!(e.conversation_id, "acc:u1");
        assert_eq!(e.text_len, 5, "length counts chars, not bytes");
        assert_eq!(e.user_country.as_str(), "ID");
        assert_eq!(e.sender, Sender::Unknown);
        assert!(e.reply_to.is_none());
    }

    #[test]
    fn a_refused_message_comes_back_untouched_with_its_reason() {
        let mut m = valid();
        m.tenant_id.clear();
        m.text = "kept as it came".into();
        let refused = event_or_refusal(m.clone()).expect_err("refused");
        assert_eq!(refused.reason, ValidationError::Missing("tenant_id"));
        assert_eq!(*refused.message, m);
        // Accepted, it is the event built by hand from the message's fields.
        let want = Event {
            event_id: "wamid.1".into(),
            tenant_id: "bsp".into(),
            account_id: "acc".into(),
            waba_id: String::new(),
            business_id: String::new(),
            user_id: "u1".into(),
            conversation_id: "acc:u1".into(),
            direction: Direction::Inbound,
            kind: MessageKind::Text,
            template_category: None,
            sender: Sender::Unknown,
            timestamp_ms: 1_000,
            text: "héllo".into(),
            text_len: 5,
            user_country: Country::parse("ID").expect("country"),
            handoff: false,
            reply_to: None,
            delivery: None,
        };
        assert_eq!(event_or_refusal(valid()).ok(), Some(want));
    }

    fn delivered() -> pb::DeliveryReport {
        pb::DeliveryReport {
            state: pb::DeliveryState::Delivered as i32,
            message_id: "wamid.sent".into(),
            pricing_category: pb::PricingCategory::Service as i32,
            billable: true,
        }
    }

    #[test]
    fn a_delivery_report_converts_with_the_message_it_reports_on() {
        let mut m = valid();
        m.direction = pb::Direction::Outbound as i32;
        m.text.clear();
        m.reply_to = "ignored".into();
        m.delivery = Some(delivered());
        let e = Event::try_from(m).expect("valid");
        assert_eq!(
            e.delivery,
            Some(Delivery {
                state: DeliveryState::Delivered,
                category: PricingCategory::Service,
                billable: true,
            })
        );
        assert_eq!(e.reply_to.as_deref(), Some("wamid.sent"));
    }

    #[test]
    fn withheld_text_keeps_reported_length() {
        let mut m = valid();
        m.text.clear();
        m.text_length = 321;
        assert_eq!(Event::try_from(m).expect("valid").text_len, 321);
    }

    #[test]
    fn invalid_events_are_rejected_with_reasons() {
        type Mutate = fn(&mut pb::MessageEvent);
        let cases: &[(Mutate, ValidationError)] = &[
            (|m| m.event_id.clear(), ValidationError::Missing("event_id")),
            (
                |m| m.tenant_id.clear(),
                ValidationError::Missing("tenant_id"),
            ),
            (
                |m| m.account_id.clear(),
                ValidationError::Missing("account_id"),
            ),
            (|m| m.user_id.clear(), ValidationError::Missing("user_id")),
            (
                |m| m.direction = 0,
                ValidationError::InvalidEnum {
                    field: "direction",
                    value: 0,
                },
            ),
            (
                |m| m.kind = 99,
                ValidationError::InvalidEnum {
                    field: "kind",
                    value: 99,
                },
            ),
            (|m| m.timestamp_ms = 0, ValidationError::BadTimestamp(0)),
            (
                |m| m.user_country = "IDN".into(),
                ValidationError::BadCountry,
            ),
            (
                |m| m.account_id = "x".repeat(300),
                ValidationError::TooLong("account_id"),
            ),
            (
                |m| m.text = "x".repeat(MAX_TEXT_BYTES + 1),
                ValidationError::TextTooLong,
            ),
            (
                |m| m.tenant_id = "bsp\0".into(),
                ValidationError::ControlCharacter("tenant_id"),
            ),
            (
                |m| m.account_id = "acc\n1".into(),
                ValidationError::ControlCharacter("account_id"),
            ),
            (
                |m| m.waba_id = "w\u{7f}".into(),
                ValidationError::ControlCharacter("waba_id"),
            ),
            (
                |m| m.business_id = "b\u{0}".into(),
                ValidationError::ControlCharacter("business_id"),
            ),
            (
                |m| m.user_id = "u\u{85}".into(),
                ValidationError::ControlCharacter("user_id"),
            ),
            (
                |m| m.conversation_id = "\u{1b}[31m".into(),
                ValidationError::ControlCharacter("conversation_id"),
            ),
            (
                |m| m.event_id = "wamid\t1".into(),
                ValidationError::ControlCharacter("event_id"),
            ),
            (
                |m| m.reply_to = "\r".into(),
                ValidationError::ControlCharacter("reply_to"),
            ),
            // A delivery report: inbound, or with text, is refused.
            (
                |m| m.delivery = Some(delivered()),
                ValidationError::BadDeliveryReport,
            ),
            (
                |m| {
                    m.direction = pb::Direction::Outbound as i32;
                    m.delivery = Some(delivered());
                },
                ValidationError::BadDeliveryReport,
            ),
            (
                |m| {
                    m.direction = pb::Direction::Outbound as i32;
                    m.text.clear();
                    m.delivery = Some(pb::DeliveryReport {
                        state: pb::DeliveryState::Unspecified as i32,
                        ..delivered()
                    });
                },
                ValidationError::InvalidEnum {
                    field: "delivery.state",
                    value: 0,
                },
            ),
            (
                |m| {
                    m.direction = pb::Direction::Outbound as i32;
                    m.text.clear();
                    m.delivery = Some(pb::DeliveryReport {
                        pricing_category: 99,
                        ..delivered()
                    });
                },
                ValidationError::InvalidEnum {
                    field: "delivery.pricing_category",
                    value: 99,
                },
            ),
            (
                |m| {
                    m.direction = pb::Direction::Outbound as i32;
                    m.text.clear();
                    m.delivery = Some(pb::DeliveryReport {
                        message_id: "w\0".into(),
                        ..delivered()
                    });
                },
                ValidationError::ControlCharacter("delivery.message_id"),
            ),
        ];
        for (mutate, want) in cases {
            let mut m = valid();
            mutate(&mut m);
            assert_eq!(Event::try_from(m).err().as_ref(), Some(want));
        }
    }

    #[test]
    fn printable_unicode_ids_are_accepted_and_text_may_hold_newlines() {
        let mut m = valid();
        m.user_id = "pengguna-é-日本-\u{a0}".into();
        m.text = "line one\nline two\u{0}".into();
        assert!(Event::try_from(m).is_ok());
        assert!(!has_control("é\u{a0}\u{100}"));
        assert!(has_control("\u{9f}") && has_control("\u{80}") && has_control("\0"));
    }

    proptest::proptest! {
        /// The fast path for printable ASCII and the byte walk agree with
        /// the definition: a character of Unicode category Cc (C0, DEL, C1).
        #[test]
        fn has_control_is_category_cc(s in "[ -~]{0,40}|[\\x00-\\x7f\u{80}-\u{a0}é日]{0,40}") {
            proptest::prop_assert_eq!(has_control(&s), s.chars().any(char::is_control));
        }
    }

    #[test]
    fn an_extra_check_refuses_after_validation_and_hands_the_message_back() {
        let err = ValidationError::Missing("x");
        let refused = event_or_refusal_with(valid(), |_| Err(err.clone())).expect_err("refused");
        assert_eq!(refused.reason, err);
        assert_eq!(*refused.message, valid());
        let mut bad = valid();
        bad.tenant_id.clear();
        let first = event_or_refusal_with(bad, |_| Err(err.clone())).expect_err("refused");
        assert_eq!(
            first.reason,
            ValidationError::Missing("tenant_id"),
            "validation first"
        );
    }

    #[test]
    fn debug_output_never_contains_text() {
        let mut m = valid();
        m.text = "secret-prompt-words".into();
        let e = Event::try_from(m).expect("valid");
        assert!(!format!("{e:?}").contains("secret-prompt-words"));
    }
}
