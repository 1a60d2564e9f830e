//! `satpam.v1.Admin`: what analysts and operators ask of a running
//! instance. Reads go to the shards; writes (overrides, rules) go through
//! the managers in [`crate::service::reload`], which validate before they swap.
//! Every call is checked by the [`Gate`] (role and tenant) first; writes and
//! refusals are written to the audit trail.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::access::audit::{AuditFilter, AuditKind, AuditRecord};
use crate::access::auth::{Gate, Role, Rpc, Scope};
use crate::decide::policy::format_date;
use crate::decide::CountryPolicy;
use crate::decide::{Action, Override, OverrideMode};
use crate::pb::v1 as pb;
use crate::pipeline::shards::Shards;
use crate::rules::RuleSet;
use crate::service::account_state::{account_state, override_to_pb, remote_account_state};
use crate::service::actions_table::ActionsTable;
use crate::service::policy_reload::PolicyManager;
use crate::service::reload::{OverridesManager, RulesManager};
use crate::service::reload_error::ReloadError;

/// The Admin service.
pub struct AdminService {
    shards: Arc<Shards>,
    rules: Arc<RulesManager>,
    overrides: Arc<OverridesManager>,
    policy: Arc<PolicyManager>,
    gate: Arc<Gate>,
    /// With Kafka, the fleet's actions in force.
    actions: Option<Arc<ActionsTable>>,
}

impl AdminService {
    /// Admin over these shards and managers, every call checked by `gate`.
    pub fn new(
        shards: Arc<Shards>,
        rules: Arc<RulesManager>,
        overrides: Arc<OverridesManager>,
        policy: Arc<PolicyManager>,
        gate: Arc<Gate>,
    ) -> Self {
        AdminService {
            shards,
            rules,
            overrides,
            policy,
            gate,
            actions: None,
        }
    }

    /// Answers `ListActioned`, and `GetAccount` for accounts another
    /// instance holds, from the fleet's actions table (with Kafka).
    pub fn with_actions(mut self, actions: Option<Arc<ActionsTable>>) -> Self {
        self.actions = actions;
        self
    }

    fn policy_info(&self, p: &CountryPolicy) -> pb::PolicyInfo {
        let loaded = self.policy.loaded();
        let date = |ms: Option<i64>| ms.map(format_date).unwrap_or_default();
        pb::PolicyInfo {
            version: p.version().to_string(),
            source: loaded.source.clone(),
            loaded_at_ms: loaded.loaded_at_ms,
            outcomes: p
                .entries()
                .iter()
                .map(|e| pb::PolicyOutcomeInfo {
                    id: e.id.clone(),
                    r#where: e.scope.to_string(),
                    outcome: e.outcome.name().to_string(),
                    from: date(e.from_ms),
                    until: date(e.until_ms),
                    source: e.source.clone(),
                    uncertain: e.uncertain,
                    charge_currency: e
                        .charge
                        .as_ref()
                        .map(|c| c.currency.clone())
                        .unwrap_or_default(),
                    charge_per_message: e.charge.as_ref().map_or(0.0, |c| c.per_message),
                })
                .collect(),
        }
    }

    fn rule_set_info(&self, rules: &RuleSet) -> pb::RuleSetInfo {
        let loaded = self.rules.loaded();
        let hits = self.rules.hit_counts(rules);
        pb::RuleSetInfo {
            version: rules.version().to_string(),
            source: loaded.source.clone(),
            loaded_at_ms: loaded.loaded_at_ms,
            rules: rules
                .rules()
                .iter()
                .enumerate()
                .map(|(i, r)| pb::RuleInfo {
                    id: r.id.clone(),
                    version: r.version,
                    description: r.description.clone(),
                    score: r.score,
                    shadow: r.shadow,
                    hits: hits.get(i).copied().unwrap_or(0),
                })
                .collect(),
        }
    }
}

fn required<'a>(field: &str, v: &'a str) -> Result<&'a str, Status> {
    if v.trim().is_empty() {
        Err(Status::invalid_argument(format!("`{field}` is required")))
    } else {
        Ok(v)
    }
}

/// A refused override change as a gRPC status: the caller's mistake is
/// INVALID_ARGUMENT, the service's (a file it cannot write) INTERNAL.
fn override_status(e: ReloadError) -> Status {
    if e.is_invalid_input() {
        Status::invalid_argument(e.to_string())
    } else {
        Status::internal(e.to_string())
    }
}

