//! The webhook receiver in-process on an ephemeral port, driven by a real
//! HTTP client (hyper): GET verification, signed POSTs of real fixtures,
//! bad and missing signatures, wrong app, whitespace changed after signing,
//! malformed and unknown bodies, several apps, body limit, and the metrics.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::service::{http_get, parse_prometheus, sample};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use satpam::service::{self, Config, RunningService};
use satpam::webhook::signature::sign;

const SECRET_A: &str = "app-secret-a";
const SECRET_B: &str = "app-secret-b";

async fn start(dir: &Path) -> RunningService {
    let secret_file = dir.join("secret-b");
    std::fs::write(&secret_file, format!("{SECRET_B}\n")).expect("secret file");
    let toml = format!(
        "[grpc]\nlisten = \"\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[sinks]\njsonl = \"\"\n\
         [webhook]\nlisten = \"127.0.0.1:0\"\nmax_body_bytes = 65536\n\
         [[webhook.apps]]\ntenant_id = \"bsp-a\"\napp_secret_env = \"TEST_SECRET_A\"\nverify_token = \"vt-a\"\n\
         [[webhook.apps]]\ntenant_id = \"bsp-b\"\napp_secret_file = {secret_file:?}\nverify_token = \"vt-b\"\n",
        secret_file = secret_file.display().to_string(),
    );
    let env = vec![("TEST_SECRET_A".to_string(), SECRET_A.to_string())];
    let config = Config::from_toml(&toml, "test.toml", env).expect("config");
    service::start(config).await.expect("service starts")
}

/// One request over a fresh HTTP/1.1 connection; returns (status, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    signature: Option<&str>,
    body: Vec<u8>,
) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn post(addr: SocketAddr, secret: Option<&str>, body: &[u8]) -> (u16, String) {
    let sig = secret.map(|s| sign(s.as_bytes(), body));
    request(
        addr,
        "POST",
        "/webhooks/whatsapp",
        sig.as_deref(),
        body.to_vec(),
    )
    .await
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(name),
    )
    .expect("fixture")
}

async fn metrics(s: &RunningService) -> Vec<(String, f64)> {
    let (status, text) = http_get(s.metrics_addr().expect("metrics"), "/metrics").await;
    assert_eq!(status, 200);
    parse_prometheus(&text)
}

