//! The webhook and send-API readers against the way they read before: the
//! bodies went through a `serde_json::Value` first (the code of that is
//! kept here, as the oracle). Real fixtures with random parts replaced by
//! values of other JSON types, escaped strings and keys, repeated keys:
//! the typed readers must give the very same records and events, so that
//! reading straight from the bytes changed the cost and nothing else.

use std::path::Path;

use proptest::prelude::*;
use satpam::webhook::send::{map_send, SendContext};
use satpam::webhook::{map_body, parse_body};
use serde_json::Value;

mod oracle {
    use satpam::pb::v1 as pb;
    use satpam::webhook::country;
    use satpam::webhook::parse::{
        Body, Change, Contact, Context, Entry, Message, ParseError, Pricing, Status, StatusError,
        StatusKind, Text, WaKind, WabaInfo, WABA_OBJECT,
    };
    use satpam::webhook::send::{SendContext, SendError};
    use serde_json::Value;

    fn wa_kind(t: &str) -> WaKind {
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

    fn status_kind(s: &str) -> StatusKind {
        match s {
            "sent" => StatusKind::Sent,
            "delivered" => StatusKind::Delivered,
            "read" => StatusKind::Read,
            "played" => StatusKind::Played,
            "failed" => StatusKind::Failed,
            _ => StatusKind::Other,
        }
    }

    /// A string field: strings as they are, numbers written out, anything else empty.
    fn string(v: &Value, key: &str) -> String {
        match v.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// A string nested one level down (`v[a][b]`).
    fn string2(v: &Value, a: &str, b: &str) -> String {
        v.get(a).map(|x| string(x, b)).unwrap_or_default()
    }

    /// Seconds from a string or a number; `None` when absent or unreadable.
    fn seconds(v: &Value, key: &str) -> Option<i64> {
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

    fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
        match v.get(key) {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    /// Reads a webhook body through a `Value`, as before.
    pub fn parse_body(bytes: &[u8]) -> Result<Body<'static>, ParseError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson(e.to_string()))?;
        parse_value(&v)
    }

    fn parse_value(v: &Value) -> Result<Body<'static>, ParseError> {
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
                waba_id: string(e, "id").into(),
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

    fn parse_change(c: &Value) -> Option<Change<'static>> {
        let value = c.get("value").filter(|v| v.is_object())?;
        Some(Change {
            field: string(c, "field").into(),
            phone_number_id: string2(value, "metadata", "phone_number_id").into(),
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
            event: string(value, "event").into(),
            waba_info: value
                .get("waba_info")
                .filter(|w| w.is_object())
                .map(|w| WabaInfo {
                    waba_id: string(w, "waba_id").into(),
                    owner_business_id: string(w, "owner_business_id").into(),
                }),
            template_name: string(value, "message_template_name").into(),
            template_language: string(value, "message_template_language").into(),
            template_category: {
                let c = string(value, "message_template_category");
                if c.is_empty() {
                    string(value, "new_category")
                } else {
                    c
                }
            }
            .into(),
        })
    }

    fn parse_contact(c: &Value) -> Contact<'static> {
        let mut country_code = string(c, "country_code");
        if country_code.is_empty() {
            country_code = string2(c, "profile", "country_code");
        }
        Contact {
            wa_id: string(c, "wa_id").into(),
            user_id: string(c, "user_id").into(),
            username: string2(c, "profile", "username").into(),
            country_code: country_code.into(),
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

    fn parse_message(m: &Value) -> Message<'static> {
        let kind = wa_kind(&string(m, "type"));
        let text = Text(message_text(m, &kind).into());
        let context = m.get("context").filter(|c| c.is_object()).map(|c| Context {
            id: string(c, "id").into(),
            forwarded: boolean(c, "forwarded"),
            frequently_forwarded: boolean(c, "frequently_forwarded"),
        });
        let mut to_user_id = string(m, "to_user_id");
        if to_user_id.is_empty() {
            to_user_id = string(m, "recipient_user_id");
        }
        Message {
            id: string(m, "id").into(),
            from: string(m, "from").into(),
            from_user_id: string(m, "from_user_id").into(),
            to: string(m, "to").into(),
            to_user_id: to_user_id.into(),
            timestamp_s: seconds(m, "timestamp"),
            kind,
            text,
            context,
        }
    }

    fn parse_status(s: &Value) -> Status<'static> {
        let pricing = s.get("pricing").filter(|p| p.is_object()).map(|p| Pricing {
            billable: p.get("billable").and_then(Value::as_bool),
            model: string(p, "pricing_model").into(),
            category: string(p, "category").into(),
        });
        let conversation = s.get("conversation").unwrap_or(&Value::Null);
        Status {
            id: string(s, "id").into(),
            status: status_kind(&string(s, "status")),
            timestamp_s: seconds(s, "timestamp"),
            recipient_id: string(s, "recipient_id").into(),
            recipient_user_id: string(s, "recipient_user_id").into(),
            pricing,
            conversation_id: string(conversation, "id").into(),
            conversation_origin: string2(conversation, "origin", "type").into(),
            errors: array(s, "errors")
                .iter()
                .map(|e| StatusError {
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                    title: string(e, "title").into(),
                })
                .collect(),
        }
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

    /// Maps one send-API request body through a `Value`, as before (`ctx.message_id` given).
    pub fn map_send(body: &[u8], ctx: &SendContext<'_>) -> Result<pb::MessageEvent, SendError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| SendError::NotJson(e.to_string()))?;
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
            event_id: ctx.message_id.to_string(),
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
            delivery: None,
            business_id: String::new(),
        })
    }
}

