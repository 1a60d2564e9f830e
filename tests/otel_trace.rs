//! OpenTelemetry tracing end to end: `satpam serve` (the binary) exports
//! over OTLP/gRPC to an in-process receiver (satpam-testkit's
//! `OtlpReceiver`). One event ingested over gRPC that produces a signal
//! gives one trace: `grpc.ingest.batch` -> `engine.batch` ->
//! `signal.produce`, with `service.name`, and no attribute carries the
//! event's text or user; a send-API request to the webhook receiver is one
//! trace `webhook.request` -> `engine.batch` -> `signal.produce`. With tracing off (no endpoint, even with the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` set) or a sample ratio of 0,
//! the receiver is sent nothing. Spans are exported at shutdown at the
//! latest, so each case reads the receiver after SIGTERM: no waiting on
//! the batch exporter's timer.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam_testkit::http::free_addr;
use satpam_testkit::otlp::{OtlpReceiver, ReceivedSpan};
use satpam_testkit::process::Served;

/// In the event's text: must appear in no span, no attribute, no log line.
const MARKER: &str = "TRACE-MARKER-7c1e";
const ACCOUNT: &str = "acc-traced";

/// One event of `ACCOUNT` (denied by an override, so it signals SUSPEND),
/// its text carrying [`MARKER`].
fn the_event() -> pb::MessageEvent {
    let mut m = traffic(Script::SupportBot, ACCOUNT, 1, 1, true)
        .into_iter()
        .next()
        .expect("one event");
    m.text = format!("please write my essay {MARKER}");
    m
}

/// What a run left: the process log and the spans the receiver got.
struct Run {
    log: String,
    spans: Vec<ReceivedSpan>,
    user_id: String,
}

/// How the event goes in.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    /// [`the_event`] in one Ingest batch.
    Grpc,
    /// A signed send-API body to the webhook receiver's tap, for `ACCOUNT`.
    SendApi,
}

/// The send-API app's secret (test only).
const SECRET: &str = "otel-test-secret";
/// The send-API body's recipient: the user, never in a span.
const RECIPIENT: &str = "6281299887766";

