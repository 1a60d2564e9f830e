//! Typed webhook records to `satpam.v1.MessageEvent`s (validated afterwards
//! by [`crate::convert`], like every source), status records, and counts.
//!
//! - `messages` -> inbound events; `message_echoes` (`smb_message_echoes`:
//!   sent by a person from the WhatsApp Business app) -> outbound events,
//!   sender human agent.
//! - `statuses` -> [`StatusRecord`]s, counted
//!   (`satpam_webhook_statuses_total{status}`), and each fed to the engine
//!   as a delivery report ([`StatusRecord::to_event`], in `status`): the
//!   account's `account.delivered_*` features.
//! - any other `field` (`account_update`, `phone_number_quality_update`,
//!   `message_template_status_update`, `user_preferences`, ...) -> counted;
//!   an `account_update` whose `waba_info` names the WABA's owner also
//!   yields the (WABA, business portfolio) pair ([`Mapped::portfolios`]).

use crate::pb::v1 as pb;
use crate::webhook::country;
use crate::webhook::parse::{Body, Change, Contact, Message, StatusKind, WaKind};

/// A delivery status of an outbound message, kept typed (never text).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    /// The tenant of the app the webhook came to.
    pub tenant_id: String,
    /// The business phone number id.
    pub account_id: String,
    /// The WABA id.
    pub waba_id: String,
    /// The wamid of the message.
    pub message_id: String,
    /// The recipient: BSUID first, else phone number.
    pub user_id: String,
    /// The status.
    pub status: StatusKind,
    /// Event time, ms (0 when the webhook had none).
    pub timestamp_ms: i64,
    /// `pricing.billable`.
    pub billable: Option<bool>,
    /// `pricing.pricing_model`.
    pub pricing_model: String,
    /// `pricing.category` as sent (`service`, `utility`, `marketing`, `authentication`, ...).
    pub category: String,
    /// `conversation.origin.type`.
    pub conversation_origin: String,
    /// The `errors[].code` of a failed status.
    pub error_codes: Vec<i64>,
}

/// What one body maps to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mapped {
    /// Message events, inbound and outbound, in body order (not yet validated).
    pub events: Vec<pb::MessageEvent>,
    /// Statuses.
    pub statuses: Vec<StatusRecord>,
    /// The `field` of every change that carried no messages, echoes or statuses.
    pub other_fields: Vec<String>,
    /// (WABA id, business portfolio id) of every `account_update` whose
    /// `waba_info` names both.
    pub portfolios: Vec<(String, String)>,
    /// What the template webhooks (`message_template_status_update`,
    /// `template_category_update`) said of a template's category.
    pub templates: Vec<TemplateNote>,
    /// System messages (a user's number or id changed) and echoes of a
    /// deletion (`revoke`): notices, not messages anyone wrote; counted only.
    pub notices: u32,
    /// Entries or changes skipped as not objects.
    pub skipped: u32,
}

impl Mapped {
    /// The events to process: the messages and echoes in body order, then
    /// one delivery report per status of a known value.
    pub fn into_events(self) -> Vec<pb::MessageEvent> {
        let mut events = self.events;
        events.extend(self.statuses.iter().filter_map(StatusRecord::to_event));
        events
    }
}

/// A template's category, as a template webhook of a WABA gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateNote {
    /// `entry[].id`: the WABA that owns the template.
    pub waba_id: String,
    /// `message_template_name`.
    pub name: String,
    /// `message_template_language`, as sent (`en-US`; the send API says `en_US`).
    pub language: String,
    /// Its category now.
    pub category: pb::TemplateCategory,
}

/// The category a template webhook names (`MARKETING`, `UTILITY`,
/// `AUTHENTICATION`, any case); `None` for any other.
pub fn template_category(name: &str) -> Option<pb::TemplateCategory> {
    if name.eq_ignore_ascii_case("MARKETING") {
        Some(pb::TemplateCategory::Marketing)
    } else if name.eq_ignore_ascii_case("UTILITY") {
        Some(pb::TemplateCategory::Utility)
    } else if name.eq_ignore_ascii_case("AUTHENTICATION") {
        Some(pb::TemplateCategory::Authentication)
    } else {
        None
    }
}

