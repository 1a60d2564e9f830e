//! The webhook body (`{"object":"whatsapp_business_account","entry":[...]}`)
//! to typed records. Tolerant by design: unknown fields are ignored, unknown
//! message types and status values are kept as `Other`, ids and timestamps
//! are read from strings or numbers, and a value of the wrong JSON type is
//! treated as absent. Only a body that is not JSON, or JSON that is not a
//! webhook at all, is an error.

use std::fmt;

use serde_json::Value;

/// The `object` of a WhatsApp Business Account webhook.
pub const WABA_OBJECT: &str = "whatsapp_business_account";

/// Why a body could not be read. Never quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON (or not UTF-8).
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not a WhatsApp Business Account webhook.
    #[error("not a WhatsApp Business Account webhook: {0}")]
    UnknownShape(&'static str),
}

/// Message text (a body, caption, button title): shown by `Debug` as its length only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

/// One webhook body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    /// The entries, one per WABA.
    pub entries: Vec<Entry>,
    /// Entries or changes that were not objects (skipped).
    pub skipped: u32,
}

/// One `entry`: the changes of one WhatsApp Business Account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// `entry[].id`: the WABA id.
    pub waba_id: String,
    /// `entry[].changes`.
    pub changes: Vec<Change>,
}

/// One `changes[]` item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// `field`: `messages`, `smb_message_echoes`, `account_update`, ...
    pub field: String,
    /// `value.metadata.phone_number_id`: the business number (the account).
    pub phone_number_id: String,
    /// `value.contacts`.
    pub contacts: Vec<Contact>,
    /// `value.messages`: messages users sent to the business.
    pub messages: Vec<Message>,
    /// `value.message_echoes`: messages the business sent from the WhatsApp Business app.
    pub echoes: Vec<Message>,
    /// `value.statuses`: delivery statuses of messages the business sent.
    pub statuses: Vec<Status>,
}

/// One `contacts[]` item: who the user is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// `wa_id`: the phone number; empty for a user known by username only.
    pub wa_id: String,
    /// `user_id`: the business-scoped user id (BSUID).
    pub user_id: String,
    /// `profile.username`, when the user adopted one.
    pub username: String,
    /// `country_code` or `profile.country_code` (ISO 3166-1 alpha-2), when present.
    pub country_code: String,
}

/// The WhatsApp message `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaKind {
    /// `text`.
    Text,
    /// `image`.
    Image,
    /// `video`.
    Video,
    /// `document`.
    Document,
    /// `audio` (voice notes too).
    Audio,
    /// `sticker`.
    Sticker,
    /// `interactive`: a `button_reply`, `list_reply` or `nfm_reply` (inbound), buttons or a list (echo).
    Interactive,
    /// `button`: a template's quick-reply button.
    Button,
    /// `reaction`.
    Reaction,
    /// `location`.
    Location,
    /// `contacts`.
    Contacts,
    /// `order`.
    Order,
    /// `system`: a number or user id change.
    System,
    /// `template` (echoes).
    Template,
    /// `unsupported`.
    Unsupported,
    /// Any other type, as named.
    Other(String),
}

impl WaKind {
    fn parse(t: &str) -> WaKind {
        match t {
            "text" => WaKind::Text,
            "image" => WaKind::Image,
            "video" => WaKind::Video,
            "document" => WaKind::Document,
            "audio" => WaKind::Audio,
            "sticker" => WaKind::Sticker,
            "interactive" => WaKind::Interactive,
            "button" => WaKind::Button,
            "reaction" => WaKind::Reaction,
            "location" => WaKind::Location,
            "contacts" => WaKind::Contacts,
            "order" => WaKind::Order,
            "system" => WaKind::System,
            "template" => WaKind::Template,
            "unsupported" => WaKind::Unsupported,
            other => WaKind::Other(other.to_string()),
        }
    }
}

/// `context`: what a message answers or that it was forwarded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `context.id`: the message replied to.
    pub id: String,
    /// `context.forwarded`.
    pub forwarded: bool,
    /// `context.frequently_forwarded`.
    pub frequently_forwarded: bool,
}

/// One message (inbound or echo).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `id`: the wamid.
    pub id: String,
    /// `from`: the sender's phone number (empty for username-only users).
    pub from: String,
    /// `from_user_id`: the sender's BSUID.
    pub from_user_id: String,
    /// `to` (echoes): the recipient's phone number.
    pub to: String,
    /// `to_user_id` / `recipient_user_id` (echoes): the recipient's BSUID.
    pub to_user_id: String,
    /// `timestamp`, seconds (a string on the wire); `None` when absent or unreadable.
    pub timestamp_s: Option<i64>,
    /// `type`.
    pub kind: WaKind,
    /// The text a person wrote or chose: the body, a caption, a button or row title, an order note.
    pub text: Text,
    /// `context`.
    pub context: Option<Context>,
}

/// A status value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `sent`.
    Sent,
    /// `delivered`.
    Delivered,
    /// `read`.
    Read,
    /// `played` (voice messages).
    Played,
    /// `failed` (with `errors`).
    Failed,
    /// Anything else.
    Other,
}

