//! The send-API tap: a request body exactly as the BSP sends it to
//! `POST /<phone-number-id>/messages`, mapped to one outbound
//! `MessageEvent`. Webhooks never carry outbound text; this does.

use serde_json::Value;

use crate::pb::v1 as pb;
use crate::webhook::country;
use crate::webhook::parse::{array, string, string2};

/// What the request itself does not say.
#[derive(Debug, Clone, Copy)]
pub struct SendContext<'a> {
    /// The tenant of the app that signed the request.
    pub tenant_id: &'a str,
    /// The sending phone number id (from the path).
    pub phone_number_id: &'a str,
    /// The WABA id, when the BSP passes it (`X-Satpam-Waba-Id`).
    pub waba_id: &'a str,
    /// The wamid Meta answered with, when the BSP passes it
    /// (`X-Satpam-Message-Id`): the later statuses carry the same id.
    pub message_id: &'a str,
    /// When it was sent, ms (`X-Satpam-Timestamp-Ms`, else the receive time).
    pub timestamp_ms: i64,
}

/// Why a send-API body is not an outbound message. Never quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not JSON.
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not a message (a mark-as-read, a typing indicator, ...).
    #[error("not a message: {0}")]
    NotAMessage(&'static str),
}

/// The words a template is filled with: its `text` parameters, in order.
fn template_text(t: &Value) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in array(t, "components") {
        for p in array(c, "parameters") {
            if string(p, "type") == "text" {
                let s = string(p, "text");
                if !s.is_empty() {
                    out.push(s);
                }
            }
        }
    }
    out.join(" ")
}

