//! The Kafka source of raw webhook bodies (`kafka.events_format =
//! "webhook"`): signed bodies produced to the events topic as they are (send-API
//! bodies among them, with the tap's `x-satpam-*` headers), the
//! signature in an `x-hub-signature-256` header, decide exactly what the
//! same bodies decide when POSTed to the HTTP receiver; a record with a bad
//! signature, a signed record that is not JSON and an invalid event are
//! dead-lettered with their counts, and the consumer goes on. Needs a
//! broker (not run in the plain test run):
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test webhook_kafka_source -- --ignored --test-threads 1
//! ```

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::kafka::{brokers, create_topics, producer, read_topic, unique, violating_and_legit};
use common::service::http_get;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use satpam::webhook::render::{send_body, webhook_body};
use satpam::webhook::signature::sign;
use satpam_testkit::http::metric_in;
use satpam_testkit::kafka::{produce_with_headers, HeadedRecord};

const SECRET: &str = "source-app-secret";
const APP: &str = "[[webhook.apps]]\ntenant_id = \"bsp-src\"\napp_secret = \"source-app-secret\"\n";
/// Loops and fixtures jump event time: no event-time window, as for loadgen.
const NO_WINDOW: &str = "[limits]\nmax_future_ms = 0\nmax_past_ms = 0\n";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(name),
    )
    .expect("fixture")
}

/// A send-API body's headers: the sending number, the wamid, the WABA and
/// the event time (as `X-Satpam-*` over HTTP, `x-satpam-*` on a record).
type SendMeta = Vec<(String, String)>;

/// Real bodies from the three fixture sources (one with an event that
/// fails validation: timestamp 0), then a violating and a legitimate
/// account rendered as webhook bodies, one event per body, and as send-API
/// bodies for the business's automated answers (with their headers).
fn bodies() -> Vec<(String, Vec<u8>, Option<SendMeta>)> {
    let mut out: Vec<(String, Vec<u8>, Option<SendMeta>)> = [
        "pywa/message__text.json",
        "netflie/can_build_multiple_text_notification.json",
        "netflie/can_build_a_status_with_pricing_notification.json",
        "whatsapp-api-js/valid_message_mock.json",
    ]
    .into_iter()
    .map(|f| ("fixture".to_string(), fixture(f), None))
    .collect();
    let events: Vec<pb::MessageEvent> = violating_and_legit(&unique("wks"));
    out.extend(events.iter().map(|e| {
        let automated = e.direction == pb::Direction::Outbound as i32
            && e.sender != pb::Sender::HumanAgent as i32;
        if automated {
            let meta = vec![
                ("x-satpam-phone-number-id".to_string(), e.account_id.clone()),
                ("x-satpam-message-id".to_string(), e.event_id.clone()),
                ("x-satpam-waba-id".to_string(), e.waba_id.clone()),
                (
                    "x-satpam-timestamp-ms".to_string(),
                    e.timestamp_ms.to_string(),
                ),
            ];
            (e.account_id.clone(), send_body(e), Some(meta))
        } else {
            (
                e.account_id.clone(),
                webhook_body(std::slice::from_ref(e)),
                None,
            )
        }
    }));
    out
}

/// The signals a service wrote to its JSONL sink, as (account, action,
/// signal id, triggering event) in order.
fn signals(path: &Path) -> Vec<(String, String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("signal JSON");
            let s = |k: &str| v.get(k).map(ToString::to_string).unwrap_or_default();
            let row = (
                s("accountId"),
                s("action"),
                s("signalId"),
                s("triggerEventId"),
            );
            assert!(row.0.len() > 2 && row.2.len() > 2, "a signal line: {l}");
            row
        })
        .collect()
}

async fn scrape(svc: &RunningService) -> String {
    http_get(svc.metrics_addr().expect("metrics"), "/metrics")
        .await
        .1
}

fn value(text: &str, name: &str) -> f64 {
    metric_in(text, name).unwrap_or(0.0)
}