impl StatusKind {
    /// Every value, in label order.
    pub const ALL: [StatusKind; 6] = [
        StatusKind::Sent,
        StatusKind::Delivered,
        StatusKind::Read,
        StatusKind::Played,
        StatusKind::Failed,
        StatusKind::Other,
    ];

    fn parse(s: &str) -> StatusKind {
        match s {
            "sent" => StatusKind::Sent,
            "delivered" => StatusKind::Delivered,
            "read" => StatusKind::Read,
            "played" => StatusKind::Played,
            "failed" => StatusKind::Failed,
            _ => StatusKind::Other,
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read => "read",
            StatusKind::Played => "played",
            StatusKind::Failed => "failed",
            StatusKind::Other => "other",
        }
    }
}

/// `pricing` of a status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pricing {
    /// `billable`, when present.
    pub billable: Option<bool>,
    /// `pricing_model`: `CBP`, `PMP`, ...
    pub model: String,
    /// `category`: `service`, `utility`, `marketing`, `authentication`, ... (as sent).
    pub category: String,
}

/// One `errors[]` item of a failed status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusError {
    /// `code`.
    pub code: i64,
    /// `title`.
    pub title: String,
}

/// One `statuses[]` item.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `id`: the wamid of the message the status is about.
    pub id: String,
    /// `status`.
    pub status: StatusKind,
    /// `timestamp`, seconds.
    pub timestamp_s: Option<i64>,
    /// `recipient_id`: the user's phone number.
    pub recipient_id: String,
    /// `recipient_user_id`: the user's BSUID.
    pub recipient_user_id: String,
    /// `pricing`.
    pub pricing: Option<Pricing>,
    /// `conversation.id`.
    pub conversation_id: String,
    /// `conversation.origin.type`.
    pub conversation_origin: String,
    /// `errors`.
    pub errors: Vec<StatusError>,
}

