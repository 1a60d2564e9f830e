//! The scale curve: hot-path throughput (protobuf bytes -> decode and
//! validate -> `Engine::process`, one thread) as the state grows, the
//! shape a BSP's day has: many accounts, ten conversations each, most idle.
//!
//! cargo bench --bench scale
//! SATPAM_SCALE_SIZES=1000,10000 cargo bench --bench scale   # other sizes (accounts)
//! SATPAM_SCALE_SVG=benches/results/x.svg cargo bench --bench scale   # where the plot goes
//! SATPAM_SCALE_ROUNDS=2 SATPAM_SCALE_TOUCH=1000 ...   # fewer rounds (profiling); batches from the first N accounts (a control)
//! SATPAM_SCALE_NUMBERS_PER_WABA=128 cargo bench --bench scale   # bigger WABAs (default 10 numbers each)
//!
//! Each size (default 1k, 10k, 100k and 1M accounts; 10x as many
//! conversations) runs in a child process of its own, so its resident
//! memory is its own:
//! 1. pre-fill: every conversation gets an inbound message and a bot reply
//!    (no text), spread over 2 hours of event time, through `Engine::process`;
//! 2. one event at the next sweep time, timed alone: the idle sweep over
//!    the whole state, which the engine runs once per 5 minutes of event time;
//! 3. six rounds (the first a warm-up) of two batches: 100,000 of the
//!    `hotpath` bench's scenario events, each re-addressed to a conversation
//!    drawn uniformly from the whole state (so state lookups miss the caches
//!    as they would), once with their text and once without; timed from
//!    the protobuf bytes, all inside one sweep interval.
//!
//! Prints a table (median events per CPU-second and per wall-clock second
//! of five rounds, ratio to the size before) and writes the plot (default
//! `target/scale-curve.svg`). Exits with status 1 when a step is more than
//! 2x slower than the one before in events per CPU-second (the thread's
//! own run time, from `/proc/thread-self/schedstat`: on a shared machine
//! the wall-clock rates also move with the other load; they are printed
//! and judged too, but only reported).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/text_turn.rs"]
mod text_turn;

mod batch;
mod fill;
mod measure;
mod plot;
mod wire;

use std::process::{Command, ExitCode, Stdio};

use prost::Message;
use satpam::pb::v1::MessageEvent;

use fill::CONVERSATIONS_PER_ACCOUNT;
use measure::{measure, Point};
use plot::short;

/// Events per batch, taken from the start of the `hotpath` traffic.
const BATCH: usize = 100_000;
/// The most a step may slow down against the size before it.
const MAX_STEP: f64 = 2.0;
const CHILD: &str = "--scale-child";

