//! The inverse of the mapping, for load generation and tests: inbound and
//! human-sent outbound events as a webhook body (what Meta would POST),
//! other outbound events as send-API request bodies (what the BSP would send
//! Meta). What a webhook cannot carry is listed in `docs/webhooks.md`:
//! conversation id, sender, template category (a send body names its
//! template, [`template_category_body`] the category), handoff, withheld-text
//! length, and sub-second event time.

use serde_json::{json, Map, Value};

use crate::pb::v1 as pb;
use crate::webhook::country;

fn seconds(ms: i64) -> String {
    ms.div_euclid(1000).to_string()
}

fn message(e: &pb::MessageEvent, inbound: bool) -> Value {
    let kind = pb::MessageKind::try_from(e.kind).unwrap_or(pb::MessageKind::Other);
    let mut m = Map::new();
    let bsuid = country::is_bsuid(&e.user_id);
    let (phone_key, id_key) = if inbound {
        ("from", "from_user_id")
    } else {
        ("to", "to_user_id")
    };
    m.insert(
        if bsuid { id_key } else { phone_key }.into(),
        Value::from(e.user_id.clone()),
    );
    if bsuid {
        m.insert(phone_key.into(), Value::from(""));
    }
    m.insert("id".into(), Value::from(e.event_id.clone()));
    m.insert("timestamp".into(), Value::from(seconds(e.timestamp_ms)));
    let (ty, content) = match kind {
        pb::MessageKind::Unspecified | pb::MessageKind::Text => ("text", json!({ "body": e.text })),
        pb::MessageKind::Image => ("image", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Video => ("video", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Document => ("document", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Audio => ("audio", json!({ "id": "1" })),
        pb::MessageKind::Sticker => ("sticker", json!({ "id": "1" })),
        pb::MessageKind::ButtonReply => (
            "interactive",
            json!({ "type": "button_reply", "button_reply": { "id": "b", "title": e.text } }),
        ),
        pb::MessageKind::Interactive => (
            "interactive",
            json!({ "type": "button", "body": { "text": e.text } }),
        ),
        pb::MessageKind::Location => ("location", json!({ "latitude": 0.0, "longitude": 0.0 })),
        pb::MessageKind::Reaction => (
            "reaction",
            json!({ "message_id": e.reply_to, "emoji": "\u{1F44D}" }),
        ),
        pb::MessageKind::Template => ("template", json!({})),
        pb::MessageKind::Other => ("unsupported", json!({})),
    };
    m.insert("type".into(), Value::from(ty));
    m.insert(ty.into(), content);
    if !e.reply_to.is_empty() && kind != pb::MessageKind::Reaction {
        m.insert("context".into(), json!({ "id": e.reply_to }));
    }
    Value::Object(m)
}

fn contact(e: &pb::MessageEvent) -> Value {
    let mut c = json!({ "profile": { "name": "" } });
    if country::is_bsuid(&e.user_id) {
        c["user_id"] = Value::from(e.user_id.clone());
        c["wa_id"] = Value::from("");
    } else {
        c["wa_id"] = Value::from(e.user_id.clone());
    }
    if !e.user_country.is_empty() {
        c["country_code"] = Value::from(e.user_country.clone());
    }
    c
}

/// One webhook body: each event as its own entry (its `waba_id`) and change
/// (`messages` for inbound, `smb_message_echoes` for outbound).
pub fn webhook_body(events: &[pb::MessageEvent]) -> Vec<u8> {
    webhook_body_with_statuses(events, &[])
}

/// [`webhook_body`] followed by one `delivered` status (billable, `PMP`,
/// category `service`) per event of `delivered` (outbound messages sent
/// earlier), each as its own entry, as Meta reports them.
pub fn webhook_body_with_statuses(
    events: &[pb::MessageEvent],
    delivered: &[pb::MessageEvent],
) -> Vec<u8> {
    let mut entries: Vec<Value> = events
        .iter()
        .map(|e| {
            let inbound = e.direction != pb::Direction::Outbound as i32;
            let (field, list) = if inbound {
                ("messages", "messages")
            } else {
                ("smb_message_echoes", "message_echoes")
            };
            json!({
                "id": e.waba_id,
                "changes": [{
                    "field": field,
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": { "display_phone_number": "", "phone_number_id": e.account_id },
                        "contacts": [contact(e)],
                        list: [message(e, inbound)],
                    }
                }]
            })
        })
        .collect();
    entries.extend(delivered.iter().map(|e| {
        json!({
            "id": e.waba_id,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "", "phone_number_id": e.account_id },
                    "statuses": [delivered_status(e)],
                }
            }]
        })
    }));
    json!({ "object": "whatsapp_business_account", "entry": entries })
        .to_string()
        .into_bytes()
}

