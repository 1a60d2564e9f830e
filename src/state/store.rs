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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

use super::account::AccountBehaviour;
use super::conversation::{ConversationState, ConversationStateV2};
use super::slot::AccountSlot;

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

/// Everything kept about one account: its behaviour, and the later stage's
/// slot `S` (the decision state; see [`AccountSlot`]). The slot is written
/// inline after the behaviour, so a slot struct of fields writes the same
/// bytes as those fields would directly.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Serialize", deserialize = "S: DeserializeOwned"))]
pub struct AccountEntry<S> {
    /// The tenant that owns the account.
    pub tenant_id: Box<str>,
    /// The account (business phone number id).
    pub account_id: Box<str>,
    /// Windowed behaviour counters.
    pub behaviour: AccountBehaviour,
    /// The decision stage's state of the account.
    pub slot: S,
}

/// An account entry as snapshot format 2 wrote it (its slot in the slot's
/// format 2).
#[derive(Deserialize)]
#[serde(bound(deserialize = "S: AccountSlot"))]
struct AccountEntryV2<S: AccountSlot> {
    tenant_id: Box<str>,
    account_id: Box<str>,
    behaviour: AccountBehaviour,
    slot: S::Format2,
}

impl<S: AccountSlot> From<AccountEntryV2<S>> for AccountEntry<S> {
    fn from(v: AccountEntryV2<S>) -> Self {
        AccountEntry {
            tenant_id: v.tenant_id,
            account_id: v.account_id,
            behaviour: v.behaviour,
            slot: v.slot.into(),
        }
    }
}

impl<S: AccountSlot> AccountEntry<S> {
    /// A fresh entry.
    pub fn new(tenant_id: &str, account_id: &str) -> Self {
        AccountEntry {
            tenant_id: tenant_id.into(),
            account_id: account_id.into(),
            behaviour: AccountBehaviour::default(),
            slot: S::default(),
        }
    }

    /// Bytes this entry holds, inline and on the heap.
    pub fn bytes(&self) -> usize {
        size_of::<Self>() + self.tenant_id.len() + self.account_id.len() + self.slot.heap_bytes()
    }
}

/// How long idle state is kept, in event time, and how much of it one
/// tenant may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// A conversation idle this long is dropped (returning users are judged within it).
    pub conversation_idle_ms: i64,
    /// An account with no action in force, idle this long, is dropped.
    pub account_idle_ms: i64,
    /// An account with an action in force, idle this long, is dropped.
    pub actioned_account_idle_ms: i64,
    /// Accounts one tenant may have tracked in one store (shard); 0: no cap.
    pub max_accounts_per_tenant: usize,
    /// Conversations one tenant may have tracked in one store (shard); 0: no cap.
    pub max_conversations_per_tenant: usize,
}

/// Default of [`StateLimits::max_accounts_per_tenant`].
pub const DEFAULT_MAX_ACCOUNTS_PER_TENANT: usize = 100_000;
/// Default of [`StateLimits::max_conversations_per_tenant`].
pub const DEFAULT_MAX_CONVERSATIONS_PER_TENANT: usize = 1_000_000;

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            conversation_idle_ms: 26 * 3_600_000,
            account_idle_ms: 48 * 3_600_000,
            actioned_account_idle_ms: 14 * 24 * 3_600_000,
            max_accounts_per_tenant: DEFAULT_MAX_ACCOUNTS_PER_TENANT,
            max_conversations_per_tenant: DEFAULT_MAX_CONVERSATIONS_PER_TENANT,
        }
    }
}

/// Entries evicted because their tenant reached its cap, by kind. Shared by
/// every store of an engine context, so the count survives a shard's drop.
#[derive(Debug, Default)]
pub struct CapEvictions {
    /// Conversations evicted.
    pub conversations: AtomicU64,
    /// Accounts evicted.
    pub accounts: AtomicU64,
}

/// The hash a tenant's entries are counted under.
pub fn tenant_tag(tenant_id: &str) -> u64 {
    xxh3_64(tenant_id.as_bytes())
}

