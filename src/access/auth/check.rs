//! The check every RPC makes: who is calling (authentication), may it do
//! this (role), for this tenant (scope). A refusal is a `Status` with a
//! reason, counted in `satpam_auth_denied_total{rpc,reason}` (handles
//! registered once), and, for Admin calls refused to an authenticated
//! principal, written to the audit trail.

use std::sync::Arc;

use tonic::{Request, Status};

use super::principal::{AuthError, Authenticator, Principal, Role};
use crate::access::audit::{AuditKind, AuditLog, AuditRecord};
use crate::access::auth::ClientCertSubject;
use crate::telemetry::auth::{DENIED_LABELS, RPC_LABELS};
use crate::telemetry::Telemetry;

/// Every checked entry point (the `rpc` label values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// `Ingest.Ingest`.
    Ingest,
    /// `Signals.Watch`.
    Watch,
    /// `Admin.GetAccount`.
    GetAccount,
    /// `Admin.ListActioned`.
    ListActioned,
    /// `Admin.SetOverride`.
    SetOverride,
    /// `Admin.ClearOverride`.
    ClearOverride,
    /// `Admin.ReloadRules`.
    ReloadRules,
    /// `Admin.GetRuleSet`.
    GetRuleSet,
    /// `Admin.ReloadPolicy`.
    ReloadPolicy,
    /// `Admin.GetPolicy`.
    GetPolicy,
    /// `Admin.ListAudit`.
    ListAudit,
    /// gRPC server reflection (when restricted).
    Reflection,
    /// `GET /metrics` (when restricted).
    Metrics,
    /// The web console (its pages and decisions).
    Console,
}

impl Rpc {
    /// Every value, in label order.
    pub const ALL: [Rpc; 14] = [
        Rpc::Ingest,
        Rpc::Watch,
        Rpc::GetAccount,
        Rpc::ListActioned,
        Rpc::SetOverride,
        Rpc::ClearOverride,
        Rpc::ReloadRules,
        Rpc::GetRuleSet,
        Rpc::ReloadPolicy,
        Rpc::GetPolicy,
        Rpc::ListAudit,
        Rpc::Reflection,
        Rpc::Metrics,
        Rpc::Console,
    ];

    /// The `rpc` label value.
    pub fn label(self) -> &'static str {
        RPC_LABELS[self as usize]
    }

    fn is_admin(self) -> bool {
        !matches!(
            self,
            Rpc::Ingest | Rpc::Watch | Rpc::Reflection | Rpc::Metrics
        )
    }
}

/// Why a call was refused (the `reason` label values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No credentials (UNAUTHENTICATED).
    NoCredentials,
    /// Credentials no principal has (UNAUTHENTICATED).
    UnknownCredentials,
    /// The principal lacks the role (PERMISSION_DENIED).
    Role,
    /// The tenant is outside the principal's (PERMISSION_DENIED).
    Tenant,
}

impl Denied {
    /// Every value, in label order.
    pub const ALL: [Denied; 4] = [
        Denied::NoCredentials,
        Denied::UnknownCredentials,
        Denied::Role,
        Denied::Tenant,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        DENIED_LABELS[self as usize]
    }
}

/// What a call acts on, for the tenant check.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// No tenant (or results filtered to the caller's tenants afterwards).
    Any,
    /// One tenant's account (`account` may be empty).
    Tenant(&'a str, &'a str),
    /// Every tenant: the caller needs tenants `*`.
    AllTenants,
}

/// An `authorization` value that is not `Bearer <token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBearer;

/// The bearer token of an `authorization` value: `Ok(None)` when absent,
/// `Err` when present but not `Bearer <token>`.
pub fn bearer(value: Option<&str>) -> Result<Option<&str>, NotBearer> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(NotBearer),
    }
}

/// Authentication and authorisation for the services.
pub struct Gate {
    auth: Arc<Authenticator>,
    telemetry: Arc<Telemetry>,
    audit: Arc<AuditLog>,
}

