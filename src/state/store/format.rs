//! The store's serialized form: conversations then accounts, each sorted by
//! key, so the same state always gives the same bytes; read back through
//! [`StoreSeed`] (today's format) or [`StoreSeed::format_2`] (migrated).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserializer, Serialize, Serializer};

use super::{AccountEntry, AccountEntryV2, Key, Map, StateLimits, StateStore};
use crate::state::conversation::{ConversationState, ConversationStateV2};
use crate::state::slot::AccountSlot;

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
pub(super) struct SortedEntries<'a, V>(pub(super) &'a Map<V>);

impl<V: Serialize> Serialize for SortedEntries<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_unstable_by_key(|e| *e.key());
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in &entries {
            seq.serialize_element(&(e.key().get(), e.value()))?;
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
    fn into_current(m: Map<Self>) -> Map<Box<ConversationState>>;
}

impl StoredConversation for Box<ConversationState> {
    fn into_current(m: Map<Self>) -> Map<Box<ConversationState>> {
        m
    }
}

impl StoredConversation for ConversationStateV2 {
    fn into_current(m: Map<Self>) -> Map<Box<ConversationState>> {
        m.into_iter()
            .map(|(k, v)| (k, Box::new(v.into())))
            .collect()
    }
}

/// An account type of some snapshot format, and how a map of them becomes
/// today's (no copy for today's own).
trait StoredAccount<S>: DeserializeOwned {
    fn into_current(m: Map<Self>) -> Map<Box<AccountEntry<S>>>;
}

impl<S: AccountSlot> StoredAccount<S> for Box<AccountEntry<S>> {
    fn into_current(m: Map<Self>) -> Map<Box<AccountEntry<S>>> {
        m
    }
}

impl<S: AccountSlot> StoredAccount<S> for AccountEntryV2<S> {
    fn into_current(m: Map<Self>) -> Map<Box<AccountEntry<S>>> {
        m.into_iter()
            .map(|(k, v)| (k, Box::new(v.into())))
            .collect()
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
            StoreVisitor::<Box<ConversationState>, Box<AccountEntry<S>>, S>(self.0, PhantomData),
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
pub(super) struct MapSeed<V>(PhantomData<V>);

impl<V> MapSeed<V> {
    pub(super) fn new() -> Self {
        MapSeed(PhantomData)
    }
}

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
            if map.insert(Key::from(k), v).is_some() {
                return Err(de::Error::custom(format_args!(
                    "key {k:032x} appears twice"
                )));
            }
        }
        Ok(map)
    }
}
