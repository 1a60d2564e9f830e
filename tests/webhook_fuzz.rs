//! Property tests of the webhook and send-API parsers (the fuzzing this
//! change can run on stable Rust): arbitrary bytes, and real fixtures with
//! random parts replaced by values of other JSON types, never panic; the
//! mapping never invents messages; signatures of arbitrary headers are
//! refused without panicking.

use std::path::Path;

use proptest::prelude::*;
use satpam::webhook::send::{map_send, SendContext};
use satpam::webhook::signature::{sign, verify};
use satpam::webhook::{map_body, parse_body};
use serde_json::Value;

fn fixtures() -> &'static [Value] {
    static ALL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    ALL.get_or_init(load)
}

fn load() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let mut out = Vec::new();
    for sub in ["pywa", "netflie", "whatsapp-api-js"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                out.push(serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json"));
            }
        }
    }
    out
}

/// Replaces the `pick`-th node (in pre-order) of `v` with `with`.
fn replace_nth(v: &mut Value, pick: &mut usize, with: &Value) -> bool {
    if *pick == 0 {
        *v = with.clone();
        return true;
    }
    *pick -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, pick, with)),
        Value::Object(o) => o.values_mut().any(|x| replace_nth(x, pick, with)),
        _ => false,
    }
}

fn message_objects(v: &Value) -> usize {
    v["entry"]
        .as_array()
        .map(|es| {
            es.iter()
                .flat_map(|e| e["changes"].as_array().cloned().unwrap_or_default())
                .map(|c| {
                    ["messages", "message_echoes"]
                        .iter()
                        .map(|k| {
                            c["value"][k]
                                .as_array()
                                .map_or(0, |a| a.iter().filter(|m| m.is_object()).count())
                        })
                        .sum::<usize>()
                })
                .sum()
        })
        .unwrap_or(0)
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(Value::Array(vec![Value::from(1), Value::from("x")])),
        Just(serde_json::json!({"body": {"nested": [1]}})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(body) = parse_body(&bytes) {
            let _ = map_body(&body, "t");
        }
        let ctx = SendContext { tenant_id: "t", phone_number_id: "p", waba_id: "", message_id: "", timestamp_ms: 1 };
        let _ = map_send(&bytes, &ctx);
    }

    #[test]
    fn mutated_fixtures_parse_and_never_invent_messages(
        which in any::<prop::sample::Index>(),
        node in 0usize..400,
        with in any_json(),
    ) {
        let all = fixtures();
        let mut v = all[which.index(all.len())].clone();
        let mut pick = node;
        replace_nth(&mut v, &mut pick, &with);
        let bytes = serde_json::to_vec(&v).expect("encode");
        if let Ok(body) = parse_body(&bytes) {
            let mapped = map_body(&body, "t");
            prop_assert!(mapped.events.len() + mapped.notices as usize <= message_objects(&v));
            let ctx = SendContext { tenant_id: "t", phone_number_id: "p", waba_id: "", message_id: "", timestamp_ms: 1 };
            let _ = map_send(&bytes, &ctx);
        }
    }

    #[test]
    fn arbitrary_signature_headers_are_refused(header in ".{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assume!(header != sign(b"k", &body));
        prop_assert!(verify(b"k", &body, Some(&header)).is_err());
        prop_assert!(verify(b"k", &body, Some(&sign(b"k", &body))).is_ok());
    }
}