fn fixtures() -> &'static [(Value, bool)] {
    static ALL: std::sync::OnceLock<Vec<(Value, bool)>> = std::sync::OnceLock::new();
    ALL.get_or_init(load)
}

/// The webhook fixtures (`false`) and send-API bodies (`true`).
fn load() -> Vec<(Value, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let mut out = Vec::new();
    for sub in ["pywa", "netflie", "whatsapp-api-js"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                let v = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
                out.push((v, false));
            }
        }
    }
    for s in SEND_BODIES {
        out.push((serde_json::from_str(s).expect("send body"), true));
    }
    out
}

/// Send-API bodies in the shapes of Meta's reference.
const SEND_BODIES: &[&str] = &[
    r#"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Hello there"}}"#,
    r#"{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"order_update","language":{"code":"id"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/y.png"}}]},{"type":"body","parameters":[{"type":"text","text":"Budi"},{"type":"text","text":"A-1234"}]}]}}"#,
    r#"{"messaging_product":"whatsapp","to":"BR.1502576394655843","type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"Hi"},"body":{"text":"Pick one"},"footer":{"text":"bye"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}},"context":{"message_id":"wamid.prev"}}"#,
    r#"{"messaging_product":"whatsapp","to":"447400123456","type":"image","image":{"link":"https://x/y.jpg","caption":"look"}}"#,
    r#"{"messaging_product":"whatsapp","recipient":"447400123456","type":"document","document":{"id":"1","caption":"the file"}}"#,
    r#"{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x"}"#,
];

const CTX: SendContext<'static> = SendContext {
    tenant_id: "t",
    phone_number_id: "p",
    waba_id: "w",
    message_id: "wamid.given",
    timestamp_ms: 1,
};

/// Both readers agree on `bytes`: the same records (or the same kind of
/// refusal), the same mapped events; and the same send-API event.
fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    match (parse_body(bytes), oracle::parse_body(bytes)) {
        (Ok(new), Ok(old)) => {
            prop_assert_eq!(&new, &old);
            prop_assert_eq!(map_body(&new, "t"), map_body(&old, "t"));
        }
        (Err(new), Err(old)) => {
            prop_assert_eq!(
                std::mem::discriminant(&new),
                std::mem::discriminant(&old),
                "{:?} against {:?}",
                new,
                old
            );
        }
        (new, old) => prop_assert!(false, "{:?} against {:?}", new.err(), old.err()),
    }
    match (map_send(bytes, &CTX), oracle::map_send(bytes, &CTX)) {
        (Ok(new), Ok(old)) => prop_assert_eq!(new, old),
        (Err(new), Err(old)) => {
            prop_assert_eq!(std::mem::discriminant(&new), std::mem::discriminant(&old))
        }
        (new, old) => prop_assert!(false, "{:?} against {:?}", new.err(), old.err()),
    }
    Ok(())
}

