//! satpam's wire contract, generated from `proto/satpam/v1` at the
//! workspace root: the only place generated protobuf code is included. The
//! service converts these types into its domain types once, at the edge
//! (`satpam::convert`); the scenario generator and the load harness build
//! them directly.

/// `satpam.v1`: events, signals and the service APIs (Ingest, Signals, Admin).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/satpam.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/satpam.v1.serde.rs"));
}

/// The encoded `FileDescriptorSet` of every satpam proto (for reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/satpam_descriptor.bin"));
