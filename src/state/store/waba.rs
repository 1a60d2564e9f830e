//! Per-(tenant, WABA) state: the account windows summed over every number
//! of one WhatsApp Business Account, the numbers that carry its traffic (a
//! bounded table), and the decision stage's slot for the WABA. Kept apart
//! from the account map: its own per-tenant cap, its own snapshot section.

use std::mem::size_of;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use dashmap::DashMap;
use serde::de::{DeserializeOwned, DeserializeSeed};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::format::{MapSeed, SortedEntries};
pub use super::numbers::{WabaNumbers, MAX_NUMBERS_PER_WABA};
use super::{tenant_tag, CapEvictions, Key, Map, StateLimits};
use crate::state::account::AccountBehaviour;
use crate::state::slot::AccountSlot;

/// Everything kept about one WABA of one tenant.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Serialize", deserialize = "S: DeserializeOwned"))]
pub struct WabaEntry<S> {
    /// The tenant that owns the WABA.
    pub tenant_id: Box<str>,
    /// The WABA id.
    pub waba_id: Box<str>,
    /// The account windows, fed by every event of every number.
    pub behaviour: AccountBehaviour,
    /// The numbers that carry its traffic.
    pub numbers: WabaNumbers,
    /// The decision stage's state of the WABA.
    pub slot: S,
}

impl<S: AccountSlot> WabaEntry<S> {
    fn new(tenant_id: &str, waba_id: &str) -> Self {
        WabaEntry {
            tenant_id: tenant_id.into(),
            waba_id: waba_id.into(),
            behaviour: AccountBehaviour::default(),
            numbers: WabaNumbers::default(),
            slot: S::default(),
        }
    }

    /// Bytes this entry holds, inline and on the heap.
    pub fn bytes(&self) -> usize {
        size_of::<Self>()
            + self.tenant_id.len()
            + self.waba_id.len()
            + self.behaviour.heap_bytes()
            + self.numbers.heap_bytes()
            + self.slot.heap_bytes()
    }
}

/// The key a WABA is stored under: its tenant and id, apart from any
/// account of the same id.
pub fn waba_key(tenant_id: &str, waba_id: &str) -> u128 {
    // A different key space from `key_of(tenant, account)`: the tenant
    // part carries a marker no tenant id can hold (ids refuse control
    // characters).
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(b"\x01waba\x00");
    h.update(tenant_id.as_bytes());
    h.update(&[0]);
    h.update(waba_id.as_bytes());
    h.digest128()
}

/// The key a business portfolio is stored under (in a store of its own,
/// of the same entries as the WABAs'): its tenant and id, apart from any
/// WABA or account of the same id.
pub fn portfolio_key(tenant_id: &str, business_id: &str) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(b"\x01portfolio\x00");
    h.update(tenant_id.as_bytes());
    h.update(&[0]);
    h.update(business_id.as_bytes());
    h.digest128()
}

/// The WABA entries of one shard, safe to share between threads.
pub struct WabaStore<S> {
    map: Map<WabaEntry<S>>,
    limits: StateLimits,
    tenants: DashMap<u64, usize>,
    cap_evictions: Arc<CapEvictions>,
}

impl<S: AccountSlot> WabaStore<S> {
    /// An empty store.
    pub fn new(limits: StateLimits) -> Self {
        WabaStore::from_map(Map::default(), limits)
    }

    fn from_map(map: Map<WabaEntry<S>>, limits: StateLimits) -> Self {
        let tenants: DashMap<u64, usize> = DashMap::new();
        for e in map.iter() {
            *tenants.entry(tenant_tag(&e.tenant_id)).or_default() += 1;
        }
        WabaStore {
            map,
            limits,
            tenants,
            cap_evictions: Arc::default(),
        }
    }

    /// Counts cap evictions in `counter` (shared by the shards of an engine).
    pub fn count_cap_evictions_in(&mut self, counter: Arc<CapEvictions>) {
        self.cap_evictions = counter;
    }

