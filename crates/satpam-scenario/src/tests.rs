//! Unit tests of the scenario generator (built-in texts and tiny made-up corpora only).

use std::collections::HashMap;
use std::sync::Arc;

use super::generate::CEvent;
use super::texts::{Lang, Pool};
use super::*;
use satpam_proto::v1::Direction;

fn config(accounts: usize, hours: f64, seed: u64) -> ScenarioConfig {
    ScenarioConfig {
        accounts,
        hours,
        seed,
        ..ScenarioConfig::default()
    }
}

fn builtin() -> Arc<TextBank> {
    Arc::new(TextBank::builtin())
}

fn jsonl(s: &Scenario) -> Vec<u8> {
    let mut out = Vec::new();
    let n = s.write_events_jsonl(&mut out).expect("write to Vec");
    assert_eq!(n as usize, s.len());
    out
}

#[test]
fn compact_events_are_small() {
    assert!(std::mem::size_of::<CEvent>() <= 40);
}

#[test]
fn same_seed_gives_identical_bytes() {
    let bank = builtin();
    let a = Scenario::generate(&config(40, 6.0, 7), bank.clone());
    let b = Scenario::generate(&config(40, 6.0, 7), bank);
    assert!(!a.is_empty());
    assert_eq!(jsonl(&a), jsonl(&b));
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    a.write_labels_csv(&mut la).expect("labels");
    b.write_labels_csv(&mut lb).expect("labels");
    assert_eq!(la, lb);
}

#[test]
fn different_seed_gives_different_output() {
    let bank = builtin();
    let a = Scenario::generate(&config(40, 6.0, 7), bank.clone());
    let b = Scenario::generate(&config(40, 6.0, 8), bank);
    assert_ne!(jsonl(&a), jsonl(&b));
}

#[test]
fn accounts_do_not_depend_on_account_count() {
    let bank = builtin();
    let small = Scenario::generate(&config(5, 4.0, 3), bank.clone());
    let large = Scenario::generate(&config(12, 4.0, 3), bank);
    let pick = |s: &Scenario| {
        s.events()
            .filter(|e| e.account_id == "acc-000003")
            .collect::<Vec<_>>()
    };
    assert_eq!(pick(&small), pick(&large));
    assert_eq!(small.labels()[3], large.labels()[3]);
}

#[test]
fn events_sorted_ids_unique_and_within_stretch() {
    let cfg = config(60, 6.0, 11);
    let s = Scenario::generate(&cfg, builtin());
    let end = cfg.start_ms + (cfg.hours * 3_600_000.0) as i64;
    let mut prev = i64::MIN;
    let mut ids = std::collections::HashSet::new();
    let mut first: HashMap<String, i64> = HashMap::new();
    for e in s.events() {
        assert!(e.timestamp_ms >= prev, "events out of order");
        assert!(e.timestamp_ms >= cfg.start_ms && e.timestamp_ms < end);
        prev = e.timestamp_ms;
        assert!(e.event_id.starts_with("wamid."));
        assert!(ids.insert(e.event_id.clone()), "duplicate event id");
        assert!(e.user_id.starts_with("u-") && e.user_id.len() == 18);
        assert!(e.tenant_id.starts_with("bsp-"));
        assert_eq!(e.user_country.len(), 2);
        assert!(e.conversation_id.is_empty());
        first.entry(e.account_id.clone()).or_insert(e.timestamp_ms);
    }
    let tenth = cfg.start_ms + (cfg.hours * 360_000.0) as i64;
    assert_eq!(first.len(), cfg.accounts);
    assert!(
        first.values().all(|&t| t < tenth),
        "an account starts after the first 10%"
    );
}

#[test]
fn replies_refer_to_earlier_inbound_of_same_account_and_user() {
    let s = Scenario::generate(&config(80, 6.0, 5), builtin());
    let mut seen: HashMap<String, (String, String, i32, i64)> = HashMap::new();
    let mut replies = 0;
    for e in s.events() {
        if !e.reply_to.is_empty() {
            assert_eq!(e.direction, Direction::Outbound as i32);
            let (acc, user, dir, ts) = seen
                .get(&e.reply_to)
                .expect("reply_to refers to an earlier event");
            assert_eq!((acc, user), (&e.account_id, &e.user_id));
            assert_eq!(*dir, Direction::Inbound as i32);
            assert!(*ts < e.timestamp_ms);
            replies += 1;
        }
        if e.direction == Direction::Outbound as i32 {
            assert_ne!(e.sender, 0, "outbound events name a sender");
        }
        seen.insert(
            e.event_id.clone(),
            (e.account_id, e.user_id, e.direction, e.timestamp_ms),
        );
    }
    assert!(replies > 100);
}