fn value(m: &[(String, f64)], name: &str) -> f64 {
    sample(m, name).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_verification_echoes_the_challenge_only_for_a_configured_token() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let get = |q: &'static str| async move {
        request(
            addr,
            "GET",
            &format!("/webhooks/whatsapp?{q}"),
            None,
            Vec::new(),
        )
        .await
    };
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=vt-a&hub.challenge=1158201444").await,
        (200, "1158201444".to_string())
    );
    assert_eq!(
        get("hub.mode=subscribe&hub.challenge=42&hub.verify_token=vt-b").await,
        (200, "42".to_string()),
        "the second app's token, parameters in any order"
    );
    for refused in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=vt-a&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=vt-a",
        "hub.mode=subscribe&hub.verify_token=&hub.challenge=1",
        "",
    ] {
        assert_eq!(get(refused).await.0, 403, "{refused}");
    }
    let m = metrics(&svc).await;
    assert_eq!(
        value(&m, "satpam_webhook_requests_total{result=\"verify_ok\"}"),
        2.0
    );
    assert_eq!(
        value(
            &m,
            "satpam_webhook_requests_total{result=\"verify_refused\"}"
        ),
        5.0
    );
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_bodies_are_processed_and_unsigned_ones_are_not() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let text = fixture("pywa/message__text.json");

    // Refused before anything is read: missing, bad, wrong app, reformatted.
    assert_eq!(post(addr, None, &text).await.0, 401, "missing signature");
    let bad = sign(SECRET_A.as_bytes(), b"another body");
    assert_eq!(
        request(addr, "POST", "/webhooks/whatsapp", Some(&bad), text.clone())
            .await
            .0,
        401,
        "bad signature"
    );
    assert_eq!(
        post(addr, Some("not-a-configured-app"), &text).await.0,
        401,
        "wrong app"
    );
    let sig = sign(SECRET_A.as_bytes(), &text);
    let reformatted: Vec<u8> = String::from_utf8(text.clone())
        .expect("utf-8")
        .replace("  ", " ")
        .into_bytes();
    assert_eq!(
        request(addr, "POST", "/webhooks/whatsapp", Some(&sig), reformatted)
            .await
            .0,
        401,
        "whitespace changed after signing"
    );
    let m = metrics(&svc).await;
    assert_eq!(
        value(
            &m,
            "satpam_webhook_requests_total{result=\"bad_signature\"}"
        ),
        4.0
    );
    assert_eq!(
        value(&m, "satpam_events_total{source=\"webhook\"}"),
        0.0,
        "nothing processed"
    );
    assert!(svc
        .shards()
        .find_account("bsp-a", "1122334455667")
        .is_none());

    // Signed by app A: processed under tenant A.
    assert_eq!(
        post(addr, Some(SECRET_A), &text).await,
        (200, "ok\n".to_string())
    );
    assert!(svc
        .shards()
        .find_account("bsp-a", "1122334455667")
        .is_some());
    assert!(svc
        .shards()
        .find_account("bsp-b", "1122334455667")
        .is_none());
    // Signed by app B (secret from a file): processed under tenant B.
    let image = fixture("netflie/can_build_an_image_notification.json");
    assert_eq!(post(addr, Some(SECRET_B), &image).await.0, 200);
    assert!(svc
        .shards()
        .find_account("bsp-b", "PHONE_NUMBER_ID")
        .is_some());

    // Statuses are counted by value and each is a delivery report of its
    // number (two more events); other fields and notices are counted only.
    for f in [
        "pywa/message_status__delivered.json",
        "pywa/message_status__failed.json",
        "pywa/account_update__account_violation.json",
        "pywa/system__identity_change.json",
    ] {
        assert_eq!(post(addr, Some(SECRET_A), &fixture(f)).await.0, 200, "{f}");
    }
    // An event that fails validation (numeric timestamp 0) is counted; the body is still 200.
    assert_eq!(
        post(
            addr,
            Some(SECRET_A),
            &fixture("whatsapp-api-js/valid_message_mock.json")
        )
        .await
        .0,
        200
    );

    let m = metrics(&svc).await;
    assert_eq!(value(&m, "satpam_events_total{source=\"webhook\"}"), 5.0);
    assert_eq!(
        value(&m, "satpam_validation_failures_total{source=\"webhook\"}"),
        1.0
    );
    assert_eq!(
        value(&m, "satpam_webhook_requests_total{result=\"ok\"}"),
        7.0
    );
    assert_eq!(
        value(&m, "satpam_webhook_statuses_total{status=\"delivered\"}"),
        1.0
    );
    assert_eq!(
        value(&m, "satpam_webhook_statuses_total{status=\"failed\"}"),
        1.0
    );
    assert_eq!(value(&m, "satpam_webhook_other_fields_total"), 1.0);
    assert_eq!(value(&m, "satpam_webhook_notices_total"), 1.0);
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_and_oversized_bodies() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");

    let (status, body) = post(
        addr,
        Some(SECRET_A),
        b"{\"object\": \"whatsapp_business_acc",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("not JSON"), "{body}");
    let (status, body) = post(
        addr,
        Some(SECRET_A),
        br#"{"object":"instagram","entry":[]}"#,
    )
    .await;
    assert_eq!(
        status, 200,
        "signed but not ours: acknowledged so Meta does not retry it for days"
    );
    assert!(body.contains("ignored"), "{body}");
    let big = vec![b' '; 70_000];
    assert_eq!(post(addr, Some(SECRET_A), &big).await.0, 413);

    // Many entries and changes in one body.
    let mut entries = Vec::new();
    for f in [
        "pywa/message__text.json",
        "pywa/message__video.json",
        "netflie/can_build_multiple_text_notification.json",
    ] {
        let v: serde_json::Value = serde_json::from_slice(&fixture(f)).expect("json");
        entries.extend(v["entry"].as_array().expect("entries").iter().cloned());
    }
    let body =
        serde_json::json!({"object": "whatsapp_business_account", "entry": entries}).to_string();
    assert_eq!(post(addr, Some(SECRET_A), body.as_bytes()).await.0, 200);

    let m = metrics(&svc).await;
    assert_eq!(
        value(&m, "satpam_webhook_requests_total{result=\"malformed\"}"),
        1.0
    );
    assert_eq!(
        value(&m, "satpam_decode_failures_total{source=\"webhook\"}"),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "satpam_webhook_requests_total{result=\"unknown_shape\"}"
        ),
        1.0
    );
    assert_eq!(value(&m, "satpam_events_total{source=\"webhook\"}"), 4.0);
    assert!(svc
        .shards()
        .find_account("bsp-a", "PHONE_NUMBER_ID")
        .is_some());
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_api_tap_maps_signed_request_bodies_to_outbound_events() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let send = |secret: Option<&'static str>, body: &'static str| async move {
        let sig = secret.map(|s| sign(s.as_bytes(), body.as_bytes()));
        request(
            addr,
            "POST",
            "/sendapi/106540352242922/messages",
            sig.as_deref(),
            body.as_bytes().to_vec(),
        )
        .await
    };
    let text = r#"{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"body":"Hello there"}}"#;
    assert_eq!(send(None, text).await.0, 401);
    assert_eq!(send(Some("not-a-configured-app"), text).await.0, 401);
    assert!(svc
        .shards()
        .find_account("bsp-a", "106540352242922")
        .is_none());
    assert_eq!(send(Some(SECRET_A), text).await, (200, "ok\n".to_string()));
    assert!(svc
        .shards()
        .find_account("bsp-a", "106540352242922")
        .is_some());
    let template = r#"{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"order_update","language":{"code":"id"},"components":[{"type":"body","parameters":[{"type":"text","text":"Budi"}]}]}}"#;
    assert_eq!(send(Some(SECRET_A), template).await.0, 200);
    let read = r#"{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x"}"#;
    let (status, body) = send(Some(SECRET_A), read).await;
    assert_eq!(status, 200);
    assert!(body.contains("ignored"), "{body}");
    assert_eq!(send(Some(SECRET_A), "{").await.0, 400);

    let m = metrics(&svc).await;
    assert_eq!(value(&m, "satpam_events_total{source=\"webhook\"}"), 2.0);
    assert_eq!(value(&m, "satpam_webhook_send_refused_total"), 1.0);
    assert_eq!(
        value(
            &m,
            "satpam_webhook_requests_total{result=\"bad_signature\"}"
        ),
        2.0
    );
    assert_eq!(
        value(&m, "satpam_webhook_requests_total{result=\"malformed\"}"),
        1.0
    );
    svc.shutdown().await.expect("shutdown");
}