/// POSTs a signed send-API text message (with [`MARKER`]) for `ACCOUNT`;
/// returns the status line.
fn post_send_api(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let body = format!(
        r#"{{"messaging_product":"whatsapp","to":"{RECIPIENT}","type":"text","text":{{"body":"write my essay {MARKER}"}}}}"#
    );
    let sig = satpam::webhook::signature::sign(SECRET.as_bytes(), body.as_bytes());
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect the webhook");
    write!(
        tcp,
        "POST /sendapi/{ACCOUNT}/messages HTTP/1.0\r\nhost: x\r\ncontent-type: application/json\r\nx-hub-signature-256: {sig}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("answer");
    answer.lines().next().unwrap_or_default().to_string()
}

/// Serves with `tracing_toml` (a `[tracing]` section) and `env`, ingests
/// [`the_event`] over gRPC (its ack must count one signal), stops the
/// server with SIGTERM and reads the receiver.
fn run(receiver: &OtlpReceiver, tracing_toml: &str, env: &[(&str, String)]) -> Run {
    run_with(receiver, tracing_toml, env, Input::Grpc)
}

/// [`run`], the event going in by `input`.
fn run_with(
    receiver: &OtlpReceiver,
    tracing_toml: &str,
    env: &[(&str, String)],
    input: Input,
) -> Run {
    let dir = tempfile::tempdir().expect("dir");
    let overrides = dir.path().join("overrides.yaml");
    std::fs::write(
        &overrides,
        format!("overrides:\n  - {{tenant_id: bsp-test, account_id: {ACCOUNT}, mode: deny, reason: test}}\n"),
    )
    .expect("overrides");
    let (grpc, metrics, webhook) = (free_addr(), free_addr(), free_addr());
    let config = dir.path().join("satpam.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\noverrides = \"{}\"\nreload_poll_ms = 0\n[grpc]\nlisten = \"{grpc}\"\n[metrics]\nlisten = \"{metrics}\"\n[sinks]\njsonl = \"\"\n[audit]\npath = \"\"\n[webhook]\nlisten = \"{webhook}\"\n[[webhook.apps]]\ntenant_id = \"bsp-test\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n{tracing_toml}",
            overrides.display()
        ),
    )
    .expect("config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .env_remove("SATPAM_LOG")
        .env_remove("SATPAM_LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let served = Served::spawn(
        cmd,
        metrics,
        &dir.path().join("serve.log"),
        Duration::from_secs(20),
    );
    let event = the_event();
    let user_id = match input {
        Input::Grpc => event.user_id.clone(),
        Input::SendApi => RECIPIENT.to_string(),
    };
    if input == Input::SendApi {
        let status = post_send_api(webhook);
        assert!(status.contains(" 200"), "{status}");
        assert_eq!(
            served.metric("satpam_signals_total{action=\"suspend\"}"),
            Some(1.0)
        );
        return stop(served, receiver, user_id);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ack = rt.block_on(async {
        let ch = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut client = pb::ingest_client::IngestClient::new(ch);
        let batch = pb::EventBatch {
            batch_id: 7,
            events: vec![event],
        };
        let mut acks = client
            .ingest(tokio_stream::iter(vec![batch]))
            .await
            .expect("ingest")
            .into_inner();
        acks.message().await.expect("ack").expect("one ack")
    });
    assert_eq!((ack.accepted, ack.signals), (1, 1), "{ack:?}");
    stop(served, receiver, user_id)
}

/// SIGTERM (spans still queued are exported on the way out), then what arrived.
fn stop(served: Served, receiver: &OtlpReceiver, user_id: String) -> Run {
    let log_path = served.log_path().to_path_buf();
    let status = served.terminate();
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    assert!(status.success(), "exit {status:?}; log:\n{log}");
    Run {
        log,
        spans: receiver.spans(),
        user_id,
    }
}

fn one<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} span in {spans:#?}");
    found[0]
}

#[test]
fn one_event_is_one_trace_from_ingest_through_the_engine_to_the_signal() {
    let receiver = OtlpReceiver::start();
    let r = run(
        &receiver,
        &format!(
            "[tracing]\notlp_endpoint = \"{}\"\nsample_ratio = 1.0\nservice_name = \"satpam-trace-test\"\n",
            receiver.endpoint()
        ),
        &[
            ("SATPAM_LOG_FORMAT", "json".into()),
            ("SATPAM_LOG", "info,satpam::pipeline=debug".into()),
        ],
    );
    assert_eq!(r.spans.len(), 3, "{:#?}", r.spans);
    let batch = one(&r.spans, "grpc.ingest.batch");
    let engine = one(&r.spans, "engine.batch");
    let signal = one(&r.spans, "signal.produce");

    // One trace, linked input -> engine -> signal.
    assert_eq!(batch.trace_id.len(), 32);
    assert_ne!(batch.trace_id, "0".repeat(32));
    for s in [engine, signal] {
        assert_eq!(s.trace_id, batch.trace_id, "{s:#?}");
    }
    assert_eq!(batch.parent_span_id, "", "the input span is the root");
    assert_eq!(engine.parent_span_id, batch.span_id);
    assert_eq!(signal.parent_span_id, engine.span_id);

    // Counts and ids, the service's name.
    let attr = |s: &ReceivedSpan, k: &str| s.attributes.get(k).cloned().unwrap_or_default();
    assert_eq!(attr(batch, "satpam.batch_id"), "7");
    assert_eq!(attr(batch, "satpam.events"), "1");
    assert_eq!(attr(engine, "satpam.events"), "1");
    assert_eq!(attr(engine, "satpam.tenants"), "1");
    assert_eq!(attr(engine, "satpam.signals"), "1");
    assert_eq!(attr(signal, "satpam.account_id"), ACCOUNT);
    assert_eq!(attr(signal, "satpam.tenant_id"), "bsp-test");
    assert_eq!(attr(signal, "satpam.action"), "SUSPEND");
    for s in &r.spans {
        assert_eq!(
            s.resource.get("service.name").map(String::as_str),
            Some("satpam-trace-test")
        );
    }

    // Never the text, never the user: not in a name, attribute or resource.
    let everything = |s: &ReceivedSpan| {
        let all: BTreeMap<_, _> = s.attributes.iter().chain(&s.resource).collect();
        format!("{} {all:?}", s.name)
    };
    for s in &r.spans {
        let text = everything(s);
        assert!(!text.contains(MARKER), "message text in {text}");
        assert!(!text.contains(&r.user_id), "user id in {text}");
    }
    assert!(!r.log.contains(MARKER), "message text in the log");

    // The JSON log line written inside the signal's span names its trace.
    let produced: Vec<serde_json::Value> = r
        .log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["message"] == "signal produced")
        .collect();
    assert_eq!(produced.len(), 1, "log:\n{}", r.log);
    assert_eq!(produced[0]["trace_id"], batch.trace_id.as_str());
    assert_eq!(produced[0]["span_id"], signal.span_id.as_str());
    // Lines outside any span have no ids.
    assert!(r
        .log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["message"] == "satpam serving" && v.get("trace_id").is_none()));
}

