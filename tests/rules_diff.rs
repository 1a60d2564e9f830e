//! `satpam rules diff` as CI runs it: a table of old/new rule pairs over
//! small hand-built event sets, each with the moves it must report.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{traffic, Script};

const DEFAULT: &str = include_str!("../rules/default.yaml");

fn satpam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_satpam"))
}

/// The events: `big` an assistant with 25 users, `small` one with 5, `shop` a support bot.
fn write_events(dir: &Path) -> PathBuf {
    let mut events = traffic(Script::Assistant, "big", 25, 180, true);
    events.extend(traffic(Script::Assistant, "small", 5, 180, true));
    events.extend(traffic(Script::SupportBot, "shop", 25, 180, true));
    events.sort_by_key(|m| m.timestamp_ms);
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    let path = dir.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write events");
    path
}

fn diff(dir: &Path, events: &Path, new_rules: &str, extra: &[&str]) -> Output {
    let old = dir.join("old.yaml");
    let new = dir.join("new.yaml");
    std::fs::write(&old, DEFAULT).expect("old");
    std::fs::write(&new, new_rules).expect("new");
    satpam()
        .args(["rules", "diff", "--events"])
        .arg(events)
        .arg("--old")
        .arg(&old)
        .arg("--new")
        .arg(&new)
        .args(extra)
        .output()
        .expect("runs")
}

/// `rules` without the rule blocks of `ids` (each runs to the next `  - id:`).
fn without_rules(rules: &str, ids: &[&str]) -> String {
    let mut out = rules.to_string();
    for id in ids {
        let start = out
            .find(&format!("  - id: {id}\n"))
            .expect("rule in the pack");
        let len = out[start + 1..]
            .find("  - id: ")
            .map_or(out.len() - start, |n| n + 1);
        out.replace_range(start..start + len, "");
    }
    out
}

/// One row: a new rules file and the moves it must cause, as
/// (account, old action, new action, rules that made the difference).
struct Case {
    name: &'static str,
    new: String,
    moves: Vec<(&'static str, &'static str, &'static str, Vec<&'static str>)>,
}

const LADDER: &str = "decision: thresholds or minimum evidence";