fn sizes() -> Vec<usize> {
    std::env::var("SATPAM_SCALE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000, 1_000_000])
}

/// The child: measure one size, print its line.
fn child(accounts: usize) {
    let traffic = common::traffic(200, 6.0, false);
    let template: Vec<MessageEvent> = traffic.wire[..BATCH.min(traffic.wire.len())]
        .iter()
        .map(|w| MessageEvent::decode(w.as_slice()).expect("bench traffic decodes"))
        .collect();
    eprintln!(
        "scale: {accounts} accounts x {CONVERSATIONS_PER_ACCOUNT} conversations; batches of {} events, texts from {} ({:.0} B per event over the whole traffic)",
        template.len(),
        traffic.source,
        traffic.text_bytes as f64 / traffic.wire.len() as f64
    );
    drop(traffic);
    let p = measure(accounts, &template);
    println!("{}", wire::to_line(&p));
}

fn run_child(accounts: usize) -> Point {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let out = Command::new(exe)
        .args([CHILD, &accounts.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child for {accounts} failed: {stdout}"
    );
    stdout
        .lines()
        .find_map(wire::from_line)
        .expect("the child prints its point")
}

/// The ratios of `rate` from each size to the one before ("1" for the
/// first), and whether every step kept within [`MAX_STEP`].
fn steps(points: &[Point], rate: fn(&Point) -> f64) -> (Vec<String>, bool) {
    let mut met = true;
    let mut out = vec!["1".to_string()];
    for w in points.windows(2) {
        let r = rate(&w[1]) / rate(&w[0]);
        met &= r >= 1.0 / MAX_STEP;
        out.push(format!("{r:.3}"));
    }
    (out, met)
}

/// Prints the table; returns whether every step kept within [`MAX_STEP`],
/// on the CPU-time rates and on the wall-clock ones.
fn table(points: &[Point]) -> (bool, bool) {
    let (tc, tc_met) = steps(points, Point::text_cpu_rate);
    let (mc, mc_met) = steps(points, Point::metadata_cpu_rate);
    let (tw, tw_met) = steps(points, Point::text_rate);
    let (mw, mw_met) = steps(points, Point::metadata_rate);
    println!("events per CPU-second (the thread's run time) and per wall-clock second; medians of the timed rounds");
    println!(
        "| accounts | conversations | WABAs | RSS after fill | store estimate | sweep (ms) | text /CPU-s | ratio | metadata /CPU-s | ratio | text /s wall | ratio | metadata /s wall | ratio | signals |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, p) in points.iter().enumerate() {
        println!(
            "| {} | {} | {} | {:.0} MiB | {:.0} MiB | {:.1} | {:.0} | {} | {:.0} | {} | {:.0} | {} | {:.0} | {} | {} |",
            p.accounts,
            p.conversations,
            p.wabas,
            p.rss as f64 / 1048576.0,
            p.store_bytes as f64 / 1048576.0,
            p.sweep_ms,
            p.text_cpu_rate(),
            tc[i],
            p.metadata_cpu_rate(),
            mc[i],
            p.text_rate(),
            tw[i],
            p.metadata_rate(),
            mw[i],
            p.signals,
        );
    }
    for p in points {
        if p.anomalies > 0 {
            println!(
                "at {}: {} events not processed as new (invalid, refused, late or duplicate)",
                short(p.accounts),
                p.anomalies
            );
        }
        let rounds = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{:.0}k", x / 1e3))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "rounds at {} (per CPU-s): text {} | metadata {}; pre-fill {} events in {:.1} s",
            short(p.accounts),
            rounds(&p.text_cpu),
            rounds(&p.metadata_cpu),
            p.fill.0,
            p.fill.1
        );
    }
    (tc_met && mc_met, tw_met && mw_met)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD) {
        let accounts = args
            .get(i + 1)
            .and_then(|a| a.parse().ok())
            .expect("--scale-child ACCOUNTS");
        child(accounts);
        return ExitCode::SUCCESS;
    }
    let mut points = Vec::new();
    for n in sizes() {
        let p = run_child(n);
        eprintln!(
            "scale: {} accounts done: text {:.0}/s, metadata {:.0}/s, fill {:.1} s",
            p.accounts,
            p.text_rate(),
            p.metadata_rate(),
            p.fill.1
        );
        points.push(p);
    }
    let (met, wall_met) = table(&points);
    let path = std::env::var("SATPAM_SCALE_SVG").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/scale-curve.svg").to_string()
    });
    let subtitle = format!(
        "decode + Engine::process; {}k events per batch, drawn over the whole state; {CONVERSATIONS_PER_ACCOUNT} conversations per account",
        BATCH / 1000
    );
    match std::fs::write(&path, plot::svg(&points, &subtitle)) {
        Ok(()) => println!("plot: {path}"),
        Err(e) => println!("plot: cannot write {path}: {e}"),
    }
    if !wall_met {
        println!("scale: on wall-clock rates, a step worse than {MAX_STEP}x (other load on the machine counts there)");
    }
    if met {
        println!("scale: no step worse than {MAX_STEP}x (per CPU-second, text and metadata)");
        ExitCode::SUCCESS
    } else {
        println!("scale: step worse than {MAX_STEP}x (per CPU-second)");
        ExitCode::FAILURE
    }
}
