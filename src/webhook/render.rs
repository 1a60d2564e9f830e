//! The inverse of the mapping, for load generation and tests: inbound and
//! human-sent outbound events as a webhook body (what Meta would POST),
//! other outbound events as send-API request bodies (what the BSP would send
//! Meta). What a webhook cannot carry is listed in `docs/webhooks.md`:
//! conversation id, sender, template category, handoff, withheld-text
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
                    "statuses": [{
                        "id": e.event_id,
                        "status": "delivered",
                        "timestamp": seconds(e.timestamp_ms),
                        "recipient_id": e.user_id,
                        "pricing": { "billable": true, "pricing_model": "PMP", "category": "service" },
                    }],
                }
            }]
        })
    }));
    json!({ "object": "whatsapp_business_account", "entry": entries })
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
            json!({ "name": "t", "language": { "code": "en" },
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
}
