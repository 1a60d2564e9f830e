//! The readers of the webhook records ([`crate::webhook::parse`]) on the
//! tolerant primitives of [`crate::webhook::lenient`]: each reads its
//! object key by key, straight from the body's bytes. What the old reading
//! through a `serde_json::Value` did, field by field, is kept: a value of
//! the wrong type is absent, non-object messages and statuses are dropped,
//! non-object contacts and errors are empty ones, a change whose `value` is
//! not an object is skipped (and counted).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::webhook::lenient::{Arr, Bool, Flag, FromMap, Int, KeyIn, Obj, Secs, Str, StrIn};
use crate::webhook::parse::{
    Body, Change, Contact, Context, Entry, Message, ParseError, Pricing, Status, StatusError,
    StatusKind, Text, WaKind, WabaInfo, WABA_OBJECT,
};

/// The top of a body: an object with `object` and `entry`, or anything else.
pub(crate) enum Top<'a> {
    /// Not a JSON object.
    NotObject,
    /// An object.
    Object {
        /// `object`, when present.
        object: Option<Cow<'a, str>>,
        /// `entry`, when an array.
        entry: Option<Vec<Obj<EntryRead<'a>>>>,
    },
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook body")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Top::NotObject)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::NotObject)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut object, mut entry) = (None, None);
        while let Some(k) = map.next_key_seed(KeyIn(&["object", "entry"]))? {
            match k {
                Some(0) => object = Some(map.next_value::<Str<'de>>()?.0),
                Some(_) => entry = map.next_value::<Arr<Obj<EntryRead<'de>>>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top::Object { object, entry })
    }
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

/// One entry and how many of its changes were skipped.
pub(crate) struct EntryRead<'a> {
    /// The entry.
    pub entry: Entry<'a>,
    /// Changes that were not objects or whose `value` was not one.
    pub skipped: u32,
}

impl<'de> FromMap<'de> for EntryRead<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut out = EntryRead {
            entry: Entry::default(),
            skipped: 0,
        };
        while let Some(k) = map.next_key_seed(KeyIn(&["id", "changes"]))? {
            match k {
                Some(0) => out.entry.waba_id = map.next_value::<Str<'de>>()?.0,
                Some(_) => {
                    let changes = map.next_value::<Arr<Obj<ChangeRead<'de>>>>()?.items();
                    out.entry.changes = Vec::with_capacity(changes.len());
                    out.skipped = 0;
                    for c in changes {
                        match c.0.and_then(|c| c.0) {
                            Some(change) => out.entry.changes.push(change),
                            None => out.skipped += 1,
                        }
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A change; `None` when its `value` is missing or not an object.
pub(crate) struct ChangeRead<'a>(Option<Change<'a>>);

impl<'de> FromMap<'de> for ChangeRead<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut field = Cow::Borrowed("");
        let mut value: Option<Change<'de>> = None;
        while let Some(k) = map.next_key_seed(KeyIn(&["field", "value"]))? {
            match k {
                Some(0) => field = map.next_value::<Str<'de>>()?.0,
                Some(_) => value = map.next_value::<Obj<Change<'de>>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ChangeRead(value.map(|mut c| {
            c.field = field;
            c
        })))
    }
}

