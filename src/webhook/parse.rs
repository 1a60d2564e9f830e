//! The webhook body (`{"object":"whatsapp_business_account","entry":[...]}`)
//! to typed records. Tolerant by design: unknown fields are ignored, unknown
//! message types and status values are kept as `Other`, ids and timestamps
//! are read from strings or numbers, and a value of the wrong JSON type is
//! treated as absent. Only a body that is not JSON, or JSON that is not a
//! webhook at all, is an error.
//!
//! Read straight from the bytes into these records (the readers are in
//! `webhook/read.rs`, on the tolerant primitives of `webhook/lenient.rs`):
//! no `serde_json::Value` in between, and
//! strings borrowed from the body unless they hold escapes.

use std::borrow::Cow;
use std::fmt;

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
pub struct Text<'a>(pub Cow<'a, str>);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

/// One webhook body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body<'a> {
    /// The entries, one per WABA.
    pub entries: Vec<Entry<'a>>,
    /// Entries or changes that were not objects (skipped).
    pub skipped: u32,
}

/// One `entry`: the changes of one WhatsApp Business Account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry<'a> {
    /// `entry[].id`: the WABA id.
    pub waba_id: Cow<'a, str>,
    /// `entry[].changes`.
    pub changes: Vec<Change<'a>>,
}

/// One `changes[]` item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change<'a> {
    /// `field`: `messages`, `smb_message_echoes`, `account_update`, ...
    pub field: Cow<'a, str>,
    /// `value.metadata.phone_number_id`: the business number (the account).
    pub phone_number_id: Cow<'a, str>,
    /// `value.contacts`.
    pub contacts: Vec<Contact<'a>>,
    /// `value.messages`: messages users sent to the business.
    pub messages: Vec<Message<'a>>,
    /// `value.message_echoes`: messages the business sent from the WhatsApp Business app.
    pub echoes: Vec<Message<'a>>,
    /// `value.statuses`: delivery statuses of messages the business sent.
    pub statuses: Vec<Status<'a>>,
    /// `value.event` of an `account_update` (`PARTNER_ADDED`, ...).
    pub event: Cow<'a, str>,
    /// `value.waba_info` of an `account_update`: which business owns a WABA.
    pub waba_info: Option<WabaInfo<'a>>,
    /// `value.message_template_name` (template webhooks).
    pub template_name: Cow<'a, str>,
    /// `value.message_template_language`.
    pub template_language: Cow<'a, str>,
    /// `value.message_template_category` (`message_template_status_update`)
    /// or `value.new_category` (`template_category_update`): the template's
    /// category now.
    pub template_category: Cow<'a, str>,
}

/// `waba_info` of an `account_update`: a WABA and the business portfolio
/// that owns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WabaInfo<'a> {
    /// `waba_id`.
    pub waba_id: Cow<'a, str>,
    /// `owner_business_id`: the business portfolio.
    pub owner_business_id: Cow<'a, str>,
}

/// One `contacts[]` item: who the user is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact<'a> {
    /// `wa_id`: the phone number; empty for a user known by username only.
    pub wa_id: Cow<'a, str>,
    /// `user_id`: the business-scoped user id (BSUID).
    pub user_id: Cow<'a, str>,
    /// `profile.username`, when the user adopted one.
    pub username: Cow<'a, str>,
    /// `country_code` or `profile.country_code` (ISO 3166-1 alpha-2), when present.
    pub country_code: Cow<'a, str>,
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
    pub(crate) fn parse(t: &str) -> WaKind {
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
pub struct Context<'a> {
    /// `context.id`: the message replied to.
    pub id: Cow<'a, str>,
    /// `context.forwarded`.
    pub forwarded: bool,
    /// `context.frequently_forwarded`.
    pub frequently_forwarded: bool,
}

/// One message (inbound or echo).
#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    /// `id`: the wamid.
    pub id: Cow<'a, str>,
    /// `from`: the sender's phone number (empty for username-only users).
    pub from: Cow<'a, str>,
    /// `from_user_id`: the sender's BSUID.
    pub from_user_id: Cow<'a, str>,
    /// `to` (echoes): the recipient's phone number.
    pub to: Cow<'a, str>,
    /// `to_user_id` / `recipient_user_id` (echoes): the recipient's BSUID.
    pub to_user_id: Cow<'a, str>,
    /// `timestamp`, seconds (a string on the wire); `None` when absent or unreadable.
    pub timestamp_s: Option<i64>,
    /// `type`.
    pub kind: WaKind,
    /// The text a person wrote or chose: the body, a caption, a button or row title, an order note.
    pub text: Text<'a>,
    /// `context`.
    pub context: Option<Context<'a>>,
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

    pub(crate) fn parse(s: &str) -> StatusKind {
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
pub struct Pricing<'a> {
    /// `billable`, when present.
    pub billable: Option<bool>,
    /// `pricing_model`: `CBP`, `PMP`, ...
    pub model: Cow<'a, str>,
    /// `category`: `service`, `utility`, `marketing`, `authentication`, ... (as sent).
    pub category: Cow<'a, str>,
}

/// One `errors[]` item of a failed status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusError<'a> {
    /// `code`.
    pub code: i64,
    /// `title`.
    pub title: Cow<'a, str>,
}

/// One `statuses[]` item.
#[derive(Debug, Clone, PartialEq)]
pub struct Status<'a> {
    /// `id`: the wamid of the message the status is about.
    pub id: Cow<'a, str>,
    /// `status`.
    pub status: StatusKind,
    /// `timestamp`, seconds.
    pub timestamp_s: Option<i64>,
    /// `recipient_id`: the user's phone number.
    pub recipient_id: Cow<'a, str>,
    /// `recipient_user_id`: the user's BSUID.
    pub recipient_user_id: Cow<'a, str>,
    /// `pricing`.
    pub pricing: Option<Pricing<'a>>,
    /// `conversation.id`.
    pub conversation_id: Cow<'a, str>,
    /// `conversation.origin.type`.
    pub conversation_origin: Cow<'a, str>,
    /// `errors`.
    pub errors: Vec<StatusError<'a>>,
}
