//! The country policy in the running service: reloaded from its file and
//! over Admin like the rules (a broken one refused, the policy in force
//! kept), applied to the next events, carried on signals, and the charge
//! accounting exposed in Admin and /metrics.

mod common;

use std::path::Path;
use std::time::Duration;

use common::service::{http_get, parse_prometheus, sample};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tonic::transport::Channel;

const P1: &str =
    "version: p1\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n";
const P2: &str = "version: p2\noutcomes:\n  - id: terms\n    where: default\n    outcome: enforce\n  - id: it-charge\n    where: IT\n    from: 2026-01-01\n    outcome: charge\n    charge: {currency: EUR, per_message: 0.05}\n";

async fn start(dir: &Path) -> RunningService {
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, P1).expect("policy");
    let toml = format!(
        "[engine]\npolicy = {policy:?}\nreload_poll_ms = 100\n\
         [grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [sinks]\njsonl = {jsonl:?}\n[audit]\npath = {audit:?}\n",
        policy = policy.display().to_string(),
        jsonl = dir.join("signals.jsonl").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

fn italian(account: &str) -> Vec<pb::MessageEvent> {
    traffic(Script::Assistant, account, 25, 120, true)
        .into_iter()
        .map(|mut m| {
            m.user_country = "IT".into();
            m
        })
        .collect()
}

async fn ingest(ch: Channel, events: Vec<pb::MessageEvent>) {
    let mut client = pb::ingest_client::IngestClient::new(ch);
    let batch = pb::EventBatch {
        batch_id: 1,
        events,
    };
    let mut acks = client
        .ingest(tokio_stream::iter(vec![batch]))
        .await
        .expect("ingest")
        .into_inner();
    while let Some(a) = tokio_stream::StreamExt::next(&mut acks).await {
        let a = a.expect("ack");
        assert_eq!(a.rejected, 0, "every event valid");
    }
}

fn field<'a>(v: &'a serde_json::Value, camel: &str, snake: &str) -> &'a serde_json::Value {
    v.get(camel)
        .or_else(|| v.get(snake))
        .unwrap_or(&serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_reloads_like_the_rules_and_applies_to_the_next_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let svc = start(dir.path()).await;
    let addr = svc.grpc_addr().expect("grpc");
    let ch = common::service::grpc_channel(addr).await;
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());

    // p1 enforces everywhere: the Italian assistant is suspended.
    ingest(ch.clone(), italian("it-1")).await;
    let before = admin
        .get_policy(pb::GetPolicyRequest {})
        .await
        .expect("policy")
        .into_inner();
    assert_eq!(before.version, "p1");
    assert_eq!(before.outcomes.len(), 1);

    // A broken policy over Admin is refused with its line; p1 stays.
    let broken = admin
        .reload_policy(pb::ReloadPolicyRequest {
            policy_yaml:
                "version: p3\noutcomes:\n  - id: x\n    where: Italy\n    outcome: charge\n".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(broken.code(), tonic::Code::InvalidArgument);
    assert!(
        broken.message().contains(
            "policy refused, the policy in force (p1) stays: ReloadPolicy request:3: outcome `x`: `where: Italy` is neither"
        ),
        "{}",
        broken.message()
    );
    let still = admin
        .get_policy(pb::GetPolicyRequest {})
        .await
        .expect("policy")
        .into_inner();
    assert_eq!(still.version, "p1");

    // A good file on disk is picked up by the poller.
    std::fs::write(dir.path().join("policy.yaml"), P2).expect("write");
    let mut version = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        version = admin
            .get_policy(pb::GetPolicyRequest {})
            .await
            .expect("policy")
            .into_inner()
            .version;
        if version == "p2" {
            break;
        }
    }
    assert_eq!(version, "p2");

    // p2 charges Italy: a new Italian assistant is charged, not suspended.
    ingest(ch.clone(), italian("it-2")).await;
    let acct = admin
        .get_account(pb::GetAccountRequest {
            tenant_id: "bsp-test".into(),
            account_id: "it-2".into(),
        })
        .await
        .expect("account")
        .into_inner();
    assert_eq!(acct.action, pb::Action::Charge as i32);
    let applied = acct.policy.expect("policy applied");
    assert_eq!(
        (
            applied.version.as_str(),
            applied.rule.as_str(),
            applied.outcome.as_str(),
            applied.r#where.as_str()
        ),
        ("p2", "it-charge", "charge", "IT")
    );
    assert!(acct.charged_messages_total > 0);
    let day_sum: u64 = acct.charges.iter().map(|d| u64::from(d.messages)).sum();
    assert_eq!(day_sum, acct.charged_messages_total);
    for d in &acct.charges {
        assert_eq!(d.currency, "EUR");
        assert!((d.estimated_cost - 0.05 * f64::from(d.messages)).abs() < 1e-9);
    }

    let (_, body) = http_get(svc.metrics_addr().expect("metrics"), "/metrics").await;
    let samples = parse_prometheus(&body);
    assert_eq!(
        sample(&samples, "satpam_policy_reloads_total{result=\"error\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "satpam_policy_reloads_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "satpam_charged_messages_total"),
        Some(acct.charged_messages_total as f64),
        "only it-2 was charged"
    );
    svc.shutdown().await.expect("shutdown");

    // The signals name the policy that decided them.
    let text = std::fs::read_to_string(dir.path().join("signals.jsonl")).expect("signals");
    let signals: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let of = |account: &str, action: &str| {
        signals
            .iter()
            .find(|s| field(s, "accountId", "account_id") == account && s["action"] == action)
    };
    let s1 = of("it-1", "ACTION_SUSPEND").expect("it-1 suspended under p1");
    assert_eq!(field(s1, "policyVersion", "policy_version"), "p1");
    assert_eq!(field(s1, "policyRule", "policy_rule"), "terms");
    let s2 = of("it-2", "ACTION_CHARGE").expect("it-2 charged under p2");
    assert_eq!(field(s2, "policyVersion", "policy_version"), "p2");
    assert_eq!(field(s2, "policyRule", "policy_rule"), "it-charge");
    assert_eq!(field(s2, "policyOutcome", "policy_outcome"), "charge");
    assert!(of("it-2", "ACTION_SUSPEND").is_none());
}
