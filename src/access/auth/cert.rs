//! What a verified mTLS connection tells the gate about its client.

/// The verified subject of a client certificate (RFC 4514 form, e.g.
/// `CN=bsp-ingest, O=Example BSP`), as a request extension on every request
/// of an mTLS connection: `tonic::Request::extensions()` for gRPC,
/// `axum::http::Request::extensions()` for HTTP. Absent on plaintext and
/// server-only TLS connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientCertSubject(pub String);
