//! Who may call what: principals (bearer-token hashes and/or client
//! certificate subjects, roles, tenants) from `[auth]`, and the check every
//! RPC makes. docs/security.md has the threat model and the roles table.

pub mod build;
pub mod cert;
pub mod check;
pub mod principal;

pub use cert::ClientCertSubject;
pub use check::{Denied, Gate, Rpc, Scope};
pub use principal::{hash_token, AuthError, Authenticator, Principal, Role, TenantScope};
