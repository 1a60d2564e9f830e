//! The compliance report in each language it is written in: a table, per
//! language, of the sentences the report must hold with the account's own
//! numbers (written in that language's separators and dates); `satpam
//! report --lang id` as a BSP runs it (HTML `lang="id"`); and a marker in
//! every message text absent from every report.

mod common;

use std::path::Path;
use std::process::Command;

use common::{traffic, Script};
use satpam::pb::v1 as pb;
use satpam::report::{document::document, facts, render, Lang};
use satpam::service::account_state::account_state;
use satpam_testkit::figures::{grouped, pct};

/// In every message text: must appear in no report.
const MARKER: &str = "ZQX-MARKER-7731";

/// An assistant (`big`, 25 users) and a support bot (`shop`) of
/// `bsp-test`, every text carrying [`MARKER`].
fn events() -> Vec<pb::MessageEvent> {
    let mut events = traffic(Script::Assistant, "big", 25, 180, true);
    events.extend(traffic(Script::SupportBot, "shop", 25, 180, true));
    events.sort_by_key(|m| m.timestamp_ms);
    for e in &mut events {
        e.tenant_id = "bsp-test".to_string();
        e.text = format!("{} {MARKER}", e.text);
    }
    events
}

/// The states of `big` and `shop` after replaying [`events`].
fn states() -> (pb::AccountState, pb::AccountState) {
    let policy = satpam::decide::CountryPolicy::default();
    let (_, replayer) = common::replay_default_pack(events(), policy.clone());
    let (_, engine) = replayer.finish();
    let rules = satpam::RuleSet::default_pack();
    let state = |account: &str| {
        let mut entry = engine.account("bsp-test", account).expect("tracked");
        account_state(&mut entry, 0, &rules, &policy, None)
    };
    (state("big"), state("shop"))
}

/// The report of `state` in `lang`, as Markdown and as HTML.
fn reports(state: &pb::AccountState, lang: Lang) -> (String, String) {
    let f = facts::build(
        state,
        &satpam::RuleSet::default_pack(),
        &satpam::decide::CountryPolicy::default(),
    );
    let d = document(&f, lang);
    (render::markdown(&d), render::html(&d))
}

/// The score as the report writes it: two decimals at most, `decimal` as the point.
fn score(v: f64, decimal: &str) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0')
        .trim_end_matches('.')
        .replace('.', decimal)
}

/// One language's row: what `big`'s report must say, what `shop`'s must
/// say, and what must not be there.
struct Case {
    lang: Lang,
    code: &'static str,
    wants: Vec<String>,
    shop_wants: Vec<&'static str>,
    absent: Vec<&'static str>,
}

