//! Where events come from: the Kafka events topic ([`kafka`]) and the gRPC
//! Ingest stream ([`grpc`]).

pub mod grpc;
pub mod kafka;
