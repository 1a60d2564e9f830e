//! Behaviour state: event-time windows, sketches, per-conversation and
//! per-account state, and the concurrent store that holds them.

pub mod account;
pub mod conversation;
pub mod counts;
pub mod delivery;
pub mod sketch;
pub mod slot;
pub mod store;
pub mod summed;
#[cfg(test)]
pub(crate) mod test_event;
pub mod united;
pub mod window;

pub use account::{AccountBehaviour, AccountTotals};
pub use conversation::{ConversationState, ConversationUpdate, ConversationView};
pub use delivery::{DeliveryTotals, DeliveryWindows};
pub use slot::AccountSlot;
pub use store::{
    key_of, portfolio_key, tenant_tag, waba_key, AccountEntry, CapEvictions, StateLimits,
    StateStore, StoreSeed, StoreStats, WabaEntry, WabaNumbers, WabaSeed, WabaStore,
    MAX_NUMBERS_PER_WABA,
};
