//! Real webhook bodies written by others (tests/fixtures/webhooks, origins
//! and licences in its README), each mapped to the events, statuses and
//! counted fields it must give.

use std::path::Path;

use satpam::convert::event_or_refusal;
use satpam::pb::v1 as pb;
use satpam::webhook::{map_body, parse_body};

const TENANT: &str = "bsp-1";

/// One line per event or status, and one per other field: what a reviewer checks.
fn summary(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body = parse_body(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mapped = map_body(&body, TENANT);
    let mut out = Vec::new();
    for m in mapped.events {
        let dir = if m.direction == pb::Direction::Inbound as i32 {
            "in"
        } else {
            "out"
        };
        let kind = pb::MessageKind::try_from(m.kind)
            .map(|k| {
                k.as_str_name()
                    .trim_start_matches("MESSAGE_KIND_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let line = format!(
            "{dir} {kind} id={} acc={} waba={} user={} cc={} ts={} text={} reply={}",
            m.event_id,
            m.account_id,
            m.waba_id,
            m.user_id,
            m.user_country,
            m.timestamp_ms,
            m.text.chars().count(),
            m.reply_to
        );
        match event_or_refusal(m) {
            Ok(_) => out.push(line),
            Err(r) => out.push(format!("{line} REFUSED({})", r.reason)),
        }
    }
    for s in mapped.statuses {
        out.push(format!(
            "status {} id={} acc={} user={} ts={} billable={:?} model={} category={} origin={} errors={:?}",
            s.status.label(),
            s.message_id,
            s.account_id,
            s.user_id,
            s.timestamp_ms,
            s.billable,
            s.pricing_model,
            s.category,
            s.conversation_origin,
            s.error_codes
        ));
    }
    for f in mapped.other_fields {
        out.push(format!("field {f}"));
    }
    for t in mapped.templates {
        out.push(format!(
            "template waba={} name={} lang={} category={}",
            t.waba_id,
            t.name,
            t.language,
            t.category.as_str_name()
        ));
    }
    if mapped.notices > 0 {
        out.push(format!("notices {}", mapped.notices));
    }
    if mapped.skipped > 0 {
        out.push(format!("skipped {}", mapped.skipped));
    }
    out
}

/// Every fixture, and what it must give (reviewed by hand against the body:
/// kinds, user key BSUID-first, country, event time, reply_to, statuses with
/// pricing and errors, other fields counted, notices not turned into events).
type Case = (&'static str, &'static [&'static str]);
const CASES: &[Case] = &[
("netflie/can_build_a_button_notification.json", &[
    "in button_reply id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=16315551234 cc=US ts=1669233778000 text=2 reply=wamid.ID",
]),
("netflie/can_build_a_button_reply_notification.json", &[
    "in button_reply id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER_ID cc= ts=1669233778000 text=11 reply=",
]),
("netflie/can_build_a_contact_notification.json", &[
    "in other id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_flow_notification.json", &[
    "in button_reply id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER_ID cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_forwarded_notification.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=16315551234 cc=US ts=1669233778000 text=12 reply=",
]),
("netflie/can_build_a_list_notification.json", &[
    "in button_reply id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER_ID cc= ts=1669233778000 text=16 reply=",
]),
("netflie/can_build_a_location_notification.json", &[
    "in location id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_marketing_status_notification.json", &[
    "status delivered id=wamid.ID acc=CUSTOMER_PHONE_NUMBER user=CUSTOMER_PHONE_NUMBER ts=1685626673000 billable=Some(true) model=CBP category=marketing origin=marketing errors=[]",
]),
("netflie/can_build_a_notification.json", &[
    "in button_reply id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=16315551234 cc=US ts=1669233778000 text=2 reply=wamid.ID",
]),
("netflie/can_build_a_notification_with_bsuid_only_and_no_from.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=BSUID_123 cc= ts=1669233778000 text=12 reply=",
]),
("netflie/can_build_a_reaction_notification.json", &[
    "in reaction id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_removed_reaction_notification.json", &[
    "in reaction id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_service_status_notification.json", &[
    "status delivered id=wamid.ID acc=CUSTOMER_PHONE_NUMBER user=CUSTOMER_PHONE_NUMBER ts=1685626673000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("netflie/can_build_a_status_conversation_initiated_notification.json", &[
    "status read id=wamid.ID acc=PHONE_NUMBER_ID user=CUSTOMER_PHONE_NUMBER ts=1669233778000 billable=None model= category= origin=user_initiated errors=[]",
]),
("netflie/can_build_a_status_notification.json", &[
    "status read id=wamid.ID acc=CUSTOMER_PHONE_NUMBER user=CUSTOMER_PHONE_NUMBER ts=1674914356000 billable=None model= category= origin= errors=[]",
]),
("netflie/can_build_a_status_notification_with_errors.json", &[
    "status failed id=amid.ID acc=102944729380254 user=CUSTOMER_PHONE_NUMBER ts=1674912647000 billable=None model= category= origin= errors=[131053]",
]),
("netflie/can_build_a_status_notification_without_expiration_time.json", &[
    "status delivered id=wamid.ID acc=PHONE_NUMBER_ID user=CUSTOMER_PHONE_NUMBER ts=1669233778000 billable=None model= category= origin=user_initiated errors=[]",
]),
("netflie/can_build_a_status_with_pricing_notification.json", &[
    "status delivered id=wamid.ID acc=PHONE_NUMBER_ID user=CUSTOMER_PHONE_NUMBER ts=1690327464000 billable=Some(true) model=CBP category=marketing origin=marketing errors=[]",
]),
("netflie/can_build_a_sticker_notification.json", &[
    "in sticker id=wamid.ID acc=PHONE_NUMBER_ID waba=ID user=SENDER_PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_a_system_notification.json", &[
    "notices 1",
]),
("netflie/can_build_a_text_notification.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=12 reply=",
]),
("netflie/can_build_an_authentication_status_notification.json", &[
    "status delivered id=wamid.ID acc=CUSTOMER_PHONE_NUMBER user=CUSTOMER_PHONE_NUMBER ts=1685626673000 billable=Some(true) model=CBP category=authentication origin=authentication errors=[]",
]),
("netflie/can_build_an_document_notification.json", &[
    "in document id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=12 reply=",
]),
("netflie/can_build_an_image_notification.json", &[
    "in image id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=12 reply=",
]),
("netflie/can_build_an_order_notification.json", &[
    "in other id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER_ID cc= ts=1669233778000 text=38 reply=",
]),
("netflie/can_build_an_unknown_notification.json", &[
    "in other id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=0 reply=",
]),
("netflie/can_build_an_utility_status_notification.json", &[
    "status delivered id=wamid.ID acc=CUSTOMER_PHONE_NUMBER user=CUSTOMER_PHONE_NUMBER ts=1685626673000 billable=Some(true) model=CBP category=utility origin=utility errors=[]",
]),
("netflie/can_build_multiple_text_notification.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=12 reply=",
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233779000 text=13 reply=",
]),
("netflie/can_keep_wa_id_priority_when_user_id_is_present.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=BSUID_123 cc= ts=1669233778000 text=12 reply=",
]),
("netflie/without_contact_profile_can_build_a_notification.json", &[
    "in text id=wamid.ID acc=PHONE_NUMBER_ID waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=PHONE_NUMBER cc= ts=1669233778000 text=12 reply=",
]),
("pywa/template_category_update__marketing.json", &[
    "field template_category_update",
    "template waba=57438975935 name=my_message_template lang=he category=TEMPLATE_CATEGORY_MARKETING",
]),
("pywa/template_status_update__approved.json", &[
    // An older payload: no `message_template_category`, so nothing learned.
    "field message_template_status_update",
]),
("pywa/account_update__account_deleted.json", &[
    "field account_update",
]),
("pywa/account_update__account_disabled.json", &[
    "field account_update",
]),
("pywa/account_update__account_offboarded.json", &[
    "field account_update",
]),
("pywa/account_update__account_reconnected.json", &[
    "field account_update",
]),
("pywa/account_update__account_restriction.json", &[
    "field account_update",
]),
("pywa/account_update__account_violation.json", &[
    "field account_update",
]),
("pywa/account_update__ad_account_linked.json", &[
    "field account_update",
]),
("pywa/account_update__authentication_international_eligibility.json", &[
    "field account_update",
]),
("pywa/account_update__mm_api_for_wa_terms_of_service.json", &[
    "field account_update",
]),
("pywa/account_update__partner_added.json", &[
    "field account_update",
]),
("pywa/account_update__partner_app_installed.json", &[
    "field account_update",
]),
("pywa/account_update__partner_app_uninstalled.json", &[
    "field account_update",
]),
("pywa/account_update__partner_led_business_verification_status.json", &[
    "field account_update",
]),
("pywa/account_update__partner_removed.json", &[
    "field account_update",
]),
("pywa/account_update__partner_removed_wa_app_disconnection.json", &[
    "field account_update",
]),
("pywa/account_update__pricing_tiering_update.json", &[
    "field account_update",
]),
("pywa/account_update__primary_business_location_set.json", &[
    "field account_update",
]),
("pywa/callback_button__button.json", &[
    "in button_reply id=wamid.xyzxyz acc=1122334455667 waba=5467539754836534 user=US.13491208655302741918 cc=IL ts=1698266730000 text=5 reply=wamid.xyzxyz",
]),
("pywa/callback_button__quick_reply.json", &[
    "in button_reply id=wamid.xsidjw acc=1122334455667 waba=5467539754836534 user=US.13491208655302741918 cc=IL ts=1698269027000 text=5 reply=wamid.xyzxyz==",
]),
("pywa/callback_button__quick_reply_without_context.json", &[
    "in button_reply id=wamid.xsidjx acc=1122334455667 waba=5467539754836534 user=US.13491208655302741918 cc=IL ts=1698269027000 text=5 reply=",
]),
("pywa/callback_selection__callback.json", &[
    "in button_reply id=wamid.zyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1698266905000 text=5 reply=wamid.xyzxyz",
]),
("pywa/callback_selection__description.json", &[
    "in button_reply id=wamid.zyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1698266905000 text=5 reply=wamid.xyzxyz",
]),
("pywa/message__animated_sticker.json", &[
    "in sticker id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043785000 text=0 reply=",
]),
("pywa/message__audio.json", &[
    "in audio id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043509000 text=0 reply=",
]),
("pywa/message__chosen_location.json", &[
    "in location id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044557000 text=0 reply=",
]),
("pywa/message__contacts.json", &[
    "in other id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044621000 text=0 reply=",
]),
("pywa/message__current_location.json", &[
    "in location id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044557000 text=0 reply=",
]),
("pywa/message__document.json", &[
    "in document id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043666000 text=7 reply=",
]),
("pywa/message__forwarded.json", &[
    "in text id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044815000 text=14 reply=",
]),
("pywa/message__forwarded_many_times.json", &[
    "in text id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044968000 text=25 reply=",
]),
("pywa/message__image.json", &[
    "in image id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043379000 text=0 reply=",
]),
("pywa/message__interactive_message_with_err.json", &[
    "in button_reply id=wamid.wegrchytvwcggt= acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1700505494000 text=0 reply=wamid.gvwegfretge==",
]),
("pywa/message__media_with_url.json", &[
    "in image id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043379000 text=0 reply=",
]),
("pywa/message__order.json", &[
    "in other id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044668000 text=0 reply=",
]),
("pywa/message__reaction.json", &[
    "in reaction id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044456000 text=0 reply=",
]),
("pywa/message__referral.json", &[
    "in text id=wamid.ID acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697045000000 text=4 reply=",
]),
("pywa/message__reply.json", &[
    "in text id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044746000 text=12 reply=wamid.xyzxyz==",
]),
("pywa/message__static_sticker.json", &[
    "in sticker id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043760000 text=0 reply=",
]),
("pywa/message__text.json", &[
    "in text id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043223000 text=9 reply=",
]),
("pywa/message__unreaction_empty.json", &[
    "in reaction id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044456000 text=0 reply=",
]),
("pywa/message__unreaction_no_emoji.json", &[
    "in reaction id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044456000 text=0 reply=",
]),
("pywa/message__unsupported.json", &[
    "in other id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044706000 text=0 reply=",
]),
("pywa/message__unsupported_with_type.json", &[
    "in other id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044706000 text=0 reply=",
]),
("pywa/message__video.json", &[
    "in video id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044362000 text=7 reply=",
]),
("pywa/message__voice.json", &[
    "in audio id=wamid.xyzxyz acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697043473000 text=0 reply=",
]),
("pywa/message_status__delivered.json", &[
    "status delivered id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1698266945000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("pywa/message_status__failed.json", &[
    "status failed id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1689380458000 billable=None model= category= origin= errors=[130472]",
]),
("pywa/message_status__group.json", &[
    "status read id=<WHATSAPP_MESSAGE_ID> acc=<BUSINESS_PHONE_NUMBER_ID> user=fowefinoewcnw ts=1698266945000 billable=None model= category= origin= errors=[]",
]),
("pywa/message_status__played.json", &[
    "status played id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1689380458000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("pywa/message_status__read.json", &[
    "status read id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1689380458000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("pywa/message_status__sent.json", &[
    "status sent id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1698266945000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("pywa/message_status__with_tracker.json", &[
    "status sent id=wamid.xyzxyz acc=1122334455667 user=972987654321 ts=1698266945000 billable=Some(true) model=CBP category=service origin=service errors=[]",
]),
("pywa/outgoing_message__delete.json", &[
    "notices 1",
]),
("pywa/outgoing_message__edit.json", &[
    "out other id=wamid.yyyyyy acc=1122334455667 waba=1234567890987654321 user=US.13491208655302741918 cc=IL ts=1697044968000 text=0 reply=",
]),
("pywa/outgoing_message__text.json", &[
    "out text id=<WHATSAPP_MESSAGE_ID> acc=1122334455667 waba=<WHATSAPP_BUSINESS_ACCOUNT_ID> user=<BSUID> cc= ts=1697043223000 text=12 reply=",
]),
("pywa/system__identity_change.json", &[
    "notices 1",
]),
("pywa/system__phone_number_change.json", &[
    "notices 1",
]),
("whatsapp-api-js/empty_message_mock.json", &[
    "field messages",
]),
("whatsapp-api-js/valid_message_mock.json", &[
    "in text id=wamid.ID acc=1 waba=WHATSAPP_BUSINESS_ACCOUNT_ID user=2 cc= ts=0 text=7 reply= REFUSED(timestamp_ms must be positive, got 0)",
]),
("whatsapp-api-js/valid_status_mock.json", &[
    "status other id=4 acc=1 user=2 ts=0 billable=Some(true) model=CBP category=business-initiated origin=user_initiated errors=[]",
]),
];

#[test]
fn every_fixture_maps_to_its_expected_events() {
    let mut failures = Vec::new();
    for (file, want) in CASES {
        let got = summary(file);
        if got != *want {
            failures.push(format!("{file}:\n  want {want:#?}\n  got  {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_on_disk_is_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let mut on_disk = Vec::new();
    for sub in ["pywa", "netflie", "whatsapp-api-js"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("fixture dir") {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            if name == "LICENSE" {
                continue;
            }
            on_disk.push(format!("{sub}/{name}"));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert!(
        on_disk.len() >= 80,
        "three sources, {} fixtures",
        on_disk.len()
    );
}

/// Entries of several fixtures (from different sources) in one body: every
/// change of every entry is mapped, in order.
#[test]
fn many_entries_and_changes_in_one_body() {
    let read = |f: &str| -> serde_json::Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(f);
        serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
    };
    let parts = [
        "pywa/message__text.json",
        "netflie/can_build_multiple_text_notification.json",
        "netflie/can_build_an_utility_status_notification.json",
        "pywa/account_update__account_violation.json",
        "pywa/outgoing_message__text.json",
    ];
    let mut entries = Vec::new();
    let mut want = Vec::new();
    for p in parts {
        let v = read(p);
        entries.extend(v["entry"].as_array().expect("entries").iter().cloned());
        want.extend(summary(p));
    }
    // Two changes in one entry too.
    let mut two = read("pywa/message__image.json")["entry"][0].clone();
    let extra = read("pywa/message_status__failed.json")["entry"][0]["changes"][0].clone();
    two["changes"].as_array_mut().expect("changes").push(extra);
    entries.push(two);
    want.extend(summary("pywa/message__image.json"));
    want.extend(summary("pywa/message_status__failed.json"));
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": entries});
    let dir = tempfile::tempdir().expect("tmp");
    let sub = dir.path().join("many");
    std::fs::create_dir(&sub).expect("dir");
    std::fs::write(sub.join("body.json"), body.to_string()).expect("write");
    let got = summary(sub.join("body.json").to_str().expect("utf-8"));
    // Events come first, then statuses, then other fields: compare as sets of lines.
    let (mut g, mut w) = (got.clone(), want.clone());
    g.sort();
    w.sort();
    assert_eq!(g, w);
    assert_eq!(
        got.iter()
            .filter(|l| l.starts_with("in ") || l.starts_with("out "))
            .count(),
        5
    );
}
