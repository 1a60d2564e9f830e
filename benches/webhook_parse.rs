//! The webhook receiver's CPU per body and per event, without HTTP or the
//! engine: signature check, parse straight into typed records, mapping to
//! events; over scenario traffic built from the corpora and rendered as
//! Meta and the BSP would send it.
//!
//! cargo bench --bench webhook_parse
//!
//! Groups (criterion throughput in elements = events, so per event; divide
//! by the events per body for per body):
//! - `webhook/parse_map/1`: `parse_body` + `map_body` of webhook bodies of
//!   one message each (as Meta sends a quiet number's messages).
//! - `webhook/parse_map/50`: the same events in bodies of up to 50 messages
//!   of one phone number (`render::account_body`, as Meta groups a busy
//!   number's).
//! - `webhook/verify_parse_map/1`, `webhook/verify_parse_map/50`: with the
//!   `X-Hub-Signature-256` check first, as the receiver runs it.
//! - `webhook/baseline_hmac_value/1`, `webhook/baseline_hmac_value/50`: the
//!   load harness's baseline: HMAC-SHA256 check and `serde_json` parse to a
//!   `Value`, nothing else.
//! - `send_api/map`: `map_send` of send-API bodies (one event each).

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;
use satpam::pb::v1 as pb;
use satpam::webhook::render::{account_body, send_body, webhook_body};
use satpam::webhook::send::{map_send, SendContext};
use satpam::webhook::signature::{sign, verify};
use satpam::webhook::{map_body, parse_body};

/// Accounts and hours of the bench traffic.
const ACCOUNTS: usize = 200;
const HOURS: f64 = 1.0;
/// Events of the traffic used, at most (the rest is not rendered).
const EVENTS: usize = 40_000;
const SECRET: &[u8] = b"bench-app-secret";

/// Bodies (with their signature) and the events in them.
struct Bodies {
    bodies: Vec<(Vec<u8>, String)>,
    events: u64,
}

fn signed(bodies: Vec<Vec<u8>>, events: u64) -> Bodies {
    Bodies {
        bodies: bodies
            .into_iter()
            .map(|b| {
                let s = sign(SECRET, &b);
                (b, s)
            })
            .collect(),
        events,
    }
}

/// The webhook events one per body, the same grouped up to `per_body` per
/// phone number, and the send-API bodies.
fn inputs() -> (Bodies, Bodies, Vec<(pb::MessageEvent, Vec<u8>)>) {
    let traffic = common::traffic(ACCOUNTS, HOURS, false);
    eprintln!(
        "traffic: {} events, {:.0} B of text per event, texts {}",
        traffic.wire.len(),
        traffic.text_bytes as f64 / traffic.wire.len().max(1) as f64,
        traffic.source
    );
    let events: Vec<pb::MessageEvent> = traffic
        .wire
        .iter()
        .take(EVENTS)
        .filter_map(|w| pb::MessageEvent::decode(w.as_slice()).ok())
        .collect();
    let in_webhook = |e: &pb::MessageEvent| {
        e.direction != pb::Direction::Outbound as i32 || e.sender == pb::Sender::HumanAgent as i32
    };
    let hooks: Vec<&pb::MessageEvent> = events.iter().filter(|e| in_webhook(e)).collect();
    let n = hooks.len() as u64;
    let one = signed(
        hooks
            .iter()
            .map(|e| webhook_body(std::slice::from_ref(*e)))
            .collect(),
        n,
    );
    let mut grouped: Vec<Vec<u8>> = Vec::new();
    let mut filling: BTreeMap<&str, Vec<pb::MessageEvent>> = BTreeMap::new();
    for e in &hooks {
        let f = filling.entry(e.account_id.as_str()).or_default();
        f.push((*e).clone());
        if f.len() >= 50 {
            grouped.push(account_body(f, &[]));
            f.clear();
        }
    }
    grouped.extend(
        filling
            .values()
            .filter(|f| !f.is_empty())
            .map(|f| account_body(f, &[])),
    );
    let fifty = signed(grouped, n);
    let sends = events
        .iter()
        .filter(|e| !in_webhook(e))
        .map(|e| (e.clone(), send_body(e)))
        .collect();
    (one, fifty, sends)
}

fn webhook(c: &mut Criterion) {
    let (one, fifty, sends) = inputs();
    eprintln!(
        "webhook bodies: {} events in {} bodies of one, {} bodies of up to 50; {} send-API bodies",
        one.events,
        one.bodies.len(),
        fifty.bodies.len(),
        sends.len()
    );
    let mut g = c.benchmark_group("webhook");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(2));
    for (label, b) in [("1", &one), ("50", &fifty)] {
        g.throughput(Throughput::Elements(b.events));
        g.bench_function(format!("parse_map/{label}"), |bench| {
            bench.iter(|| {
                let mut n = 0;
                for (body, _) in &b.bodies {
                    if let Ok(p) = parse_body(body) {
                        n += map_body(&p, "bsp").events.len();
                    }
                }
                black_box(n)
            })
        });
        g.bench_function(format!("verify_parse_map/{label}"), |bench| {
            bench.iter(|| {
                let mut n = 0;
                for (body, sig) in &b.bodies {
                    if verify(SECRET, body, Some(sig)).is_ok() {
                        if let Ok(p) = parse_body(body) {
                            n += map_body(&p, "bsp").events.len();
                        }
                    }
                }
                black_box(n)
            })
        });
        g.bench_function(format!("baseline_hmac_value/{label}"), |bench| {
            bench.iter(|| {
                let mut n = 0;
                for (body, sig) in &b.bodies {
                    if verify(SECRET, body, Some(sig)).is_ok() {
                        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
                            n += usize::from(v.is_object());
                        }
                    }
                }
                black_box(n)
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("send_api");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(sends.len() as u64));
    g.bench_function("map", |bench| {
        bench.iter(|| {
            let mut n = 0;
            for (e, body) in &sends {
                let ctx = SendContext {
                    tenant_id: "bsp",
                    phone_number_id: &e.account_id,
                    waba_id: &e.waba_id,
                    message_id: &e.event_id,
                    timestamp_ms: e.timestamp_ms,
                };
                n += usize::from(map_send(body, &ctx).is_ok());
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, webhook);
criterion_main!(benches);