#[test]
fn labels_cover_every_account() {
    let s = Scenario::generate(&config(50, 2.0, 9), builtin());
    assert_eq!(s.labels().len(), 50);
    for (i, l) in s.labels().iter().enumerate() {
        assert_eq!(l.account_id, format!("acc-{i:06}"));
        assert_eq!(l.violating, l.archetype.is_violating());
    }
    let mut csv = Vec::new();
    s.write_labels_csv(&mut csv).expect("labels");
    let csv = String::from_utf8(csv).expect("utf8");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("account_id,archetype,violating"));
    for (line, l) in lines.zip(s.labels()) {
        assert_eq!(
            line,
            format!("{},{},{}", l.account_id, l.archetype.name(), l.violating)
        );
    }
}

#[test]
fn metadata_only_keeps_lengths() {
    let bank = builtin();
    let text = Scenario::generate(&config(30, 4.0, 2), bank.clone());
    let meta = Scenario::generate(
        &ScenarioConfig {
            metadata_only: true,
            ..config(30, 4.0, 2)
        },
        bank,
    );
    assert_eq!(text.len(), meta.len());
    let mut nonempty = 0;
    for (t, m) in text.events().zip(meta.events()) {
        assert!(m.text.is_empty());
        assert_eq!(m.text_length as usize, t.text.chars().count());
        assert_eq!(t.event_id, m.event_id);
        nonempty += usize::from(!t.text.is_empty());
    }
    assert!(nonempty > 0);
}

#[test]
fn archetype_shares_roughly_as_documented() {
    let s = Scenario::generate(&config(700, 0.2, 21), builtin());
    let stats = s.stats();
    for (i, a) in Archetype::ALL.iter().enumerate() {
        let share = stats.accounts[i] as f64 / 700.0;
        assert!(
            (share - a.share()).abs() < 0.05,
            "{a}: {share:.3} vs {}",
            a.share()
        );
    }
    let total: f64 = Archetype::ALL.iter().map(|a| a.share()).sum();
    assert!((total - 1.0).abs() < 1e-9);
}

#[test]
fn archetype_names_round_trip() {
    for a in Archetype::ALL {
        assert_eq!(Archetype::from_name(a.name()), Some(a));
    }
    assert_eq!(Archetype::from_name("nope"), None);
    let violating: Vec<_> = Archetype::ALL
        .into_iter()
        .filter(|a| a.is_violating())
        .collect();
    assert_eq!(
        violating,
        [
            Archetype::AssistantDistributor,
            Archetype::EvasiveAssistant,
            Archetype::WabaSpreadAssistant
        ]
    );
}

#[test]
fn builtin_bank_used_when_corpus_dir_missing() {
    let missing = std::path::Path::new("/nonexistent/satpam/corpora");
    let (bank, source) = TextBank::load_or_builtin(Some(missing)).expect("builtin");
    assert_eq!(source, TextSource::Builtin);
    let (_, source) = TextBank::load_or_builtin(None).expect("builtin");
    assert_eq!(source, TextSource::Builtin);
    for pool in [
        Pool::BizBot,
        Pool::Agent,
        Pool::AssistSynth,
        Pool::OffTopic,
        Pool::Deflect,
        Pool::TplUtility,
        Pool::Greeting,
    ] {
        for lang in [Lang::En, Lang::Id] {
            assert!(bank.pool_len(pool, lang) > 0, "{pool:?} {lang:?}");
        }
    }
    assert!(bank.dialogue_counts().iter().all(|&n| n > 0));
    let s = Scenario::generate(&config(20, 2.0, 1), Arc::new(bank));
    assert!(!s.is_empty());
}