/// A number's statuses reach its delivery windows: a message, then a body
/// of three statuses (delivered and priced `service`, read, failed) and
/// the same body retried, which counts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_feed_the_numbers_delivery_windows_once() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let message = br#"{"object":"whatsapp_business_account","entry":[{"id":"W9","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"PN9"},
        "messages":[{"from":"6281234567890","id":"wamid.in","timestamp":"1767225600","type":"text","text":{"body":"halo"}}]}}]}]}"#;
    let statuses = br#"{"object":"whatsapp_business_account","entry":[{"id":"W9","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"PN9"},
        "statuses":[
          {"id":"wamid.out","status":"delivered","timestamp":"1767225610","recipient_id":"6281234567890",
           "pricing":{"billable":true,"pricing_model":"PMP","category":"service"}},
          {"id":"wamid.out","status":"read","timestamp":"1767225620","recipient_id":"6281234567890"},
          {"id":"wamid.out2","status":"failed","timestamp":"1767225630","recipient_id":"6281234567890",
           "errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}"#;
    assert_eq!(post(addr, Some(SECRET_A), message).await.0, 200);
    for _ in 0..2 {
        assert_eq!(post(addr, Some(SECRET_A), statuses).await.0, 200);
    }
    let (_, acct) = svc
        .shards()
        .find_account("bsp-a", "PN9")
        .expect("the number");
    let last = acct.behaviour.last_ms();
    let t = acct.delivery.expect("delivery windows").totals(last);
    use satpam::state::delivery::counter;
    assert_eq!(
        (
            t[counter::DELIVERED],
            t[counter::SERVICE],
            t[counter::BILLABLE],
            t[counter::READ],
            t[counter::FAILED]
        ),
        (1, 1, 1, 1, 1)
    );
    let m = metrics(&svc).await;
    assert_eq!(value(&m, "satpam_events_total{source=\"webhook\"}"), 7.0);
    svc.shutdown().await.expect("shutdown");
}

/// An `account_update` that names a WABA's owner (Meta's PARTNER_ADDED,
/// a pywa fixture) makes the receiver stamp that portfolio on the WABA's
/// later events, so the engine's portfolio aggregate sees its numbers; the
/// same WABA under another app's tenant is not stamped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_added_update_names_the_portfolio_of_its_wabas_events() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let message = |number: &str, id: &str| {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"980198427658004","changes":[{{"field":"messages","value":{{
            "metadata":{{"phone_number_id":"{number}"}},
            "messages":[{{"from":"6281234567890","id":"{id}","timestamp":"1767225600","type":"text","text":{{"body":"halo"}}}}]}}}}]}}]}}"#
        )
        .into_bytes()
    };
    // Before the update: no portfolio.
    assert_eq!(
        post(addr, Some(SECRET_A), &message("PN1", "m1")).await.0,
        200
    );
    let update = fixture("pywa/account_update__partner_added.json");
    assert_eq!(post(addr, Some(SECRET_A), &update).await.0, 200);
    assert_eq!(
        post(addr, Some(SECRET_A), &message("PN2", "m2")).await.0,
        200
    );
    assert_eq!(
        post(addr, Some(SECRET_A), &message("PN3", "m3")).await.0,
        200
    );
    assert_eq!(
        post(addr, Some(SECRET_B), &message("PN4", "m4")).await.0,
        200
    );
    let mut numbers: Vec<String> = svc
        .shards()
        .portfolio_numbers("bsp-a", "2329417887457253")
        .into_iter()
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["PN2", "PN3"]);
    assert!(svc
        .shards()
        .portfolio_numbers("bsp-b", "2329417887457253")
        .is_empty());
    let m = metrics(&svc).await;
    assert_eq!(value(&m, "satpam_webhook_portfolios_learned_total"), 1.0);
    assert_eq!(value(&m, "satpam_webhook_other_fields_total"), 1.0);
    svc.shutdown().await.expect("shutdown");
}