/// Whether a message is a notice rather than a message (see [`Mapped::notices`]).
fn is_notice(m: &Message<'_>) -> bool {
    matches!(&m.kind, WaKind::System) || matches!(&m.kind, WaKind::Other(t) if t == "revoke")
}

/// The contact a message is about: the one with its phone or BSUID, else the only one.
fn contact_for<'a, 'b>(
    contacts: &'a [Contact<'b>],
    phone: &str,
    user_id: &str,
) -> Option<&'a Contact<'b>> {
    contacts
        .iter()
        .find(|c| {
            (!phone.is_empty() && c.wa_id == phone) || (!user_id.is_empty() && c.user_id == user_id)
        })
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        })
}

fn first<'a>(candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .copied()
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

fn kind(k: &WaKind, inbound: bool) -> pb::MessageKind {
    match k {
        WaKind::Text => pb::MessageKind::Text,
        WaKind::Image => pb::MessageKind::Image,
        WaKind::Video => pb::MessageKind::Video,
        WaKind::Document => pb::MessageKind::Document,
        WaKind::Audio => pb::MessageKind::Audio,
        WaKind::Sticker => pb::MessageKind::Sticker,
        WaKind::Interactive if inbound => pb::MessageKind::ButtonReply,
        WaKind::Interactive => pb::MessageKind::Interactive,
        WaKind::Button => pb::MessageKind::ButtonReply,
        WaKind::Reaction => pb::MessageKind::Reaction,
        WaKind::Location => pb::MessageKind::Location,
        WaKind::Template => pb::MessageKind::Template,
        WaKind::Contacts
        | WaKind::Order
        | WaKind::System
        | WaKind::Unsupported
        | WaKind::Other(_) => pb::MessageKind::Other,
    }
}

/// Seconds to ms; 0 (refused by validation) when absent or out of range.
fn ms(seconds: Option<i64>) -> i64 {
    seconds.and_then(|s| s.checked_mul(1000)).unwrap_or(0)
}

fn event(
    m: &Message<'_>,
    change: &Change<'_>,
    tenant_id: &str,
    waba_id: &str,
    inbound: bool,
) -> pb::MessageEvent {
    let (phone, bsuid) = if inbound {
        (&*m.from, &*m.from_user_id)
    } else {
        (&*m.to, &*m.to_user_id)
    };
    let contact = contact_for(&change.contacts, phone, bsuid);
    let c_user = contact.map(|c| &*c.user_id).unwrap_or("");
    let c_phone = contact.map(|c| &*c.wa_id).unwrap_or("");
    let user_id = first(&[bsuid, c_user, phone, c_phone]);
    let phone = first(&[phone, c_phone]);
    let user_country = country::resolve(
        contact.map(|c| &*c.country_code).unwrap_or(""),
        if country::is_bsuid(phone) { "" } else { phone },
        first(&[bsuid, c_user]),
    );
    pb::MessageEvent {
        event_id: m.id.to_string(),
        tenant_id: tenant_id.to_string(),
        account_id: change.phone_number_id.to_string(),
        waba_id: waba_id.to_string(),
        user_id: user_id.to_string(),
        conversation_id: String::new(),
        direction: if inbound {
            pb::Direction::Inbound
        } else {
            pb::Direction::Outbound
        } as i32,
        kind: kind(&m.kind, inbound) as i32,
        template_category: pb::TemplateCategory::Unspecified as i32,
        sender: if inbound {
            pb::Sender::Unspecified
        } else {
            pb::Sender::HumanAgent
        } as i32,
        timestamp_ms: ms(m.timestamp_s),
        text: m.text.0.to_string(),
        text_length: 0,
        user_country: if user_country.is_known() {
            user_country.as_str().to_string()
        } else {
            String::new()
        },
        handoff: false,
        reply_to: m
            .context
            .as_ref()
            .map(|c| c.id.to_string())
            .unwrap_or_default(),
        delivery: None,
        business_id: String::new(),
    }
}

