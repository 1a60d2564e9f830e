//! One state size, measured in a process of its own (so resident memory
//! is this size's alone): pre-fill, one sweep, then timed batches.

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::pb::v1::MessageEvent;
use satpam::{Engine, EngineConfig, Event, Outcome, RuleSet, Scratch};

use crate::batch::{batch, Spec};
use crate::fill::{fill, START_MS};

/// Timed rounds; each is one batch with text and one without. Round 0 is
/// a warm-up and not reported. `SATPAM_SCALE_ROUNDS` sets another number
/// (at least 2), for profiling.
const ROUNDS: usize = 6;
/// Event time all rounds fit in: under one sweep interval (5 minutes), so
/// the sweep is measured once, on its own, and not inside a batch.
const ROUNDS_SPAN_MS: f64 = 4.0 * 60_000.0;

/// What one state size measured.
pub struct Point {
    /// Accounts tracked after the pre-fill.
    pub accounts: usize,
    /// Conversations tracked after the pre-fill.
    pub conversations: usize,
    /// WABAs tracked after the pre-fill.
    pub wabas: usize,
    /// Events of the pre-fill, and its seconds.
    pub fill: (u64, f64),
    /// Resident set size after the pre-fill, bytes.
    pub rss: u64,
    /// The store's own estimate of its bytes after the pre-fill.
    pub store_bytes: usize,
    /// Milliseconds of the one event that ran the idle sweep over the whole state.
    pub sweep_ms: f64,
    /// Events per wall-clock second of each timed round with text.
    pub text: Vec<f64>,
    /// Events per wall-clock second of each timed round without text.
    pub metadata: Vec<f64>,
    /// Events per second on the CPU (the thread's own run time) of each
    /// timed round with text: what the code costs, without the time other
    /// processes on a shared machine took from it.
    pub text_cpu: Vec<f64>,
    /// Events per second on the CPU of each timed round without text.
    pub metadata_cpu: Vec<f64>,
    /// Signals over the timed rounds.
    pub signals: u64,
    /// Events not processed as new (invalid, refused, late, duplicate): 0 expected.
    pub anomalies: u64,
}

/// Resident set size of this process (`/proc/self/statm`, 4 KiB pages).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`).
fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Decodes and processes `wire`: (wall seconds, CPU seconds, signals, anomalies).
fn run(engine: &Engine, wire: &[Vec<u8>], scratch: &mut Scratch) -> (f64, f64, u64, u64) {
    let (mut signals, mut anomalies) = (0, 0);
    let cpu = on_cpu_ns();
    let started = Instant::now();
    for w in wire {
        let event = MessageEvent::decode(w.as_slice())
            .ok()
            .and_then(|m| Event::try_from(m).ok());
        match event.map(|e| engine.process(&e, scratch)) {
            Some(Outcome::Processed(Some(_))) => signals += 1,
            Some(Outcome::Processed(None)) => {}
            _ => anomalies += 1,
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = on_cpu_ns().saturating_sub(cpu) as f64 / 1e9;
    (wall, cpu, signals, anomalies)
}

/// A number from the environment, else `default`.
fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

impl Point {
    /// Median events/s with text.
    pub fn text_rate(&self) -> f64 {
        median(&self.text)
    }

    /// Median events/s without text.
    pub fn metadata_rate(&self) -> f64 {
        median(&self.metadata)
    }

    /// Median events per CPU-second with text.
    pub fn text_cpu_rate(&self) -> f64 {
        median(&self.text_cpu)
    }

    /// Median events per CPU-second without text.
    pub fn metadata_cpu_rate(&self) -> f64 {
        median(&self.metadata_cpu)
    }
}

/// Measures the hot path over a state of `accounts` accounts, with
/// batches re-addressed from `template`. `SATPAM_SCALE_TOUCH=N` draws the
/// batches from the first N accounts only (a control: the same state with
/// a smaller working set).
pub fn measure(accounts: usize, template: &[MessageEvent]) -> Point {
    let rounds = env_or("SATPAM_SCALE_ROUNDS", ROUNDS).max(2);
    let touched = env_or("SATPAM_SCALE_TOUCH", accounts).clamp(1, accounts);
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        Arc::new(ManualClock::new(START_MS)),
        EngineConfig::default(),
    );
    let started = Instant::now();
    let fill_events = fill(&engine, accounts);
    let fill_s = started.elapsed().as_secs_f64();
    let stats = engine.store_stats();
    let rss = rss_bytes();
    let (_, _, next_sweep) = engine.parts();
    let mut scratch = Scratch::default();

    // The first event at the next sweep time runs the sweep over everything.
    let spec = |seed: u64, t0_ms: i64, metadata_only: bool| Spec {
        accounts: touched,
        seed,
        t0_ms,
        dt_ms: ROUNDS_SPAN_MS / (2 * rounds * template.len()) as f64,
        metadata_only,
    };
    let trigger = batch(&template[..1], &spec(0xffff, next_sweep, true));
    let (sweep_s, _, _, mut anomalies) = run(&engine, &trigger, &mut scratch);

    let (mut text, mut metadata, mut signals) = (Vec::new(), Vec::new(), 0);
    let (mut text_cpu, mut metadata_cpu) = (Vec::new(), Vec::new());
    let mut t0 = next_sweep + 1;
    for round in 0..rounds {
        for metadata_only in [false, true] {
            let seed = (2 * round + usize::from(metadata_only) + 1) as u64;
            let s = spec(seed, t0, metadata_only);
            let wire = batch(template, &s);
            t0 += (template.len() as f64 * s.dt_ms) as i64 + 1;
            let (secs, cpu, sig, anom) = run(&engine, &wire, &mut scratch);
            anomalies += anom;
            if round == 0 {
                continue;
            }
            signals += sig;
            let n = wire.len() as f64;
            if metadata_only {
                metadata.push(n / secs);
                metadata_cpu.push(n / cpu);
            } else {
                text.push(n / secs);
                text_cpu.push(n / cpu);
            }
        }
    }
    Point {
        accounts: stats.accounts,
        conversations: stats.conversations,
        wabas: engine.wabas().len(),
        fill: (fill_events, fill_s),
        rss,
        store_bytes: stats.account_bytes + stats.conversation_bytes,
        sweep_ms: sweep_s * 1e3,
        text,
        metadata,
        text_cpu,
        metadata_cpu,
        signals,
        anomalies,
    }
}