/// A `template_category_update` (the pywa fixture: WABA 57438975935's
/// `my_message_template` in `he` is now MARKETING) makes the send-API tap
/// count that WABA's later sends of the template as marketing templates; a
/// category the BSP names (`X-Satpam-Template-Category`) stands; another
/// template, another language and another WABA stay uncategorised; and a
/// status that prices an uncategorised send teaches its template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_webhook_names_the_category_of_the_taps_templates() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.webhook_addr().expect("webhook on");
    let update = fixture("pywa/template_category_update__marketing.json");
    assert_eq!(post(addr, Some(SECRET_A), &update).await.0, 200);
    let send = |n: u32,
                waba: &'static str,
                name: &'static str,
                lang: &'static str,
                category: &'static str| async move {
        let body = format!(
            r#"{{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{{"name":"{name}","language":{{"code":"{lang}"}}}}}}"#
        );
        let sig = sign(SECRET_A.as_bytes(), body.as_bytes());
        let mut extra = vec![
            ("X-Satpam-Waba-Id".to_string(), waba.to_string()),
            ("X-Satpam-Message-Id".to_string(), format!("wamid.t{n}")),
            (
                "X-Satpam-Timestamp-Ms".to_string(),
                (1_767_225_600_000 + i64::from(n) * 1000).to_string(),
            ),
        ];
        if !category.is_empty() {
            extra.push((
                "X-Satpam-Template-Category".to_string(),
                category.to_string(),
            ));
        }
        common::http::post_signed(
            addr,
            "/sendapi/PT1/messages".into(),
            extra,
            body.into_bytes(),
            sig,
        )
        .await
    };
    let w = "57438975935";
    for (n, waba, name, lang, category) in [
        (1, w, "my_message_template", "he", ""),
        (2, w, "my_message_template", "HE", ""),
        (3, w, "my_message_template", "he", "UTILITY"),
        (4, w, "other_template", "he", ""),
        (5, w, "my_message_template", "en_US", ""),
        (6, "another-waba", "my_message_template", "he", ""),
    ] {
        assert_eq!(send(n, waba, name, lang, category).await, 200);
    }
    // The tie back from statuses: a template of no known category is
    // remembered by its wamid; the status that prices it `utility` teaches
    // it for the next send.
    assert_eq!(send(7, w, "shipping_note", "id", "").await, 200);
    let status = br#"{"object":"whatsapp_business_account","entry":[{"id":"57438975935","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"PT1"},
        "statuses":[{"id":"wamid.t7","status":"delivered","timestamp":"1767225608","recipient_id":"6281234567890",
           "pricing":{"billable":true,"pricing_model":"PMP","category":"utility"}}]}}]}]}"#;
    assert_eq!(post(addr, Some(SECRET_A), status).await.0, 200);
    assert_eq!(send(8, w, "shipping_note", "id", "").await, 200);
    let (_, acct) = svc
        .shards()
        .find_account("bsp-a", "PT1")
        .expect("the number");
    let mut b = acct.behaviour;
    let last = b.last_ms();
    let h = b.totals(last).hour;
    use satpam::state::account::hour;
    assert_eq!(
        (
            h[hour::TEMPLATE],
            h[hour::TPL_MARKETING],
            h[hour::TPL_UTILITY],
            h[hour::TPL_AUTH]
        ),
        (8, 2, 2, 0)
    );
    let m = metrics(&svc).await;
    assert_eq!(value(&m, "satpam_webhook_templates_learned_total"), 2.0);
    svc.shutdown().await.expect("shutdown");
}
