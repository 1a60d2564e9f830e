//! The service over gRPC, in-process on ephemeral ports, with a real tonic
//! client: Ingest, Signals.Watch, Admin, health, reflection and /metrics.

mod common;

use std::path::Path;
use std::time::Duration;

use common::service::{http_get, parse_prometheus, sample};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

async fn start(dir: &Path) -> RunningService {
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, include_str!("../rules/default.yaml")).expect("rules");
    let toml = format!(
        "[engine]\nrules = {rules:?}\noverrides = {overrides:?}\nreload_poll_ms = 100\n\
         [grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [sinks]\njsonl = {jsonl:?}\n[audit]\npath = {audit:?}\n",
        rules = rules.display().to_string(),
        overrides = dir.join("overrides.yaml").display().to_string(),
        jsonl = dir.join("signals.jsonl").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

async fn channel(s: &RunningService) -> Channel {
    let addr = s.grpc_addr().expect("grpc on");
    common::service::grpc_channel(addr).await
}

/// Sends events in batches over one Ingest stream; returns the acks.
async fn ingest(ch: Channel, events: Vec<pb::MessageEvent>, batch: usize) -> Vec<pb::BatchAck> {
    let mut client = pb::ingest_client::IngestClient::new(ch);
    let batches: Vec<pb::EventBatch> = events
        .chunks(batch)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let n = batches.len();
    let mut acks = client
        .ingest(tokio_stream::iter(batches))
        .await
        .expect("ingest")
        .into_inner();
    let mut out = Vec::new();
    while let Some(a) = acks.next().await {
        out.push(a.expect("ack"));
    }
    assert_eq!(out.len(), n, "one ack per batch");
    out
}

fn account_req(account: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        tenant_id: "bsp-test".into(),
        account_id: account.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_watch_and_admin_explain_the_signals() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let ch = channel(&svc).await;

    let mut watch = pb::signals_client::SignalsClient::new(ch.clone())
        .watch(pb::WatchRequest {
            tenant_id: "bsp-test".into(),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();

    let mut events = traffic(Script::Assistant, "bad", 25, 120, true);
    events.extend(traffic(Script::SupportBot, "good", 25, 120, true));
    events.sort_by_key(|e| e.timestamp_ms);
    let total = events.len();
    let acks = ingest(ch.clone(), events, 500).await;
    let accepted: u32 = acks.iter().map(|a| a.accepted).sum();
    let signals: u32 = acks.iter().map(|a| a.signals).sum();
    assert_eq!(accepted as usize, total);
    assert!(
        acks.iter()
            .enumerate()
            .all(|(i, a)| a.batch_id == i as u64 + 1),
        "acks in order"
    );
    assert!(signals >= 1, "the assistant is signalled");

    let mut seen = Vec::new();
    while seen.len() < signals as usize {
        let s = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("signal on the Watch stream")
            .expect("stream open")
            .expect("signal");
        seen.push(s);
    }
    assert!(
        seen.iter().all(|s| s.account_id == "bad"),
        "nothing for the legitimate account"
    );
    // The ladder's first rung: FLAG, or THROTTLE at once when the evidence
    // arrives together (the default pack since 2026-12-02.1).
    assert!(seen
        .iter()
        .any(|s| s.action == pb::Action::Flag as i32 || s.action == pb::Action::Throttle as i32));

    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let bad = admin
        .get_account(account_req("bad"))
        .await
        .expect("bad")
        .into_inner();
    let last = seen.last().expect("a signal");
    assert_eq!(
        bad.action, last.action,
        "GetAccount shows the action in force"
    );
    let evidence = bad.evidence.expect("evidence");
    assert!(!evidence.rules.is_empty(), "active rules explain it");
    assert!(evidence.users >= 3 && evidence.conversations >= 3);
    assert!(bad
        .features
        .iter()
        .any(|f| f.name.starts_with("account.") && f.value > 0.0));
    assert!(bad.signals as usize >= seen.len());
    let good = admin
        .get_account(account_req("good"))
        .await
        .expect("good")
        .into_inner();
    assert_eq!(good.action, pb::Action::Unspecified as i32);
    let missing = admin
        .get_account(account_req("nobody"))
        .await
        .expect_err("unknown account");
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let listed = admin
        .list_actioned(pb::ListActionedRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .accounts
            .iter()
            .map(|a| a.account_id.as_str())
            .collect::<Vec<_>>(),
        ["bad"]
    );

    // The JSONL sink holds the same signals.
    svc.shutdown().await.expect("clean shutdown");
    let lines = std::fs::read_to_string(dir.path().join("signals.jsonl")).expect("jsonl");
    assert_eq!(lines.lines().count(), seen.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_override_suppresses_actions_and_is_kept_in_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let ch = channel(&svc).await;
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());

    let no_reason = admin
        .set_override(pb::SetOverrideRequest {
            r#override: Some(pb::Override {
                tenant_id: "bsp-test".into(),
                account_id: "appealed".into(),
                mode: pb::OverrideMode::Allow as i32,
                ..Default::default()
            }),
        })
        .await
        .expect_err("a reason is required");
    assert_eq!(no_reason.code(), tonic::Code::InvalidArgument);
    admin
        .set_override(pb::SetOverrideRequest {
            r#override: Some(pb::Override {
                tenant_id: "bsp-test".into(),
                account_id: "appealed".into(),
                mode: pb::OverrideMode::Allow as i32,
                reason: "appeal 42 upheld".into(),
                expires_at_ms: 0,
            }),
        })
        .await
        .expect("override set");
    let acks = ingest(
        ch.clone(),
        traffic(Script::Assistant, "appealed", 25, 120, true),
        500,
    )
    .await;
    assert_eq!(
        acks.iter().map(|a| a.signals).sum::<u32>(),
        0,
        "no action under an allow override"
    );
    let state = admin
        .get_account(account_req("appealed"))
        .await
        .expect("state")
        .into_inner();
    assert_eq!(state.action, pb::Action::Unspecified as i32);
    assert_eq!(
        state.r#override.expect("override shown").reason,
        "appeal 42 upheld"
    );
    let file = std::fs::read_to_string(dir.path().join("overrides.yaml")).expect("persisted");
    assert!(file.contains("appeal 42 upheld"));

    // Cleared (with a reason), the same traffic pattern is actioned again.
    let cleared = admin
        .clear_override(pb::ClearOverrideRequest {
            tenant_id: "bsp-test".into(),
            account_id: "appealed".into(),
            reason: "appeal reopened".into(),
        })
        .await
        .expect("cleared")
        .into_inner();
    assert!(cleared.cleared);
    let later: Vec<pb::MessageEvent> = traffic(Script::Assistant, "appealed", 25, 120, true)
        .into_iter()
        .map(|mut e| {
            e.timestamp_ms += 3 * 3_600_000;
            e.event_id.push_str("-later");
            e
        })
        .collect();
    let acks = ingest(ch, later, 500).await;
    assert!(acks.iter().map(|a| a.signals).sum::<u32>() >= 1);
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_reload_is_refused_and_the_old_rules_keep_working() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let ch = channel(&svc).await;
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let before = admin
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rules")
        .into_inner();
    assert!(!before.rules.is_empty());

    let broken = admin
        .reload_rules(pb::ReloadRulesRequest {
            rules_yaml:
                "version: x\nrules:\n  - id: a\n    when: \"msg.bogus > 1\"\n    score: 0.5\n"
                    .into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(broken.code(), tonic::Code::InvalidArgument);
    assert!(
        broken.message().contains("ReloadRules request:"),
        "{}",
        broken.message()
    );
    assert!(
        broken.message().contains(&before.version),
        "names the rules still in force"
    );

    // A broken file on disk (the poller sees it) is refused too.
    std::fs::write(dir.path().join("rules.yaml"), "rules: [\n").expect("write");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = admin
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rules")
        .into_inner();
    assert_eq!(after.version, before.version);

    let acks = ingest(
        ch.clone(),
        traffic(Script::Assistant, "bad", 25, 120, true),
        500,
    )
    .await;
    assert!(
        acks.iter().map(|a| a.signals).sum::<u32>() >= 1,
        "old rules still decide"
    );

    // A good file is picked up by the poller.
    let mut replaced = false;
    let good: String = include_str!("../rules/default.yaml")
        .lines()
        .map(|l| {
            if !replaced && l.starts_with("version:") {
                replaced = true;
                "version: \"reloaded\"\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(replaced);
    std::fs::write(dir.path().join("rules.yaml"), good).expect("write");
    let mut version = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        version = admin
            .get_rule_set(pb::GetRuleSetRequest {})
            .await
            .expect("rules")
            .into_inner()
            .version;
        if version.starts_with("reloaded@") {
            break;
        }
    }
    assert!(version.starts_with("reloaded@"), "{version}");

    let (_, body) = http_get(svc.metrics_addr().expect("metrics"), "/metrics").await;
    let samples = parse_prometheus(&body);
    assert!(sample(&samples, "satpam_rule_reloads_total{result=\"error\"}").unwrap_or(0.0) >= 2.0);
    assert!(sample(&samples, "satpam_rule_reloads_total{result=\"ok\"}").unwrap_or(0.0) >= 1.0);
    svc.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reflection_and_metrics_are_served() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let ch = channel(&svc).await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    for service in [
        "",
        "satpam.v1.Ingest",
        "satpam.v1.Signals",
        "satpam.v1.Admin",
    ] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(ch.clone());
    let req = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut resp = reflection
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let first = resp.next().await.expect("answer").expect("ok");
    let names: Vec<String> = match first.message_response {
        Some(tonic_reflection::pb::v1::server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected {other:?}"),
    };
    for want in [
        "satpam.v1.Ingest",
        "satpam.v1.Signals",
        "satpam.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }

    // Valid events, one invalid, one with a NUL in an id and one dated 400
    // days past the wall clock: the three are refused in the ack and counted.
    let mut events = traffic(Script::SupportBot, "good", 2, 10, true);
    let mut bad = events[0].clone();
    bad.event_id.clear();
    let mut nul = events[0].clone();
    nul.account_id = "acc\0".into();
    let far = pb::MessageEvent {
        timestamp_ms: satpam::clock::Clock::now_ms(&satpam::clock::SystemClock) + 400 * 86_400_000,
        account_id: "from-the-future".into(),
        ..events[0].clone()
    };
    events.insert(1, bad);
    events.insert(2, nul);
    events.insert(3, far);
    let acks = ingest(ch, events.clone(), 100).await;
    assert_eq!(acks[0].rejected, 3);
    let reasons: Vec<(u32, &str)> = acks[0]
        .rejections
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(reasons[0].0, 1);
    assert!(reasons[0].1.contains("event_id"), "{reasons:?}");
    assert_eq!(reasons[1].0, 2);
    assert!(
        reasons[1].1.contains("control character or NUL"),
        "{reasons:?}"
    );
    assert_eq!(reasons[2].0, 3);
    assert!(reasons[2].1.contains("limits.max_future_ms"), "{reasons:?}");

    let addr = svc.metrics_addr().expect("metrics");
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let samples = parse_prometheus(&body);
    let n = events.len() as f64;
    assert_eq!(
        sample(&samples, "satpam_events_total{source=\"grpc\"}"),
        Some(n)
    );
    assert_eq!(
        sample(
            &samples,
            "satpam_validation_failures_total{source=\"grpc\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&samples, "satpam_event_time_refused_total{source=\"grpc\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "satpam_dead_letters_total{source=\"grpc\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &samples,
            "satpam_state_cap_evictions_total{kind=\"conversation\"}"
        ),
        Some(0.0)
    );
    assert_eq!(sample(&samples, "satpam_accounts_tracked"), Some(1.0));
    assert!(sample(&samples, "satpam_state_bytes{kind=\"account\"}").unwrap_or(0.0) > 0.0);
    for name in [
        "satpam_decode_failures_total{source=\"kafka\"}",
        "satpam_signals_total{action=\"flag\"}",
        "satpam_consumer_lag_messages",
        "satpam_conversations_tracked",
        "satpam_stage_latency_seconds_bucket{stage=\"process\",le=\"0.001\"}",
        "satpam_stage_latency_seconds_count{stage=\"in_service\"}",
    ] {
        assert!(sample(&samples, name).is_some(), "{name} missing");
    }
    assert!(samples
        .iter()
        .any(|(n, _)| n.starts_with("satpam_rule_hits_total{rule=")));
    svc.shutdown().await.expect("shutdown");
}

/// The `rule` → hits series of `satpam_rule_hits_total` in a scrape.
fn rule_hits(samples: &[(String, f64)]) -> std::collections::BTreeMap<String, f64> {
    samples
        .iter()
        .filter_map(|(name, v)| {
            let rule = name
                .strip_prefix("satpam_rule_hits_total{rule=\"")?
                .strip_suffix("\"}")?;
            Some((rule.to_string(), *v))
        })
        .collect()
}

/// A reload that drops a rule takes its hit series off /metrics; the rules
/// kept keep their counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_removed_by_a_reload_leaves_metrics_and_the_others_keep_their_counts() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let ch = channel(&svc).await;
    let metrics = svc.metrics_addr().expect("metrics");
    ingest(
        ch.clone(),
        traffic(Script::Assistant, "hits", 25, 120, true),
        500,
    )
    .await;
    let before = rule_hits(&parse_prometheus(&http_get(metrics, "/metrics").await.1));
    let pack: Vec<String> = satpam::RuleSet::default_pack()
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        before.keys().cloned().collect::<Vec<_>>(),
        {
            let mut ids = pack.clone();
            ids.sort();
            ids
        },
        "one series per rule of the pack"
    );
    let (dropped, _) = before
        .iter()
        .find(|(_, v)| **v > 0.0)
        .expect("a rule fired on the assistant's traffic");
    let dropped = dropped.clone();

    // The default pack without that rule.
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(include_str!("../rules/default.yaml")).expect("yaml");
    yaml["version"] = "without-one".into();
    let rules = yaml["rules"].as_sequence_mut().expect("rules");
    let n = rules.len();
    rules.retain(|r| r["id"].as_str() != Some(&dropped));
    assert_eq!(rules.len(), n - 1);
    pb::admin_client::AdminClient::new(ch.clone())
        .reload_rules(pb::ReloadRulesRequest {
            rules_yaml: yaml_serde::to_string(&yaml).expect("yaml"),
        })
        .await
        .expect("reloaded");

    let after = rule_hits(&parse_prometheus(&http_get(metrics, "/metrics").await.1));
    let mut want = before.clone();
    want.remove(&dropped);
    assert_eq!(after, want, "{dropped} gone, the others unchanged");
    svc.shutdown().await.expect("shutdown");
}
