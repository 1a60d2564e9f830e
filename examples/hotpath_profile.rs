//! The hot path, one phase at a time, for profilers: generates scenario
//! traffic from the corpora, encodes it to wire bytes, then times decoding
//! alone and decoding + engine. Built for `valgrind --tool=callgrind` and
//! `perf record` (the criterion bench `hotpath` is the measurement of record).
//!
//! cargo run --release --example hotpath_profile -- [ACCOUNTS] [HOURS] [metadata] [decode]

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::pb::v1::MessageEvent;
use satpam::{Engine, EngineConfig, Event, RuleSet, Scratch};

// The benches' traffic (same corpora, seed and encoding), so that a profile
// and a bench see the same events.
#[path = "../benches/common/mod.rs"]
mod common;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let accounts = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let hours: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(6.0);
    let metadata_only = args.iter().any(|a| a == "metadata");
    let decode_only = args.iter().any(|a| a == "decode");
    let common::Traffic {
        wire,
        source,
        text_bytes,
    } = common::traffic(accounts, hours, metadata_only);
    let bytes: usize = wire.iter().map(Vec::len).sum();
    eprintln!(
        "{} events, {:.0} B/event on the wire, {:.0} B/event of text, texts from {source}",
        wire.len(),
        bytes as f64 / wire.len() as f64,
        text_bytes as f64 / wire.len() as f64
    );

    let started = Instant::now();
    let mut ok = 0u64;
    for w in &wire {
        let m = MessageEvent::decode(w.as_slice())?;
        if Event::try_from(m).is_ok() {
            ok += 1;
        }
    }
    let decode_s = started.elapsed().as_secs_f64();
    eprintln!(
        "decode only: {:.0} events/s ({ok} valid)",
        wire.len() as f64 / decode_s
    );
    if decode_only {
        return Ok(());
    }

    let clock = Arc::new(ManualClock::new(0));
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        clock.clone(),
        EngineConfig::default(),
    );
    let mut scratch = Scratch::default();
    let started = Instant::now();
    let mut signals = 0u64;
    for w in &wire {
        let m = MessageEvent::decode(w.as_slice())?;
        let Ok(e) = Event::try_from(m) else { continue };
        clock.advance_to(e.timestamp_ms);
        if let satpam::Outcome::Processed(Some(_)) = engine.process(&e, &mut scratch) {
            signals += 1;
        }
    }
    let s = started.elapsed().as_secs_f64();
    eprintln!(
        "decode + engine: {:.0} events/s, {signals} signals; ratio to decode only {:.3}",
        wire.len() as f64 / s,
        decode_s / s
    );
    Ok(())
}
