//! Protobuf records to events without an allocation per event.
//!
//! Decoding a `satpam.v1.MessageEvent` into a fresh message allocates one
//! string per field, and dropping the event frees them again: about a fifth
//! of the instructions of a metadata-only event on the hot path. An
//! [`EventDecoder`] is caller-owned scratch (like regex-automata's caches):
//! it decodes each record into one reused message, whose strings keep their
//! capacity, then trades the strings of that message and of its one reused
//! [`Event`] (a swap, no copy). After a few records every buffer is as long
//! as it needs to be and nothing is allocated.
//!
//! The record is read by [`super::wire`], which knows this message's
//! fields and checks strings with SIMD; a record it does not take (a
//! group, a bad varint, a string that is not UTF-8) is decoded by prost,
//! whose answer stands.
//!
//! The conversion is [`Event::try_from`]'s, check for check: the same
//! record gives the same event or the same [`ValidationError`].

use prost::Message;

use super::{check, Checked, ValidationError};
use crate::event::{Country, Direction, Event, MessageKind, Sender};
use crate::pb::v1 as pb;

/// Why a record gave no event.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// The bytes are not a `satpam.v1.MessageEvent`.
    Wire(prost::DecodeError),
    /// The message decoded but is not a valid event.
    Invalid(ValidationError),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Wire(e) => write!(f, "not a satpam.v1.MessageEvent: {e}"),
            DecodeError::Invalid(e) => write!(f, "invalid event: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reused buffers for decoding protobuf records into events; one per
/// thread. Not `Sync` by use: [`EventDecoder::decode`] takes `&mut self`
/// and lends the event until the next call.
pub struct EventDecoder {
    message: pb::MessageEvent,
    event: Event,
    /// A buffer for `reply_to` while the event has none.
    spare: String,
}

impl Default for EventDecoder {
    fn default() -> Self {
        EventDecoder {
            message: pb::MessageEvent::default(),
            event: blank(),
            spare: String::new(),
        }
    }
}

/// An event with empty strings, to be filled by [`refill`].
pub(super) fn blank() -> Event {
    Event {
        event_id: String::new(),
        tenant_id: String::new(),
        account_id: String::new(),
        waba_id: String::new(),
        business_id: String::new(),
        user_id: String::new(),
        conversation_id: String::new(),
        direction: Direction::Inbound,
        kind: MessageKind::Text,
        template_category: None,
        sender: Sender::Unknown,
        timestamp_ms: 0,
        text: String::new(),
        text_len: 0,
        user_country: Country::UNKNOWN,
        handoff: false,
        reply_to: None,
        delivery: None,
    }
}

impl EventDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes and validates one record. The event is this decoder's until
    /// the next call.
    ///
    /// A refused record's buffers are dropped, not kept: only a valid
    /// event's sizes are bounded (ids by [`super::MAX_ID_LEN`], text by
    /// [`super::MAX_TEXT_BYTES`]), so a hostile record cannot leave a
    /// worker holding megabytes.
    pub fn decode(&mut self, wire: &[u8]) -> Result<&Event, DecodeError> {
        self.message.clear();
        let merged = match super::wire::merge(&mut self.message, wire) {
            Ok(()) => Ok(()),
            // Not a record the fast reader takes: prost decides, with its
            // own error text.
            Err(super::wire::Unusual) => {
                self.message.clear();
                self.message.merge(wire)
            }
        };
        let checked = match merged {
            Ok(()) => check(&self.message).map_err(DecodeError::Invalid),
            Err(e) => Err(DecodeError::Wire(e)),
        };
        match checked {
            Ok(c) => {
                refill(&mut self.event, &mut self.message, c, &mut self.spare);
                Ok(&self.event)
            }
            Err(e) => {
                self.message = pb::MessageEvent::default();
                Err(e)
            }
        }
    }

    /// Validates a message decoded elsewhere (a JSON line, a gRPC request)
    /// into the reused event. Its strings are taken, not copied.
    pub fn convert(&mut self, message: pb::MessageEvent) -> Result<&Event, ValidationError> {
        self.message = message;
        let checked = check(&self.message)?;
        refill(&mut self.event, &mut self.message, checked, &mut self.spare);
        Ok(&self.event)
    }
}

