//! The wire contract, re-exported from the `satpam-proto` crate (the one
//! place generated protobuf code lives). Prost types stay at the edge;
//! `convert` turns them into domain types once.

pub use satpam_proto::{v1, FILE_DESCRIPTOR_SET};