/// `value` of a change (its `field` is set by [`ChangeRead`]).
impl<'de> FromMap<'de> for Change<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut c = Change::default();
        let mut new_category = Cow::Borrowed("");
        const KEYS: &[&str] = &[
            "metadata",
            "contacts",
            "messages",
            "message_echoes",
            "statuses",
            "event",
            "waba_info",
            "message_template_name",
            "message_template_language",
            "message_template_category",
            "new_category",
        ];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => c.phone_number_id = map.next_value_seed(StrIn(&["phone_number_id"]))?,
                Some(1) => {
                    c.contacts = map
                        .next_value::<Arr<Obj<Contact<'de>>>>()?
                        .items()
                        .into_iter()
                        .map(|c| c.0.unwrap_or_default())
                        .collect()
                }
                Some(2) => c.messages = objects(map.next_value::<Arr<Obj<Message<'de>>>>()?),
                Some(3) => c.echoes = objects(map.next_value::<Arr<Obj<Message<'de>>>>()?),
                Some(4) => c.statuses = objects(map.next_value::<Arr<Obj<Status<'de>>>>()?),
                Some(5) => c.event = map.next_value::<Str<'de>>()?.0,
                Some(6) => c.waba_info = map.next_value::<Obj<WabaInfo<'de>>>()?.0,
                Some(7) => c.template_name = map.next_value::<Str<'de>>()?.0,
                Some(8) => c.template_language = map.next_value::<Str<'de>>()?.0,
                Some(9) => c.template_category = map.next_value::<Str<'de>>()?.0,
                Some(_) => new_category = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // `message_template_category` wins over `new_category`, wherever
        // either stands in the value.
        if c.template_category.is_empty() {
            c.template_category = new_category;
        }
        Ok(c)
    }
}

impl<'de> FromMap<'de> for WabaInfo<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut w = WabaInfo::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["waba_id", "owner_business_id"]))? {
            match k {
                Some(0) => w.waba_id = map.next_value::<Str<'de>>()?.0,
                Some(_) => w.owner_business_id = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(w)
    }
}

/// The items of an array that were objects.
fn objects<T>(a: Arr<Obj<T>>) -> Vec<T> {
    a.items().into_iter().filter_map(|o| o.0).collect()
}

/// `profile` of a contact.
#[derive(Default)]
struct Profile<'a> {
    username: Cow<'a, str>,
    country_code: Cow<'a, str>,
}

impl<'de> FromMap<'de> for Profile<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut p = Profile::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["username", "country_code"]))? {
            match k {
                Some(0) => p.username = map.next_value::<Str<'de>>()?.0,
                Some(_) => p.country_code = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(p)
    }
}

impl<'de> FromMap<'de> for Contact<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut c = Contact::default();
        let mut profile = Profile::default();
        const KEYS: &[&str] = &["wa_id", "user_id", "profile", "country_code"];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => c.wa_id = map.next_value::<Str<'de>>()?.0,
                Some(1) => c.user_id = map.next_value::<Str<'de>>()?.0,
                Some(2) => profile = map.next_value::<Obj<Profile<'de>>>()?.0.unwrap_or_default(),
                Some(_) => c.country_code = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        c.username = profile.username;
        if c.country_code.is_empty() {
            c.country_code = profile.country_code;
        }
        Ok(c)
    }
}

impl<'de> FromMap<'de> for Context<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut c = Context::default();
        const KEYS: &[&str] = &["id", "forwarded", "frequently_forwarded"];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => c.id = map.next_value::<Str<'de>>()?.0,
                Some(1) => c.forwarded = map.next_value::<Flag>()?.0,
                Some(_) => c.frequently_forwarded = map.next_value::<Flag>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(c)
    }
}

/// `interactive` of a message: the title of the reply chosen, or (an echo
/// of buttons or a list the business sent) its body text.
#[derive(Default)]
struct Interactive<'a> {
    button_reply: Cow<'a, str>,
    list_reply: Cow<'a, str>,
    body: Cow<'a, str>,
}

impl<'de> FromMap<'de> for Interactive<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut i = Interactive::default();
        const KEYS: &[&str] = &["button_reply", "list_reply", "body"];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => i.button_reply = map.next_value_seed(StrIn(&["title"]))?,
                Some(1) => i.list_reply = map.next_value_seed(StrIn(&["title"]))?,
                Some(_) => i.body = map.next_value_seed(StrIn(&["text"]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(i)
    }
}

/// Keys of a message, matched by index in its reader.
const MESSAGE_KEYS: &[&str] = &[
    "id",
    "from",
    "from_user_id",
    "to",
    "to_user_id",
    "recipient_user_id",
    "timestamp",
    "type",
    "context",
    "text",
    "image",
    "video",
    "document",
    "audio",
    "sticker",
    "interactive",
    "button",
    "order",
];