/// Header, body and footer text of an interactive message.
fn interactive_text(i: &Value) -> String {
    [
        string2(i, "header", "text"),
        string2(i, "body", "text"),
        string2(i, "footer", "text"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join("\n")
}

/// A stable id for a request the BSP did not name: a retried request maps to the same id.
fn derived_id(phone_number_id: &str, body: &[u8]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(phone_number_id.as_bytes());
    h.update(&[0]);
    h.update(body);
    format!("send:{:032x}", h.digest128())
}

/// Maps one send-API request body.
pub fn map_send(body: &[u8], ctx: &SendContext<'_>) -> Result<pb::MessageEvent, SendError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| SendError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(SendError::NotAMessage("the body is not a JSON object"));
    }
    if v.get("status").is_some() && v.get("type").is_none() {
        return Err(SendError::NotAMessage("a status update (mark as read)"));
    }
    let mut to = string(&v, "to");
    if to.is_empty() {
        to = string(&v, "recipient");
    }
    let to = to.trim().trim_start_matches('+').to_string();
    let ty = string(&v, "type");
    let ty = if ty.is_empty() {
        "text".to_string()
    } else {
        ty
    };
    let (kind, text) = match ty.as_str() {
        "text" => (pb::MessageKind::Text, string2(&v, "text", "body")),
        "template" => (
            pb::MessageKind::Template,
            v.get("template").map(template_text).unwrap_or_default(),
        ),
        "interactive" => (
            pb::MessageKind::Interactive,
            v.get("interactive")
                .map(interactive_text)
                .unwrap_or_default(),
        ),
        "image" => (pb::MessageKind::Image, string2(&v, "image", "caption")),
        "video" => (pb::MessageKind::Video, string2(&v, "video", "caption")),
        "document" => (
            pb::MessageKind::Document,
            string2(&v, "document", "caption"),
        ),
        "audio" => (pb::MessageKind::Audio, String::new()),
        "sticker" => (pb::MessageKind::Sticker, String::new()),
        "reaction" => (pb::MessageKind::Reaction, String::new()),
        "location" => (pb::MessageKind::Location, String::new()),
        _ => (pb::MessageKind::Other, String::new()),
    };
    let user_country = if country::is_bsuid(&to) {
        country::resolve("", "", &to)
    } else {
        country::resolve("", &to, "")
    };
    Ok(pb::MessageEvent {
        event_id: if ctx.message_id.is_empty() {
            derived_id(ctx.phone_number_id, body)
        } else {
            ctx.message_id.to_string()
        },
        tenant_id: ctx.tenant_id.to_string(),
        account_id: ctx.phone_number_id.to_string(),
        waba_id: ctx.waba_id.to_string(),
        user_id: to,
        conversation_id: String::new(),
        direction: pb::Direction::Outbound as i32,
        kind: kind as i32,
        template_category: pb::TemplateCategory::Unspecified as i32,
        sender: pb::Sender::Unspecified as i32,
        timestamp_ms: ctx.timestamp_ms,
        text,
        text_length: 0,
        user_country: if user_country.is_known() {
            user_country.as_str().to_string()
        } else {
            String::new()
        },
        handoff: false,
        reply_to: string2(&v, "context", "message_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: SendContext<'static> = SendContext {
        tenant_id: "bsp",
        phone_number_id: "106540352242922",
        waba_id: "",
        message_id: "",
        timestamp_ms: 1_764_000_000_000,
    };

    fn map(body: &str) -> pb::MessageEvent {
        map_send(body.as_bytes(), &CTX).expect("maps")
    }

    #[test]
    fn text_template_interactive_and_media_bodies() {
        // Shapes as in Meta's send-API reference.
        let e = map(
            r#"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Hello there"}}"#,
        );
        assert_eq!(
            (
                e.kind,
                e.text.as_str(),
                e.user_id.as_str(),
                e.user_country.as_str()
            ),
            (
                pb::MessageKind::Text as i32,
                "Hello there",
                "16505551234",
                "US"
            )
        );
        assert_eq!(e.direction, pb::Direction::Outbound as i32);
        assert_eq!(e.account_id, "106540352242922");
        assert!(e.event_id.starts_with("send:"));

        let e = map(
            r#"{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"order_update","language":{"code":"id"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/y.png"}}]},{"type":"body","parameters":[{"type":"text","text":"Budi"},{"type":"text","text":"A-1234"}]}]}}"#,
        );
        assert_eq!(
            (e.kind, e.text.as_str(), e.user_country.as_str()),
            (pb::MessageKind::Template as i32, "Budi A-1234", "ID")
        );

        let e = map(
            r#"{"messaging_product":"whatsapp","to":"BR.1502576394655843","type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"Hi"},"body":{"text":"Pick one"},"footer":{"text":"bye"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}},"context":{"message_id":"wamid.prev"}}"#,
        );
        assert_eq!(
            (
                e.kind,
                e.text.as_str(),
                e.user_id.as_str(),
                e.user_country.as_str(),
                e.reply_to.as_str()
            ),
            (
                pb::MessageKind::Interactive as i32,
                "Hi\nPick one\nbye",
                "BR.1502576394655843",
                "BR",
                "wamid.prev"
            )
        );

        let e = map(
            r#"{"messaging_product":"whatsapp","to":"447400123456","type":"image","image":{"link":"https://x/y.jpg","caption":"look"}}"#,
        );
        assert_eq!(
            (e.kind, e.text.as_str()),
            (pb::MessageKind::Image as i32, "look")
        );
        let e = map(
            r#"{"messaging_product":"whatsapp","to":"447400123456","type":"hologram","hologram":{}}"#,
        );
        assert_eq!(e.kind, pb::MessageKind::Other as i32);
    }

    #[test]
    fn ids_are_the_wamid_when_given_else_stable_per_body() {
        let body = r#"{"to":"16505551234","type":"text","text":{"body":"x"}}"#;
        assert_eq!(
            map(body).event_id,
            map(body).event_id,
            "a retried request keeps its id"
        );
        assert_ne!(map(body).event_id, map(&body.replace('x', "y")).event_id);
        let ctx = SendContext {
            message_id: "wamid.HBgL",
            ..CTX
        };
        assert_eq!(
            map_send(body.as_bytes(), &ctx).expect("maps").event_id,
            "wamid.HBgL"
        );
    }

    #[test]
    fn reads_and_garbage_are_not_messages() {
        assert!(matches!(
            map_send(
                br#"{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x"}"#,
                &CTX
            ),
            Err(SendError::NotAMessage(_))
        ));
        assert!(matches!(
            map_send(b"[1]", &CTX),
            Err(SendError::NotAMessage(_))
        ));
        assert!(matches!(map_send(b"{", &CTX), Err(SendError::NotJson(_))));
    }
}