const TINY_BUSINESS: &str = r#"{"id":"t:1","source":"tiny_biz","license":"CC0","lang":"en","class":"business","domain":"order","turns":[{"role":"user","text":"zebra parcel missing"},{"role":"bot","text":"zebra parcel found"}]}
{"id":"t:2","source":"tiny_biz","license":"CC0","lang":"id","class":"business","domain":"order","turns":[{"role":"user","text":"paket zebra hilang"}]}
"#;
const TINY_ASSIST: &str = r#"{"id":"t:3","source":"tiny_assist","license":"CC0","lang":"en","class":"assistant","domain":"","turns":[{"role":"user","text":"write a zebra poem"},{"role":"bot","text":"zebra stripes"}]}
"#;
const TINY_OFFTOPIC: &str = r#"{"id":"t:4","source":"tiny_off","license":"CC0","lang":"en","class":"offtopic","domain":"oos","turns":[{"role":"user","text":"zebra weather"}]}
"#;

fn tiny_dir(business: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("business.jsonl"), business).expect("write");
    std::fs::write(dir.path().join("assistant.jsonl"), TINY_ASSIST).expect("write");
    std::fs::write(dir.path().join("offtopic.jsonl"), TINY_OFFTOPIC).expect("write");
    dir
}

#[test]
fn loads_tiny_corpus() {
    let dir = tiny_dir(TINY_BUSINESS);
    let (bank, source) = TextBank::load_or_builtin(Some(dir.path())).expect("load");
    assert_eq!(source, TextSource::Corpus(dir.path().to_path_buf()));
    // One English and one Indonesian business record, one English prompt;
    // built-in Indonesian prompts fill the empty Indonesian assistant set.
    let [biz_en, biz_id, assist_en, assist_id] = bank.dialogue_counts();
    assert_eq!((biz_en, biz_id, assist_en), (1, 1, 1));
    assert!(assist_id > 0);
    assert_eq!(bank.pool_len(Pool::OffTopic, Lang::En), 1);
    assert_eq!(bank.pool_len(Pool::BizBot, Lang::En), 1);
    let s = Scenario::generate(&config(30, 3.0, 4), Arc::new(bank));
    let zebra = s.events().filter(|e| e.text.contains("zebra")).count();
    assert!(zebra > 0, "corpus texts are used");
}

#[test]
fn malformed_line_names_file_and_line() {
    let bad = format!("{}{{\"id\": \"t:9\", \"turns\": [oops]}}\n", TINY_BUSINESS);
    let dir = tiny_dir(&bad);
    let err = TextBank::load_dir(dir.path()).expect_err("malformed line");
    let msg = format!("{err:#}");
    assert!(msg.contains("business.jsonl:3"), "{msg}");
}

#[test]
fn synthesised_answers_are_long_and_structured() {
    let bank = TextBank::builtin();
    for lang in [Lang::En, Lang::Id] {
        let texts = bank.pool_texts(Pool::AssistSynth, lang);
        assert_eq!(texts.len(), 400);
        let lens: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        let (min, max) = (lens.iter().min().copied(), lens.iter().max().copied());
        eprintln!("{lang:?}: synthesised answers {min:?}..{max:?} chars");
        assert!(
            lens.iter().all(|&n| (300..=3000).contains(&n)),
            "{lang:?} {min:?}..{max:?}"
        );
        assert!(texts.iter().all(|t| t.contains("1. ") || t.contains("- ")));
    }
}

/// FNV-1a 64 of some bytes: a stable fingerprint for pinned outputs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The baseline family's output is pinned: adding another family, or
/// anything else, must not change a byte of it (events with and without
/// text, and labels). Recompute the fingerprints only for a deliberate
/// change to the baseline family, and say so in the commit.
#[test]
fn baseline_family_output_is_pinned() {
    let bank = builtin();
    let text = Scenario::generate(&config(30, 6.0, 11), bank.clone());
    let meta = Scenario::generate(
        &ScenarioConfig {
            metadata_only: true,
            ..config(30, 6.0, 11)
        },
        bank,
    );
    let mut labels = Vec::new();
    text.write_labels_csv(&mut labels).expect("labels");
    let got = [fnv1a(&jsonl(&text)), fnv1a(&jsonl(&meta)), fnv1a(&labels)];
    assert_eq!(
        got,
        [
            0x8767_5e38_1e09_b8e3,
            0x6579_48dd_eb74_43a2,
            0x8838_9166_8cfe_6f00
        ],
        "{got:#018x?}"
    );
}