impl<'de> FromMap<'de> for Message<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut m = Message {
            id: Cow::Borrowed(""),
            from: Cow::Borrowed(""),
            from_user_id: Cow::Borrowed(""),
            to: Cow::Borrowed(""),
            to_user_id: Cow::Borrowed(""),
            timestamp_s: None,
            kind: WaKind::Other(String::new()),
            text: Text::default(),
            context: None,
        };
        let mut recipient_user_id = Cow::Borrowed("");
        let mut ty = Cow::Borrowed("");
        // The texts of every type: which one counts depends on `type`,
        // which may come after them.
        let mut texts: [Cow<'de, str>; 8] = Default::default();
        let mut interactive = Interactive::default();
        while let Some(k) = map.next_key_seed(KeyIn(MESSAGE_KEYS))? {
            match k {
                Some(0) => m.id = map.next_value::<Str<'de>>()?.0,
                Some(1) => m.from = map.next_value::<Str<'de>>()?.0,
                Some(2) => m.from_user_id = map.next_value::<Str<'de>>()?.0,
                Some(3) => m.to = map.next_value::<Str<'de>>()?.0,
                Some(4) => m.to_user_id = map.next_value::<Str<'de>>()?.0,
                Some(5) => recipient_user_id = map.next_value::<Str<'de>>()?.0,
                Some(6) => m.timestamp_s = map.next_value::<Secs>()?.0,
                Some(7) => ty = map.next_value::<Str<'de>>()?.0,
                Some(8) => m.context = map.next_value::<Obj<Context<'de>>>()?.0,
                Some(9) => texts[0] = map.next_value_seed(StrIn(&["body"]))?,
                Some(i @ 10..=14) => texts[i - 9] = map.next_value_seed(StrIn(&["caption"]))?,
                Some(15) => {
                    interactive = map
                        .next_value::<Obj<Interactive<'de>>>()?
                        .0
                        .unwrap_or_default()
                }
                Some(16) => texts[6] = map.next_value_seed(StrIn(&["text"]))?,
                Some(_) => texts[7] = map.next_value_seed(StrIn(&["text"]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if m.to_user_id.is_empty() {
            m.to_user_id = recipient_user_id;
        }
        m.kind = WaKind::parse(&ty);
        let [text, image, video, document, audio, sticker, button, order] = texts;
        m.text = Text(match m.kind {
            WaKind::Text => text,
            WaKind::Image => image,
            WaKind::Video => video,
            WaKind::Document => document,
            WaKind::Audio => audio,
            WaKind::Sticker => sticker,
            WaKind::Interactive => [interactive.button_reply, interactive.list_reply]
                .into_iter()
                .find(|t| !t.is_empty())
                .unwrap_or(interactive.body),
            WaKind::Button => button,
            WaKind::Order => order,
            _ => Cow::Borrowed(""),
        });
        Ok(m)
    }
}

impl<'de> FromMap<'de> for Pricing<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut p = Pricing::default();
        const KEYS: &[&str] = &["billable", "pricing_model", "category"];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => p.billable = map.next_value::<Bool>()?.0,
                Some(1) => p.model = map.next_value::<Str<'de>>()?.0,
                Some(_) => p.category = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(p)
    }
}

impl<'de> FromMap<'de> for StatusError<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut e = StatusError::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["code", "title"]))? {
            match k {
                Some(0) => e.code = map.next_value::<Int>()?.0.unwrap_or(0),
                Some(_) => e.title = map.next_value::<Str<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(e)
    }
}

/// `conversation` of a status: its id and origin type.
#[derive(Default)]
struct Conversation<'a> {
    id: Cow<'a, str>,
    origin: Cow<'a, str>,
}

