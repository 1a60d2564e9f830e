//! Access: who may call what ([`auth`]: principals, roles, tenant scopes,
//! the gate every RPC passes) and what was done ([`audit`]: the audit
//! trail). Below the sources and the service, which both check callers
//! here; above the configuration it is built from.

pub mod audit;
pub mod auth;
