//! Hostile input gets a clear error and changes nothing else: a base
//! scenario replayed (the driver behind `satpam replay`) with and without
//! each hostile input. Each input must be refused with its reason, and the
//! signals for the rest of the traffic (for the caps: the other tenants'
//! traffic) must stay byte-identical to a run without it.

use std::sync::Arc;

use satpam::decide::{CountryPolicy, Override, OverrideMode, Overrides};
use satpam::io::SignalWriter;
use satpam::pb::v1::MessageEvent;
use satpam::replay::{ReplaySummary, Replayer};
use satpam::state::StateLimits;
use satpam::{EngineConfig, RuleSet};
use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

const DAY: i64 = 86_400_000;
const FLOOD_TENANT: &str = "flood-tenant";

/// Per-tenant caps the base scenario stays under and the flood goes over.
fn config() -> EngineConfig {
    EngineConfig {
        limits: StateLimits {
            max_conversations_per_tenant: 3_000,
            max_accounts_per_tenant: 200,
            ..StateLimits::default()
        },
        ..EngineConfig::default()
    }
}

/// What one run is given: events, and a rules file or override an
/// operator tries to load before it.
#[derive(Clone)]
struct Input {
    events: Vec<MessageEvent>,
    rules_yaml: Option<String>,
    set_override: Option<Override>,
}

struct Run {
    /// Signals as `satpam replay --out` writes them, the flood tenant's left out.
    signals: Vec<u8>,
    /// Every error reported: refused rules or override, refused records.
    errors: Vec<String>,
    summary: ReplaySummary,
    cap_evictions: (u64, u64),
    flood_tracked: (usize, usize),
}

fn run(input: Input) -> Run {
    let mut errors = Vec::new();
    // As the service does: a refused rules file leaves the running rules in force.
    let rules = match input.rules_yaml {
        Some(src) => match RuleSet::from_yaml(&src, "hostile.yaml") {
            Ok(r) => Arc::new(r),
            Err(e) => {
                errors.push(e.to_string());
                Arc::new(RuleSet::default_pack())
            }
        },
        None => Arc::new(RuleSet::default_pack()),
    };
    let mut overrides = Overrides::default();
    if let Some(o) = input.set_override {
        if let Err(e) = overrides.set(o) {
            errors.push(e.to_string());
        }
    }
    let mut replayer = Replayer::new(rules, CountryPolicy::default(), overrides, config());
    let mut writer = SignalWriter::new(Vec::new());
    for (i, m) in input.events.into_iter().enumerate() {
        if let Some(s) = replayer.feed(i as u64 + 1, Ok(m)) {
            if s.tenant_id != FLOOD_TENANT {
                writer.write(&s).expect("write");
            }
        }
    }
    let (summary, engine) = replayer.finish();
    errors.extend(summary.errors.iter().map(|e| e.reason.clone()));
    Run {
        signals: writer.finish().expect("finish"),
        errors,
        cap_evictions: engine.store().cap_evictions(),
        flood_tracked: engine.store().tenant_counts(FLOOD_TENANT),
        summary,
    }
}

fn base() -> Vec<MessageEvent> {
    let scenario = Scenario::generate(
        &ScenarioConfig {
            accounts: 40,
            hours: 3.0,
            seed: 13,
            ..ScenarioConfig::default()
        },
        Arc::new(TextBank::builtin()),
    );
    let mut events: Vec<MessageEvent> = scenario.events().collect();
    events.sort_by_key(|m| m.timestamp_ms);
    events
}

/// `m`, moved to another account (and conversation) of its tenant.
fn intruder(m: &MessageEvent, n: usize) -> MessageEvent {
    MessageEvent {
        account_id: format!("acc-intruder-{n}"),
        user_id: format!("intruder-user-{n}"),
        conversation_id: String::new(),
        event_id: format!("intruder-{n}"),
        ..m.clone()
    }
}

