//! Memory per tracked conversation and per tracked account, measured by a
//! counting allocator around the system one, at 1M conversations.
//!
//! cargo bench --bench memory
//!
//! Two loads in one run, each into a fresh engine with the default rules:
//! - A: 10,000 accounts with one conversation each;
//! - B: the same 10,000 accounts with 100 conversations each (1,000,000).
//!
//! Every conversation gets an inbound message and a bot reply, then goes
//! idle. Bytes per account = A's bytes / 10,000 (one conversation each
//! included, so it is an upper bound); bytes per idle conversation =
//! (B - A) / 990,000. Both are live heap bytes, hash-table slots included.
//! Targets (issue 16): <= 160 B per idle conversation, <= 2 KiB per
//! account; the bench exits with status 1 when one is missed (allocation
//! sizes do not depend on timing, so `.ci/run` can hold it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::event::Direction;
use satpam::{Engine, EngineConfig, Event, RuleSet, Scratch};

#[path = "common/text_turn.rs"]
mod text_turn;

use text_turn::{text_turn, TurnIds};

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ACCOUNTS: usize = 10_000;
const START_MS: i64 = 1_767_225_600_000;

fn event(account: usize, user: usize, seq: u64, ts: i64, direction: Direction) -> Event {
    let ids = TurnIds {
        tenant_id: "bsp-1".into(),
        account_id: format!("1{account:011}"),
        waba_id: String::new(),
        user_id: format!("62{user:010}"),
    };
    text_turn(ids, format!("wamid.{seq:016x}"), ts, direction)
}

/// Live bytes held by an engine after `per_account` conversations on each account.
fn load(per_account: usize) -> (isize, Engine, f64) {
    let before = LIVE.load(Ordering::Relaxed);
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        Arc::new(ManualClock::new(START_MS)),
        EngineConfig::default(),
    );
    let mut scratch = Scratch::default();
    let total = ACCOUNTS * per_account;
    // Spread over 30 minutes of event time, in time order.
    let step = (30 * 60_000) as f64 / total as f64;
    let started = Instant::now();
    let mut seq = 0u64;
    for c in 0..per_account {
        for a in 0..ACCOUNTS {
            let n = c * ACCOUNTS + a;
            let ts = START_MS + (n as f64 * step) as i64;
            for (dir, dt) in [(Direction::Inbound, 0), (Direction::Outbound, 2_000)] {
                seq += 1;
                let e = event(a, c, seq, ts + dt, dir);
                std::hint::black_box(engine.process(&e, &mut scratch));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    drop(scratch);
    let held = LIVE.load(Ordering::Relaxed) - before;
    (held, engine, seq as f64 / secs)
}

const CONVERSATION_TARGET: f64 = 160.0;
const ACCOUNT_TARGET: f64 = 2048.0;

fn main() -> std::process::ExitCode {
    let (a_bytes, a, _) = load(1);
    let a_stats = a.store_stats();
    drop(a);
    let (b_bytes, b, rate) = load(100);
    let b_stats = b.store_stats();
    drop(b);

    let per_account = a_bytes as f64 / a_stats.accounts as f64;
    let extra_convs = (b_stats.conversations - a_stats.conversations) as f64;
    let per_conv = (b_bytes - a_bytes) as f64 / extra_convs;
    println!("memory: counting allocator, live heap bytes after the load (tables included)");
    println!(
        "  A: {:>9} conversations, {:>6} accounts: {:>12} B",
        a_stats.conversations, a_stats.accounts, a_bytes
    );
    println!(
        "  B: {:>9} conversations, {:>6} accounts: {:>12} B  ({:.0} events/s while loading)",
        b_stats.conversations, b_stats.accounts, b_bytes, rate
    );
    println!(
        "  per account (A / accounts, one conversation included): {per_account:>8.0} B  (target <= {ACCOUNT_TARGET})"
    );
    println!(
        "  per idle conversation ((B - A) / extra conversations): {per_conv:>8.1} B  (target <= {CONVERSATION_TARGET})"
    );
    println!(
        "  the store's own estimate at B: {:.1} B per conversation, {:.0} B per account",
        b_stats.conversation_bytes as f64 / b_stats.conversations as f64,
        b_stats.account_bytes as f64 / b_stats.accounts as f64
    );
    if per_conv > CONVERSATION_TARGET || per_account > ACCOUNT_TARGET {
        println!("memory: target missed");
        return std::process::ExitCode::FAILURE;
    }
    println!("memory: targets met");
    std::process::ExitCode::SUCCESS
}