async fn post(addr: SocketAddr, body: Vec<u8>, sig: String) -> u16 {
    common::http::post_webhook(addr, body, sig).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn raw_webhook_records_decide_like_http_and_bad_ones_are_dead_lettered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bodies = bodies();

    // Over HTTP, no Kafka: the reference.
    let http_jsonl = dir.path().join("http.jsonl");
    let toml = format!(
        "[grpc]\nlisten = \"\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[engine]\ngrpc_shards = 1\n\
         [sinks]\njsonl = {:?}\n{NO_WINDOW}[webhook]\nlisten = \"127.0.0.1:0\"\n{APP}",
        http_jsonl.display().to_string()
    );
    let http = service::start(Config::from_toml(&toml, "http.toml", Vec::new()).expect("config"))
        .await
        .expect("http service");
    let addr = http.webhook_addr().expect("webhook on");
    for (_, body, send) in &bodies {
        let sig = sign(SECRET.as_bytes(), body);
        let status = match send {
            None => post(addr, body.clone(), sig).await,
            Some(meta) => {
                // The tap: the number in the path, the rest in headers.
                let path = format!("/sendapi/{}/messages", meta[0].1);
                let extra = meta[1..].to_vec();
                common::http::post_signed(addr, path, extra, body.clone(), sig).await
            }
        };
        assert_eq!(status, 200);
    }
    assert!(
        bodies.iter().filter(|b| b.2.is_some()).count() > 10,
        "the automated answers go through the send-API tap"
    );
    let http_metrics = scrape(&http).await;
    http.shutdown().await.expect("shutdown");

    // The same bodies as raw records, with a bad signature and a signed
    // body that is not JSON in the middle.
    let topics = create_topics(&unique("wksrc"), 1).await;
    let kafka_jsonl = dir.path().join("kafka.jsonl");
    let toml = format!(
        "[grpc]\nlisten = \"\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[sinks]\njsonl = {jsonl:?}\n{NO_WINDOW}\
         [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
         signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\ncommit_interval_ms = 200\n\
         events_format = \"webhook\"\n{APP}",
        jsonl = kafka_jsonl.display().to_string(),
        brokers = brokers(),
        group = topics.group,
        events = topics.events,
        signals = topics.signals,
        dlq = topics.dlq,
    );
    let kafka = service::start(Config::from_toml(&toml, "kafka.toml", Vec::new()).expect("config"))
        .await
        .expect("kafka service");
    let header = |sig: String| vec![("x-hub-signature-256".to_string(), sig)];
    // Send-API bodies are records of the same topic with the tap's headers.
    let mut records: Vec<HeadedRecord> = bodies
        .iter()
        .map(|(k, b, send)| {
            let mut headers = header(sign(SECRET.as_bytes(), b));
            headers.extend(send.iter().flatten().cloned());
            (k.clone(), b.clone(), headers)
        })
        .collect();
    let middle = bodies
        .iter()
        .position(|b| b.2.is_none() && b.0 != "fixture")
        .expect("a webhook body of the scenario");
    let forged = bodies[middle].1.clone();
    records.insert(
        middle,
        (
            "forged".into(),
            forged.clone(),
            header(sign(b"not-the-secret", &forged)),
        ),
    );
    records.insert(
        middle + 1,
        (
            "garbled".into(),
            b"{not json".to_vec(),
            header(sign(SECRET.as_bytes(), b"{not json")),
        ),
    );
    produce_with_headers(&producer(), &topics.events, &records);

    // Every good record is processed: as many events as over HTTP.
    let want = value(&http_metrics, "satpam_events_total{source=\"webhook\"}");
    assert!(want > 100.0, "the reference processed {want} events");
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let text = scrape(&kafka).await;
        if value(&text, "satpam_events_total{source=\"webhook\"}") >= want {
            break text;
        }
        assert!(Instant::now() < deadline, "not consumed:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let dead = read_topic(&topics.dlq, Duration::from_secs(10), |r| r.len() >= 3);
    // Nothing more arrives after the last good record.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics_after = scrape(&kafka).await;
    kafka.shutdown().await.expect("shutdown");

    for name in [
        "satpam_events_total{source=\"webhook\"}",
        "satpam_validation_failures_total{source=\"webhook\"}",
        "satpam_webhook_statuses_total{status=\"delivered\"}",
    ] {
        assert_eq!(
            value(&metrics_after, name),
            value(&http_metrics, name),
            "{name}"
        );
    }
    assert_eq!(
        value(
            &metrics,
            "satpam_webhook_requests_total{result=\"bad_signature\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &metrics,
            "satpam_webhook_requests_total{result=\"malformed\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &metrics_after,
            "satpam_webhook_requests_total{result=\"ok\"}"
        ),
        bodies.len() as f64
    );
    assert_eq!(
        value(
            &metrics_after,
            "satpam_dead_letters_total{source=\"webhook\"}"
        ),
        3.0,
        "{metrics_after}"
    );

    // Dead letters: the forged and the garbled record as they came, and the
    // invalid event; each with its reason and where it came from.
    assert_eq!(dead.len(), 3, "{dead:?}");
    let reasons: Vec<&str> = dead
        .iter()
        .map(|d| d.headers["satpam-error"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("timestamp_ms")),
        "{reasons:?}"
    );
    let forged_dl = dead
        .iter()
        .find(|d| d.payload == forged)
        .expect("forged dead-lettered");
    assert!(forged_dl.headers["satpam-error"].contains("does not match"));
    assert_eq!(forged_dl.key.as_deref(), Some(&b"forged"[..]));
    assert_eq!(forged_dl.headers["satpam-source-topic"], topics.events);
    let garbled = dead
        .iter()
        .find(|d| d.payload == b"{not json")
        .expect("garbled dead-lettered");
    assert!(
        garbled.headers["satpam-error"].contains("not JSON"),
        "{:?}",
        garbled.headers
    );

    // The same decisions, in the same order.
    let (over_http, over_kafka) = (signals(&http_jsonl), signals(&kafka_jsonl));
    assert!(!over_http.is_empty(), "the violating account is acted on");
    assert_eq!(over_kafka, over_http);
}