    /// Runs `f` on the WABA `key`, creating it if new (and, when the tenant
    /// is over `limits.max_wabas_per_tenant`, evicting its least recently
    /// active WABAs, those with no action in force first).
    pub fn with_waba<R>(
        &self,
        key: u128,
        tenant_id: &str,
        waba_id: &str,
        f: impl FnOnce(&mut WabaEntry<S>) -> R,
    ) -> R {
        let mut created = false;
        let r = {
            let mut entry = self.map.entry(key.into()).or_insert_with(|| {
                created = true;
                WabaEntry::new(tenant_id, waba_id)
            });
            f(entry.value_mut())
        };
        if created {
            let tag = tenant_tag(tenant_id);
            let n = {
                let mut c = self.tenants.entry(tag).or_default();
                *c += 1;
                *c
            };
            let cap = self.limits.max_wabas_per_tenant;
            if cap > 0 && n > cap {
                self.evict_over_cap(tag, key.into(), cap);
            }
        }
        r
    }

    /// Down to 7/8 of the cap in one pass, the tenant's least recently
    /// active WABAs first (no action in force before in force); never `keep`.
    fn evict_over_cap(&self, tag: u64, keep: Key, cap: usize) {
        let target = cap - cap / 8;
        let mut victims: Vec<(bool, i64, Key)> = self
            .map
            .iter()
            .filter(|e| *e.key() != keep && tenant_tag(&e.tenant_id) == tag)
            .map(|e| (e.slot.in_force(), e.behaviour.last_ms(), *e.key()))
            .collect();
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
            if self.map.remove(&k).is_some() {
                self.dropped(tag);
                n += 1;
            }
        }
        self.cap_evictions.wabas.fetch_add(n, Ordering::Relaxed);
    }

    fn dropped(&self, tag: u64) {
        let empty = match self.tenants.get_mut(&tag) {
            Some(mut c) => {
                *c = c.saturating_sub(1);
                *c == 0
            }
            None => false,
        };
        if empty {
            self.tenants.remove_if(&tag, |_, c| *c == 0);
        }
    }

    /// WABAs of `tenant_id` tracked.
    pub fn tenant_count(&self, tenant_id: &str) -> usize {
        self.tenants.get(&tenant_tag(tenant_id)).map_or(0, |c| *c)
    }

    /// A copy of the WABA `key`, if tracked.
    pub fn get(&self, key: u128) -> Option<WabaEntry<S>> {
        self.map.get(&Key::from(key)).map(|e| e.value().clone())
    }

    /// Tracked WABAs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no WABA is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held by the entries.
    pub fn bytes(&self) -> usize {
        self.map.iter().map(|e| e.value().bytes()).sum()
    }

    /// Drops WABAs idle for longer than the account limits allow at
    /// `now_ms` (the actioned limit when an action is in force); returns
    /// how many.
    pub fn evict_idle(&self, now_ms: i64) -> usize {
        let l = self.limits;
        let mut gone = Vec::new();
        self.map.retain(|_, w| {
            let limit = if w.slot.in_force() {
                l.actioned_account_idle_ms
            } else {
                l.account_idle_ms
            };
            let keep = now_ms.saturating_sub(w.behaviour.last_ms()) < limit;
            if !keep {
                gone.push(tenant_tag(&w.tenant_id));
            }
            keep
        });
        let n = gone.len();
        for tag in gone {
            self.dropped(tag);
        }
        n
    }
}

/// Written as a key-sorted sequence of `(key, entry)`: the same state
/// always gives the same bytes.
impl<Slot: AccountSlot> Serialize for WabaStore<Slot> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        SortedEntries(&self.map).serialize(s)
    }
}

/// Reads a [`WabaStore`] written by its `Serialize` impl, with these limits.
pub struct WabaSeed<S>(StateLimits, std::marker::PhantomData<S>);

impl<S> WabaSeed<S> {
    /// A seed with these limits.
    pub fn new(limits: StateLimits) -> Self {
        WabaSeed(limits, std::marker::PhantomData)
    }
}

impl<'de, S: AccountSlot> DeserializeSeed<'de> for WabaSeed<S> {
    type Value = WabaStore<S>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<WabaStore<S>, D::Error> {
        let map = MapSeed::<WabaEntry<S>>::new().deserialize(d)?;
        Ok(WabaStore::from_map(map, self.0))
    }
}
