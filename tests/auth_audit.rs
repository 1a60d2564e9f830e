//! Tenant scope beyond yes/no (Watch, ListActioned and ListAudit show only
//! the caller's tenants) and the audit trail: every admin action and
//! every reload written to the JSONL file with who, what, tenant/account,
//! result, reason and versions, counted, read back after a restart, and
//! never holding message text.

mod common;

use std::path::Path;
use std::time::Duration;

use common::service::parse_prometheus;
use common::{traffic, Script, PROMPTS};
use satpam::access::auth::hash_token;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Request;

async fn start(dir: &Path, principals: &str) -> RunningService {
    let rules = dir.join("rules.yaml");
    if !rules.exists() {
        std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    }
    let toml = format!(
        "[engine]\nrules = {rules:?}\noverrides = {overrides:?}\nreload_poll_ms = 50\n\
         [grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [sinks]\njsonl = \"\"\n[audit]\npath = {audit:?}\n{principals}",
        rules = rules.display().to_string(),
        overrides = dir.join("overrides.yaml").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

async fn channel(s: &RunningService) -> Channel {
    let addr = s.grpc_addr().expect("grpc on");
    common::service::grpc_channel(addr).await
}

fn as_<T>(token: Option<&str>, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii"),
        );
    }
    r
}

const ADMIN: Option<&str> = Some("token-admin");
const TEAM: Option<&str> = Some("token-team-1");

fn principals() -> String {
    format!(
        "[[auth.principals]]\nname = \"admin\"\ntoken_sha256 = \"{}\"\n\
         roles = [\"ingest\", \"watch\", \"read\", \"override\", \"rules\"]\ntenants = [\"*\"]\n\
         [[auth.principals]]\nname = \"team-1\"\ntoken_sha256 = \"{}\"\n\
         roles = [\"watch\", \"read\", \"override\"]\ntenants = [\"bsp-1\"]\n",
        hash_token("token-admin"),
        hash_token("token-team-1")
    )
}