impl<'de> FromMap<'de> for Conversation<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut c = Conversation::default();
        while let Some(k) = map.next_key_seed(KeyIn(&["id", "origin"]))? {
            match k {
                Some(0) => c.id = map.next_value::<Str<'de>>()?.0,
                Some(_) => c.origin = map.next_value_seed(StrIn(&["type"]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(c)
    }
}

impl<'de> FromMap<'de> for Status<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut s = Status {
            id: Cow::Borrowed(""),
            status: StatusKind::Other,
            timestamp_s: None,
            recipient_id: Cow::Borrowed(""),
            recipient_user_id: Cow::Borrowed(""),
            pricing: None,
            conversation_id: Cow::Borrowed(""),
            conversation_origin: Cow::Borrowed(""),
            errors: Vec::new(),
        };
        const KEYS: &[&str] = &[
            "id",
            "status",
            "timestamp",
            "recipient_id",
            "recipient_user_id",
            "pricing",
            "conversation",
            "errors",
        ];
        while let Some(k) = map.next_key_seed(KeyIn(KEYS))? {
            match k {
                Some(0) => s.id = map.next_value::<Str<'de>>()?.0,
                Some(1) => s.status = StatusKind::parse(&map.next_value::<Str<'de>>()?.0),
                Some(2) => s.timestamp_s = map.next_value::<Secs>()?.0,
                Some(3) => s.recipient_id = map.next_value::<Str<'de>>()?.0,
                Some(4) => s.recipient_user_id = map.next_value::<Str<'de>>()?.0,
                Some(5) => s.pricing = map.next_value::<Obj<Pricing<'de>>>()?.0,
                Some(6) => {
                    let c = map
                        .next_value::<Obj<Conversation<'de>>>()?
                        .0
                        .unwrap_or_default();
                    s.conversation_id = c.id;
                    s.conversation_origin = c.origin;
                }
                Some(_) => {
                    s.errors = map
                        .next_value::<Arr<Obj<StatusError<'de>>>>()?
                        .items()
                        .into_iter()
                        .map(|e| e.0.unwrap_or_default())
                        .collect()
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(s)
    }
}

/// Reads a webhook body; the records borrow from `bytes`.
pub fn parse_body(bytes: &[u8]) -> Result<Body<'_>, ParseError> {
    // The whole body must be UTF-8 (the fields skipped unread are not
    // checked by the reader); neither message quotes the input.
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let top: Top<'_> =
        serde_json::from_str(text).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Top::Object { object, entry } = top else {
        return Err(ParseError::UnknownShape("the body is not a JSON object"));
    };
    if object.as_deref() != Some(WABA_OBJECT) {
        return Err(ParseError::UnknownShape(
            "`object` is not whatsapp_business_account",
        ));
    }
    let Some(entries) = entry else {
        return Err(ParseError::UnknownShape("`entry` is not an array"));
    };
    let mut body = Body {
        entries: Vec::with_capacity(entries.len()),
        skipped: 0,
    };
    for e in entries {
        match e.0 {
            Some(EntryRead { entry, skipped }) => {
                body.skipped += skipped;
                body.entries.push(entry);
            }
            None => body.skipped += 1,
        }
    }
    Ok(body)
}

#[cfg(test)]
mod parse_tests {
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
    fn fields_read_must_be_valid_and_fields_skipped_are_not_read() {
        // Skipped unread: a number out of range, a lone surrogate escape.
        let b = br#"{"object":"whatsapp_business_account","x":1e400,"y":"\ud800","entry":[]}"#;
        assert_eq!(parse_body(b).map(|b| b.entries.len()), Ok(0));
        // Read: the same in a field satpam reads fails the body.
        let b = br#"{"object":"whatsapp_business_account","entry":[{"id":1e400}]}"#;
        assert!(matches!(parse_body(b), Err(ParseError::NotJson(_))));
        // Not UTF-8 anywhere, even in a field skipped.
        let mut b = br#"{"object":"whatsapp_business_account","x":"?","entry":[]}"#.to_vec();
        let q = b.iter().position(|c| *c == b'?').expect("?");
        b[q] = 0xff;
        assert!(matches!(parse_body(&b), Err(ParseError::NotJson(_))));
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
