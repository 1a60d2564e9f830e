//! The scorecard over webhook input: a generated scenario fed to the engine
//! as events, and the same scenario rendered as webhook bodies (inbound,
//! echoes) and send-API bodies (other outbound) and mapped back, enforce on
//! the same accounts (throttle, suspend or charge) with the same precision,
//! recall and legitimate outcomes; template categories come back from the
//! template webhooks. The ladder may climb later: the inputs do not carry
//! the sender or handoff (docs/webhooks.md), so
//! within this 6-hour scenario one account reaches THROTTLE rather than
//! SUSPEND over webhook input (over 12 hours every account's strongest action
//! is the same); no account gets a stronger action than over events.
//! This is the mapping path; the receiver's HTTP path is
//! tests/service_webhook.rs.

use std::sync::Arc;

use satpam::decide::{Action, CountryPolicy, Overrides};
mod common;
use satpam::eval::{evaluate, EvalRun};
use satpam::pb::v1 as pb;
use satpam::webhook::render::{send_body, template_category_body, webhook_body};
use satpam::webhook::send::{map_send_template, SendContext};
use satpam::webhook::templates::TemplateTable;
use satpam::webhook::{map_body, parse_body};
use satpam::RuleSet;
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

/// `e` as the BSP's webhook and send-API traffic gives it back. A template
/// message's category comes from what the WABA's template webhooks said, as
/// in the receiver: before a WABA's first send of a template, Meta's
/// `template_category_update` for it is mapped and learned.
fn through_webhooks(e: &pb::MessageEvent, templates: &TemplateTable) -> pb::MessageEvent {
    let inbound = e.direction == pb::Direction::Inbound as i32;
    if inbound || e.sender == pb::Sender::HumanAgent as i32 {
        let body = webhook_body(std::slice::from_ref(e));
        let mut m = map_body(&parse_body(&body).expect("parses"), &e.tenant_id);
        m.events.pop().expect("one event")
    } else {
        if e.kind == pb::MessageKind::Template as i32 {
            let update = template_category_body(e);
            let m = map_body(&parse_body(&update).expect("parses"), &e.tenant_id);
            for note in &m.templates {
                templates.learn(&e.tenant_id, note);
            }
        }
        let ctx = SendContext {
            tenant_id: &e.tenant_id,
            phone_number_id: &e.account_id,
            waba_id: &e.waba_id,
            message_id: &e.event_id,
            timestamp_ms: e.timestamp_ms,
        };
        let sent = map_send_template(&send_body(e), &ctx).expect("maps");
        let mut event = sent.event;
        templates.stamp(&mut event, sent.template.as_ref());
        event
    }
}

#[test]
fn scorecard_over_webhook_input() {
    let config = ScenarioConfig {
        accounts: 60,
        hours: 6.0,
        seed: 3,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate(&config, Arc::new(TextBank::builtin()));
    let run = |events: Vec<pb::MessageEvent>| {
        evaluate(
            events.into_iter().map(Ok),
            common::eval_labels(&scenario),
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::default(),
            Overrides::default(),
            |_| {},
        )
    };
    let direct = run(scenario.events().collect());
    let templates = TemplateTable::default();
    let through: Vec<pb::MessageEvent> = scenario
        .events()
        .map(|e| through_webhooks(&e, &templates))
        .collect();
    // Every template's category survives the trip (the scenario's WABAs
    // learn theirs from the template webhooks).
    let categories = |events: &mut dyn Iterator<Item = pb::MessageEvent>| -> Vec<i32> {
        events
            .filter(|e| e.kind == pb::MessageKind::Template as i32)
            .map(|e| e.template_category)
            .collect()
    };
    let want = categories(&mut scenario.events());
    assert!(
        want.iter()
            .any(|c| *c != pb::TemplateCategory::Unspecified as i32),
        "the scenario sends categorised templates"
    );
    assert_eq!(categories(&mut through.iter().cloned()), want);
    let webhook = run(through);
    let acts = |r: &EvalRun| {
        let mut v: Vec<(String, Action)> = r
            .strongest
            .iter()
            .map(|s| (s.account_id.clone(), s.action))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert!(
        direct.strongest.iter().any(|s| s.action == Action::Suspend),
        "the scenario has accounts to act on:\n{}",
        direct.scorecard.render()
    );
    let enforced = |v: &[(String, Action)]| -> Vec<String> {
        v.iter()
            .filter(|(_, a)| a.severity() >= Action::Throttle.severity())
            .map(|(id, _)| id.clone())
            .collect()
    };
    let (a, b) = (acts(&direct), acts(&webhook));
    assert_eq!(enforced(&a), enforced(&b), "the same accounts enforced");
    for ((id, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            y.severity() <= x.severity(),
            "{id}: {y:?} over webhooks, {x:?} over events"
        );
    }
    let (d, w) = (&direct.scorecard.overall, &webhook.scorecard.overall);
    assert_eq!(
        (
            d.precision_enforced,
            d.recall_enforced,
            d.recall_enforced_weakest
        ),
        (
            w.precision_enforced,
            w.recall_enforced,
            w.recall_enforced_weakest
        ),
        "direct:\n{}\nwebhook:\n{}",
        direct.scorecard.render(),
        webhook.scorecard.render()
    );
    assert_eq!(
        (
            d.legitimate_flagged,
            d.legitimate_throttled,
            d.legitimate_suspended
        ),
        (
            w.legitimate_flagged,
            w.legitimate_throttled,
            w.legitimate_suspended
        )
    );
    assert_eq!(direct.scorecard.events, webhook.scorecard.events);
}
