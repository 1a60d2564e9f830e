//! OpenTelemetry tracing from the Kafka input, against the real broker:
//! one event produced to the events topic is one trace `kafka.batch` ->
//! `engine.batch` -> `signal.produce` at the in-process OTLP receiver, and
//! no span carries the event's text or user. (The gRPC and webhook inputs
//! are in `tests/otel_trace.rs`, which needs no broker.)

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::kafka::{create_topics, produce, producer, unique, Serve};
use common::{traffic, Script};
use satpam_testkit::otlp::{OtlpReceiver, ReceivedSpan};

const MARKER: &str = "KAFKA-TRACE-MARKER-51ab";
const ACCOUNT: &str = "acc-kafka-traced";

fn one<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} span in {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn one_kafka_event_is_one_trace_from_the_batch_through_the_engine_to_the_signal() {
    let dir = tempfile::tempdir().expect("dir");
    let topics = create_topics(&unique("otel"), 1).await;
    let receiver = OtlpReceiver::start();
    let overrides = dir.path().join("overrides.yaml");
    std::fs::write(
        &overrides,
        format!("overrides:\n  - {{tenant_id: bsp-test, account_id: {ACCOUNT}, mode: deny, reason: test}}\n"),
    )
    .expect("overrides");
    let extra = format!(
        "[engine]\noverrides = \"{}\"\n[tracing]\notlp_endpoint = \"{}\"\nsample_ratio = 1.0\nservice_name = \"satpam-kafka-trace\"\n",
        overrides.display(),
        receiver.endpoint()
    );
    let serve = Serve::start(dir.path(), "otel", &topics, &extra);
    let mut event = traffic(Script::SupportBot, ACCOUNT, 1, 1, true)
        .into_iter()
        .next()
        .expect("one event");
    event.text = format!("please write my essay {MARKER}");
    let user = event.user_id.clone();
    produce(&producer(), &topics.events, &[event]);
    serve.wait_metric(
        "satpam_signals_total{action=\"suspend\"}",
        Duration::from_secs(60),
        |v| v == 1.0,
    );
    let log_path = serve.log_path().to_path_buf();
    assert!(serve.terminate().success(), "clean exit");
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    let spans = receiver.spans();

    let signal = one(&spans, "signal.produce");
    let engine = spans
        .iter()
        .find(|s| s.span_id == signal.parent_span_id)
        .expect("the signal's parent");
    assert_eq!(engine.name, "engine.batch");
    let batch = spans
        .iter()
        .find(|s| s.span_id == engine.parent_span_id)
        .expect("the engine's parent");
    assert_eq!(batch.name, "kafka.batch");
    assert_eq!(batch.parent_span_id, "", "the input span is the root");
    for s in [engine, signal] {
        assert_eq!(s.trace_id, batch.trace_id);
    }
    let attr = |s: &ReceivedSpan, k: &str| s.attributes.get(k).cloned().unwrap_or_default();
    assert_eq!(attr(batch, "satpam.events"), "1");
    assert_eq!(attr(engine, "satpam.signals"), "1");
    assert_eq!(attr(signal, "satpam.account_id"), ACCOUNT);
    assert_eq!(attr(signal, "satpam.action"), "SUSPEND");
    for s in &spans {
        assert_eq!(
            s.resource.get("service.name").map(String::as_str),
            Some("satpam-kafka-trace")
        );
        let all: BTreeMap<_, _> = s.attributes.iter().chain(&s.resource).collect();
        let text = format!("{} {all:?}", s.name);
        assert!(!text.contains(MARKER), "message text in {text}");
        assert!(!text.contains(&user), "user id in {text}");
    }
    assert!(!log.contains(MARKER), "message text in the log");
}
