//! The authorisation matrix: every principal x every checked entry point x
//! tenant, against the real service (in-process, ephemeral ports) with a
//! real tonic client and HTTP for /metrics. Each row lists, literally, the
//! principals that get through; every other authenticated principal must
//! get PERMISSION_DENIED and every caller without valid credentials
//! UNAUTHENTICATED. Each check in the service has a row where one principal
//! passes only because of it, so removing any one check fails this test.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::service::{parse_prometheus, sample};
use common::{traffic, Script};
use satpam::access::auth::hash_token;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tonic::transport::Channel;
use tonic::{Code, Request};

/// Principals: name, roles, tenants. The token of `x` is `token-x`.
const PRINCIPALS: &[(&str, &str, &str)] = &[
    ("ingest-1", r#"["ingest"]"#, r#"["bsp-1"]"#),
    ("watch-1", r#"["watch"]"#, r#"["bsp-1"]"#),
    ("reader-1", r#"["read"]"#, r#"["bsp-1"]"#),
    ("override-1", r#"["override"]"#, r#"["bsp-1"]"#),
    ("rules-1", r#"["rules"]"#, r#"["bsp-1"]"#),
    ("rules-all", r#"["rules"]"#, r#"["*"]"#),
    ("metrics", r#"["metrics"]"#, r#"["*"]"#),
    (
        "admin",
        r#"["ingest", "watch", "read", "override", "rules", "metrics"]"#,
        r#"["*"]"#,
    ),
];

/// Callers with no valid credentials: (name, `authorization` value).
const STRANGERS: &[(&str, Option<&str>)] = &[
    ("no credentials", None),
    ("unknown token", Some("Bearer not-a-token")),
    ("not bearer", Some("Basic dG9rZW4=")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Unauthenticated,
    Denied,
}

/// What is called.
#[derive(Debug, Clone, Copy)]
enum Call {
    Ingest(&'static str),
    Watch(&'static str),
    GetAccount(&'static str),
    ListActioned(&'static str),
    SetOverride(&'static str),
    ClearOverride(&'static str),
    ReloadRules,
    GetRuleSet,
    ReloadPolicy,
    GetPolicy,
    ListAudit(&'static str),
    Reflection,
    Metrics,
}

/// The matrix: each call and the principals that get through.
const MATRIX: &[(Call, &[&str])] = &[
    (Call::Ingest("bsp-1"), &["ingest-1", "admin"]),
    (Call::Ingest("bsp-2"), &["admin"]),
    (Call::Watch("bsp-1"), &["watch-1", "admin"]),
    (Call::Watch("bsp-2"), &["admin"]),
    (Call::Watch(""), &["watch-1", "admin"]),
    (Call::GetAccount("bsp-1"), &["reader-1", "admin"]),
    (Call::GetAccount("bsp-2"), &["admin"]),
    (Call::ListActioned("bsp-1"), &["reader-1", "admin"]),
    (Call::ListActioned("bsp-2"), &["admin"]),
    (Call::ListActioned(""), &["reader-1", "admin"]),
    (Call::SetOverride("bsp-1"), &["override-1", "admin"]),
    (Call::SetOverride("bsp-2"), &["admin"]),
    (Call::ClearOverride("bsp-1"), &["override-1", "admin"]),
    (Call::ClearOverride("bsp-2"), &["admin"]),
    (Call::ReloadRules, &["rules-all", "admin"]),
    (Call::GetRuleSet, &["reader-1", "admin"]),
    (Call::ReloadPolicy, &["rules-all", "admin"]),
    (Call::GetPolicy, &["reader-1", "admin"]),
    (Call::ListAudit("bsp-1"), &["reader-1", "admin"]),
    (Call::ListAudit("bsp-2"), &["admin"]),
    (Call::ListAudit(""), &["reader-1", "admin"]),
    // Reflection is restricted to authenticated principals, whatever their roles.
    (
        Call::Reflection,
        &[
            "ingest-1",
            "watch-1",
            "reader-1",
            "override-1",
            "rules-1",
            "rules-all",
            "metrics",
            "admin",
        ],
    ),
    (Call::Metrics, &["metrics", "admin"]),
];

impl Call {
    /// The `rpc` label of `satpam_auth_denied_total`.
    fn label(self) -> &'static str {
        match self {
            Call::Ingest(_) => "Ingest",
            Call::Watch(_) => "Watch",
            Call::GetAccount(_) => "GetAccount",
            Call::ListActioned(_) => "ListActioned",
            Call::SetOverride(_) => "SetOverride",
            Call::ClearOverride(_) => "ClearOverride",
            Call::ReloadRules => "ReloadRules",
            Call::GetRuleSet => "GetRuleSet",
            Call::ReloadPolicy => "ReloadPolicy",
            Call::GetPolicy => "GetPolicy",
            Call::ListAudit(_) => "ListAudit",
            Call::Reflection => "reflection",
            Call::Metrics => "metrics",
        }
    }

    fn is_admin(self) -> bool {
        !matches!(
            self,
            Call::Ingest(_) | Call::Watch(_) | Call::Reflection | Call::Metrics
        )
    }
}

async fn start(dir: &Path) -> RunningService {
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    let mut toml = format!(
        "[engine]\nrules = {rules:?}\noverrides = {overrides:?}\n\
         [grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [sinks]\njsonl = \"\"\n[audit]\npath = {audit:?}\n\
         [auth]\nrestrict_metrics = true\nrestrict_reflection = true\n",
        rules = rules.display().to_string(),
        overrides = dir.join("overrides.yaml").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    for (name, roles, tenants) in PRINCIPALS {
        toml.push_str(&format!(
            "[[auth.principals]]\nname = \"{name}\"\ntoken_sha256 = \"{}\"\nroles = {roles}\ntenants = {tenants}\n",
            hash_token(&format!("token-{name}"))
        ));
    }
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

fn request<T>(auth: Option<&str>, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(a) = auth {
        r.metadata_mut()
            .insert("authorization", a.parse().expect("ascii"));
    }
    r
}

fn classify<T>(r: Result<T, tonic::Status>) -> Outcome {
    match r {
        Ok(_) => Outcome::Allowed,
        Err(s) if s.code() == Code::Unauthenticated => Outcome::Unauthenticated,
        Err(s) if s.code() == Code::PermissionDenied => Outcome::Denied,
        // Past the checks (NOT_FOUND of an untracked account, ...).
        Err(_) => Outcome::Allowed,
    }
}

fn event(tenant: &str) -> pb::MessageEvent {
    let mut e = traffic(Script::SupportBot, "acc-1", 1, 1, true).remove(0);
    e.tenant_id = tenant.into();
    e
}

async fn call(ch: &Channel, s: &RunningService, auth: Option<&str>, c: Call) -> Outcome {
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    match c {
        Call::Ingest(t) => {
            let batch = pb::EventBatch {
                batch_id: 1,
                events: vec![event(t)],
            };
            let mut client = pb::ingest_client::IngestClient::new(ch.clone());
            let r = client
                .ingest(request(auth, tokio_stream::iter(vec![batch])))
                .await;
            let mut acks = match r {
                Ok(a) => a.into_inner(),
                Err(e) => return classify::<()>(Err(e)),
            };
            let ack = acks.message().await.expect("ack").expect("one ack");
            match ack.rejections.first() {
                None => Outcome::Allowed,
                Some(r) if r.reason.starts_with("permission denied") => Outcome::Denied,
                Some(r) => panic!("refused for another reason: {}", r.reason),
            }
        }
        Call::Watch(t) => {
            let mut client = pb::signals_client::SignalsClient::new(ch.clone());
            let req = pb::WatchRequest {
                tenant_id: t.into(),
                ..Default::default()
            };
            classify(client.watch(request(auth, req)).await)
        }
        Call::GetAccount(t) => {
            let req = pb::GetAccountRequest {
                tenant_id: t.into(),
                account_id: "acc-1".into(),
            };
            classify(admin.get_account(request(auth, req)).await)
        }
        Call::ListActioned(t) => {
            let req = pb::ListActionedRequest {
                tenant_id: t.into(),
                ..Default::default()
            };
            classify(admin.list_actioned(request(auth, req)).await)
        }
        Call::SetOverride(t) => {
            let o = pb::Override {
                tenant_id: t.into(),
                account_id: "acc-9".into(),
                mode: pb::OverrideMode::Allow as i32,
                reason: "appeal 42 cleared".into(),
                expires_at_ms: 0,
            };
            let req = pb::SetOverrideRequest {
                r#override: Some(o),
            };
            classify(admin.set_override(request(auth, req)).await)
        }
        Call::ClearOverride(t) => {
            let req = pb::ClearOverrideRequest {
                tenant_id: t.into(),
                account_id: "acc-9".into(),
                reason: "appeal reopened".into(),
            };
            classify(admin.clear_override(request(auth, req)).await)
        }
        Call::ReloadRules => {
            let req = pb::ReloadRulesRequest::default();
            classify(admin.reload_rules(request(auth, req)).await)
        }
        Call::GetRuleSet => classify(
            admin
                .get_rule_set(request(auth, pb::GetRuleSetRequest {}))
                .await,
        ),
        Call::ReloadPolicy => {
            let req = pb::ReloadPolicyRequest::default();
            classify(admin.reload_policy(request(auth, req)).await)
        }
        Call::GetPolicy => classify(
            admin
                .get_policy(request(auth, pb::GetPolicyRequest {}))
                .await,
        ),
        Call::ListAudit(t) => {
            let req = pb::ListAuditRequest {
                tenant_id: t.into(),
                ..Default::default()
            };
            classify(admin.list_audit(request(auth, req)).await)
        }
        Call::Reflection => {
            use tonic_reflection::pb::v1 as r;
            let mut client = r::server_reflection_client::ServerReflectionClient::new(ch.clone());
            let req = r::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(r::server_reflection_request::MessageRequest::ListServices(
                    String::new(),
                )),
            };
            classify(
                client
                    .server_reflection_info(request(auth, tokio_stream::iter(vec![req])))
                    .await,
            )
        }
        Call::Metrics => {
            let addr = s.metrics_addr().expect("metrics on");
            let auth = auth.map(str::to_string);
            let (code, _) = tokio::task::spawn_blocking(move || {
                let h: Vec<(&str, &str)> =
                    auth.iter().map(|a| ("authorization", a.as_str())).collect();
                satpam_testkit::http::get_with(addr, "/metrics", &h)
            })
            .await
            .expect("join")
            .expect("GET /metrics");
            match code {
                200 => Outcome::Allowed,
                401 => Outcome::Unauthenticated,
                403 => Outcome::Denied,
                other => panic!("/metrics answered {other}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_principal_rpc_and_tenant_is_allowed_unauthenticated_or_denied_as_the_table_says() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.grpc_addr().expect("grpc on");
    let ch = common::service::grpc_channel(addr).await;

    let mut wrong = Vec::new();
    // (rpc label, reason) -> refusals expected in satpam_auth_denied_total.
    let mut expected_counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut admin_denials = 0u64;
    for (c, allowed) in MATRIX {
        for (name, _, _) in PRINCIPALS {
            let token = format!("Bearer token-{name}");
            let want = if allowed.contains(name) {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            let got = call(&ch, &svc, Some(&token), *c).await;
            if got != want {
                wrong.push(format!("{c:?} as {name}: got {got:?}, want {want:?}"));
            }
            if want == Outcome::Denied {
                let reason = if role_ok(name, *c) { "tenant" } else { "role" };
                *expected_counts.entry((c.label(), reason)).or_default() += 1;
                if c.is_admin() {
                    admin_denials += 1;
                }
            }
        }
        for (name, auth) in STRANGERS {
            let got = call(&ch, &svc, *auth, *c).await;
            if got != Outcome::Unauthenticated {
                wrong.push(format!(
                    "{c:?} as {name}: got {got:?}, want Unauthenticated"
                ));
            }
            let reason = if auth.is_none() {
                "no_credentials"
            } else {
                "unknown_credentials"
            };
            *expected_counts.entry((c.label(), reason)).or_default() += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Every refusal is counted under its rpc and reason, nothing else is.
    let samples = parse_prometheus(&svc.telemetry().render());
    for ((rpc, reason), n) in &expected_counts {
        let name = format!("satpam_auth_denied_total{{rpc=\"{rpc}\",reason=\"{reason}\"}}");
        let got = sample(&samples, &name);
        assert_eq!(
            got,
            Some(*n as f64),
            "satpam_auth_denied_total{{rpc={rpc},reason={reason}}}"
        );
    }
    let total: f64 = samples
        .iter()
        .filter(|(n, _)| n.starts_with("satpam_auth_denied_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, expected_counts.values().sum::<u64>() as f64);

    // Admin calls refused to a principal are in the audit trail (strangers are only counted).
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let listed = admin
        .list_audit(request(
            Some("Bearer token-admin"),
            pb::ListAuditRequest {
                kind: "denied".into(),
                limit: 10_000,
                ..Default::default()
            },
        ))
        .await
        .expect("ListAudit")
        .into_inner();
    assert_eq!(listed.records.len() as u64, admin_denials);
    assert!(listed
        .records
        .iter()
        .all(|r| r.result == "denied" && !r.reason.is_empty()));
    svc.shutdown().await.expect("shutdown");
}

/// Whether principal `name` holds the role `c` needs (so a refusal is for the tenant).
fn role_ok(name: &str, c: Call) -> bool {
    let role = match c {
        Call::Ingest(_) => "ingest",
        Call::Watch(_) => "watch",
        Call::SetOverride(_) | Call::ClearOverride(_) => "override",
        Call::ReloadRules | Call::ReloadPolicy => "rules",
        Call::Metrics => "metrics",
        Call::Reflection => return true,
        _ => "read",
    };
    PRINCIPALS
        .iter()
        .find(|(n, _, _)| *n == name)
        .is_some_and(|(_, roles, _)| roles.contains(&format!("\"{role}\"")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_on_its_own_listener_is_not_on_the_grpc_one() {
    let dir = tempfile::tempdir().expect("dir");
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"\"\n\
         [sinks]\njsonl = \"\"\n[audit]\npath = {:?}\n",
        dir.path().join("audit.jsonl").display().to_string()
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    let svc = service::start(config).await.expect("service starts");
    let (grpc, admin) = (
        svc.grpc_addr().expect("grpc"),
        svc.admin_addr().expect("admin"),
    );
    assert_ne!(grpc, admin);
    let connect = |a: std::net::SocketAddr| async move {
        Channel::from_shared(format!("http://{a}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    };
    let on_grpc = pb::admin_client::AdminClient::new(connect(grpc).await)
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect_err("no Admin on grpc.listen");
    assert_eq!(on_grpc.code(), Code::Unimplemented);
    let admin_ch = connect(admin).await;
    pb::admin_client::AdminClient::new(admin_ch.clone())
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("Admin on admin.listen");
    let health = tonic_health::pb::health_client::HealthClient::new(admin_ch)
        .check(tonic_health::pb::HealthCheckRequest {
            service: "satpam.v1.Admin".into(),
        })
        .await
        .expect("health on admin.listen")
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    svc.shutdown().await.expect("shutdown");
}

#[test]
fn a_non_loopback_listener_without_principals_needs_insecure() {
    let e = Config::from_toml("[grpc]\nlisten = \"0.0.0.0:50051\"\n", "t.toml", Vec::new())
        .expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("t.toml:2: grpc.listen: `0.0.0.0:50051` is not a loopback address"),
        "{e}"
    );
    Config::from_toml(
        "[grpc]\nlisten = \"0.0.0.0:50051\"\n[auth]\ninsecure = true\n",
        "t.toml",
        Vec::new(),
    )
    .expect("insecure says so explicitly");
}