/// Replaces the `pick`-th node (in pre-order) of `v` with `with`.
fn replace_nth(v: &mut Value, pick: &mut usize, with: &Value) -> bool {
    if *pick == 0 {
        *v = with.clone();
        return true;
    }
    *pick -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, pick, with)),
        Value::Object(o) => o.values_mut().any(|x| replace_nth(x, pick, with)),
        _ => false,
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(Value::from("true")),
        Just(Value::from(" 1700000000 ")),
        Just(Value::Array(vec![Value::from(1), Value::from("x")])),
        Just(serde_json::json!({"body": {"nested": [1]}, "text": "t", "caption": 5})),
        Just(serde_json::json!({"title": "a", "text": "b", "type": "text"})),
    ]
}

#[test]
fn every_fixture_reads_the_same() {
    for (v, _) in fixtures() {
        let bytes = serde_json::to_vec(v).expect("encode");
        agree(&bytes).expect("agree");
        let pretty = serde_json::to_vec_pretty(v).expect("encode");
        agree(&pretty).expect("agree");
    }
}

#[test]
fn escapes_repeated_keys_and_odd_numbers_read_the_same() {
    for body in [
        // Escaped keys and values (the typed reader owns these strings).
        r#"{"object":"whatsapp_business_account","entry":[{"id":"w","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"p\u0031"},"contacts":[{"w\u0061_id":"62812\u00345","profile":{"country_code":"I\u0044"}}],"messages":[{"fr\u006fm":"628123","id":"m\n1","timestamp":"17","type":"te\u0078t","t\u0065xt":{"body":"h\u00e9 \"q\" \ud83d\ude00"}}]}}]}]}"#,
        // A key seen twice: the last one counts.
        r#"{"object":"page","object":"whatsapp_business_account","entry":5,"entry":[{"id":"w","id":7,"changes":[{"field":"messages","value":{"messages":[{"id":"a","type":"text","text":{"body":"one"},"text":{"nobody":1},"timestamp":1,"timestamp":"2"}]},"value":{"messages":[{"id":"b","type":"image","image":{"caption":"c"}}]}}]}]}"#,
        // Numbers where strings go, floats, big integers, exponents.
        r#"{"object":"whatsapp_business_account","entry":[{"id":1.5e3,"changes":[{"field":7,"value":{"metadata":{"phone_number_id":18446744073709551615},"statuses":[{"id":-1,"status":"failed","timestamp":9223372036854775808,"recipient_id":1e2,"errors":[{"code":1.0},{"code":-5},7,{"code":"3"}],"pricing":{"billable":"true","category":0.1}}]}}]}]}"#,
        // Not webhooks, or not JSON.
        "[]",
        r#""x""#,
        "{}",
        r#"{"object":"whatsapp_business_account"}"#,
        r#"{"object":"whatsapp_business_account","entry":[]} x"#,
        r#"{"object":"#,
    ] {
        agree(body.as_bytes()).expect(body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_read_the_same(
        which in any::<prop::sample::Index>(),
        node in 0usize..400,
        with in any_json(),
    ) {
        let all = fixtures();
        let mut v = all[which.index(all.len())].0.clone();
        let mut pick = node;
        replace_nth(&mut v, &mut pick, &with);
        agree(&serde_json::to_vec(&v).expect("encode"))?;
    }

    #[test]
    fn arbitrary_bytes_read_the_same(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        agree(&bytes)?;
    }
}
