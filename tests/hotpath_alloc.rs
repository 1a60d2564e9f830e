//! The hot path allocates nothing per event once an account's state
//! exists (docs/architecture.md, "Memory"): counted with an allocator that
//! counts the calls made on this test's own thread. Counting, not timing:
//! allocation counts do not depend on the machine.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use common::{traffic, Script, T0};
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::engine::Outcome;
use satpam::{Engine, EngineConfig, RuleSet, Scratch};

/// The system allocator, counting the allocations of threads that asked to be counted.
struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations (alloc, alloc_zeroed, realloc) counted on this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the allocator can run while a thread's locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations `f` made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, ALLOCATIONS.with(Cell::get))
}

#[test]
fn events_of_known_conversations_allocate_nothing_unless_they_signal() {
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    );
    // An assistant: the default rules fire on most of its events. Its
    // events name a WABA, so the WABA aggregate is measured too.
    let mut events = common::events_of(traffic(Script::Assistant, "acc", 6, 180, true));
    for e in &mut events {
        e.waba_id = "waba-1".into();
    }
    let (warm, measured) = events.split_at(events.len() / 2);
    let mut scratch = Scratch::default();
    for e in warm {
        engine.process(e, &mut scratch);
    }
    let known = engine.store_stats().conversations;

    let (mut counted, mut fired, mut total) = (0usize, 0usize, 0u64);
    for e in measured {
        let (outcome, n) = allocations(|| engine.process(e, &mut scratch));
        // A signal is built (and allocates) only when the action changes.
        if !matches!(outcome, Outcome::Processed(Some(_))) {
            counted += 1;
            fired += scratch.fired().len();
            total += n;
        }
    }
    assert_eq!(
        engine.store_stats().conversations,
        known,
        "the measured half must stay within the conversations the warm-up created"
    );
    assert!(counted > 100, "too few events counted: {counted}");
    assert!(
        fired > counted,
        "rules must fire on the measured events: {fired}"
    );
    assert_eq!(
        total, 0,
        "{total} allocations over {counted} events ({fired} rule firings)"
    );
}

#[test]
fn records_decoded_into_a_reused_event_allocate_nothing_once_warm() {
    use prost::Message;
    use satpam::convert::EventDecoder;
    let engine = Engine::new(
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    );
    // The Kafka workers' path: protobuf bytes -> the worker's decoder ->
    // the engine. Records of the same shape (ids, texts) as the warm half.
    let records: Vec<Vec<u8>> = traffic(Script::Assistant, "acc", 6, 180, true)
        .into_iter()
        .map(|mut m| {
            m.waba_id = "waba-1".into();
            m.encode_to_vec()
        })
        .collect();
    let (warm, measured) = records.split_at(records.len() / 2);
    let mut decoder = EventDecoder::new();
    let mut scratch = Scratch::default();
    for r in warm {
        if let Ok(e) = decoder.decode(r) {
            engine.process(e, &mut scratch);
        }
    }
    // Each field's two buffers trade places every record: decoding the
    // measured records twice first grows both to the longest text and id
    // they will hold; the engine sees none of it.
    for r in measured.iter().chain(measured) {
        let _ = decoder.decode(r);
    }
    let (mut counted, mut total, mut refused) = (0usize, 0u64, 0usize);
    for r in measured {
        let (signalled, n) = allocations(|| match decoder.decode(r) {
            Ok(e) => Some(matches!(
                engine.process(e, &mut scratch),
                Outcome::Processed(Some(_))
            )),
            Err(_) => None,
        });
        match signalled {
            None => refused += 1,
            Some(false) => {
                counted += 1;
                total += n;
            }
            Some(true) => {}
        }
    }
    assert_eq!(refused, 0, "the scripted records are valid");
    assert!(counted > 100, "too few records counted: {counted}");
    assert_eq!(total, 0, "{total} allocations over {counted} records");
}