#[test]
fn rule_changes_move_the_accounts_they_should() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write_events(dir.path());
    let cases = [
        Case {
            name: "identical rules",
            new: DEFAULT.to_string(),
            moves: vec![],
        },
        Case {
            name: "stricter minimum evidence for SUSPEND (users 12 -> 4)",
            new: DEFAULT.replace(
                "suspend: { sessions: 15, users: 12 }",
                "suspend: { sessions: 4, users: 4 }",
            ),
            moves: vec![("small", "THROTTLE", "SUSPEND", vec![LADDER])],
        },
        Case {
            name: "laxer SUSPEND score threshold (0.88 -> 0.99)",
            new: DEFAULT.replace("suspend: 0.88 }", "suspend: 0.99 }"),
            moves: vec![("big", "SUSPEND", "THROTTLE", vec![LADDER])],
        },
        // Since pack 2026-12-02.1 `big` also reaches SUSPEND later through
        // returning_users_never_handed_off, so it goes too; the diff names the
        // removed rules that were active when the old pack suspended.
        Case {
            name: "four rules removed",
            new: without_rules(
                DEFAULT,
                &[
                    "open_domain_requests",
                    "unrelated_topic_spread",
                    "tireless_long_form_bot",
                    "returning_users_never_handed_off",
                ],
            ),
            moves: vec![(
                "big",
                "SUSPEND",
                "THROTTLE",
                vec![
                    "open_domain_requests v5",
                    "tireless_long_form_bot v4",
                    "unrelated_topic_spread v3",
                ],
            )],
        },
    ];
    for case in cases {
        let out = diff(dir.path(), &events, &case.new, &["--json"]);
        assert!(
            out.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let d = &v["diff"];
        let got: Vec<(String, String, String, Vec<String>)> = d["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                let rules = c["rules"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                (s("account_id"), s("old"), s("new"), rules)
            })
            .collect();
        let want: Vec<(String, String, String, Vec<String>)> = case
            .moves
            .iter()
            .map(|(a, o, n, r)| {
                (
                    a.to_string(),
                    o.to_string(),
                    n.to_string(),
                    r.iter().map(|x| x.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{}: {v}", case.name);
        let ups = case.moves.iter().filter(|m| m.2 == "SUSPEND").count() as u64;
        assert_eq!(d["up"], ups, "{}", case.name);
        assert_eq!(d["down"], case.moves.len() as u64 - ups, "{}", case.name);
        // The support bot is never actioned on either side.
        assert!(!v.to_string().contains("\"shop\""), "{}: {v}", case.name);
        assert_eq!(v["events"], 1750, "{}", case.name);
    }
}

#[test]
fn the_text_report_names_transitions_tenants_and_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write_events(dir.path());
    let new = without_rules(
        DEFAULT,
        &[
            "open_domain_requests",
            "unrelated_topic_spread",
            "tireless_long_form_bot",
            "returning_users_never_handed_off",
        ],
    );
    let out = diff(dir.path(), &events, &new, &[]);
    assert!(out.status.success());
    // Compared with runs of spaces collapsed: columns may be widened.
    let text = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "moved up 0, moved down 1, unchanged 1",
        "\nSUSPEND -> THROTTLE 1\n",
        "\nbsp-test up 0 down 1\n",
        "\nopen_domain_requests v5 up 0 down 1\n",
        "\ntireless_long_form_bot v4 up 0 down 1\n",
        "\nbsp-test / big SUSPEND -> THROTTLE down (open_domain_requests v5, tireless_long_form_bot v4, unrelated_topic_spread v3)",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("Certainly"), "message text in the report");
}

#[test]
fn labels_with_any_archetype_names_give_scorecard_deltas_and_targets_gate_the_new_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write_events(dir.path());
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "account_id,archetype,violating\nbig,luzia_clone,true\nsmall,side_chat,true\nshop,umkm_shop,false\n",
    )
    .expect("labels");
    let labels = labels.to_str().expect("utf-8 path");
    let args = ["--json", "--labels", labels, "--targets", "metadata"];
    let same = diff(dir.path(), &events, DEFAULT, &args);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&same.stdout).expect("json");
    assert_eq!(v["scorecard"]["new"]["overall"]["recall_enforced"], 1.0);
    assert_eq!(
        v["scorecard"]["delta"]["recall (throttled/suspended/charged)"],
        0.0
    );

    // Nothing reaches THROTTLE any more: recall falls to 0 and the new rules miss.
    let blind = DEFAULT.replace(
        "thresholds: { flag: 0.5, throttle: 0.7, suspend: 0.88 }",
        "thresholds: { flag: 0.5, throttle: 0.99, suspend: 0.995 }",
    );
    let out = diff(dir.path(), &events, &blind, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["scorecard"]["delta"]["recall (throttled/suspended/charged)"],
        -1.0
    );
    let misses = v["target_misses"].as_array().expect("misses");
    assert!(
        misses
            .iter()
            .any(|m| m.as_str().is_some_and(|m| m.starts_with("recall 0.0000 <"))),
        "{v}"
    );
    let changes = v["diff"]["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .all(|c| c["violating"] == true && c["up"] == false),
        "{v}"
    );
    assert!(
        changes.iter().any(|c| c["archetype"] == "luzia_clone"),
        "{v}"
    );
}

#[test]
fn a_bad_rules_file_is_named_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write_events(dir.path());
    let broken = "version: ci\nrules:\n  - id: broken\n    version: 1\n    description: typo in a feature\n    score: 0.5\n    when: account.user_24h > 3\n";
    let out = diff(dir.path(), &events, broken, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("new.yaml:7: rule `broken`: unknown feature"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing replayed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
