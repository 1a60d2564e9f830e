//! Command bodies of the `satpam` binary.

pub mod load;
pub mod replay;
pub mod rules;