/// Assistant traffic of one account in each tenant, bsp-2's first at equal times.
fn two_tenants() -> Vec<pb::MessageEvent> {
    let mut events = Vec::new();
    for tenant in ["bsp-2", "bsp-1"] {
        for mut e in traffic(Script::Assistant, "bad", 25, 120, true) {
            e.tenant_id = tenant.into();
            e.event_id = format!("{tenant}-{}", e.event_id);
            events.push(e);
        }
    }
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

async fn ingest(ch: &Channel, token: Option<&str>, events: Vec<pb::MessageEvent>) -> u32 {
    let batches: Vec<pb::EventBatch> = events
        .chunks(500)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let mut acks = pb::ingest_client::IngestClient::new(ch.clone())
        .ingest(as_(token, tokio_stream::iter(batches)))
        .await
        .expect("ingest")
        .into_inner();
    let mut signals = 0;
    while let Some(a) = acks.next().await {
        let a = a.expect("ack");
        assert_eq!(a.rejected, 0, "{:?}", a.rejections);
        signals += a.signals;
    }
    signals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_list_actioned_and_list_audit_show_only_the_callers_tenants() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path(), &principals()).await;
    let ch = channel(&svc).await;
    let mut signals = pb::signals_client::SignalsClient::new(ch.clone());
    let mut all = signals
        .watch(as_(ADMIN, pb::WatchRequest::default()))
        .await
        .expect("admin watch")
        .into_inner();
    let mut team = signals
        .watch(as_(TEAM, pb::WatchRequest::default()))
        .await
        .expect("team watch (no tenant: its own)")
        .into_inner();

    let total = ingest(&ch, ADMIN, two_tenants()).await;
    let mut seen = Vec::new();
    while seen.len() < total as usize {
        let s = tokio::time::timeout(Duration::from_secs(10), all.next())
            .await
            .expect("signal on the admin stream")
            .expect("open")
            .expect("signal");
        seen.push(s.tenant_id);
    }
    let of_1 = seen.iter().filter(|t| *t == "bsp-1").count();
    assert!(of_1 >= 1 && seen.iter().any(|t| t == "bsp-2"), "{seen:?}");
    for _ in 0..of_1 {
        let s = tokio::time::timeout(Duration::from_secs(10), team.next())
            .await
            .expect("signal on the team stream")
            .expect("open")
            .expect("signal");
        assert_eq!(s.tenant_id, "bsp-1", "team-1 sees only bsp-1");
    }

    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let tenants = |r: pb::ListActionedResponse| {
        let mut t: Vec<String> = r.accounts.into_iter().map(|a| a.tenant_id).collect();
        t.sort();
        t
    };
    let mine = admin
        .list_actioned(as_(TEAM, pb::ListActionedRequest::default()))
        .await
        .expect("team list");
    assert_eq!(tenants(mine.into_inner()), ["bsp-1"]);
    let every = admin
        .list_actioned(as_(ADMIN, pb::ListActionedRequest::default()))
        .await
        .expect("admin list");
    assert_eq!(tenants(every.into_inner()), ["bsp-1", "bsp-2"]);

    // Audit: team-1's override, its refused one, admin's reload.
    let o = |tenant: &str| pb::SetOverrideRequest {
        r#override: Some(pb::Override {
            tenant_id: tenant.into(),
            account_id: "bad".into(),
            mode: pb::OverrideMode::Allow as i32,
            reason: "appeal 7 upheld".into(),
            expires_at_ms: 0,
        }),
    };
    admin
        .set_override(as_(TEAM, o("bsp-1")))
        .await
        .expect("own tenant");
    let refused = admin
        .set_override(as_(TEAM, o("bsp-2")))
        .await
        .expect_err("other tenant");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    admin
        .reload_rules(as_(ADMIN, pb::ReloadRulesRequest::default()))
        .await
        .expect("reload");
    let audit = |token| {
        let mut admin = admin.clone();
        async move {
            let r = admin
                .list_audit(as_(token, pb::ListAuditRequest::default()))
                .await
                .expect("ListAudit")
                .into_inner();
            r.records
                .into_iter()
                .map(|r| (r.kind, r.tenant_id, r.who))
                .collect::<Vec<_>>()
        }
    };
    let s = |k: &str, t: &str, w: &str| (k.to_string(), t.to_string(), w.to_string());
    assert_eq!(audit(TEAM).await, [s("override_set", "bsp-1", "team-1")]);
    assert_eq!(
        audit(ADMIN).await,
        [
            s("rules_reload", "", "admin"),
            s("denied", "bsp-2", "team-1"),
            s("override_set", "bsp-1", "team-1"),
        ]
    );
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_action_and_reload_is_in_the_audit_file_and_read_back() {
    let dir = tempfile::tempdir().expect("dir");
    // Open (loopback, no principals): who is `anonymous`.
    let svc = start(dir.path(), "").await;
    let ch = channel(&svc).await;
    // Traffic with text, so the test can look for it in the trail.
    let mut events = traffic(Script::Assistant, "bad", 5, 30, true);
    for e in &mut events {
        e.tenant_id = "bsp-1".into();
    }
    ingest(&ch, None, events).await;
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let old_rules = admin
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rules")
        .into_inner()
        .version;
    let old_policy = admin
        .get_policy(pb::GetPolicyRequest {})
        .await
        .expect("policy")
        .into_inner()
        .version;

    admin
        .set_override(pb::SetOverrideRequest {
            r#override: Some(pb::Override {
                tenant_id: "bsp-1".into(),
                account_id: "bad".into(),
                mode: pb::OverrideMode::Deny as i32,
                reason: "case 12: confirmed reseller of an assistant".into(),
                expires_at_ms: 0,
            }),
        })
        .await
        .expect("set");
    admin
        .clear_override(pb::ClearOverrideRequest {
            tenant_id: "bsp-1".into(),
            account_id: "bad".into(),
            reason: "case 12 closed".into(),
        })
        .await
        .expect("clear");
    let bad_rules = admin
        .reload_rules(pb::ReloadRulesRequest {
            rules_yaml: "version: broken\nrules: [".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(bad_rules.code(), tonic::Code::InvalidArgument);
    let new_yaml = include_str!("../rules/default.yaml")
        .replace("version: \"2026-12-02.4\"", "version: \"audit-test\"");
    let new_rules = admin
        .reload_rules(pb::ReloadRulesRequest {
            rules_yaml: new_yaml.clone(),
        })
        .await
        .expect("accepted")
        .into_inner()
        .version;
    admin
        .reload_policy(pb::ReloadPolicyRequest {
            policy_yaml: "not: a policy".into(),
        })
        .await
        .expect_err("policy refused");
    // The rules file changes: the service reloads it itself, as `file`.
    let file_yaml = new_yaml.replace("version: \"audit-test\"", "version: \"from-file\"");
    std::fs::write(dir.path().join("rules.yaml"), &file_yaml).expect("rewrite rules");
    let mut from_file = None;
    for _ in 0..200 {
        let r = admin
            .list_audit(pb::ListAuditRequest {
                who: "file".into(),
                ..Default::default()
            })
            .await
            .expect("ListAudit")
            .into_inner();
        if let Some(r) = r.records.into_iter().next() {
            from_file = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let from_file = from_file.expect("the file reload is audited");
    assert_eq!(
        (from_file.kind.as_str(), from_file.result.as_str()),
        ("rules_reload", "accepted")
    );
    assert_eq!(from_file.old_version, new_rules);
    assert!(from_file.new_version.starts_with("from-file@"));

    let samples = parse_prometheus(&svc.telemetry().render());
    for (kind, n) in [
        ("override_set", 1.0),
        ("override_cleared", 1.0),
        ("rules_reload", 3.0),
        ("policy_reload", 1.0),
        ("denied", 0.0),
    ] {
        let name = format!("satpam_audit_records_total{{kind=\"{kind}\"}}");
        assert_eq!(common::service::sample(&samples, &name), Some(n), "{name}");
    }
    svc.shutdown().await.expect("shutdown");

    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let got: Vec<[String; 6]> = lines
        .iter()
        .map(|v| {
            [
                field(v, "who"),
                field(v, "kind"),
                field(v, "tenant_id"),
                field(v, "account_id"),
                field(v, "result"),
                field(v, "mode"),
            ]
        })
        .collect();
    let row = |a: [&str; 6]| a.map(str::to_string);
    assert_eq!(
        got,
        [
            row([
                "anonymous",
                "override_set",
                "bsp-1",
                "bad",
                "accepted",
                "deny"
            ]),
            row([
                "anonymous",
                "override_cleared",
                "bsp-1",
                "bad",
                "accepted",
                ""
            ]),
            row(["anonymous", "rules_reload", "", "", "refused", ""]),
            row(["anonymous", "rules_reload", "", "", "accepted", ""]),
            row(["anonymous", "policy_reload", "", "", "refused", ""]),
            row(["file", "rules_reload", "", "", "accepted", ""]),
        ]
    );
    assert_eq!(
        field(&lines[0], "reason"),
        "case 12: confirmed reseller of an assistant"
    );
    assert_eq!(field(&lines[1], "reason"), "case 12 closed");
    // A refused reload names the error and leaves the version as it was.
    assert!(!field(&lines[2], "reason").is_empty());
    assert_eq!(field(&lines[2], "old_version"), old_rules);
    assert_eq!(field(&lines[2], "new_version"), old_rules);
    assert_eq!(field(&lines[3], "old_version"), old_rules);
    assert_eq!(field(&lines[3], "new_version"), new_rules);
    assert_eq!(field(&lines[4], "old_version"), old_policy);
    assert_eq!(field(&lines[4], "new_version"), old_policy);
    assert!(lines
        .iter()
        .all(|v| v["at_ms"].as_i64().is_some_and(|t| t > 0)));
    for p in PROMPTS {
        assert!(!text.contains(p), "message text in the audit trail");
    }

    // A restarted service reads the trail back for ListAudit.
    let svc = start(dir.path(), "").await;
    let mut admin = pb::admin_client::AdminClient::new(channel(&svc).await);
    let back = admin
        .list_audit(pb::ListAuditRequest {
            kind: "override_set".into(),
            ..Default::default()
        })
        .await
        .expect("ListAudit after restart")
        .into_inner();
    assert_eq!(back.records.len(), 1);
    assert_eq!(
        back.records[0].reason,
        "case 12: confirmed reseller of an assistant"
    );
    svc.shutdown().await.expect("shutdown");
}