/// Tracked entries of one tenant.
#[derive(Debug, Default, Clone, Copy)]
struct TenantCount {
    conversations: usize,
    accounts: usize,
}

#[derive(Clone, Copy)]
enum Kind {
    Conversation,
    Account,
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

/// Per-conversation and per-account state, safe to share between threads;
/// each account carries a slot `S` of the decision stage.
pub struct StateStore<S> {
    conversations: Map<ConversationState>,
    accounts: Map<AccountEntry<S>>,
    limits: StateLimits,
    /// Entries per tenant (by [`tenant_tag`]), for the caps.
    tenants: DashMap<u64, TenantCount>,
    cap_evictions: Arc<CapEvictions>,
}

/// Bytes one table slot costs beyond the value: key, and the map's own
/// bookkeeping (hashbrown control byte, rounded up).
const SLOT_OVERHEAD: usize = size_of::<u128>() + 8;

impl<S: AccountSlot> StateStore<S> {
    /// An empty store.
    pub fn new(limits: StateLimits) -> Self {
        StateStore::from_maps(Map::default(), Map::default(), limits)
    }

    fn from_maps(
        conversations: Map<ConversationState>,
        accounts: Map<AccountEntry<S>>,
        limits: StateLimits,
    ) -> Self {
        let tenants: DashMap<u64, TenantCount> = DashMap::new();
        for c in conversations.iter() {
            tenants.entry(c.tenant()).or_default().conversations += 1;
        }
        for a in accounts.iter() {
            tenants
                .entry(tenant_tag(&a.tenant_id))
                .or_default()
                .accounts += 1;
        }
        StateStore {
            conversations,
            accounts,
            limits,
            tenants,
            cap_evictions: Arc::default(),
        }
    }

    /// Counts cap evictions in `counter` (shared by the shards of an engine).
    pub fn count_cap_evictions_in(&mut self, counter: Arc<CapEvictions>) {
        self.cap_evictions = counter;
    }

    /// The eviction limits.
    pub fn limits(&self) -> StateLimits {
        self.limits
    }

    /// Runs `f` on the conversation `key` of `tenant_id`, creating it if new
    /// (and, when the tenant is over its cap, evicting its least recently
    /// active conversations: see [`StateStore::evict_over_cap`]).
    pub fn with_conversation<R>(
        &self,
        key: u128,
        tenant_id: &str,
        f: impl FnOnce(&mut ConversationState) -> R,
    ) -> R {
        let mut created = None;
        let r = {
            let mut entry = self.conversations.entry(key).or_insert_with(|| {
                let tag = tenant_tag(tenant_id);
                created = Some(tag);
                ConversationState::of_tenant(tag)
            });
            f(entry.value_mut())
        };
        if let Some(tag) = created {
            self.created(tag, key, Kind::Conversation);
        }
        r
    }

    /// Runs `f` on the account `key`, creating it from the ids if new (and,
    /// when the tenant is over its cap, evicting its least recently active
    /// accounts, those with no action in force first).
    pub fn with_account<R>(
        &self,
        key: u128,
        tenant_id: &str,
        account_id: &str,
        f: impl FnOnce(&mut AccountEntry<S>) -> R,
    ) -> R {
        let mut created = false;
        let r = {
            let mut entry = self.accounts.entry(key).or_insert_with(|| {
                created = true;
                AccountEntry::new(tenant_id, account_id)
            });
            f(entry.value_mut())
        };
        if created {
            self.created(tenant_tag(tenant_id), key, Kind::Account);
        }
        r
    }

    /// Counts a new entry of tenant `tag`; evicts when the tenant is over its cap.
    fn created(&self, tag: u64, key: u128, kind: Kind) {
        let (n, cap) = {
            let mut c = self.tenants.entry(tag).or_default();
            match kind {
                Kind::Conversation => {
                    c.conversations += 1;
                    (c.conversations, self.limits.max_conversations_per_tenant)
                }
                Kind::Account => {
                    c.accounts += 1;
                    (c.accounts, self.limits.max_accounts_per_tenant)
                }
            }
        };
        if cap > 0 && n > cap {
            self.evict_over_cap(tag, key, kind, cap);
        }
    }

