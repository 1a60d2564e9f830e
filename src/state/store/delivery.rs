//! The accounts' delivery windows in the store: updated only for accounts
//! the store already holds, and written as a snapshot section of their own
//! (format 5), a key-sorted sequence of `(u128 key, windows)` for the
//! accounts that have any, so the account entries keep their format-4
//! bytes.

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use super::{Key, StateStore};
use crate::state::delivery::DeliveryWindows;
use crate::state::slot::AccountSlot;

impl<S: AccountSlot> StateStore<S> {
    /// Runs `f` on the delivery windows of the account `key`, creating
    /// them on its first report; `None` (nothing run) when the store holds
    /// no such account: a report never creates one.
    pub fn with_delivery<R>(
        &self,
        key: u128,
        f: impl FnOnce(&mut DeliveryWindows) -> R,
    ) -> Option<R> {
        let mut entry = self.accounts.get_mut(&Key::from(key))?;
        let windows = entry.value_mut().delivery.get_or_insert_with(Box::default);
        Some(f(windows))
    }

    /// The delivery section of a snapshot (see the module).
    pub fn delivery_section(&self) -> DeliverySection<'_, S> {
        DeliverySection(self)
    }

    /// Puts restored delivery windows back on their accounts; windows of
    /// an account the store does not hold are dropped (it was evicted).
    pub fn attach_delivery(&self, section: Vec<(u128, DeliveryWindows)>) {
        for (key, windows) in section {
            if let Some(mut e) = self.accounts.get_mut(&Key::from(key)) {
                e.value_mut().delivery = Some(Box::new(windows));
            }
        }
    }
}

/// The delivery windows of a store's accounts, as a snapshot writes them.
pub struct DeliverySection<'a, S>(&'a StateStore<S>);

impl<S: AccountSlot> Serialize for DeliverySection<'_, S> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut entries: Vec<_> = self
            .0
            .accounts
            .iter()
            .filter(|e| e.value().delivery.is_some())
            .collect();
        entries.sort_unstable_by_key(|e| *e.key());
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in &entries {
            if let Some(d) = &e.value().delivery {
                seq.serialize_element(&(e.key().get(), &**d))?;
            }
        }
        seq.end()
    }
}
