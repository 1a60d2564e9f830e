//! A `satpam serve` in-process with its web console on, fed scripted
//! traffic over gRPC Ingest, and the console's forms from a test client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use satpam::access::auth::hash_token;
use satpam::pb::v1 as pb;
use satpam::service::{self, Config, RunningService};
use satpam_testkit::http::{form, request, Reply};
use tokio_stream::StreamExt;

/// Analyst: read, override (and ingest, to feed the test), every tenant.
pub const ANALYST: &str = "token-analyst";
/// Reader: read only, every tenant.
pub const READER: &str = "token-reader";

/// `[[auth.principals]]` of an analyst and a reader.
pub fn principals() -> String {
    format!(
        "[[auth.principals]]\nname = \"ana\"\ntoken_sha256 = \"{}\"\nroles = [\"ingest\", \"read\", \"override\"]\ntenants = [\"*\"]\n\
         [[auth.principals]]\nname = \"rita\"\ntoken_sha256 = \"{}\"\nroles = [\"read\"]\ntenants = [\"*\"]\n",
        hash_token(ANALYST),
        hash_token(READER)
    )
}

/// The service and its console's address.
pub struct Served {
    /// The running service.
    pub service: RunningService,
    /// The console.
    pub console: SocketAddr,
}

/// Starts a service with the console on a free port, overrides and the
/// audit trail in `dir`, and `extra` TOML (principals, `[console]` keys).
pub async fn start(dir: &Path, extra: &str) -> Served {
    start_with(dir, "", extra).await
}

/// [`start`] with `engine` TOML lines added to `[engine]` (e.g. `rules = "..."`).
pub async fn start_with(dir: &Path, engine: &str, extra: &str) -> Served {
    let toml = format!(
        "[engine]\noverrides = {overrides:?}\n{engine}\n\
         [grpc]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"\"\n\
         [sinks]\njsonl = \"\"\n[audit]\npath = {audit:?}\n[console]\nlisten = \"127.0.0.1:0\"\n{extra}",
        overrides = dir.join("overrides.yaml").display().to_string(),
        audit = dir.join("audit.jsonl").display().to_string(),
    );
    let config = Config::from_toml(&toml, "test.toml", Vec::new()).expect("config");
    let whole = config.clone();
    let mut service = service::start(config).await.expect("service starts");
    let console = satpam::console::start(&mut service, &whole)
        .await
        .expect("console starts")
        .expect("console on");
    Served { service, console }
}

/// Assistant traffic of `accounts` (tenant `bsp-test`), interleaved by time.
pub fn assistants(accounts: &[&str]) -> Vec<pb::MessageEvent> {
    let mut events: Vec<pb::MessageEvent> = accounts
        .iter()
        .flat_map(|a| super::traffic(super::Script::Assistant, a, 25, 120, false))
        .collect();
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

/// Sends `events` over Ingest with `token`; returns the signals acknowledged.
pub async fn ingest(grpc: SocketAddr, token: Option<&str>, events: Vec<pb::MessageEvent>) -> u32 {
    let ch = super::service::grpc_channel(grpc).await;
    let batches: Vec<pb::EventBatch> = events
        .chunks(500)
        .enumerate()
        .map(|(i, c)| pb::EventBatch {
            batch_id: i as u64 + 1,
            events: c.to_vec(),
        })
        .collect();
    let mut req = tonic::Request::new(tokio_stream::iter(batches));
    if let Some(t) = token {
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii"),
        );
    }
    let mut acks = pb::ingest_client::IngestClient::new(ch)
        .ingest(req)
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

/// A request from a blocking thread.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let (method, path, body) = (method.to_string(), path.to_string(), body.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(addr, &method, &path, &h, &body)
    })
    .await
    .expect("join")
    .expect("request")
}

/// Logs in with `token`; the `Cookie` header value of the session.
pub async fn login(addr: SocketAddr, token: &str) -> String {
    let r = call(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("token", token)]),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let set = r
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    set.split(';').next().expect("name=value").to_string()
}

/// A form POST with a session `cookie`.
pub async fn post(addr: SocketAddr, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    call(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie),
        ],
        &form(fields),
    )
    .await
}

/// A GET with a session `cookie`.
pub async fn get(addr: SocketAddr, cookie: &str, path: &str) -> Reply {
    call(addr, "GET", path, &[("Cookie", cookie)], "").await
}

/// The CSRF token of the page's forms.
pub fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of value")].to_string()
}

/// `token` with its first character changed: always another token (a
/// replace of one letter is not, when the token happens to lack it).
pub fn tampered(token: &str) -> String {
    let mut chars = token.chars();
    let first = match chars.next() {
        Some('0') => '1',
        Some(_) => '0',
        None => '0',
    };
    std::iter::once(first).chain(chars).collect()
}

/// Writes recorded traffic for the backtest page into `dir`: `day.jsonl`
/// (a metadata-only baseline scenario of `accounts` accounts over `hours`,
/// the kind `.ci/run`'s rules diff step replays) and `labels.csv`.
pub fn recorded_traffic(dir: &Path, accounts: usize, hours: f64) {
    use satpam_scenario::{Scenario, ScenarioConfig, TextBank};
    let config = ScenarioConfig {
        accounts,
        hours,
        seed: 20261122,
        metadata_only: true,
        ..ScenarioConfig::default()
    };
    let s = Scenario::generate(&config, std::sync::Arc::new(TextBank::builtin()));
    let events = std::fs::File::create(dir.join("day.jsonl")).expect("events file");
    s.write_events_jsonl(events).expect("events written");
    let labels = std::fs::File::create(dir.join("labels.csv")).expect("labels file");
    s.write_labels_csv(labels).expect("labels written");
}

/// The default pack with THROTTLE at 0.6 instead of 0.7 (`.ci/run`'s rules diff step).
pub fn throttle_at_0_6() -> String {
    let pack = include_str!("../../rules/default.yaml");
    assert!(
        pack.contains("throttle: 0.7,"),
        "the default pack's THROTTLE is 0.7"
    );
    pack.replace("throttle: 0.7,", "throttle: 0.6,")
}