#[test]
fn with_tracing_off_or_a_zero_ratio_nothing_is_sent() {
    let receiver = OtlpReceiver::start();
    // Off: no endpoint in the config; the SDK's own variable does not turn it on.
    let off = run(
        &receiver,
        "[tracing]\nsample_ratio = 1.0\n",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())],
    );
    assert!(
        !off.log.contains("tracing: spans exported"),
        "log:\n{}",
        off.log
    );
    // On, but no trace sampled.
    let unsampled = run(
        &receiver,
        &format!(
            "[tracing]\notlp_endpoint = \"{}\"\nsample_ratio = 0.0\n",
            receiver.endpoint()
        ),
        &[],
    );
    assert!(
        unsampled.log.contains("tracing: spans exported"),
        "tracing was on; log:\n{}",
        unsampled.log
    );
    assert_eq!(receiver.spans(), vec![]);
    assert_eq!(receiver.exports(), 0, "no export call at all");
}

#[test]
fn a_send_api_request_is_one_trace_through_the_engine_to_the_signal() {
    let receiver = OtlpReceiver::start();
    let r = run_with(
        &receiver,
        &format!(
            "[tracing]\notlp_endpoint = \"{}\"\nsample_ratio = 1.0\n",
            receiver.endpoint()
        ),
        &[],
        Input::SendApi,
    );
    assert_eq!(r.spans.len(), 3, "{:#?}", r.spans);
    let request = one(&r.spans, "webhook.request");
    let engine = one(&r.spans, "engine.batch");
    let signal = one(&r.spans, "signal.produce");
    assert_eq!(request.parent_span_id, "");
    assert_eq!(engine.parent_span_id, request.span_id);
    assert_eq!(signal.parent_span_id, engine.span_id);
    assert_eq!(engine.trace_id, request.trace_id);
    assert_eq!(signal.trace_id, request.trace_id);
    assert_eq!(request.attributes["satpam.route"], "send");
    assert_eq!(request.attributes["satpam.events"], "1");
    assert_eq!(signal.attributes["satpam.account_id"], ACCOUNT);
    assert_eq!(request.resource["service.name"], "satpam");
    for s in &r.spans {
        let text = format!("{s:?}");
        assert!(!text.contains(MARKER), "message text in {text}");
        assert!(!text.contains(&r.user_id), "the recipient in {text}");
    }
}