/// Maps a parsed body for `tenant_id`.
pub fn map_body(body: &Body<'_>, tenant_id: &str) -> Mapped {
    let mut out = Mapped {
        skipped: body.skipped,
        ..Mapped::default()
    };
    for entry in &body.entries {
        for change in &entry.changes {
            let before = out.events.len() + out.statuses.len() + out.notices as usize;
            for (m, inbound) in change
                .messages
                .iter()
                .map(|m| (m, true))
                .chain(change.echoes.iter().map(|m| (m, false)))
            {
                if is_notice(m) {
                    out.notices += 1;
                } else {
                    out.events
                        .push(event(m, change, tenant_id, &entry.waba_id, inbound));
                }
            }
            for s in &change.statuses {
                let pricing = s.pricing.as_ref();
                out.statuses.push(StatusRecord {
                    tenant_id: tenant_id.to_string(),
                    account_id: change.phone_number_id.to_string(),
                    waba_id: entry.waba_id.to_string(),
                    message_id: s.id.to_string(),
                    user_id: first(&[&*s.recipient_user_id, &*s.recipient_id]).to_string(),
                    status: s.status,
                    timestamp_ms: ms(s.timestamp_s),
                    billable: pricing.and_then(|p| p.billable),
                    pricing_model: pricing.map(|p| p.model.to_string()).unwrap_or_default(),
                    category: pricing.map(|p| p.category.to_string()).unwrap_or_default(),
                    conversation_origin: s.conversation_origin.to_string(),
                    error_codes: s.errors.iter().map(|e| e.code).collect(),
                });
            }
            if out.events.len() + out.statuses.len() + out.notices as usize == before {
                out.other_fields.push(change.field.to_string());
            }
            if matches!(
                &*change.field,
                "message_template_status_update" | "template_category_update"
            ) && !change.template_name.is_empty()
                && !entry.waba_id.is_empty()
            {
                if let Some(category) = template_category(&change.template_category) {
                    out.templates.push(TemplateNote {
                        waba_id: entry.waba_id.to_string(),
                        name: change.template_name.to_string(),
                        language: change.template_language.to_string(),
                        category,
                    });
                }
            }
            if let Some(w) = &change.waba_info {
                if change.field == "account_update"
                    && !w.waba_id.is_empty()
                    && !w.owner_business_id.is_empty()
                {
                    out.portfolios
                        .push((w.waba_id.to_string(), w.owner_business_id.to_string()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::parse_body;

    fn one(body: &str) -> pb::MessageEvent {
        let m = map_body(&parse_body(body.as_bytes()).expect("body"), "t");
        assert_eq!(m.events.len(), 1, "{m:?}");
        m.events.into_iter().next().expect("event")
    }

    #[test]
    fn username_with_empty_wa_id_is_keyed_by_the_business_scoped_id() {
        let e = one(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"waba","changes":[{"field":"messages","value":{
            "metadata":{"phone_number_id":"pn"},
            "contacts":[{"profile":{"name":"N","username":"@bob","country_code":"BR"},"wa_id":"","user_id":"BR.1502576394655843"}],
            "messages":[{"from":"","from_user_id":"BR.1502576394655843","id":"wamid.u","timestamp":"1769000000","type":"text","text":{"body":"oi"}}]}}]}]}"#,
        );
        assert_eq!(e.user_id, "BR.1502576394655843");
        assert_eq!(e.user_country, "BR");
        assert_eq!(e.waba_id, "waba");
        assert_eq!(e.timestamp_ms, 1_769_000_000_000);
        assert!(crate::convert::event_or_refusal(e).is_ok());
    }

    #[test]
    fn user_key_prefers_the_business_scoped_id_then_the_phone() {
        // BSUID only on the contact: still first.
        let e = one(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"w","changes":[{"field":"messages","value":{
            "metadata":{"phone_number_id":"pn"},
            "contacts":[{"wa_id":"6281234567890","user_id":"ID.77"}],
            "messages":[{"from":"6281234567890","id":"m","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}"#,
        );
        assert_eq!(
            (e.user_id.as_str(), e.user_country.as_str()),
            ("ID.77", "ID")
        );
        // No BSUID anywhere: the phone, and its calling code for the country.
        let e = one(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"w","changes":[{"field":"messages","value":{
            "metadata":{"phone_number_id":"pn"},
            "messages":[{"from":"447400123456","id":"m","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}"#,
        );
        assert_eq!(
            (e.user_id.as_str(), e.user_country.as_str()),
            ("447400123456", "GB")
        );
    }

    #[test]
    fn echoes_are_outbound_by_a_person_and_keyed_by_the_recipient() {
        let e = one(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"w","changes":[{"field":"smb_message_echoes","value":{
            "metadata":{"phone_number_id":"pn"},
            "message_echoes":[{"from":"15550001111","to":"6281234567890","to_user_id":"ID.9","id":"e","timestamp":"5","type":"text","text":{"body":"halo"}}]}}]}]}"#,
        );
        assert_eq!(e.direction, pb::Direction::Outbound as i32);
        assert_eq!(e.sender, pb::Sender::HumanAgent as i32);
        assert_eq!(e.user_id, "ID.9");
        assert_eq!(e.user_country, "ID");
        assert_eq!(e.text, "halo");
    }

    /// Meta's documented examples of `message_template_status_update`
    /// (developers.facebook.com/documentation/business-messaging/whatsapp/
    /// webhooks/reference/message_template_status_update, approved and
    /// rejected) and a `template_category_update` with a legacy category
    /// that is none of the three: what each teaches.
    #[test]
    fn template_webhooks_name_a_wabas_template_category() {
        let body = br#"{"entry":[{"id":"102290129340398","time":1751247548,"changes":[
          {"value":{"event":"APPROVED","message_template_id":1689556908129832,"message_template_name":"order_confirmation",
            "message_template_language":"en-US","reason":"NONE","message_template_category":"UTILITY"},
           "field":"message_template_status_update"},
          {"value":{"event":"REJECTED","message_template_id":1689556908129835,"message_template_name":"abandoned_cart",
            "message_template_language":"en","reason":"INVALID_FORMAT","message_template_category":"MARKETING",
            "rejection_info":{"reason":"r","recommendation":"s"}},
           "field":"message_template_status_update"},
          {"value":{"message_template_id":7,"message_template_name":"old","message_template_language":"en_US",
            "previous_category":"UTILITY","new_category":"SHIPPING_UPDATE"},
           "field":"template_category_update"},
          {"value":{"message_template_name":"not_a_template_field","message_template_category":"MARKETING"},
           "field":"account_update"}]}],
          "object":"whatsapp_business_account"}"#;
        let m = map_body(&parse_body(body).expect("parses"), "t");
        let got: Vec<(&str, &str, &str, pb::TemplateCategory)> = m
            .templates
            .iter()
            .map(|t| {
                (
                    t.waba_id.as_str(),
                    t.name.as_str(),
                    t.language.as_str(),
                    t.category,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "102290129340398",
                    "order_confirmation",
                    "en-US",
                    pb::TemplateCategory::Utility
                ),
                (
                    "102290129340398",
                    "abandoned_cart",
                    "en",
                    pb::TemplateCategory::Marketing
                ),
            ]
        );
        assert_eq!(m.other_fields.len(), 4, "each change is still counted");
        assert!(m.events.is_empty());
    }
}
