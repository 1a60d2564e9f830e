//! The concurrent state store: per-conversation and per-account state in
//! sharded maps keyed by 128-bit hashes of (tenant, id), idle eviction on
//! event time, and memory accounting.
//!
//! Every value in a table is one 8-byte box or small, and keys are stored as
//! two 64-bit words: a hashbrown table keeps empty slots (half of them just
//! after it grows), so a slot should cost little. A slot of a key and a box
//! is 24 B (a `u128` key, 16-byte aligned, would make it 32 B).
//!
//! A store serializes as its entries sorted by key (the limits are not
//! part of it: they are configuration), and is read back through
//! [`StoreSeed`]; see `crate::snapshot`.

use std::cmp::Ordering as KeyOrdering;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

use super::account::AccountBehaviour;
use super::conversation::ConversationState;
use super::delivery::DeliveryWindows;
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
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A state key (what [`key_of`] gives) as it sits in a table: its low and
/// high 64-bit words, so that it is 8-byte aligned. It hashes as its low
/// word and orders as the `u128`, as the `u128` keys did.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u64; 2]);

impl Key {
    /// The `u128` key.
    pub(crate) fn get(self) -> u128 {
        u128::from(self.0[0]) | (u128::from(self.0[1]) << 64)
    }
}

impl From<u128> for Key {
    fn from(k: u128) -> Self {
        Key([k as u64, (k >> 64) as u64])
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.0[0]);
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> KeyOrdering {
        self.get().cmp(&other.get())
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<KeyOrdering> {
        Some(self.cmp(other))
    }
}

type Map<V> = DashMap<Key, V, BuildHasherDefault<PrehashedKey>>;

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
    /// What delivery reports said of its messages, once one came. Not
    /// written with the entry: a snapshot section of its own (format 5).
    #[serde(skip)]
    pub delivery: Option<Box<DeliveryWindows>>,
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
            delivery: None,
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
            delivery: None,
        }
    }

    /// Bytes this entry holds, inline and on the heap.
    pub fn bytes(&self) -> usize {
        size_of::<Self>()
            + self.tenant_id.len()
            + self.account_id.len()
            + self.behaviour.heap_bytes()
            + self.slot.heap_bytes()
            + self
                .delivery
                .as_ref()
                .map_or(0, |d| size_of::<DeliveryWindows>() + d.heap_bytes())
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
    /// WABAs one tenant may have tracked in one store (shard); 0: no cap.
    pub max_wabas_per_tenant: usize,
}

/// Default of [`StateLimits::max_accounts_per_tenant`].
pub const DEFAULT_MAX_ACCOUNTS_PER_TENANT: usize = 100_000;
/// Default of [`StateLimits::max_wabas_per_tenant`].
pub const DEFAULT_MAX_WABAS_PER_TENANT: usize = 20_000;
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
            max_wabas_per_tenant: DEFAULT_MAX_WABAS_PER_TENANT,
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
    /// WABAs evicted.
    pub wabas: AtomicU64,
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
    /// Boxed: a conversation is 88 B, and an empty slot of a box costs
    /// 24 B where an inline one cost 112 (see the module).
    conversations: Map<Box<ConversationState>>,
    /// Boxed: an account entry is over 2 KiB, and a table holds empty
    /// slots (half of them right after it grows); a slot of a box costs 8 B.
    accounts: Map<Box<AccountEntry<S>>>,
    limits: StateLimits,
    /// Entries per tenant (by [`tenant_tag`]), for the caps.
    tenants: DashMap<u64, TenantCount>,
    cap_evictions: Arc<CapEvictions>,
}

/// Bytes one table slot costs beyond the value: the key, and hashbrown's
/// control byte.
const SLOT_OVERHEAD: usize = size_of::<Key>() + 1;

impl<S: AccountSlot> StateStore<S> {
    /// An empty store.
    pub fn new(limits: StateLimits) -> Self {
        StateStore::from_maps(Map::default(), Map::default(), limits)
    }

    fn from_maps(
        conversations: Map<Box<ConversationState>>,
        accounts: Map<Box<AccountEntry<S>>>,
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
            let mut entry = self.conversations.entry(key.into()).or_insert_with(|| {
                let tag = tenant_tag(tenant_id);
                created = Some(tag);
                Box::new(ConversationState::of_tenant(tag))
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
            let mut entry = self.accounts.entry(key.into()).or_insert_with(|| {
                created = true;
                Box::new(AccountEntry::new(tenant_id, account_id))
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
        let key = Key::from(key);
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
    fn evict_over_cap(&self, tag: u64, keep: Key, kind: Kind, cap: usize) {
        let target = cap - cap / 8;
        let mut victims: Vec<(bool, i64, Key)> = match kind {
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
        self.accounts
            .get(&Key::from(key))
            .map(|e| AccountEntry::clone(e.value()))
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
        // Each entry is its own allocation; a table slot holds the key and the box.
        StoreStats {
            conversations,
            accounts,
            conversation_bytes: conversations * size_of::<ConversationState>()
                + self.conversations.capacity()
                    * (SLOT_OVERHEAD + size_of::<Box<ConversationState>>()),
            account_bytes: account_heap
                + self.accounts.capacity() * (SLOT_OVERHEAD + size_of::<Box<AccountEntry<S>>>()),
        }
    }
}

mod delivery;
mod format;
mod numbers;
#[cfg(test)]
mod tests;
pub mod waba;

pub use delivery::DeliverySection;
pub use format::{StoreSeed, StoreSeedV2};
pub use waba::{
    portfolio_key, waba_key, WabaEntry, WabaNumbers, WabaSeed, WabaStore, MAX_NUMBERS_PER_WABA,
};