/// Fills `e` from the checked message `m` (the one definition of an
/// event's defaults: [`super::build`] fills a blank event with it), by
/// swapping strings: `m` is left holding `e`'s old buffers, to be cleared
/// and reused by the next decode. `spare` keeps the `reply_to` buffer of an
/// event that has none.
pub(super) fn refill(e: &mut Event, m: &mut pb::MessageEvent, c: Checked, spare: &mut String) {
    use std::mem::swap;
    swap(&mut e.event_id, &mut m.event_id);
    swap(&mut e.tenant_id, &mut m.tenant_id);
    swap(&mut e.account_id, &mut m.account_id);
    swap(&mut e.waba_id, &mut m.waba_id);
    swap(&mut e.business_id, &mut m.business_id);
    swap(&mut e.user_id, &mut m.user_id);
    if m.conversation_id.is_empty() {
        // The default conversation: account + user.
        e.conversation_id.clear();
        e.conversation_id.push_str(&e.account_id);
        e.conversation_id.push(':');
        e.conversation_id.push_str(&e.user_id);
    } else {
        swap(&mut e.conversation_id, &mut m.conversation_id);
    }
    swap(&mut e.text, &mut m.text);
    e.text_len = if e.text.is_empty() {
        m.text_length
    } else {
        char_count(&e.text)
    };
    e.direction = c.direction;
    e.kind = c.kind;
    e.template_category = c.template_category;
    e.sender = c.sender;
    e.timestamp_ms = m.timestamp_ms;
    e.user_country = c.user_country;
    e.handoff = m.handoff;
    e.delivery = c.delivery;
    // A delivery report's message id wins over `reply_to`, as in `build`.
    let reply_to = match m.delivery.as_mut() {
        Some(d) if !d.message_id.is_empty() => Some(&mut d.message_id),
        _ => (!m.reply_to.is_empty()).then_some(&mut m.reply_to),
    };
    match (reply_to, e.reply_to.as_mut()) {
        (Some(src), Some(dst)) => swap(dst, src),
        (Some(src), None) => {
            let mut buf = std::mem::take(spare);
            swap(&mut buf, src);
            e.reply_to = Some(buf);
        }
        (None, _) => {
            if let Some(old) = e.reply_to.take() {
                *spare = old;
            }
        }
    }
}