/// Inserts `extra` in the middle of the events.
fn in_the_middle(mut events: Vec<MessageEvent>, extra: Vec<MessageEvent>) -> Vec<MessageEvent> {
    let at = events.len() / 2;
    events.splice(at..at, extra);
    events
}

fn with_time(m: MessageEvent, ts: i64) -> MessageEvent {
    MessageEvent {
        timestamp_ms: ts,
        ..m
    }
}

fn rules_with_when(when: &str) -> String {
    format!(
        "version: hostile\nrules:\n  - id: r\n    version: 1\n    description: d\n    score: 0.5\n    when: '{when}'\n"
    )
}

#[test]
fn each_hostile_input_gets_its_error_and_changes_nothing_else() {
    let events = base();
    let clean = run(Input {
        events: events.clone(),
        rules_yaml: None,
        set_override: None,
    });
    assert!(clean.errors.is_empty(), "{:?}", clean.errors);
    assert!(
        clean.signals.len() > 1_000,
        "the base scenario must signal for the comparison to mean anything"
    );
    assert_eq!(clean.cap_evictions, (0, 0), "the base stays under the caps");

    let mid = events[events.len() / 2].clone();
    let (first, last) = (events[0].timestamp_ms, mid.timestamp_ms);
    let acted_on = String::from_utf8(clean.signals.clone()).expect("utf-8");
    let acted: serde_json::Value =
        serde_json::from_str(acted_on.lines().next().expect("a signal")).expect("json");
    let (tenant, account) = (
        acted["tenantId"].as_str().expect("tenant").to_string(),
        acted["accountId"].as_str().expect("account").to_string(),
    );

    // A flood of a million unique users (each its own conversation) over
    // 400 accounts in another tenant.
    const FLOOD: i64 = 1_000_000;
    let flood: Vec<MessageEvent> = (0..FLOOD)
        .map(|i| MessageEvent {
            tenant_id: FLOOD_TENANT.into(),
            account_id: format!("flood-acc-{}", i % 400),
            user_id: format!("flood-user-{i}"),
            conversation_id: String::new(),
            event_id: format!("flood-{i}"),
            timestamp_ms: first + (last - first) * i / FLOOD,
            ..mid.clone()
        })
        .collect();
    let mut flooded = events.clone();
    flooded.extend(flood);
    flooded.sort_by_key(|m| m.timestamp_ms);

    let big_reason = "x".repeat(4 << 20);
    let nested = format!("{}msg.inbound{}", "(".repeat(200), ")".repeat(200));
    let sum_chain = format!("{} > 1", vec!["account.users_1h"; 200].join(" + "));
    let huge_rules = format!(
        "# {}\n{}",
        "padding ".repeat(7 << 20),
        include_str!("../rules/default.yaml")
    );

    type Case = (&'static str, Input, &'static str);
    let plain = |events: Vec<MessageEvent>| Input {
        events,
        rules_yaml: None,
        set_override: None,
    };
    let cases: Vec<Case> = vec![
        (
            "an event 400 days ahead (another account)",
            plain(in_the_middle(
                events.clone(),
                vec![with_time(intruder(&mid, 1), last + 400 * DAY)],
            )),
            "limits.max_future_ms",
        ),
        (
            "an event 400 days behind (another account)",
            plain(in_the_middle(
                events.clone(),
                vec![with_time(intruder(&mid, 2), last - 400 * DAY)],
            )),
            "limits.max_past_ms",
        ),
        (
            "an event at i64::MAX",
            plain(in_the_middle(
                events.clone(),
                vec![with_time(intruder(&mid, 3), i64::MAX)],
            )),
            "limits.max_future_ms",
        ),
        (
            "an event at i64::MIN",
            plain(in_the_middle(
                events.clone(),
                vec![with_time(intruder(&mid, 4), i64::MIN)],
            )),
            "timestamp_ms must be positive",
        ),
        (
            "a NUL in the tenant id",
            plain(in_the_middle(
                events.clone(),
                vec![MessageEvent {
                    tenant_id: format!("{}\0", mid.tenant_id),
                    ..intruder(&mid, 5)
                }],
            )),
            "field `tenant_id` contains a control character or NUL",
        ),
        (
            "a NUL in the user id of an acted-on account",
            plain(in_the_middle(
                events.clone(),
                vec![MessageEvent {
                    tenant_id: tenant.clone(),
                    account_id: account.clone(),
                    user_id: "user\0".into(),
                    ..intruder(&mid, 6)
                }],
            )),
            "field `user_id` contains a control character or NUL",
        ),
        (
            "an oversized text",
            plain(in_the_middle(
                events.clone(),
                vec![MessageEvent {
                    text: "word ".repeat(20_000),
                    ..intruder(&mid, 7)
                }],
            )),
            "text is longer than",
        ),
        (
            "an oversized rules file (56 MB)",
            Input {
                rules_yaml: Some(huge_rules),
                ..plain(events.clone())
            },
            "hostile.yaml:0: rules file is",
        ),
        (
            "a deeply nested rule",
            Input {
                rules_yaml: Some(rules_with_when(&nested)),
                ..plain(events.clone())
            },
            "hostile.yaml:7: rule `r`: condition nests deeper than",
        ),
        (
            "a rule nested by a chain of operators",
            Input {
                rules_yaml: Some(rules_with_when(&sum_chain)),
                ..plain(events.clone())
            },
            "hostile.yaml:7: rule `r`: condition nests deeper than",
        ),
        (
            "a 4 MB override reason",
            Input {
                set_override: Some(Override {
                    tenant_id: tenant.clone(),
                    account_id: account.clone(),
                    mode: OverrideMode::Deny,
                    reason: big_reason.clone(),
                    expires_at_ms: None,
                }),
                ..plain(events.clone())
            },
            "override reason is 4194304 bytes; at most 1024",
        ),
        (
            "a flood of a million unique users and 400 accounts in another tenant",
            plain(flooded),
            "",
        ),
    ];

    // The cases are independent runs: two at a time (one per core), then
    // checked in order.
    let cases: Vec<(&str, &str, Run)> = std::thread::scope(|scope| {
        let mut cases = cases.into_iter();
        let mut out = Vec::new();
        loop {
            let pair: Vec<_> = cases.by_ref().take(2).collect();
            if pair.is_empty() {
                break out;
            }
            let running: Vec<_> = pair
                .into_iter()
                .map(|(what, input, want)| (what, want, scope.spawn(move || run(input))))
                .collect();
            for (what, want, h) in running {
                out.push((what, want, h.join().expect("a hostile-input run panicked")));
            }
        }
    });
    for (what, want, got) in cases {
        let flood = want.is_empty();
        if flood {
            let (conv, acc) = got.flood_tracked;
            assert!(conv <= 3_000 && acc <= 200, "{what}: {conv} {acc}");
            assert!(
                got.cap_evictions.0 > 0 && got.cap_evictions.1 > 0,
                "{what}: the caps evicted and counted it: {:?}",
                got.cap_evictions
            );
            assert!(got.errors.is_empty(), "{what}: {:?}", got.errors);
        } else {
            assert_eq!(got.errors.len(), 1, "{what}: {:?}", got.errors);
            assert!(
                got.errors[0].contains(want),
                "{what}: want `{want}`, got `{}`",
                &got.errors[0][..got.errors[0].len().min(300)]
            );
            assert!(
                got.errors[0].len() < 1_000,
                "{what}: the error quotes the input"
            );
        }
        assert!(
            got.signals == clean.signals,
            "{what}: the signals of the rest of the traffic changed ({} -> {} bytes)",
            clean.signals.len(),
            got.signals.len()
        );
        assert!(
            !String::from_utf8_lossy(&got.signals).contains("xxxxxxxx"),
            "{what}: an override reason reached the evidence"
        );
        if !flood {
            assert_eq!(
                got.summary.engine.signals, clean.summary.engine.signals,
                "{what}: signal counts"
            );
        }
    }
}
