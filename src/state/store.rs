//! The concurrent state store: per-conversation and per-account state in
//! sharded maps keyed by 128-bit hashes of (tenant, id), idle eviction on
//! event time, and memory accounting.
//!
//! A store serializes as its entries sorted by key (the limits are not
//! part of it: they are configuration), and is read back through
//! [`StoreSeed`]; see `crate::snapshot`.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::mem::size_of;

use dashmap::DashMap;
use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use super::account::AccountBehaviour;
use super::conversation::ConversationState;
use crate::decide::{DecisionState, PolicyState, RuleActivity};

/// A hasher for keys that are already uniform hashes: takes the low 64 bits.
#[derive(Default)]
pub struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u128 keys; fold the bytes in.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type Map<V> = DashMap<u128, V, BuildHasherDefault<PrehashedKey>>;

/// Longest `tenant \0 id` hashed from a stack copy.
const KEY_BUF: usize = 96;

/// The key of an id within a tenant.
pub fn key_of(tenant: &str, id: &str) -> u128 {
    // The hash of the concatenation `tenant \0 id`: one-shot over a stack
    // copy when it is short (the usual case), streaming over the parts
    // otherwise; both hash the same bytes, so they give the same key.
    let (t, i) = (tenant.as_bytes(), id.as_bytes());
    let n = t.len() + 1 + i.len();
    if n <= KEY_BUF {
        let mut buf = [0u8; KEY_BUF];
        buf[..t.len()].copy_from_slice(t);
        buf[t.len() + 1..n].copy_from_slice(i);
        return xxh3_128(&buf[..n]);
    }
    let mut h = Xxh3::new();
    h.update(tenant.as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    h.digest128()
}

/// Everything kept about one account.
#[derive(Clone, Serialize, Deserialize)]
pub struct AccountEntry {
    /// The tenant that owns the account.
    pub tenant_id: Box<str>,
    /// The account (business phone number id).
    pub account_id: Box<str>,
    /// Windowed behaviour counters.
    pub behaviour: AccountBehaviour,
    /// Rules that fired recently and what they saw.
    pub activity: RuleActivity,
    /// The action ladder's state.
    pub decision: DecisionState,
    /// What the country policy remembers: Business Agent use, charges.
    pub policy: PolicyState,
}

/// An account entry as snapshot format 2 wrote it (before [`PolicyState`]).
#[derive(Deserialize)]
struct AccountEntryV2 {
    tenant_id: Box<str>,
    account_id: Box<str>,
    behaviour: AccountBehaviour,
    activity: RuleActivity,
    decision: DecisionState,
}

impl From<AccountEntryV2> for AccountEntry {
    fn from(v: AccountEntryV2) -> Self {
        AccountEntry {
            tenant_id: v.tenant_id,
            account_id: v.account_id,
            behaviour: v.behaviour,
            activity: v.activity,
            decision: v.decision,
            policy: PolicyState::default(),
        }
    }
}

impl AccountEntry {
    /// A fresh entry.
    pub fn new(tenant_id: &str, account_id: &str) -> Self {
        AccountEntry {
            tenant_id: tenant_id.into(),
            account_id: account_id.into(),
            behaviour: AccountBehaviour::default(),
            activity: RuleActivity::default(),
            decision: DecisionState::default(),
            policy: PolicyState::default(),
        }
    }

    /// Bytes this entry holds, inline and on the heap.
    pub fn bytes(&self) -> usize {
        size_of::<Self>()
            + self.tenant_id.len()
            + self.account_id.len()
            + self.activity.heap_bytes()
            + self.policy.heap_bytes()
    }
}

/// How long idle state is kept, in event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// A conversation idle this long is dropped (returning users are judged within it).
    pub conversation_idle_ms: i64,
    /// An account with no action in force, idle this long, is dropped.
    pub account_idle_ms: i64,
    /// An account with an action in force, idle this long, is dropped.
    pub actioned_account_idle_ms: i64,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            conversation_idle_ms: 26 * 3_600_000,
            account_idle_ms: 48 * 3_600_000,
            actioned_account_idle_ms: 14 * 24 * 3_600_000,
        }
    }
}

/// Sizes of the store, for metrics and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Tracked conversations.
    pub conversations: usize,
    /// Tracked accounts.
    pub accounts: usize,
    /// Bytes held by conversation state (entries and table slots).
    pub conversation_bytes: usize,
    /// Bytes held by account state (entries, heap and table slots).
    pub account_bytes: usize,
}