/// A status Meta reports of an outbound message, as rendered here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// `sent`: Meta accepted the message.
    Sent,
    /// `delivered`: it reached the user's device.
    Delivered,
    /// `read`: the user opened it.
    Read,
}

impl Reported {
    /// The three, in the order Meta reports them.
    pub const ALL: [Reported; 3] = [Reported::Sent, Reported::Delivered, Reported::Read];

    fn name(self) -> &'static str {
        match self {
            Reported::Sent => "sent",
            Reported::Delivered => "delivered",
            Reported::Read => "read",
        }
    }
}

/// The `statuses[]` item reporting `e` delivered (billable, `PMP`, `service`).
fn delivered_status(e: &pb::MessageEvent) -> Value {
    status(e, Reported::Delivered)
}

/// The `statuses[]` item reporting `e` in state `r` (billable, `PMP`,
/// category `service`).
fn status(e: &pb::MessageEvent, r: Reported) -> Value {
    json!({
        "id": e.event_id,
        "status": r.name(),
        "timestamp": seconds(e.timestamp_ms),
        "recipient_id": e.user_id,
        "pricing": { "billable": true, "pricing_model": "PMP", "category": "service" },
    })
}

/// One webhook body for one business phone number, grouped as Meta groups
/// a busy number's notifications: one entry (its WABA), one change per run
/// of consecutive messages of one direction (`messages` for inbound,
/// `smb_message_echoes` for outbound, each with the contacts of its users),
/// then one `messages` change with a `delivered` status per event of
/// `delivered`. Every event must be of the same phone number (`account_id`)
/// and WABA; the body's order is the events' order.
pub fn account_body(events: &[pb::MessageEvent], delivered: &[pb::MessageEvent]) -> Vec<u8> {
    let statuses: Vec<(&pb::MessageEvent, Reported)> =
        delivered.iter().map(|e| (e, Reported::Delivered)).collect();
    match account_entry(events, &statuses) {
        Some(entry) => batch_body(vec![entry]),
        None => batch_body(Vec::new()),
    }
}

/// The entry of [`account_body`] for one business phone number, with each
/// status of `statuses` in its given state (`None` when both are empty):
/// one change per run of consecutive messages of one direction, then one
/// `messages` change with the statuses. Every event must be of the same
/// phone number and WABA.
pub fn account_entry(
    events: &[pb::MessageEvent],
    statuses: &[(&pb::MessageEvent, Reported)],
) -> Option<Value> {
    let first = events.first().or(statuses.first().map(|s| s.0))?;
    let metadata = json!({ "display_phone_number": "", "phone_number_id": first.account_id });
    let mut changes: Vec<Value> = Vec::new();
    for run in events.chunk_by(|a, b| a.direction == b.direction) {
        let inbound = run[0].direction != pb::Direction::Outbound as i32;
        let (field, list) = if inbound {
            ("messages", "messages")
        } else {
            ("smb_message_echoes", "message_echoes")
        };
        let mut contacts: Vec<Value> = Vec::new();
        let mut users: Vec<&str> = Vec::new();
        for e in run {
            if !users.contains(&e.user_id.as_str()) {
                users.push(&e.user_id);
                contacts.push(contact(e));
            }
        }
        let messages: Vec<Value> = run.iter().map(|e| message(e, inbound)).collect();
        changes.push(json!({
            "field": field,
            "value": {
                "messaging_product": "whatsapp",
                "metadata": metadata,
                "contacts": contacts,
                list: messages,
            }
        }));
    }
    if !statuses.is_empty() {
        let items: Vec<Value> = statuses.iter().map(|(e, r)| status(e, *r)).collect();
        changes.push(json!({
            "field": "messages",
            "value": {
                "messaging_product": "whatsapp",
                "metadata": metadata,
                "statuses": items,
            }
        }));
    }
    Some(json!({ "id": first.waba_id, "changes": changes }))
}

/// A webhook body of `entries` (from [`account_entry`]), as Meta sends
/// notifications it aggregated into one batch: one entry per phone number,
/// in the order given.
pub fn batch_body(entries: Vec<Value>) -> Vec<u8> {
    json!({ "object": "whatsapp_business_account", "entry": entries })
        .to_string()
        .into_bytes()
}