/// A string field: strings as they are, numbers written out, anything else empty.
pub(crate) fn string(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A string nested one level down (`v[a][b]`).
pub(crate) fn string2(v: &Value, a: &str, b: &str) -> String {
    v.get(a).map(|x| string(x, b)).unwrap_or_default()
}

/// Seconds from a string or a number; `None` when absent or unreadable.
pub(crate) fn seconds(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn boolean(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

pub(crate) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    match v.get(key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// Reads a webhook body.
pub fn parse_body(bytes: &[u8]) -> Result<Body, ParseError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message names a position, never the input.
        ParseError::NotJson(e.to_string())
    })?;
    parse_value(&v)
}

/// Reads a webhook body already parsed as JSON.
pub fn parse_value(v: &Value) -> Result<Body, ParseError> {
    if !v.is_object() {
        return Err(ParseError::UnknownShape("the body is not a JSON object"));
    }
    match v.get("object") {
        Some(Value::String(o)) if o == WABA_OBJECT => {}
        _ => {
            return Err(ParseError::UnknownShape(
                "`object` is not whatsapp_business_account",
            ))
        }
    }
    let Some(Value::Array(entries)) = v.get("entry") else {
        return Err(ParseError::UnknownShape("`entry` is not an array"));
    };
    let mut body = Body::default();
    for e in entries {
        if !e.is_object() {
            body.skipped += 1;
            continue;
        }
        let mut entry = Entry {
            waba_id: string(e, "id"),
            changes: Vec::new(),
        };
        for c in array(e, "changes") {
            match parse_change(c) {
                Some(change) => entry.changes.push(change),
                None => body.skipped += 1,
            }
        }
        body.entries.push(entry);
    }
    Ok(body)
}

fn parse_change(c: &Value) -> Option<Change> {
    let value = c.get("value").filter(|v| v.is_object())?;
    Some(Change {
        field: string(c, "field"),
        phone_number_id: string2(value, "metadata", "phone_number_id"),
        contacts: array(value, "contacts").iter().map(parse_contact).collect(),
        messages: array(value, "messages")
            .iter()
            .filter(|m| m.is_object())
            .map(parse_message)
            .collect(),
        echoes: array(value, "message_echoes")
            .iter()
            .filter(|m| m.is_object())
            .map(parse_message)
            .collect(),
        statuses: array(value, "statuses")
            .iter()
            .filter(|s| s.is_object())
            .map(parse_status)
            .collect(),
    })
}

fn parse_contact(c: &Value) -> Contact {
    let mut country_code = string(c, "country_code");
    if country_code.is_empty() {
        country_code = string2(c, "profile", "country_code");
    }
    Contact {
        wa_id: string(c, "wa_id"),
        user_id: string(c, "user_id"),
        username: string2(c, "profile", "username"),
        country_code,
    }
}

/// The text a person wrote or chose, by message type.
fn message_text(m: &Value, kind: &WaKind) -> String {
    match kind {
        WaKind::Text => string2(m, "text", "body"),
        WaKind::Image | WaKind::Video | WaKind::Document | WaKind::Audio | WaKind::Sticker => {
            let key = match kind {
                WaKind::Image => "image",
                WaKind::Video => "video",
                WaKind::Document => "document",
                WaKind::Audio => "audio",
                _ => "sticker",
            };
            string2(m, key, "caption")
        }
        WaKind::Interactive => {
            let i = m.get("interactive").unwrap_or(&Value::Null);
            let title = string2(i, "button_reply", "title");
            if !title.is_empty() {
                return title;
            }
            let title = string2(i, "list_reply", "title");
            if !title.is_empty() {
                return title;
            }
            // An echo of buttons or a list the business sent: its body text.
            string2(i, "body", "text")
        }
        WaKind::Button => string2(m, "button", "text"),
        WaKind::Order => string2(m, "order", "text"),
        _ => String::new(),
    }
}

fn parse_message(m: &Value) -> Message {
    let kind = WaKind::parse(&string(m, "type"));
    let text = Text(message_text(m, &kind));
    let context = m.get("context").filter(|c| c.is_object()).map(|c| Context {
        id: string(c, "id"),
        forwarded: boolean(c, "forwarded"),
        frequently_forwarded: boolean(c, "frequently_forwarded"),
    });
    let mut to_user_id = string(m, "to_user_id");
    if to_user_id.is_empty() {
        to_user_id = string(m, "recipient_user_id");
    }
    Message {
        id: string(m, "id"),
        from: string(m, "from"),
        from_user_id: string(m, "from_user_id"),
        to: string(m, "to"),
        to_user_id,
        timestamp_s: seconds(m, "timestamp"),
        kind,
        text,
        context,
    }
}

fn parse_status(s: &Value) -> Status {
    let pricing = s.get("pricing").filter(|p| p.is_object()).map(|p| Pricing {
        billable: p.get("billable").and_then(Value::as_bool),
        model: string(p, "pricing_model"),
        category: string(p, "category"),
    });
    let conversation = s.get("conversation").unwrap_or(&Value::Null);
    Status {
        id: string(s, "id"),
        status: StatusKind::parse(&string(s, "status")),
        timestamp_s: seconds(s, "timestamp"),
        recipient_id: string(s, "recipient_id"),
        recipient_user_id: string(s, "recipient_user_id"),
        pricing,
        conversation_id: string(conversation, "id"),
        conversation_origin: string2(conversation, "origin", "type"),
        errors: array(s, "errors")
            .iter()
            .map(|e| StatusError {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                title: string(e, "title"),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_webhooks_are_refused_with_a_reason() {
        assert!(matches!(
            parse_body(b"{not json"),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_body(&[0xff, 0xfe]),
            Err(ParseError::NotJson(_))
        ));
        for b in [
            &b"[]"[..],
            b"{}",
            br#"{"object":"page","entry":[]}"#,
            br#"{"object":"whatsapp_business_account","entry":{}}"#,
        ] {
            assert!(
                matches!(parse_body(b), Err(ParseError::UnknownShape(_))),
                "{b:?}"
            );
        }
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_tolerated() {
        let b = br#"{"object":"whatsapp_business_account","surprise":[1,2],"entry":[
            7,
            {"id":123,"changes":["x",{"field":"messages","value":{
                "metadata":{"phone_number_id":456},
                "contacts":[{"wa_id":6281234567890,"new_thing":{}}],
                "messages":[
                    {"from":"6281234567890","id":"wamid.a","timestamp":1700000000,"type":"text","text":{"body":"hi"}},
                    {"from":"6281234567890","id":"wamid.b","timestamp":"soon","type":"hologram","hologram":{}},
                    {"from":"6281234567890","id":"wamid.c","timestamp":"1700000001","type":"text","text":5},
                    "not a message"
                ]}}]}]}"#;
        let body = parse_body(b).expect("tolerated");
        assert_eq!(body.skipped, 2, "the number entry and the string change");
        let c = &body.entries[0].changes[0];
        assert_eq!(body.entries[0].waba_id, "123");
        assert_eq!(c.phone_number_id, "456");
        assert_eq!(c.contacts[0].wa_id, "6281234567890");
        assert_eq!(c.messages.len(), 3);
        assert_eq!(c.messages[0].timestamp_s, Some(1_700_000_000));
        assert_eq!(c.messages[0].text.0, "hi");
        assert_eq!(c.messages[1].kind, WaKind::Other("hologram".into()));
        assert_eq!(c.messages[1].timestamp_s, None);
        assert_eq!(
            c.messages[2].text.0, "",
            "a body of the wrong type is no text"
        );
    }

    #[test]
    fn debug_output_never_contains_text() {
        let b = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messages":[{"from":"1","id":"w","timestamp":"1","type":"text","text":{"body":"secret-prompt-words"}}]}}]}]}"#;
        let body = parse_body(b).expect("body");
        assert!(!format!("{body:?}").contains("secret-prompt-words"));
        assert!(format!("{body:?}").contains("<19 chars>"));
    }
}