    /// Counts a dropped entry of tenant `tag`.
    fn dropped(&self, tag: u64, kind: Kind) {
        let empty = match self.tenants.get_mut(&tag) {
            Some(mut c) => {
                match kind {
                    Kind::Conversation => c.conversations = c.conversations.saturating_sub(1),
                    Kind::Account => c.accounts = c.accounts.saturating_sub(1),
                }
                c.conversations == 0 && c.accounts == 0
            }
            None => false,
        };
        if empty {
            self.tenants
                .remove_if(&tag, |_, c| c.conversations == 0 && c.accounts == 0);
        }
    }

    /// The eviction policy of the per-tenant caps: when a tenant goes over
    /// its cap, its least recently active entries (by last event time, then
    /// key; for accounts, those with no action in force first) are evicted
    /// down to 7/8 of the cap in one pass, so the scan is paid once per
    /// cap/8 new entries. Only that tenant's entries are ever touched, and
    /// never the entry just created (`keep`).
    fn evict_over_cap(&self, tag: u64, keep: u128, kind: Kind, cap: usize) {
        let target = cap - cap / 8;
        let mut victims: Vec<(bool, i64, u128)> = match kind {
            Kind::Conversation => self
                .conversations
                .iter()
                .filter(|e| e.tenant() == tag && *e.key() != keep)
                .map(|e| (false, e.last_ms(), *e.key()))
                .collect(),
            Kind::Account => self
                .accounts
                .iter()
                .filter(|e| *e.key() != keep && tenant_tag(&e.tenant_id) == tag)
                .map(|e| (e.slot.in_force(), e.behaviour.last_ms(), *e.key()))
                .collect(),
        };
        // The tenant has victims.len() + 1 entries; keep `target` of them.
        let excess = (victims.len() + 1).saturating_sub(target);
        if excess == 0 {
            return;
        }
        if excess < victims.len() {
            victims.select_nth_unstable(excess);
            victims.truncate(excess);
        }
        let mut n = 0u64;
        for (_, _, k) in victims {
            let removed = match kind {
                Kind::Conversation => self.conversations.remove(&k).is_some(),
                Kind::Account => self.accounts.remove(&k).is_some(),
            };
            if removed {
                self.dropped(tag, kind);
                n += 1;
            }
        }
        let counter = match kind {
            Kind::Conversation => &self.cap_evictions.conversations,
            Kind::Account => &self.cap_evictions.accounts,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Entries of `tenant_id` tracked: (conversations, accounts).
    pub fn tenant_counts(&self, tenant_id: &str) -> (usize, usize) {
        self.tenants
            .get(&tenant_tag(tenant_id))
            .map_or((0, 0), |c| (c.conversations, c.accounts))
    }

    /// Entries evicted by the per-tenant caps (shared with the other shards
    /// of the engine context): (conversations, accounts).
    pub fn cap_evictions(&self) -> (u64, u64) {
        (
            self.cap_evictions.conversations.load(Ordering::Relaxed),
            self.cap_evictions.accounts.load(Ordering::Relaxed),
        )
    }

    /// A copy of the account `key`, if tracked.
    pub fn account(&self, key: u128) -> Option<AccountEntry<S>> {
        self.accounts.get(&key).map(|e| e.value().clone())
    }

    /// Calls `f` for every tracked account (order unspecified).
    pub fn for_each_account(&self, mut f: impl FnMut(&AccountEntry<S>)) {
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
        let mut gone = Vec::new();
        self.conversations.retain(|_, c| {
            let keep = now_ms.saturating_sub(c.last_ms()) < l.conversation_idle_ms;
            if !keep {
                gone.push(c.tenant());
            }
            keep
        });
        dropped.0 = gone.len();
        for tag in gone.drain(..) {
            self.dropped(tag, Kind::Conversation);
        }
        self.accounts.retain(|_, a| {
            let idle = now_ms.saturating_sub(a.behaviour.last_ms());
            let limit = if a.slot.in_force() {
                l.actioned_account_idle_ms
            } else {
                l.account_idle_ms
            };
            let keep = idle < limit;
            if !keep {
                gone.push(tenant_tag(&a.tenant_id));
            }
            keep
        });
        dropped.1 = gone.len();
        for tag in gone {
            self.dropped(tag, Kind::Account);
        }
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
impl<Slot: AccountSlot> Serialize for StateStore<Slot> {
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
/// [`StoreSeed::new`] reads the current format; [`StoreSeed::format_2`]
/// reads snapshot format 2 (conversations without a tenant, slots in their
/// format 2), migrated to today's on read.
pub struct StoreSeed<S>(StateLimits, PhantomData<S>);

/// Reads a store of snapshot format 2 (see [`StoreSeed`]).
pub struct StoreSeedV2<S>(StateLimits, PhantomData<S>);

impl<S: AccountSlot> StoreSeed<S> {
    /// A seed for the current format.
    pub fn new(limits: StateLimits) -> Self {
        StoreSeed(limits, PhantomData)
    }

    /// A seed for snapshot format 2, migrated to today's state on read.
    pub fn format_2(limits: StateLimits) -> StoreSeedV2<S> {
        StoreSeedV2(limits, PhantomData)
    }
}

struct StoreVisitor<C, A, S>(StateLimits, PhantomData<(C, A, S)>);

/// A conversation type of some snapshot format, and how a map of them
/// becomes today's (no copy for today's own).
trait StoredConversation: DeserializeOwned {
    fn into_current(m: Map<Self>) -> Map<ConversationState>;
}

impl StoredConversation for ConversationState {
    fn into_current(m: Map<Self>) -> Map<ConversationState> {
        m
    }
}

impl StoredConversation for ConversationStateV2 {
    fn into_current(m: Map<Self>) -> Map<ConversationState> {
        m.into_iter().map(|(k, v)| (k, v.into())).collect()
    }
}

/// An account type of some snapshot format, and how a map of them becomes
/// today's (no copy for today's own).
trait StoredAccount<S>: DeserializeOwned {
    fn into_current(m: Map<Self>) -> Map<AccountEntry<S>>;
}

impl<S: AccountSlot> StoredAccount<S> for AccountEntry<S> {
    fn into_current(m: Map<Self>) -> Map<AccountEntry<S>> {
        m
    }
}

impl<S: AccountSlot> StoredAccount<S> for AccountEntryV2<S> {
    fn into_current(m: Map<Self>) -> Map<AccountEntry<S>> {
        m.into_iter().map(|(k, v)| (k, v.into())).collect()
    }
}

impl<'de, Conv: StoredConversation, Acct: StoredAccount<S>, S: AccountSlot> Visitor<'de>
    for StoreVisitor<Conv, Acct, S>
{
    type Value = StateStore<S>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a state store: conversations, then accounts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StateStore<S>, A::Error> {
        let conversations: Map<Conv> = seq
            .next_element_seed(MapSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let accounts: Map<Acct> = seq
            .next_element_seed(MapSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok(StateStore::from_maps(
            Conv::into_current(conversations),
            Acct::into_current(accounts),
            self.0,
        ))
    }
}

impl<'de, S: AccountSlot> DeserializeSeed<'de> for StoreSeed<S> {
    type Value = StateStore<S>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StateStore<S>, D::Error> {
        d.deserialize_tuple(
            2,
            StoreVisitor::<ConversationState, AccountEntry<S>, S>(self.0, PhantomData),
        )
    }
}

impl<'de, S: AccountSlot> DeserializeSeed<'de> for StoreSeedV2<S> {
    type Value = StateStore<S>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StateStore<S>, D::Error> {
        d.deserialize_tuple(
            2,
            StoreVisitor::<ConversationStateV2, AccountEntryV2<S>, S>(self.0, PhantomData),
        )
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
                .contains_key(&key_of("quiet", &id.to_string())));
        }
        // The flood's newest entries are the ones kept.
        assert!(store.conversations.contains_key(&key_of("flood", "999")));
        assert!(!store.conversations.contains_key(&key_of("flood", "500")));
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
        // Issue 5's budget: 256 bytes per idle conversation, slot included.
        assert!(size_of::<ConversationState>() + SLOT_OVERHEAD <= 256);
    }
}
