//! The store's tests: caps, eviction, accounting, the serialized form.

use serde::de::DeserializeSeed;

use super::*;

fn inbound_at(ts: i64) -> crate::event::Event {
    crate::event::Event {
        event_id: "e".into(),
        text_len: 5,
        ..crate::state::test_event::inbound_text(ts)
    }
}

/// Eviction counts what it drops, even while another thread inserts
/// (the count used to be sizes before minus after, which underflowed).
/// No timing: the inserting thread waits for one more sweep after each
/// chunk of inserts, so at least `CHUNKS` sweeps run among the inserts
/// whatever the scheduler does, and the sweeper never pauses.
#[test]
fn eviction_counts_exactly_while_another_thread_inserts() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const CHUNKS: usize = 20;
    const PER_CHUNK: u128 = 1_000;
    let store = StateStore::<()>::new(StateLimits::default());
    let idle = StateLimits::default().conversation_idle_ms;
    let old = inbound_at(1_000);
    for k in 0..2_000u128 {
        store.with_conversation(k, "t", |c| c.observe(&old, 1, 0));
    }
    let now = 1_000 + idle + 1;
    let fresh = inbound_at(now);
    let (sweeps, done) = (AtomicUsize::new(0), AtomicBool::new(false));
    let dropped = std::thread::scope(|s| {
        s.spawn(|| {
            for chunk in 0..CHUNKS {
                let first = 1_000_000 + chunk as u128 * PER_CHUNK;
                for k in first..first + PER_CHUNK {
                    store.with_conversation(k, "t", |c| c.observe(&fresh, 2, 0));
                }
                while sweeps.load(Ordering::Acquire) <= chunk {
                    std::thread::yield_now();
                }
            }
            done.store(true, Ordering::Release);
        });
        let mut dropped = 0;
        loop {
            let finished = done.load(Ordering::Acquire);
            dropped += store.evict_idle(now).0;
            sweeps.fetch_add(1, Ordering::AcqRel);
            if finished {
                break dropped;
            }
            std::thread::yield_now();
        }
    });
    assert!(sweeps.into_inner() > CHUNKS);
    assert_eq!(dropped, 2_000, "each idle conversation counted once");
    assert_eq!(store.evict_idle(now), (0, 0));
    assert_eq!(store.stats().conversations, CHUNKS * PER_CHUNK as usize);
}

fn capped(conversations: usize, accounts: usize) -> StateStore<()> {
    StateStore::<()>::new(StateLimits {
        max_conversations_per_tenant: conversations,
        max_accounts_per_tenant: accounts,
        ..StateLimits::default()
    })
}

fn touch(store: &StateStore<()>, tenant: &str, id: u64, ts: i64) {
    let e = inbound_at(ts);
    store.with_conversation(key_of(tenant, &id.to_string()), tenant, |c| {
        c.observe(&e, id, 0)
    });
    store.with_account(key_of(tenant, &id.to_string()), tenant, "a", |a| {
        let none = super::super::conversation::ConversationUpdate::default();
        a.behaviour
            .observe(&e, &none, &crate::scan::ScanFacts::default(), id)
    });
}

#[test]
fn a_tenant_over_its_caps_evicts_its_own_least_recent_state_only() {
    let store = capped(16, 12);
    for id in 0..10 {
        touch(&store, "quiet", id, 1_000 + id as i64);
    }
    for id in 0..1_000u64 {
        touch(&store, "flood", id, 2_000 + id as i64);
    }
    let (conv, acc) = store.tenant_counts("flood");
    assert!(conv <= 16 && acc <= 12, "{conv} {acc}");
    assert_eq!(
        store.tenant_counts("quiet"),
        (10, 10),
        "the other tenant kept all"
    );
    for id in 0..10 {
        assert!(store
            .conversations
            .contains_key(&Key::from(key_of("quiet", &id.to_string()))));
    }
    // The flood's newest entries are the ones kept.
    assert!(store
        .conversations
        .contains_key(&Key::from(key_of("flood", "999"))));
    assert!(!store
        .conversations
        .contains_key(&Key::from(key_of("flood", "500"))));
    let (ec, ea) = store.cap_evictions();
    assert_eq!(ec as usize, 1_000 - conv);
    assert_eq!(ea as usize, 1_000 - acc);
    assert_eq!(store.stats().conversations, 10 + conv);
}

