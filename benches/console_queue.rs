//! The web console's queue at 100,000 actioned accounts: one request walks
//! every account, filters, and selects its page (a partial selection, no
//! full sort). Prints the median of 15 renders per query; gates nothing
//! (timings on a shared machine are figures, not tests).
//!
//! cargo bench --bench console_queue
//!
//! The accounts are put in force the cheap way: a deny override for each,
//! then one event each, which the ladder turns into SUSPEND.

use std::sync::Arc;
use std::time::Instant;

use satpam::access::auth::Principal;
use satpam::config::Config;
use satpam::console::auth::Viewer;
use satpam::console::pages::queue::{self, QueueQuery};
use satpam::console::{Console, ConsoleDeps};
use satpam::decide::{Override, OverrideMode, Overrides};
use satpam::pb::v1 as pb;
use satpam::{Event, Scratch};

const ACCOUNTS: usize = 100_000;

fn main() {
    let config = Config::from_toml(
        "[sinks]\njsonl = \"\"\n[audit]\npath = \"\"\n[console]\nlisten = \"127.0.0.1:0\"\n",
        "bench.toml",
        Vec::new(),
    )
    .expect("config");
    let parts = satpam::service::build::build(&config).expect("parts");
    let ctx = parts.shards.context().clone();
    let now = ctx.clock().now_ms();
    let mut overrides = Overrides::default();
    let id = |i: usize| (format!("bsp-{}", i % 20), format!("acc-{i:06}"));
    for i in 0..ACCOUNTS {
        let (tenant_id, account_id) = id(i);
        overrides
            .set(Override {
                tenant_id,
                account_id,
                mode: OverrideMode::Deny,
                reason: "bench".into(),
                expires_at_ms: None,
            })
            .expect("override");
    }
    ctx.swap_overrides(overrides);
    let mut scratch = Scratch::default();
    let started = Instant::now();
    for i in 0..ACCOUNTS {
        let (tenant_id, account_id) = id(i);
        let m = pb::MessageEvent {
            event_id: format!("e{i}"),
            tenant_id: tenant_id.clone(),
            account_id: account_id.clone(),
            user_id: format!("u{i}"),
            user_country: if i % 3 == 0 { "ID".into() } else { "BR".into() },
            direction: pb::Direction::Inbound as i32,
            kind: pb::MessageKind::Text as i32,
            text_length: 20,
            timestamp_ms: now - (i as i64 % 3_600) * 1_000,
            ..Default::default()
        };
        let e = Event::try_from(m).expect("valid event");
        parts
            .shards
            .grpc_shard(&tenant_id, &account_id)
            .process(&e, &mut scratch);
    }
    println!(
        "{ACCOUNTS} accounts put in force in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let console = Console::build(
        &config.console,
        ConsoleDeps {
            shards: parts.shards.clone(),
            rules: parts.rules.clone(),
            overrides: parts.overrides.clone(),
            gate: parts.gate.clone(),
            hub: parts.hub.clone(),
            overrides_path: None,
            actions: None,
            events_topic: None,
        },
    )
    .expect("console");
    let viewer = Viewer {
        principal: Arc::new(Principal::anonymous()),
        session: None,
        csrf: String::new(),
        auth_off: true,
    };
    let all = queue::find(&console, &viewer, &QueueQuery::default());
    assert_eq!(all.total, ACCOUNTS, "every account in force");
    println!("query                                   median ms   rows   matching");
    for (name, q) in [
        ("first page, by score", QueueQuery::default()),
        (
            "page 1000 (the last), by last event",
            QueueQuery {
                sort: "time".into(),
                page: 1_999,
                ..QueueQuery::default()
            },
        ),
        (
            "one tenant, country ID",
            QueueQuery {
                tenant: "bsp-7".into(),
                country: "ID".into(),
                ..QueueQuery::default()
            },
        ),
        (
            "by users (24 h)",
            QueueQuery {
                sort: "users".into(),
                ..QueueQuery::default()
            },
        ),
    ] {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..15 {
            let t = Instant::now();
            let html = queue::render(&console, &viewer, &q);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            last = Some(html);
        }
        times.sort_by(f64::total_cmp);
        let found = queue::find(&console, &viewer, &q);
        let _ = last;
        println!(
            "{name:<38} {:>9.1} {:>6} {:>10}",
            times[times.len() / 2],
            found.rows.len(),
            found.total
        );
    }
}