/// The characters in `s` (`s.chars().count()`): its bytes less its UTF-8
/// continuation bytes (`0b10xx_xxxx`), every char having exactly one byte
/// that is not one. Counted in runs of 255 bytes into a byte-wide sum,
/// which the compiler turns into 16 bytes a step.
fn char_count(s: &str) -> u32 {
    let continuation: usize = s
        .as_bytes()
        .chunks(255)
        .map(|run| {
            let n = run
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from((b as i8) < -0x40)));
            usize::from(n)
        })
        .sum();
    u32::try_from(s.len() - continuation).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests::valid as base;

    #[test]
    fn char_count_is_the_number_of_chars() {
        let long = "ä€😀a".repeat(300);
        for s in [
            "",
            "a",
            "ä",
            "€",
            "😀",
            "héllo wörld",
            "要約 🙂 ok",
            long.as_str(),
        ] {
            assert_eq!(char_count(s) as usize, s.chars().count(), "{s}");
        }
    }

    /// What `Event::try_from` makes of the same bytes.
    fn reference(wire: &[u8]) -> Result<Event, DecodeError> {
        let m = pb::MessageEvent::decode(wire).map_err(DecodeError::Wire)?;
        Event::try_from(m).map_err(DecodeError::Invalid)
    }

    /// Messages whose fields come and go between records, so that a
    /// buffer left over from one record would show in the next.
    fn table() -> Vec<pb::MessageEvent> {
        let mut out = vec![base()];
        out.push(pb::MessageEvent {
            conversation_id: "conv-9".into(),
            waba_id: "waba-1".into(),
            business_id: "biz-1".into(),
            reply_to: "wamid.0".into(),
            direction: pb::Direction::Outbound as i32,
            sender: pb::Sender::Bot as i32,
            text: "a much longer answer than the first one".into(),
            handoff: true,
            template_category: pb::TemplateCategory::Utility as i32,
            kind: pb::MessageKind::Template as i32,
            ..base()
        });
        // No text, a reported length; no conversation id, no reply_to.
        out.push(pb::MessageEvent {
            text: String::new(),
            text_length: 321,
            ..base()
        });
        // A delivery report: its message id is the reply_to.
        out.push(pb::MessageEvent {
            direction: pb::Direction::Outbound as i32,
            text: String::new(),
            reply_to: "ignored".into(),
            delivery: Some(pb::DeliveryReport {
                state: pb::DeliveryState::Delivered as i32,
                message_id: "wamid.77".into(),
                ..Default::default()
            }),
            ..base()
        });
        // A delivery report without a message id falls back to reply_to.
        out.push(pb::MessageEvent {
            direction: pb::Direction::Outbound as i32,
            text: String::new(),
            reply_to: "wamid.5".into(),
            delivery: Some(pb::DeliveryReport {
                state: pb::DeliveryState::Read as i32,
                ..Default::default()
            }),
            ..base()
        });
        // Refused: missing account, bad enum, bad timestamp, inbound report.
        out.push(pb::MessageEvent {
            account_id: String::new(),
            ..base()
        });
        out.push(pb::MessageEvent {
            direction: 99,
            ..base()
        });
        out.push(pb::MessageEvent {
            timestamp_ms: 0,
            ..base()
        });
        out.push(pb::MessageEvent {
            delivery: Some(pb::DeliveryReport {
                state: pb::DeliveryState::Sent as i32,
                ..Default::default()
            }),
            ..base()
        });
        out.push(base());
        out
    }

    #[test]
    fn every_record_gives_what_try_from_gives_in_any_order() {
        let wires: Vec<Vec<u8>> = table().iter().map(Message::encode_to_vec).collect();
        let n = wires.len();
        // Each record after each other record, so every field meets the
        // leftovers of every other record.
        let mut d = EventDecoder::new();
        for i in 0..n {
            for j in 0..n {
                for k in [i, j] {
                    let got = d.decode(&wires[k]).cloned();
                    assert_eq!(got, reference(&wires[k]), "record {k} after {i}/{j}");
                }
            }
        }
    }

    #[test]
    fn a_message_decoded_elsewhere_converts_as_try_from_does() {
        let mut d = EventDecoder::new();
        for m in table().into_iter().chain(table()) {
            let want = Event::try_from(m.clone());
            assert_eq!(d.convert(m).cloned(), want);
        }
    }

    #[test]
    fn bytes_that_are_not_a_message_are_a_wire_error() {
        let mut d = EventDecoder::new();
        assert!(matches!(
            d.decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Wire(_))
        ));
        // And the decoder still works afterwards.
        let ok = base().encode_to_vec();
        assert_eq!(d.decode(&ok).cloned(), reference(&ok));
        let shown = d.decode(&[0xff]).map(|_| ()).unwrap_err().to_string();
        assert!(shown.starts_with("not a satpam.v1.MessageEvent"), "{shown}");
    }

    #[test]
    fn a_refused_record_leaves_no_large_buffer_behind() {
        let mut d = EventDecoder::new();
        let huge = pb::MessageEvent {
            text: "x".repeat(super::super::MAX_TEXT_BYTES * 4),
            ..base()
        };
        assert_eq!(
            d.decode(&huge.encode_to_vec()).map(|_| ()),
            Err(DecodeError::Invalid(ValidationError::TextTooLong))
        );
        assert_eq!(d.message.text.capacity(), 0);
        let ok = base().encode_to_vec();
        assert_eq!(d.decode(&ok).cloned(), reference(&ok));
    }

    #[test]
    fn buffers_are_reused_once_warm() {
        let wire = base().encode_to_vec();
        let mut d = EventDecoder::new();
        let first = d.decode(&wire).map(|e| e.account_id.as_ptr()).ok();
        let _ = d.decode(&wire);
        // Two buffers trade places each record: the third decode writes
        // into the first one's buffer again.
        let third = d.decode(&wire).map(|e| e.account_id.as_ptr()).ok();
        assert!(first.is_some());
        assert_eq!(first, third);
    }
}
