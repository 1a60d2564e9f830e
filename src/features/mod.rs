//! Features: a small vector of named numbers computed from an event and the
//! state it updated. Rules read features, never state.

pub mod catalog;
pub mod delivery;
pub mod extract;
pub mod group;

pub use catalog::{Catalog, FeatureKind, FIXED};
pub use delivery::extract_delivery;
pub use extract::{extract, extract_account, ExtractInput, FeatureVector, Side};
pub use group::{clear_group, extract_group, GroupInput};