fn audit_to_pb(a: AuditRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        at_ms: a.at_ms,
        who: a.who,
        kind: a.kind.label().into(),
        rpc: a.rpc,
        tenant_id: a.tenant_id,
        account_id: a.account_id,
        result: a.result,
        reason: a.reason,
        mode: a.mode,
        old_version: a.old_version,
        new_version: a.new_version,
    }
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminService {
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::AccountState>, Status> {
        let r = request.get_ref();
        let scope = Scope::Tenant(&r.tenant_id, &r.account_id);
        self.gate
            .check(&request, Rpc::GetAccount, Role::Read, scope)?;
        let r = request.into_inner();
        let tenant = required("tenant_id", &r.tenant_id)?;
        let account = required("account_id", &r.account_id)?;
        let Some((shard, mut entry)) = self.shards.find_account(tenant, account) else {
            let ctx = self.shards.context();
            let held = self.actions.as_ref().and_then(|t| t.get(tenant, account));
            return match held {
                Some(a) => {
                    let r#override = ctx.overrides().get(tenant, account, ctx.clock().now_ms()).cloned();
                    Ok(Response::new(remote_account_state(&a, r#override)))
                }
                None => Err(Status::not_found(format!(
                    "account `{account}` of tenant `{tenant}` is not tracked by this instance (it owns shards {:?}){}",
                    self.shards.partition_ids(),
                    if self.actions.is_some() {
                        " and has no action in force in the fleet"
                    } else {
                        ""
                    }
                ))),
            };
        };
        let ctx = self.shards.context();
        let overrides = ctx.overrides();
        let r#override = overrides.get(tenant, account, ctx.clock().now_ms());
        let state = account_state(
            &mut entry,
            shard.number(),
            &ctx.rules(),
            &ctx.policy(),
            r#override,
        );
        Ok(Response::new(state))
    }

    async fn list_actioned(
        &self,
        request: Request<pb::ListActionedRequest>,
    ) -> Result<Response<pb::ListActionedResponse>, Status> {
        let scope = tenant_filter(&request.get_ref().tenant_id);
        let caller = self
            .gate
            .check(&request, Rpc::ListActioned, Role::Read, scope)?;
        let r = request.into_inner();
        let limit = if r.limit == 0 {
            1_000
        } else {
            r.limit as usize
        };
        let wanted = |tenant: &str, action: i32| {
            (r.tenant_id.is_empty() || tenant == r.tenant_id)
                && caller.tenants.allows(tenant)
                && (r.actions.is_empty() || r.actions.contains(&action))
        };
        let mut out = Vec::new();
        if let Some(table) = &self.actions {
            // The fleet's view: the same on every instance.
            for a in table.all() {
                let s = &a.signal;
                if wanted(&s.tenant_id, s.action) {
                    out.push(pb::ActionedAccount {
                        tenant_id: s.tenant_id.clone(),
                        account_id: s.account_id.clone(),
                        action: s.action,
                        score: s.score,
                        last_event_ms: s.event_time_ms,
                    });
                }
            }
        } else {
            let rules = self.shards.context().rules();
            self.shards.for_each_account(|_, a| {
                let action = a.slot.decision.action();
                if action == Action::None {
                    return;
                }
                let wire = pb::Action::from(action) as i32;
                if !wanted(&a.tenant_id, wire) {
                    return;
                }
                out.push(pb::ActionedAccount {
                    tenant_id: a.tenant_id.to_string(),
                    account_id: a.account_id.to_string(),
                    action: wire,
                    score: a.slot.activity.score(&rules),
                    last_event_ms: a.behaviour.last_ms(),
                });
            });
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| (&a.tenant_id, &a.account_id).cmp(&(&b.tenant_id, &b.account_id)))
        });
        let truncated = out.len() > limit;
        out.truncate(limit);
        Ok(Response::new(pb::ListActionedResponse {
            accounts: out,
            truncated,
        }))
    }

    async fn set_override(
        &self,
        request: Request<pb::SetOverrideRequest>,
    ) -> Result<Response<pb::Override>, Status> {
        let (t, a) = request
            .get_ref()
            .r#override
            .as_ref()
            .map_or(("", ""), |o| (o.tenant_id.as_str(), o.account_id.as_str()));
        let caller = self.gate.check(
            &request,
            Rpc::SetOverride,
            Role::Override,
            Scope::Tenant(t, a),
        )?;
        let o = request
            .into_inner()
            .r#override
            .ok_or_else(|| Status::invalid_argument("`override` is required"))?;
        required("tenant_id", &o.tenant_id)?;
        required("account_id", &o.account_id)?;
        required("reason", &o.reason)?;
        let mode = match pb::OverrideMode::try_from(o.mode) {
            Ok(pb::OverrideMode::Allow) => OverrideMode::Allow,
            Ok(pb::OverrideMode::Deny) => OverrideMode::Deny,
            _ => return Err(Status::invalid_argument("`mode` must be ALLOW or DENY")),
        };
        let domain = Override {
            tenant_id: o.tenant_id.clone(),
            account_id: o.account_id.clone(),
            mode,
            reason: o.reason.clone(),
            expires_at_ms: (o.expires_at_ms > 0).then_some(o.expires_at_ms),
        };
        let result = crate::service::decisions::set_override(
            &self.overrides,
            self.gate.audit(),
            &caller.name,
            Rpc::SetOverride.label(),
            &domain,
        );
        result.map_err(override_status)?;
        Ok(Response::new(override_to_pb(&domain)))
    }

    async fn clear_override(
        &self,
        request: Request<pb::ClearOverrideRequest>,
    ) -> Result<Response<pb::ClearOverrideResponse>, Status> {
        let r = request.get_ref();
        let scope = Scope::Tenant(&r.tenant_id, &r.account_id);
        let caller = self
            .gate
            .check(&request, Rpc::ClearOverride, Role::Override, scope)?;
        let r = request.into_inner();
        required("tenant_id", &r.tenant_id)?;
        required("account_id", &r.account_id)?;
        required("reason", &r.reason)?;
        let result = crate::service::decisions::clear_override(
            &self.overrides,
            self.gate.audit(),
            &caller.name,
            Rpc::ClearOverride.label(),
            (&r.tenant_id, &r.account_id),
            &r.reason,
        );
        let cleared = result.map_err(override_status)?;
        Ok(Response::new(pb::ClearOverrideResponse { cleared }))
    }

    async fn reload_rules(
        &self,
        request: Request<pb::ReloadRulesRequest>,
    ) -> Result<Response<pb::RuleSetInfo>, Status> {
        let caller = self
            .gate
            .check(&request, Rpc::ReloadRules, Role::Rules, Scope::AllTenants)?;
        let r = request.into_inner();
        let yaml = (!r.rules_yaml.trim().is_empty()).then_some(r.rules_yaml);
        let old = self.shards.context().rules().version().to_string();
        let result = self.rules.reload(yaml).await;
        let new = result.as_ref().map(|r| r.version().to_string());
        self.gate.audit().record(AuditRecord::reload(
            &caller.name,
            Rpc::ReloadRules.label(),
            AuditKind::RulesReload,
            old,
            new,
        ));
        match result {
            Ok(rules) => Ok(Response::new(self.rule_set_info(&rules))),
            Err(e) => Err(Status::invalid_argument(format!(
                "rules refused, the running rules ({}) stay in force: {e}",
                self.shards.context().rules().version()
            ))),
        }
    }

    async fn get_rule_set(
        &self,
        request: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::RuleSetInfo>, Status> {
        self.gate
            .check(&request, Rpc::GetRuleSet, Role::Read, Scope::Any)?;
        let rules = self.shards.context().rules();
        Ok(Response::new(self.rule_set_info(&rules)))
    }

    async fn reload_policy(
        &self,
        request: Request<pb::ReloadPolicyRequest>,
    ) -> Result<Response<pb::PolicyInfo>, Status> {
        let caller =
            self.gate
                .check(&request, Rpc::ReloadPolicy, Role::Rules, Scope::AllTenants)?;
        let r = request.into_inner();
        let old = self.policy.policy().version().to_string();
        let manager = self.policy.clone();
        // Parsing and compiling is CPU work: off the async runtime.
        let result = tokio::task::spawn_blocking(move || {
            if r.policy_yaml.trim().is_empty() {
                manager.reload_file()
            } else {
                manager.reload_yaml(&r.policy_yaml)
            }
        })
        .await
        .map_err(|e| Status::internal(format!("policy reload task: {e}")))?;
        self.gate.audit().record(AuditRecord::reload(
            &caller.name,
            Rpc::ReloadPolicy.label(),
            AuditKind::PolicyReload,
            old,
            result.as_ref().map(|p| p.version().to_string()),
        ));
        match result {
            Ok(p) => Ok(Response::new(self.policy_info(&p))),
            Err(e) => Err(Status::invalid_argument(format!(
                "policy refused, the policy in force ({}) stays: {e}",
                self.policy.policy().version()
            ))),
        }
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::PolicyInfo>, Status> {
        self.gate
            .check(&request, Rpc::GetPolicy, Role::Read, Scope::Any)?;
        Ok(Response::new(self.policy_info(&self.policy.policy())))
    }

    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        let scope = tenant_filter(&request.get_ref().tenant_id);
        let caller = self
            .gate
            .check(&request, Rpc::ListAudit, Role::Read, scope)?;
        let r = request.into_inner();
        let kind = match r.kind.as_str() {
            "" => None,
            k => Some(AuditKind::parse(k).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "unknown kind `{k}` (override_set, override_cleared, rules_reload, policy_reload, denied, appeal)"
                ))
            })?),
        };
        let filter = AuditFilter {
            tenant_id: r.tenant_id,
            kind,
            who: r.who,
            since_ms: r.since_ms,
        };
        let limit = if r.limit == 0 { 100 } else { r.limit as usize };
        // Service-wide records (no tenant) only for callers of every tenant.
        let visible = |a: &AuditRecord| {
            caller.tenants.is_all()
                || (!a.tenant_id.is_empty() && caller.tenants.allows(&a.tenant_id))
        };
        let (records, truncated) = self.gate.audit().list(&filter, visible, limit);
        Ok(Response::new(pb::ListAuditResponse {
            records: records.into_iter().map(audit_to_pb).collect(),
            truncated,
        }))
    }
}

/// The scope of a list call: one tenant when the request names one, else
/// any (the results are then filtered to the caller's tenants).
fn tenant_filter(tenant_id: &str) -> Scope<'_> {
    if tenant_id.is_empty() {
        Scope::Any
    } else {
        Scope::Tenant(tenant_id, "")
    }
}
