//! The opaque slot a later stage keeps in each account entry. State comes
//! before the decision stage in the flow, so the store knows the decision
//! state only through this trait: whether an action is in force (such an
//! account is kept longer when idle and evicted last under the caps), the
//! heap it holds, and how an older snapshot format wrote it.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What the store needs of the per-account state of a later stage.
pub trait AccountSlot:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The slot as snapshot format 2 wrote it, migrated on read.
    type Format2: DeserializeOwned + Into<Self>;

    /// Whether an action is in force on the account.
    fn in_force(&self) -> bool;

    /// Heap bytes the slot holds beyond its inline size.
    fn heap_bytes(&self) -> usize;
}

/// No slot: a store of behaviour alone (tools and tests of this stage).
impl AccountSlot for () {
    type Format2 = ();

    fn in_force(&self) -> bool {
        false
    }

    fn heap_bytes(&self) -> usize {
        0
    }
}
