//! Compiles the workspace's `proto/satpam/v1/*.proto` with protox (pure Rust,
//! no system `protoc`) into prost types plus pbjson serde impls for the
//! canonical proto3 JSON mapping, and tonic server and client stubs for the
//! services.

use std::path::PathBuf;

/// The proto root, shared by the workspace (clients read the contract there).
const ROOT: &str = "../../proto";

const PROTOS: &[&str] = &[
    "satpam/v1/event.proto",
    "satpam/v1/signal.proto",
    "satpam/v1/ingest.proto",
    "satpam/v1/watch.proto",
    "satpam/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = PROTOS.iter().map(|p| format!("{ROOT}/{p}")).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = protox::compile(&files, [ROOT])?;
    let descriptor_bytes = prost::Message::encode_to_vec(&descriptors);
    std::fs::write(out_dir.join("satpam_descriptor.bin"), &descriptor_bytes)?;

    // Messages and the gRPC services (server and client stubs) in one pass.
    tonic_prost_build::configure()
        .out_dir(&out_dir)
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    pbjson_build::Builder::new()
        .out_dir(&out_dir)
        .register_descriptors(&descriptor_bytes)?
        .build(&[".satpam.v1"])?;
    Ok(())
}