/// The template name [`send_body`] gives a template event: one per
/// category (`satpam_marketing`, ...), `t` when it has none.
pub fn template_name(e: &pb::MessageEvent) -> &'static str {
    match pb::TemplateCategory::try_from(e.template_category) {
        Ok(pb::TemplateCategory::Marketing) => "satpam_marketing",
        Ok(pb::TemplateCategory::Utility) => "satpam_utility",
        Ok(pb::TemplateCategory::Authentication) => "satpam_authentication",
        _ => "t",
    }
}

/// A `template_category_update` webhook (as Meta sends one when a template
/// is re-categorised) saying that `waba_id`'s template of `e`
/// ([`template_name`], language `en-US`) is in `e`'s category: what teaches
/// the receiver the categories of [`send_body`]'s templates.
pub fn template_category_body(e: &pb::MessageEvent) -> Vec<u8> {
    let category = pb::TemplateCategory::try_from(e.template_category)
        .ok()
        .and_then(|c| c.as_str_name().strip_prefix("TEMPLATE_CATEGORY_"))
        .unwrap_or("UNSPECIFIED");
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": e.waba_id,
            "time": e.timestamp_ms.div_euclid(1000),
            "changes": [{
                "field": "template_category_update",
                "value": {
                    "message_template_id": 1,
                    "message_template_name": template_name(e),
                    "message_template_language": "en-US",
                    "new_category": category,
                }
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// One send-API request body for an outbound event (sent to
/// `<send_path>/<account_id>/messages` with `X-Satpam-Message-Id`,
/// `X-Satpam-Waba-Id` and `X-Satpam-Timestamp-Ms`).
pub fn send_body(e: &pb::MessageEvent) -> Vec<u8> {
    let kind = pb::MessageKind::try_from(e.kind).unwrap_or(pb::MessageKind::Other);
    let mut b =
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": e.user_id });
    let (ty, content) = match kind {
        pb::MessageKind::Template => (
            "template",
            json!({ "name": template_name(e), "language": { "code": "en_US" },
                    "components": [{ "type": "body", "parameters": [{ "type": "text", "text": e.text }] }] }),
        ),
        pb::MessageKind::Interactive => (
            "interactive",
            json!({ "type": "button", "body": { "text": e.text },
                    "action": { "buttons": [{ "type": "reply", "reply": { "id": "a", "title": "A" } }] } }),
        ),
        pb::MessageKind::Image => ("image", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Video => ("video", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Document => ("document", json!({ "id": "1", "caption": e.text })),
        pb::MessageKind::Audio => ("audio", json!({ "id": "1" })),
        pb::MessageKind::Sticker => ("sticker", json!({ "id": "1" })),
        pb::MessageKind::Location => ("location", json!({ "latitude": 0.0, "longitude": 0.0 })),
        pb::MessageKind::Reaction => (
            "reaction",
            json!({ "message_id": e.reply_to, "emoji": "\u{1F44D}" }),
        ),
        _ => ("text", json!({ "body": e.text })),
    };
    b["type"] = Value::from(ty);
    b[ty] = content;
    if !e.reply_to.is_empty() && kind != pb::MessageKind::Reaction {
        b["context"] = json!({ "message_id": e.reply_to });
    }
    b.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::parse::StatusKind;
    use crate::webhook::{map_body, parse_body};

    #[test]
    fn delivered_statuses_follow_the_messages_and_map_back() {
        let e = |id: &str, direction: pb::Direction| pb::MessageEvent {
            event_id: id.into(),
            account_id: "P1".into(),
            waba_id: "W1".into(),
            user_id: "6281234567890".into(),
            direction: direction as i32,
            kind: pb::MessageKind::Text as i32,
            text: "halo".into(),
            timestamp_ms: 1_767_225_600_000,
            ..Default::default()
        };
        let body = webhook_body_with_statuses(
            &[e("in-1", pb::Direction::Inbound)],
            &[
                e("out-1", pb::Direction::Outbound),
                e("out-2", pb::Direction::Outbound),
            ],
        );
        let mapped = map_body(&parse_body(&body).expect("parses"), "bsp");
        assert_eq!(mapped.events.len(), 1);
        assert_eq!(mapped.events[0].event_id, "in-1");
        let ids: Vec<&str> = mapped
            .statuses
            .iter()
            .map(|s| s.message_id.as_str())
            .collect();
        assert_eq!(ids, ["out-1", "out-2"]);
        for s in &mapped.statuses {
            assert_eq!(s.status, StatusKind::Delivered);
            assert_eq!(s.category, "service");
            assert_eq!(s.account_id, "P1");
            assert_eq!(s.timestamp_ms, 1_767_225_600_000);
        }
        assert_eq!(webhook_body(&[e("in-1", pb::Direction::Inbound)]), {
            webhook_body_with_statuses(&[e("in-1", pb::Direction::Inbound)], &[])
        });
    }

    #[test]
    fn an_account_body_maps_back_to_its_events_in_order() {
        let e = |id: &str, user: &str, direction: pb::Direction| pb::MessageEvent {
            event_id: id.into(),
            account_id: "P1".into(),
            waba_id: "W1".into(),
            user_id: user.into(),
            direction: direction as i32,
            sender: if direction == pb::Direction::Outbound {
                pb::Sender::HumanAgent as i32
            } else {
                0
            },
            kind: pb::MessageKind::Text as i32,
            text: format!("text of {id}"),
            timestamp_ms: 1_767_225_600_000,
            ..Default::default()
        };
        let events = [
            e("a", "6281234567890", pb::Direction::Inbound),
            e("b", "BR.1502576394655843", pb::Direction::Inbound),
            e("c", "6281234567890", pb::Direction::Outbound),
            e("d", "447400123456", pb::Direction::Inbound),
            e("e", "6281234567890", pb::Direction::Inbound),
        ];
        let delivered = [e("s1", "447400123456", pb::Direction::Outbound)];
        let body = account_body(&events, &delivered);
        let parsed = parse_body(&body).expect("parses");
        assert_eq!(parsed.entries.len(), 1, "one entry for the one number");
        assert_eq!(
            parsed.entries[0].changes.len(),
            4,
            "three runs and the statuses"
        );
        let mapped = map_body(&parsed, "bsp");
        let got: Vec<(&str, &str, &str, &str, i32)> = mapped
            .events
            .iter()
            .map(|m| {
                (
                    m.event_id.as_str(),
                    m.user_id.as_str(),
                    m.user_country.as_str(),
                    m.text.as_str(),
                    m.direction,
                )
            })
            .collect();
        let inb = pb::Direction::Inbound as i32;
        let out = pb::Direction::Outbound as i32;
        assert_eq!(
            got,
            [
                ("a", "6281234567890", "ID", "text of a", inb),
                ("b", "BR.1502576394655843", "BR", "text of b", inb),
                ("c", "6281234567890", "ID", "text of c", out),
                ("d", "447400123456", "GB", "text of d", inb),
                ("e", "6281234567890", "ID", "text of e", inb),
            ]
        );
        assert!(mapped
            .events
            .iter()
            .all(|m| m.account_id == "P1" && m.waba_id == "W1"));
        assert_eq!(mapped.statuses.len(), 1);
        assert_eq!(mapped.statuses[0].message_id, "s1");
        assert_eq!(mapped.statuses[0].status, StatusKind::Delivered);
        assert!(mapped.other_fields.is_empty());
    }

    #[test]
    fn a_batch_of_numbers_maps_back_with_every_reported_state() {
        let e = |id: &str, number: &str, direction: pb::Direction| pb::MessageEvent {
            event_id: id.into(),
            account_id: number.into(),
            waba_id: "W1".into(),
            user_id: "6281234567890".into(),
            direction: direction as i32,
            kind: pb::MessageKind::Text as i32,
            text: format!("text of {id}"),
            timestamp_ms: 1_767_225_600_000,
            ..Default::default()
        };
        let sent = e("out-1", "P1", pb::Direction::Outbound);
        let p1: Vec<(&pb::MessageEvent, Reported)> =
            Reported::ALL.iter().map(|r| (&sent, *r)).collect();
        let body = batch_body(vec![
            account_entry(&[e("in-1", "P1", pb::Direction::Inbound)], &p1).expect("an entry"),
            account_entry(&[e("in-2", "P2", pb::Direction::Inbound)], &[]).expect("an entry"),
        ]);
        assert!(account_entry(&[], &[]).is_none());
        let mapped = map_body(&parse_body(&body).expect("parses"), "bsp");
        let events: Vec<(&str, &str)> = mapped
            .events
            .iter()
            .map(|m| (m.event_id.as_str(), m.account_id.as_str()))
            .collect();
        assert_eq!(events, [("in-1", "P1"), ("in-2", "P2")]);
        let states: Vec<(StatusKind, &str)> = mapped
            .statuses
            .iter()
            .map(|s| (s.status, s.account_id.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                (StatusKind::Sent, "P1"),
                (StatusKind::Delivered, "P1"),
                (StatusKind::Read, "P1")
            ]
        );
        // Each state is its own report: none is a retry of another.
        let ids: std::collections::BTreeSet<String> = mapped
            .into_events()
            .into_iter()
            .map(|m| m.event_id)
            .collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
    }
}