impl Gate {
    /// A gate over `auth`, counting in `telemetry`, auditing to `audit`.
    pub fn new(auth: Arc<Authenticator>, telemetry: Arc<Telemetry>, audit: Arc<AuditLog>) -> Self {
        Gate {
            auth,
            telemetry,
            audit,
        }
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    /// The audit trail.
    pub fn audit(&self) -> &Arc<AuditLog> {
        &self.audit
    }

    /// The principal of a request's credentials (`authorization` metadata,
    /// [`ClientCertSubject`] extension the TLS layer puts on requests of a verified mTLS connection), or UNAUTHENTICATED (counted).
    pub fn authenticate<T>(&self, req: &Request<T>, rpc: Rpc) -> Result<Arc<Principal>, Status> {
        let header = req
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let subject = req
            .extensions()
            .get::<ClientCertSubject>()
            .map(|s| s.0.as_str());
        self.authenticate_parts(header, subject, rpc)
    }

    /// [`Gate::authenticate`] of an `authorization` value and a subject.
    pub fn authenticate_parts(
        &self,
        authorization: Option<&str>,
        subject: Option<&str>,
        rpc: Rpc,
    ) -> Result<Arc<Principal>, Status> {
        let result = match bearer(authorization) {
            Ok(token) => self.auth.authenticate(token, subject),
            Err(NotBearer) => Err(AuthError::UnknownCredentials),
        };
        result.map_err(|e| {
            let (reason, why) = match e {
                AuthError::NoCredentials => (
                    Denied::NoCredentials,
                    "no credentials: send `authorization: Bearer <token>` or a client certificate",
                ),
                AuthError::UnknownCredentials => (
                    Denied::UnknownCredentials,
                    "the credentials match no configured principal",
                ),
            };
            self.telemetry
                .auth
                .denied(rpc as usize, reason as usize)
                .increment(1);
            Status::unauthenticated(format!("{}: {why}", rpc.label()))
        })
    }

    /// Authenticates and checks `role` and `scope`: the principal, or
    /// UNAUTHENTICATED / PERMISSION_DENIED with the reason.
    pub fn check<T>(
        &self,
        req: &Request<T>,
        rpc: Rpc,
        role: Role,
        scope: Scope<'_>,
    ) -> Result<Arc<Principal>, Status> {
        let p = self.authenticate(req, rpc)?;
        self.authorize(&p, rpc, role, scope)?;
        Ok(p)
    }

    /// Whether `p` may call `rpc` (needing `role`) on `scope`; a refusal is
    /// counted and, for Admin calls, audited.
    pub fn authorize(
        &self,
        p: &Principal,
        rpc: Rpc,
        role: Role,
        scope: Scope<'_>,
    ) -> Result<(), Status> {
        let (tenant, account) = match scope {
            Scope::Tenant(t, a) => (t, a),
            _ => ("", ""),
        };
        let refusal = if !p.has(role) {
            Some((
                Denied::Role,
                format!("principal `{}` lacks the `{}` role", p.name, role.name()),
            ))
        } else {
            match scope {
                Scope::Any => None,
                Scope::Tenant(t, _) if p.tenants.allows(t) => None,
                Scope::Tenant(t, _) => Some((
                    Denied::Tenant,
                    format!("principal `{}` may not act for tenant `{t}`", p.name),
                )),
                Scope::AllTenants if p.tenants.is_all() => None,
                Scope::AllTenants => Some((
                    Denied::Tenant,
                    format!("principal `{}` needs tenants [\"*\"]", p.name),
                )),
            }
        };
        let Some((reason, why)) = refusal else {
            return Ok(());
        };
        self.telemetry
            .auth
            .denied(rpc as usize, reason as usize)
            .increment(1);
        if rpc.is_admin() {
            self.audit.record(AuditRecord {
                who: p.name.clone(),
                kind: AuditKind::Denied,
                rpc: rpc.label().to_string(),
                tenant_id: tenant.to_string(),
                account_id: account.to_string(),
                result: "denied".into(),
                reason: why.clone(),
                ..AuditRecord::now()
            });
        }
        Err(Status::permission_denied(format!("{}: {why}", rpc.label())))
    }

    /// Counts one event of an Ingest batch refused for its tenant.
    pub fn count_tenant_refusal(&self, rpc: Rpc) {
        self.telemetry
            .auth
            .denied(rpc as usize, Denied::Tenant as usize)
            .increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The label tables live in telemetry and are indexed by these enums:
    /// each value's position in `ALL` is its discriminant, and the names are
    /// the ones dashboards and alerts read.
    #[test]
    fn labels_follow_the_enums_order() {
        use crate::access::audit::AuditKind;
        for (i, r) in Rpc::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
        for (i, d) in Denied::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i, "{d:?}");
        }
        for (i, k) in AuditKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?}");
        }
        let names = |v: Vec<&'static str>| v.join(",");
        assert_eq!(
            names(Rpc::ALL.iter().map(|r| r.label()).collect()),
            "Ingest,Watch,GetAccount,ListActioned,SetOverride,ClearOverride,ReloadRules,GetRuleSet,ReloadPolicy,GetPolicy,ListAudit,reflection,metrics,console"
        );
        assert_eq!(
            names(Denied::ALL.iter().map(|d| d.label()).collect()),
            "no_credentials,unknown_credentials,role,tenant"
        );
        assert_eq!(
            names(AuditKind::ALL.iter().map(|k| k.label()).collect()),
            "override_set,override_cleared,rules_reload,policy_reload,denied,appeal"
        );
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer(None), Ok(None));
        assert_eq!(bearer(Some("Bearer abc")), Ok(Some("abc")));
        assert_eq!(bearer(Some("bearer  abc ")), Ok(Some("abc")));
        assert_eq!(bearer(Some("Basic abc")), Err(NotBearer));
        assert_eq!(bearer(Some("Bearer ")), Err(NotBearer));
    }
}