/// Per-conversation and per-account state, safe to share between threads.
pub struct StateStore {
    conversations: Map<ConversationState>,
    accounts: Map<AccountEntry>,
    limits: StateLimits,
}

/// Bytes one table slot costs beyond the value: key, and the map's own
/// bookkeeping (hashbrown control byte, rounded up).
const SLOT_OVERHEAD: usize = size_of::<u128>() + 8;

impl StateStore {
    /// An empty store.
    pub fn new(limits: StateLimits) -> Self {
        StateStore {
            conversations: Map::default(),
            accounts: Map::default(),
            limits,
        }
    }

    /// The eviction limits.
    pub fn limits(&self) -> StateLimits {
        self.limits
    }

    /// Runs `f` on the conversation `key`, creating it if new.
    pub fn with_conversation<R>(
        &self,
        key: u128,
        f: impl FnOnce(&mut ConversationState) -> R,
    ) -> R {
        let mut entry = self.conversations.entry(key).or_default();
        f(entry.value_mut())
    }

    /// Runs `f` on the account `key`, creating it from the ids if new.
    pub fn with_account<R>(
        &self,
        key: u128,
        tenant_id: &str,
        account_id: &str,
        f: impl FnOnce(&mut AccountEntry) -> R,
    ) -> R {
        let mut entry = self
            .accounts
            .entry(key)
            .or_insert_with(|| AccountEntry::new(tenant_id, account_id));
        f(entry.value_mut())
    }

    /// A copy of the account `key`, if tracked.
    pub fn account(&self, key: u128) -> Option<AccountEntry> {
        self.accounts.get(&key).map(|e| e.value().clone())
    }

    /// Calls `f` for every tracked account (order unspecified).
    pub fn for_each_account(&self, mut f: impl FnMut(&AccountEntry)) {
        for e in self.accounts.iter() {
            f(e.value());
        }
    }

    /// Drops state idle for longer than the limits allow at `now_ms`.
    /// Returns (conversations, accounts) dropped.
    pub fn evict_idle(&self, now_ms: i64) -> (usize, usize) {
        // Removals are counted as they happen: other threads may insert
        // meanwhile, so sizes taken before and after do not tell.
        let l = self.limits;
        let mut dropped = (0, 0);
        self.conversations.retain(|_, c| {
            let keep = now_ms - c.last_ms() < l.conversation_idle_ms;
            dropped.0 += usize::from(!keep);
            keep
        });
        self.accounts.retain(|_, a| {
            let idle = now_ms - a.behaviour.last_ms();
            let limit = if a.decision.in_force() {
                l.actioned_account_idle_ms
            } else {
                l.account_idle_ms
            };
            let keep = idle < limit;
            dropped.1 += usize::from(!keep);
            keep
        });
        dropped
    }

    /// Counts and bytes held.
    pub fn stats(&self) -> StoreStats {
        let conversations = self.conversations.len();
        let accounts = self.accounts.len();
        let account_heap: usize = self.accounts.iter().map(|e| e.value().bytes()).sum();
        StoreStats {
            conversations,
            accounts,
            conversation_bytes: self.conversations.capacity()
                * (size_of::<ConversationState>() + SLOT_OVERHEAD),
            account_bytes: account_heap + self.accounts.capacity() * SLOT_OVERHEAD,
        }
    }
}

/// Written as a tuple of two sequences of `(key, value)`, conversations then
/// accounts, each sorted by key so that the same state always gives the
/// same bytes. Each map is read-locked shard by shard while it is written:
/// pause the writers for a consistent cut.
impl Serialize for StateStore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&SortedEntries(&self.conversations))?;
        t.serialize_element(&SortedEntries(&self.accounts))?;
        t.end()
    }
}

/// A map's entries as a key-sorted sequence of `(key, value)`.
struct SortedEntries<'a, V>(&'a Map<V>);

impl<V: Serialize> Serialize for SortedEntries<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_unstable_by_key(|e| *e.key());
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in &entries {
            seq.serialize_element(&(*e.key(), e.value()))?;
        }
        seq.end()
    }
}

/// Reads a [`StateStore`] written by its `Serialize` impl, with these limits.
/// `StoreSeed(limits)` reads the current format; [`StoreSeed::format_2`]
/// reads snapshot format 2, whose accounts had no policy state.
#[derive(Debug, Clone, Copy)]
pub struct StoreSeed(pub StateLimits);

