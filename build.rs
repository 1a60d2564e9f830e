//! Compiles `proto/satpam/v1/*.proto` with protox (pure Rust, no system
//! `protoc`) into prost types plus pbjson serde impls for the canonical
//! proto3 JSON mapping, and tonic server and client stubs for the services.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/satpam/v1/event.proto",
    "proto/satpam/v1/signal.proto",
    "proto/satpam/v1/ingest.proto",
    "proto/satpam/v1/watch.proto",
    "proto/satpam/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    // `satpam_build_info` labels.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SATPAM_RUSTC_VERSION={rustc_version}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=SATPAM_BUILD_PROFILE={profile}");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = protox::compile(PROTOS, ["proto"])?;
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
