//! Rules reloaded again and again while traffic flows, in-process: the
//! per-rule hit counts (`satpam_rule_hits_total` and `Admin.GetRuleSet`)
//! equal an in-memory replay's, by rule id. The reloads alternate the
//! default pack and the same rules in reverse order, so a hit credited by
//! the wrong set's index lands on another rule and the counts differ.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::service::{http_get, parse_prometheus};
use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use tokio_stream::StreamExt;

/// Batches sent between two reloads.
const BATCHES_PER_RELOAD: usize = 2;
const BATCH: usize = 100;

async fn start(dir: &Path) -> RunningService {
    let toml = format!(
        "[grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [sinks]\njsonl = {jsonl:?}\n[audit]\npath = {audit:?}\n",
        jsonl = dir.join("signals.jsonl").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    service::start(config).await.expect("service starts")
}

/// The default pack with its rules in reverse order (another version, so
/// another content hash and other rule indexes).
fn reversed_pack() -> String {
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(include_str!("../rules/default.yaml")).expect("yaml");
    yaml["version"] = "reversed".into();
    yaml["rules"].as_sequence_mut().expect("rules").reverse();
    yaml_serde::to_string(&yaml).expect("yaml")
}

/// Hits by rule id of an in-memory replay of `events`.
fn replayed_hits(events: &[pb::MessageEvent]) -> BTreeMap<String, u64> {
    let (_, replayer) = common::replay_default_pack(events.iter().cloned(), Default::default());
    let (summary, _) = replayer.finish();
    summary
        .rule_hits
        .into_iter()
        .map(|r| (r.id, r.hits))
        .collect()
}

fn metric_hits(body: &str) -> BTreeMap<String, u64> {
    parse_prometheus(body)
        .iter()
        .filter_map(|(name, v)| {
            let rule = name
                .strip_prefix("satpam_rule_hits_total{rule=\"")?
                .strip_suffix("\"}")?;
            Some((rule.to_string(), *v as u64))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_rule_hits_equal_a_replay_while_the_rules_reload_under_traffic() {
    let dir = tempfile::tempdir().expect("dir");
    let svc = start(dir.path()).await;
    let addr = svc.grpc_addr().expect("grpc");
    let ch = common::service::grpc_channel(addr).await;

    let mut events = Vec::new();
    for tag in ["r1", "r2", "r3"] {
        events.extend(traffic(
            Script::Assistant,
            &format!("{tag}-ai"),
            20,
            90,
            true,
        ));
        events.extend(traffic(
            Script::SupportBot,
            &format!("{tag}-shop"),
            20,
            90,
            true,
        ));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let want = replayed_hits(&events);
    assert!(
        want.values().filter(|h| **h > 0).count() >= 2,
        "several rules fire, so a misattributed hit shows: {want:?}"
    );

    // One Ingest stream fed batch by batch; a reload every
    // BATCHES_PER_RELOAD batches, without waiting for the batches' acks,
    // so reloads land while batches are being processed.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::EventBatch>(4);
    let mut ingest = pb::ingest_client::IngestClient::new(ch.clone());
    let acks = tokio::spawn(async move {
        let mut acks = ingest
            .ingest(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("ingest")
            .into_inner();
        let mut n = 0;
        while let Some(a) = acks.next().await {
            let a = a.expect("ack");
            assert_eq!(a.rejected, 0, "no event refused: {:?}", a.rejections);
            n += 1;
        }
        n
    });
    let packs = [
        reversed_pack(),
        include_str!("../rules/default.yaml").to_string(),
    ];
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let mut reloads = 0;
    let batches: Vec<_> = events.chunks(BATCH).collect();
    for (i, chunk) in batches.iter().enumerate() {
        tx.send(pb::EventBatch {
            batch_id: i as u64 + 1,
            events: chunk.to_vec(),
        })
        .await
        .expect("send");
        if i % BATCHES_PER_RELOAD == 0 {
            let yaml = packs[reloads % 2].clone();
            admin
                .reload_rules(pb::ReloadRulesRequest { rules_yaml: yaml })
                .await
                .expect("reloaded");
            reloads += 1;
        }
    }
    drop(tx);
    assert_eq!(
        acks.await.expect("acks"),
        batches.len(),
        "one ack per batch"
    );
    let n_reloads = reloads;
    assert!(n_reloads >= 10, "reloaded {n_reloads} times");

    let metrics = svc.metrics_addr().expect("metrics");
    let body = http_get(metrics, "/metrics").await.1;
    let got = metric_hits(&body);
    assert_eq!(
        got, want,
        "satpam_rule_hits_total by rule equals the replay"
    );

    let info = admin
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rule set")
        .into_inner();
    let by_admin: BTreeMap<String, u64> = info.rules.into_iter().map(|r| (r.id, r.hits)).collect();
    assert_eq!(by_admin, want, "GetRuleSet hits by rule equal the replay");
    assert!(
        body.contains(&format!(
            "satpam_rule_reloads_total{{result=\"ok\"}} {n_reloads}"
        )),
        "every reload taken"
    );
    svc.shutdown().await.expect("shutdown");
}

/// The window every reload opens: the new set's counters are registered
/// before the engine swaps to it, so an event evaluated with the old set is
/// counted while the new set's counters are in force. Its hits must go to
/// the old set's rules, by id.
#[test]
fn an_event_evaluated_with_the_old_set_is_credited_to_its_own_rules() {
    use std::sync::Arc;
    use std::time::Instant;

    use satpam::clock::ManualClock;
    use satpam::decide::CountryPolicy;
    use satpam::pipeline::{Handled, Pipeline};
    use satpam::sink::SignalHub;
    use satpam::telemetry::{Source, Telemetry};
    use satpam::{Engine, EngineConfig, RuleSet};

    let old = Arc::new(RuleSet::default_pack());
    let new = RuleSet::from_yaml(&reversed_pack(), "reversed.yaml").expect("reversed");
    let telemetry = Telemetry::new();
    let pipeline = Pipeline {
        hub: Arc::new(SignalHub::new(16, None, telemetry.clone())),
        kafka: None,
        telemetry: telemetry.clone(),
        fence: Default::default(),
    };
    let engine = Engine::new(
        old.clone(),
        CountryPolicy::enforce_everywhere(),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    );
    telemetry.register_rules(&old);
    let events = common::events_of(traffic(Script::Assistant, "w-ai", 20, 60, true));
    let mut worker = pipeline.worker();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if i == events.len() / 2 {
            // RulesManager::swap registers first; the engine still runs `old`.
            telemetry.register_rules(&new);
        }
        let handled = pipeline.handle(
            &engine,
            e,
            Source::Grpc,
            &mut worker,
            Instant::now(),
            || None,
        );
        assert!(matches!(handled, Handled::Processed(_)), "{handled:?}");
        for &r in worker.scratch.fired() {
            *want
                .entry(old.rules()[usize::from(r)].id.clone())
                .or_default() += 1;
        }
    }
    assert!(
        want.len() >= 2,
        "rules at different indexes in the two sets fired: {want:?}"
    );
    // A worker folds its counts with its latencies (or at a rule set change).
    worker.flush(&telemetry);
    let got: BTreeMap<String, u64> = new
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .zip(telemetry.rule_hit_counts(&new))
        .filter(|(_, h)| *h > 0)
        .collect();
    assert_eq!(got, want);
}