/// Reads a store of snapshot format 2 (see [`StoreSeed`]).
#[derive(Debug, Clone, Copy)]
pub struct StoreSeedV2(pub StateLimits);

impl StoreSeed {
    /// A seed for snapshot format 2, migrated to today's state on read.
    pub fn format_2(limits: StateLimits) -> StoreSeedV2 {
        StoreSeedV2(limits)
    }
}

struct StoreVisitor<A>(StateLimits, PhantomData<A>);

/// An account type of some snapshot format, and how a map of them becomes
/// today's (no copy for today's own).
trait StoredAccount: DeserializeOwned {
    fn into_current(m: Map<Self>) -> Map<AccountEntry>;
}

impl StoredAccount for AccountEntry {
    fn into_current(m: Map<Self>) -> Map<AccountEntry> {
        m
    }
}

impl StoredAccount for AccountEntryV2 {
    fn into_current(m: Map<Self>) -> Map<AccountEntry> {
        m.into_iter().map(|(k, v)| (k, v.into())).collect()
    }
}

impl<'de, Acct: StoredAccount> Visitor<'de> for StoreVisitor<Acct> {
    type Value = StateStore;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a state store: conversations, then accounts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StateStore, A::Error> {
        let conversations = seq
            .next_element_seed(MapSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let accounts: Map<Acct> = seq
            .next_element_seed(MapSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok(StateStore {
            conversations,
            accounts: Acct::into_current(accounts),
            limits: self.0,
        })
    }
}

impl<'de> DeserializeSeed<'de> for StoreSeed {
    type Value = StateStore;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StateStore, D::Error> {
        d.deserialize_tuple(2, StoreVisitor::<AccountEntry>(self.0, PhantomData))
    }
}

impl<'de> DeserializeSeed<'de> for StoreSeedV2 {
    type Value = StateStore;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StateStore, D::Error> {
        d.deserialize_tuple(2, StoreVisitor::<AccountEntryV2>(self.0, PhantomData))
    }
}

/// Reads a sequence of `(key, value)` straight into a map, one insert at a
/// time (no intermediate vector). A repeated key is refused.
struct MapSeed<V>(PhantomData<V>);

impl<'de, V: DeserializeOwned> DeserializeSeed<'de> for MapSeed<V> {
    type Value = Map<V>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Map<V>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, V: DeserializeOwned> Visitor<'de> for MapSeed<V> {
    type Value = Map<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of (key, value)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Map<V>, A::Error> {
        let map = Map::default();
        while let Some((k, v)) = seq.next_element::<(u128, V)>()? {
            if map.insert(k, v).is_some() {
                return Err(de::Error::custom(format_args!(
                    "key {k:032x} appears twice"
                )));
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound_at(ts: i64) -> crate::event::Event {
        use crate::event::{Country, Direction, MessageKind, Sender};
        crate::event::Event {
            event_id: "e".into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            waba_id: String::new(),
            user_id: "u".into(),
            conversation_id: "a:u".into(),
            direction: Direction::Inbound,
            kind: MessageKind::Text,
            template_category: None,
            sender: Sender::Unknown,
            timestamp_ms: ts,
            text: String::new(),
            text_len: 5,
            user_country: Country::UNKNOWN,
            handoff: false,
            reply_to: None,
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
        let store = StateStore::new(StateLimits::default());
        let idle = StateLimits::default().conversation_idle_ms;
        let old = inbound_at(1_000);
        for k in 0..2_000u128 {
            store.with_conversation(k, |c| c.observe(&old, 1, 0));
        }
        let now = 1_000 + idle + 1;
        let fresh = inbound_at(now);
        let (sweeps, done) = (AtomicUsize::new(0), AtomicBool::new(false));
        let dropped = std::thread::scope(|s| {
            s.spawn(|| {
                for chunk in 0..CHUNKS {
                    let first = 1_000_000 + chunk as u128 * PER_CHUNK;
                    for k in first..first + PER_CHUNK {
                        store.with_conversation(k, |c| c.observe(&fresh, 2, 0));
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
        // Issue 5's budget: 256 bytes per idle conversation, slot included.
        assert!(size_of::<ConversationState>() + SLOT_OVERHEAD <= 256);
    }
}