// Long because it is the table: each language's sentences, side by side.
#[test]
fn each_language_states_the_accounts_numbers_in_its_own_words() {
    let (big, shop) = states();
    let ev = big.evidence.clone().expect("evidence");
    let feature = |n: &str| {
        big.features
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.value)
            .expect(n)
    };
    assert_eq!(ev.users, 25, "the script's 25 users");
    let open = pct(feature("account.open_domain_task_share"));
    let read = feature("account.scanned_inbound_1h") as u64;
    let table: [Case; 2] = [
        Case {
            lang: Lang::En,
            code: "en",
            wants: vec![
                "# Compliance report: bsp-test / big".into(),
                "Risk level: severe. Action in force: SUSPEND.".into(),
                format!(
                    "The score is {} with {} sessions and 25 users in the last 24 hours ({} events in the last hour).",
                    score(big.score, "."),
                    grouped(ev.conversations, ","),
                    grouped(ev.events, ",")
                ),
                format!(
                    "No conversation of the {} sessions in the last 24 hours was handed to a person.",
                    grouped(ev.conversations, ",")
                ),
                format!(
                    "{open} of the {} user messages read in the last hour ask for open-domain work",
                    grouped(read, ",")
                ),
                "Offer a way to reach a human".into(),
                "The terms bind new API users from 15 October 2025 and all from 15 January 2026".into(),
                "| 2026-01-15 | enforce | ai-provider-terms |".into(),
            ],
            shop_wants: vec![
                "Risk level: low",
                "No rule is active for this account.",
            ],
            absent: vec!["## Tentang laporan ini", "Anda"],
        },
        Case {
            lang: Lang::Id,
            code: "id",
            wants: vec![
                "# Laporan kepatuhan: bsp-test / big".into(),
                "Tingkat risiko: sangat tinggi. Tindakan yang berlaku: SUSPEND (nomor ditangguhkan).".into(),
                format!(
                    "Skor akun Anda {}, dengan {} sesi dan 25 pengguna dalam 24 jam terakhir ({} kejadian dalam satu jam terakhir).",
                    score(big.score, ","),
                    grouped(ev.conversations, "."),
                    grouped(ev.events, ".")
                ),
                format!(
                    "Tidak ada satu pun dari {} sesi dalam 24 jam terakhir yang dialihkan ke petugas manusia.",
                    grouped(ev.conversations, ".")
                ),
                format!(
                    "{open} dari {} pesan pengguna yang dibaca dalam satu jam terakhir meminta pekerjaan umum",
                    grouped(read, ".")
                ),
                "Sediakan cara untuk menghubungi petugas manusia".into(),
                "mengikat pengguna API baru mulai 15 Oktober 2025 dan semua pengguna mulai 15 Januari 2026".into(),
                "| 15 Januari 2026 | enforce | ai-provider-terms |".into(),
            ],
            shop_wants: vec![
                "Tingkat risiko: rendah",
                "Tidak ada aturan yang aktif untuk akun ini.",
            ],
            // Nothing of the English text is left: headings, the rules
            // table's header, the remedies, the policy's words.
            absent: vec![
                "## Risk and action",
                "## What we see",
                "| Rule |",
                "Offer a way",
                "Judged against",
                "| From |",
                "Risk level",
            ],
        },
    ];
    for Case {
        lang,
        code,
        wants,
        shop_wants,
        absent,
    } in table
    {
        let (md, html) = reports(&big, lang);
        for want in &wants {
            assert!(
                md.contains(want.as_str()),
                "{code}: missing {want:?} in\n{md}"
            );
        }
        assert!(
            html.contains(&format!("<html lang=\"{code}\">")),
            "{code}: {html}"
        );
        for not in absent {
            assert!(!md.contains(not), "{code}: {not:?} in\n{md}");
        }
        let (shop_md, _) = reports(&shop, lang);
        for want in shop_wants {
            assert!(
                shop_md.contains(want),
                "{code}: missing {want:?} in\n{shop_md}"
            );
        }
        for (name, out) in [("markdown", &md), ("html", &html), ("shop", &shop_md)] {
            assert!(
                !out.contains(MARKER),
                "{code}: message text in the {name} report"
            );
            assert!(
                !out.contains("photosynthesis"),
                "{code}: message text in the {name} report"
            );
        }
    }
}

fn write(dir: &Path, events: &[pb::MessageEvent]) -> std::path::PathBuf {
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    let path = dir.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    path
}

#[test]
fn the_cli_writes_the_indonesian_report_with_lang_id() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write(dir.path(), &events());
    let f = file.to_str().expect("utf-8");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_satpam"))
            .args([
                "report",
                "--events",
                f,
                "--tenant",
                "bsp-test",
                "--account",
                "big",
            ])
            .args(extra)
            .output()
            .expect("runs")
    };
    let id = run(&["--format", "html", "--lang", "id"]);
    assert!(
        id.status.success(),
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    let html = String::from_utf8(id.stdout).expect("utf-8");
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"id\">"),
        "{html}"
    );
    assert!(
        html.contains("<h1>Laporan kepatuhan: bsp-test / big</h1>"),
        "{html}"
    );
    assert!(!html.contains(MARKER), "message text in the report");
    let md = String::from_utf8(run(&["--lang", "id"]).stdout).expect("utf-8");
    assert!(
        md.starts_with("# Laporan kepatuhan: bsp-test / big\n"),
        "{md}"
    );
    let en = String::from_utf8(run(&["--format", "html"]).stdout).expect("utf-8");
    assert!(en.contains("<html lang=\"en\">"), "English by default");
    assert!(
        !run(&["--lang", "fr"]).status.success(),
        "an unknown language"
    );
}
