//! The audit trail on the Kafka audit topic: with Kafka configured, each
//! admin action is produced to `kafka.audit_topic` as JSON keyed by tenant
//! (and still written to the file). Needs a broker (not run in the plain
//! test run):
//!
//! ```text
//! SATPAM_TEST_BROKERS=127.0.0.1:19092 cargo test --test audit_kafka -- --ignored --test-threads 1
//! ```

mod common;

use std::time::Duration;

use common::kafka::{brokers, create_topic, create_topics, read_topic, unique};
use satpam::access::auth::hash_token;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config};
use tonic::Request;

fn as_ops<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", "Bearer ops-token".parse().expect("ascii"));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn admin_actions_are_produced_to_the_audit_topic() {
    let name = unique("audit");
    let topics = create_topics(&name, 1).await;
    let audit_topic = format!("{name}.audit");
    create_topic(&audit_topic, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"\"\n[sinks]\njsonl = \"\"\n\
         [audit]\npath = {audit:?}\n\
         [kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\nevents_topic = \"{events}\"\n\
         signals_topic = \"{signals}\"\ndead_letter_topic = \"{dlq}\"\naudit_topic = \"{audit_topic}\"\n\
         [[auth.principals]]\nname = \"ops\"\ntoken_sha256 = \"{hash}\"\n\
         roles = [\"read\", \"override\", \"rules\"]\ntenants = [\"*\"]\n",
        audit = dir.path().join("audit.jsonl").display().to_string(),
        brokers = brokers(),
        group = topics.group,
        events = topics.events,
        signals = topics.signals,
        dlq = topics.dlq,
        hash = hash_token("ops-token"),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    let svc = service::start(config).await.expect("service starts");
    let addr = svc.grpc_addr().expect("grpc on");
    let ch = common::service::grpc_channel(addr).await;
    let mut admin = pb::admin_client::AdminClient::new(ch);
    admin
        .set_override(as_ops(pb::SetOverrideRequest {
            r#override: Some(pb::Override {
                tenant_id: "bsp-7".into(),
                account_id: "acc-1".into(),
                mode: pb::OverrideMode::Deny as i32,
                reason: "case 99".into(),
                expires_at_ms: 0,
            }),
        }))
        .await
        .expect("set");
    admin
        .reload_rules(as_ops(pb::ReloadRulesRequest {
            rules_yaml: "version: x\nrules: [".into(),
        }))
        .await
        .expect_err("refused");
    // Shutdown flushes the audit producer.
    svc.shutdown().await.expect("shutdown");

    let records = tokio::task::spawn_blocking(move || {
        read_topic(&audit_topic, Duration::from_secs(20), |r| r.len() >= 2)
    })
    .await
    .expect("join");
    assert_eq!(records.len(), 2);
    let json: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::from_slice(&r.payload).expect("JSON record"))
        .collect();
    assert_eq!(records[0].key.as_deref(), Some(&b"bsp-7"[..]));
    assert_eq!(json[0]["kind"], "override_set");
    assert_eq!(json[0]["who"], "ops");
    assert_eq!(json[0]["account_id"], "acc-1");
    assert_eq!(json[0]["reason"], "case 99");
    assert_eq!(json[1]["kind"], "rules_reload");
    assert_eq!(json[1]["result"], "refused");
    assert_eq!(json[1]["old_version"], json[1]["new_version"]);
    // The file has the same records.
    let file = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit file");
    let lines: Vec<serde_json::Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert_eq!(lines, json);
}
