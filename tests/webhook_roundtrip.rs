//! Scenario traffic rendered as webhook bodies (inbound, and outbound sent
//! by a person: `smb_message_echoes`) and as send-API bodies (other
//! outbound) maps back to the same events, except for exactly the fields
//! docs/webhooks.md says these inputs cannot carry.

use std::sync::Arc;

use satpam::pb::v1 as pb;
use satpam::webhook::render::{send_body, webhook_body};
use satpam::webhook::send::{map_send, SendContext};
use satpam::webhook::{map_body, parse_body};
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

/// What the input can carry of `e`.
fn carried(e: &pb::MessageEvent, via_webhook: bool) -> pb::MessageEvent {
    let mut x = e.clone();
    let kind = pb::MessageKind::try_from(e.kind).unwrap_or(pb::MessageKind::Other);
    let inbound = e.direction == pb::Direction::Inbound as i32;
    x.conversation_id.clear();
    x.template_category = pb::TemplateCategory::Unspecified as i32;
    x.handoff = false;
    x.text_length = 0;
    x.sender = if via_webhook && !inbound {
        pb::Sender::HumanAgent as i32
    } else {
        pb::Sender::Unspecified as i32
    };
    if kind == pb::MessageKind::Unspecified {
        x.kind = pb::MessageKind::Text as i32;
    }
    let textless = matches!(
        kind,
        pb::MessageKind::Audio
            | pb::MessageKind::Sticker
            | pb::MessageKind::Location
            | pb::MessageKind::Reaction
            | pb::MessageKind::Other
    ) || (via_webhook && kind == pb::MessageKind::Template);
    if textless {
        x.text.clear();
    }
    if kind == pb::MessageKind::Reaction {
        x.reply_to.clear();
    }
    if via_webhook {
        x.timestamp_ms = e.timestamp_ms.div_euclid(1000) * 1000;
    } else {
        // No contact card on a send-API request: the country comes from the
        // recipient's number or BSUID only, and scenario user ids are neither.
        x.user_country.clear();
    }
    x
}

#[test]
fn scenario_events_survive_webhook_and_send_api_rendering() {
    let config = ScenarioConfig {
        accounts: 24,
        hours: 2.0,
        seed: 7,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate(&config, Arc::new(TextBank::builtin()));
    let (mut via_webhook, mut via_send) = (0, 0);
    for e in scenario.events() {
        let human = e.sender == pb::Sender::HumanAgent as i32;
        let inbound = e.direction == pb::Direction::Inbound as i32;
        if inbound || human {
            let body = webhook_body(std::slice::from_ref(&e));
            let mapped = map_body(&parse_body(&body).expect("parses"), &e.tenant_id);
            assert_eq!(
                mapped.events,
                vec![carried(&e, true)],
                "webhook of {}",
                e.event_id
            );
            via_webhook += 1;
        } else {
            let ctx = SendContext {
                tenant_id: &e.tenant_id,
                phone_number_id: &e.account_id,
                waba_id: &e.waba_id,
                message_id: &e.event_id,
                timestamp_ms: e.timestamp_ms,
            };
            let got = map_send(&send_body(&e), &ctx).expect("maps");
            assert_eq!(got, carried(&e, false), "send-API of {}", e.event_id);
            via_send += 1;
        }
    }
    assert!(
        via_webhook > 1000 && via_send > 1000,
        "{via_webhook} {via_send}"
    );
}

#[test]
fn one_body_carries_many_events() {
    let scenario = Scenario::generate(
        &ScenarioConfig {
            accounts: 4,
            hours: 0.5,
            ..ScenarioConfig::default()
        },
        Arc::new(TextBank::builtin()),
    );
    let events: Vec<pb::MessageEvent> = scenario
        .events()
        .filter(|e| e.direction == pb::Direction::Inbound as i32)
        .take(200)
        .collect();
    let mapped = map_body(
        &parse_body(&webhook_body(&events)).expect("parses"),
        "bsp-00",
    );
    assert_eq!(mapped.events.len(), events.len());
    for (got, e) in mapped.events.iter().zip(&events) {
        let mut want = carried(e, true);
        want.tenant_id = "bsp-00".into();
        assert_eq!(got, &want);
    }
}
