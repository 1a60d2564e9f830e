//! The send-API tap: a request body exactly as the BSP sends it to
//! `POST /<phone-number-id>/messages`, mapped to one outbound
//! `MessageEvent`. Webhooks never carry outbound text; this does.

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess};

use crate::pb::v1 as pb;
use crate::webhook::country;
use crate::webhook::lenient::{Arr, FromMap, KeyIn, Obj, Str, StrIn};
use crate::webhook::templates::TemplateRef;

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

/// One `parameters[]` item of a template component.
#[derive(Default)]
struct Param<'a> {
    ty: Cow<'a, str>,
    text: Cow<'a, str>,
}

impl<'de> FromMap<'de> for Param<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut p = Param::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["type", "text"]))? {
            match k {
                Some(0) => p.ty = map.next_value::<Str<'de>>()?.0,
                Some(_) => p.text = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(p)
    }
}

/// One `components[]` item: its `text` parameters' words, in order.
#[derive(Default)]
struct Component<'a>(Vec<Cow<'a, str>>);

impl<'de> FromMap<'de> for Component<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut c = Component::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["parameters"]))? {
            match k {
                Some(_) => {
                    c.0 = map
                        .next_value::<Arr<Obj<Param<'de>>>>()?
                        .items()
                        .into_iter()
                        .filter_map(|p| p.0)
                        .filter(|p| p.ty == "text" && !p.text.is_empty())
                        .map(|p| p.text)
                        .collect()
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(c)
    }
}

/// A template message: its name and language, and the words it is filled
/// with (its `text` parameters, in order).
#[derive(Default)]
struct Template(String, TemplateRef);

impl<'de> FromMap<'de> for Template {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut t = Template::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["name", "language", "components"]))? {
            match k {
                Some(0) => t.1.name = map.next_value::<Str<'de>>()?.0.into_owned(),
                Some(1) => t.1.language = map.next_value_seed(StrIn(&["code"]))?.into_owned(),
                Some(_) => {
                    let words: Vec<Cow<'de, str>> = map
                        .next_value::<Arr<Obj<Component<'de>>>>()?
                        .items()
                        .into_iter()
                        .filter_map(|c| c.0)
                        .flat_map(|c| c.0)
                        .collect();
                    t.0 = words.join(" ");
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}

/// Header, body and footer text of an interactive message.
#[derive(Default)]
struct Interactive(String);

impl<'de> FromMap<'de> for Interactive {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut parts: [Cow<'de, str>; 3] = Default::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["header", "body", "footer"]))? {
            match k {
                Some(i) => parts[i] = map.next_value_seed(StrIn(&["text"]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let parts: Vec<Cow<'de, str>> = parts.into_iter().filter(|s| !s.is_empty()).collect();
        Ok(Interactive(parts.join("\n")))
    }
}

/// Keys of a send-API body; the index of each is its slot in [`SendRead::from_map`].
const SEND_KEYS: &[&str] = &[
    "status",
    "type",
    "to",
    "recipient",
    "text",
    "template",
    "interactive",
    "image",
    "video",
    "document",
    "context",
];

/// A send-API body as read: what [`map_send`] needs of it.
#[derive(Default)]
struct SendRead<'a> {
    has_status: bool,
    has_type: bool,
    ty: Cow<'a, str>,
    to: Cow<'a, str>,
    recipient: Cow<'a, str>,
    text: Cow<'a, str>,
    template: Option<Template>,
    interactive: String,
    /// Captions of image, video and document.
    captions: [Cow<'a, str>; 3],
    reply_to: Cow<'a, str>,
}

impl<'de> FromMap<'de> for SendRead<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut r = SendRead::default();
        while let Some(k) = map.next_key_seed(KeyIn(SEND_KEYS))? {
            match k {
                Some(0) => {
                    r.has_status = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Some(1) => {
                    r.has_type = true;
                    r.ty = map.next_value::<Str<'de>>()?.0;
                }
                Some(2) => r.to = map.next_value::<Str<'de>>()?.0,
                Some(3) => r.recipient = map.next_value::<Str<'de>>()?.0,
                Some(4) => r.text = map.next_value_seed(StrIn(&["body"]))?,
                Some(5) => r.template = map.next_value::<Obj<Template>>()?.0,
                Some(6) => {
                    r.interactive = map
                        .next_value::<Obj<Interactive>>()?
                        .0
                        .unwrap_or_default()
                        .0
                }
                Some(i @ 7..=9) => r.captions[i - 7] = map.next_value_seed(StrIn(&["caption"]))?,
                Some(_) => r.reply_to = map.next_value_seed(StrIn(&["message_id"]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(r)
    }
}

/// A stable id for a request the BSP did not name: a retried request maps to the same id.
fn derived_id(phone_number_id: &str, body: &[u8]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(phone_number_id.as_bytes());
    h.update(&[0]);
    h.update(body);
    format!("send:{:032x}", h.digest128())
}

/// One send-API request body, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The outbound event.
    pub event: pb::MessageEvent,
    /// The template's name and language, for a template message.
    pub template: Option<TemplateRef>,
}

/// Maps one send-API request body.
pub fn map_send(body: &[u8], ctx: &SendContext<'_>) -> Result<pb::MessageEvent, SendError> {
    map_send_template(body, ctx).map(|s| s.event)
}

/// [`map_send`], with the template the body names (for
/// [`crate::webhook::templates::TemplateTable::stamp`]).
pub fn map_send_template(body: &[u8], ctx: &SendContext<'_>) -> Result<Sent, SendError> {
    let text = std::str::from_utf8(body).map_err(|e| SendError::NotJson(e.to_string()))?;
    let read: Obj<SendRead<'_>> =
        serde_json::from_str(text).map_err(|e| SendError::NotJson(e.to_string()))?;
    let Some(v) = read.0 else {
        return Err(SendError::NotAMessage("the body is not a JSON object"));
    };
    if v.has_status && !v.has_type {
        return Err(SendError::NotAMessage("a status update (mark as read)"));
    }
    let to = if v.to.is_empty() { &v.recipient } else { &v.to };
    let to = to.trim().trim_start_matches('+').to_string();
    let ty: &str = if v.ty.is_empty() { "text" } else { &v.ty };
    let [image, video, document] = v.captions;
    let mut template: Option<TemplateRef> = None;
    let (kind, text) = match ty {
        "text" => (pb::MessageKind::Text, v.text.into_owned()),
        "template" => {
            let t = v.template.unwrap_or_default();
            template = Some(t.1).filter(|r| !r.name.is_empty());
            (pb::MessageKind::Template, t.0)
        }
        "interactive" => (pb::MessageKind::Interactive, v.interactive),
        "image" => (pb::MessageKind::Image, image.into_owned()),
        "video" => (pb::MessageKind::Video, video.into_owned()),
        "document" => (pb::MessageKind::Document, document.into_owned()),
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
    let event = pb::MessageEvent {
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
        reply_to: v.reply_to.into_owned(),
        delivery: None,
        business_id: String::new(),
    };
    Ok(Sent { event, template })
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

    #[test]
    fn a_template_message_names_its_template_and_others_none() {
        let template = r#"{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"order_update","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Budi"}]}]}}"#;
        let s = map_send_template(template.as_bytes(), &CTX).expect("maps");
        assert_eq!(
            s.template,
            Some(TemplateRef {
                name: "order_update".into(),
                language: "en_US".into()
            })
        );
        assert_eq!(s.event.text, "Budi");
        assert_eq!(s.event, map(template), "map_send gives the same event");
        let text = r#"{"messaging_product":"whatsapp","to":"6281234567890","type":"text","text":{"body":"hi"},"template":{"name":"ignored"}}"#;
        assert_eq!(
            map_send_template(text.as_bytes(), &CTX)
                .expect("maps")
                .template,
            None
        );
        let nameless =
            r#"{"to":"6281234567890","type":"template","template":{"language":{"code":"id"}}}"#;
        assert_eq!(
            map_send_template(nameless.as_bytes(), &CTX)
                .expect("maps")
                .template,
            None
        );
    }
}