#[test]
fn idle_eviction_and_restore_keep_the_tenant_counts() {
    let store = capped(0, 0);
    for id in 0..5 {
        touch(&store, "t1", id, 1_000);
    }
    for id in 0..3 {
        touch(&store, "t2", id, 1_000 + 30 * 3_600_000);
    }
    assert_eq!(store.tenant_counts("t1"), (5, 5));
    let bytes = postcard::to_stdvec(&store).expect("encode");
    let mut de = postcard::Deserializer::from_bytes(&bytes);
    let back = StoreSeed::<()>::new(store.limits())
        .deserialize(&mut de)
        .expect("decode");
    assert_eq!(back.tenant_counts("t1"), (5, 5));
    assert_eq!(back.tenant_counts("t2"), (3, 3));
    store.evict_idle(1_000 + 49 * 3_600_000);
    assert_eq!(store.tenant_counts("t1"), (0, 0));
    assert_eq!(store.tenant_counts("t2"), (3, 3));
    assert!(store.tenants.get(&tenant_tag("t1")).is_none());
}

/// Golden state keys. A snapshot stores accounts and conversations under
/// these keys, so a change of hash or of the bytes hashed would make every
/// restored shard miss its state. The expected values were computed
/// outside this code, with Python's `xxhash` package:
/// `xxhash.xxh3_128_hexdigest(tenant.encode() + b"\0" + id.encode())`.
/// They must never change; a new key scheme needs a new snapshot
/// [`FORMAT_VERSION`](crate::snapshot::FORMAT_VERSION) and a migration.
#[test]
fn keys_are_pinned_for_short_and_long_ids() {
    let x94 = "x".repeat(94);
    let x95 = "x".repeat(95);
    let y300 = "y".repeat(300);
    for (t, i, want) in [
        ("bsp", "acc-1", 0x2333696560b9f15008e7ce33a121caaa_u128),
        ("bsp-1", "628123", 0xffcc5022a793fd22b5234e88fdf6919f),
        ("", "", 0xa6cd5e9392000f6ac44bdff4074eecdb),
        // 1 + 1 + 94 = 96 bytes: the longest key hashed one-shot on the stack.
        ("t", &x94, 0x08b2bf669d02d48bad7a24888aad83df),
        // 97 bytes: the first key hashed in streaming parts.
        ("t", &x95, 0x4c3e97860100553508a858dc7c694aae),
        ("tenant", &y300, 0x72886e4c82f82cb65a19d5354053200f),
    ] {
        assert_eq!(key_of(t, i), want, "key_of({t:?}, {} bytes)", i.len());
    }
}

#[test]
fn keys_separate_tenants() {
    assert_ne!(key_of("t1", "a"), key_of("t2", "a"));
    assert_ne!(key_of("t", "1a"), key_of("t1", "a"));
    assert_ne!(key_of("a", "bc"), key_of("ab", "c"));
}

#[test]
fn conversation_fits_its_budget() {
    // Issue 16's budget: 160 bytes per idle conversation, slot included,
    // with the table at its emptiest (7/16 full, just after it doubled).
    let slot = size_of::<(Key, Box<ConversationState>)>() + 1;
    assert_eq!(slot, 25, "a key of two words and a box, a control byte");
    assert!(size_of::<ConversationState>() + slot * 16 / 7 <= 160);
}

/// A table key is the `u128` key: it reads back the same, orders the same
/// (snapshots are sorted by it, and cap eviction breaks ties by it) and
/// hashes to its low 64 bits, as the `u128` did under [`PrehashedKey`].
#[test]
fn table_keys_are_the_u128_keys() {
    use std::hash::BuildHasher;
    let build = BuildHasherDefault::<PrehashedKey>::default();
    let keys = [
        0u128,
        1,
        u128::from(u64::MAX),
        u128::from(u64::MAX) + 1,
        1 << 127,
        u128::MAX - 1,
        u128::MAX,
        key_of("bsp", "acc-1"),
    ];
    for a in keys {
        assert_eq!(Key::from(a).get(), a);
        assert_eq!(build.hash_one(Key::from(a)), build.hash_one(a), "{a:x}");
        assert_eq!(build.hash_one(Key::from(a)), a as u64);
        for b in keys {
            assert_eq!(Key::from(a).cmp(&Key::from(b)), a.cmp(&b), "{a:x} {b:x}");
        }
    }
    assert_eq!(size_of::<Key>(), 16);
    assert_eq!(std::mem::align_of::<Key>(), 8);
}
