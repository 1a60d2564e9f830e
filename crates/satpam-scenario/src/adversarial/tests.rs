//! Tests of the adversarial family: determinism, labels, the baseline left
//! alone, and one shape test per evasion class (built-in texts only).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use satpam_proto::v1::{Direction, MessageEvent, MessageKind, Sender, TemplateCategory};

use super::sim::SESSION_GAP_MS;
use crate::{Archetype, Family, Scenario, ScenarioConfig, TextBank};

fn config(accounts: usize, hours: f64, seed: u64) -> ScenarioConfig {
    ScenarioConfig {
        accounts,
        hours,
        seed,
        ..ScenarioConfig::default()
    }
}

fn bank() -> Arc<TextBank> {
    static BANK: OnceLock<Arc<TextBank>> = OnceLock::new();
    BANK.get_or_init(|| Arc::new(TextBank::builtin())).clone()
}

fn jsonl(s: &Scenario) -> Vec<u8> {
    let mut out = Vec::new();
    s.write_events_jsonl(&mut out).expect("write to Vec");
    out
}

fn labels_csv(s: &Scenario) -> Vec<u8> {
    let mut out = Vec::new();
    s.write_labels_csv(&mut out).expect("labels");
    out
}

/// One 300-account, 24-hour adversarial scenario, its events grouped by
/// account, shared by the shape tests.
struct Sample {
    archetype: HashMap<String, Archetype>,
    events: HashMap<String, Vec<MessageEvent>>,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let s = Scenario::generate_family(&config(300, 24.0, 17), Family::Adversarial, bank());
        let archetype = s
            .labels()
            .iter()
            .map(|l| (l.account_id.clone(), l.archetype))
            .collect();
        let mut events: HashMap<String, Vec<MessageEvent>> = HashMap::new();
        for e in s.events() {
            events.entry(e.account_id.clone()).or_default().push(e);
        }
        Sample { archetype, events }
    })
}

impl Sample {
    /// The event lists of every account of `a` (at least one account).
    fn of(&self, a: Archetype) -> Vec<&[MessageEvent]> {
        let mut ids: Vec<&String> = self
            .archetype
            .iter()
            .filter(|(_, x)| **x == a)
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        assert!(!ids.is_empty(), "no account of {a}");
        ids.iter()
            .map(|id| self.events.get(*id).map_or(&[][..], Vec::as_slice))
            .collect()
    }
}

/// Sessions of one account: each user's events split where the user was
/// silent for the session gap (the generator never pauses that long
/// inside a session).
fn sessions(events: &[MessageEvent]) -> Vec<Vec<&MessageEvent>> {
    let mut by_user: HashMap<&str, Vec<&MessageEvent>> = HashMap::new();
    for e in events {
        by_user.entry(e.user_id.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, mut evs) in by_user {
        evs.sort_by_key(|e| e.timestamp_ms);
        let mut cur: Vec<&MessageEvent> = Vec::new();
        for e in evs {
            if cur
                .last()
                .is_some_and(|l| e.timestamp_ms - l.timestamp_ms >= SESSION_GAP_MS)
            {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(e);
        }
        out.push(cur);
    }
    out
}

fn outbound(e: &MessageEvent) -> bool {
    e.direction == Direction::Outbound as i32
}

#[test]
fn same_seed_gives_identical_bytes_and_differs_from_baseline() {
    let a = Scenario::generate_family(&config(40, 4.0, 5), Family::Adversarial, bank());
    let b = Scenario::generate_family(&config(40, 4.0, 5), Family::Adversarial, bank());
    assert!(!a.is_empty());
    assert_eq!(jsonl(&a), jsonl(&b));
    assert_eq!(labels_csv(&a), labels_csv(&b));
    let other_seed = Scenario::generate_family(&config(40, 4.0, 6), Family::Adversarial, bank());
    assert_ne!(jsonl(&a), jsonl(&other_seed));
    let baseline = Scenario::generate(&config(40, 4.0, 5), bank());
    assert_ne!(jsonl(&a), jsonl(&baseline));
    let explicit = Scenario::generate_family(&config(40, 4.0, 5), Family::Baseline, bank());
    assert_eq!(jsonl(&baseline), jsonl(&explicit));
}

#[test]
fn every_archetype_is_labelled_and_the_violating_column_follows_it() {
    let s = Scenario::generate_family(&config(300, 1.0, 17), Family::Adversarial, bank());
    let seen: HashSet<Archetype> = s.labels().iter().map(|l| l.archetype).collect();
    for a in Archetype::ADVERSARIAL {
        assert!(seen.contains(&a), "{a} missing from the labels");
    }
    for l in s.labels() {
        assert!(
            Archetype::ADVERSARIAL.contains(&l.archetype),
            "{}",
            l.archetype
        );
        assert_eq!(l.violating, l.archetype.is_violating(), "{}", l.archetype);
    }
    let text = String::from_utf8(labels_csv(&s)).expect("utf-8");
    assert!(text.starts_with("account_id,archetype,violating\n"));
    assert!(text.contains(",template-opener,true\n"));
    assert!(text.contains(",llm-faq-bot,false\n"));
    assert_eq!(Family::from_name("adversarial"), Some(Family::Adversarial));
    assert_eq!(
        Archetype::from_name("split-numbers"),
        Some(Archetype::SplitNumbers)
    );
}

#[test]
fn template_opener_sessions_open_with_a_template_or_a_menu() {
    let (mut templates, mut menus, mut n) = (0, 0, 0);
    for events in sample().of(Archetype::TemplateOpener) {
        for s in sessions(events) {
            let first_out = s.iter().find(|e| outbound(e)).expect("a reply");
            let kind = MessageKind::try_from(first_out.kind).expect("kind");
            match kind {
                MessageKind::Template => templates += 1,
                MessageKind::Interactive => menus += 1,
                other => panic!("a session opened with {other:?}"),
            }
            if kind == MessageKind::Template {
                assert!(outbound(s[0]), "the template comes first");
            }
            n += 1;
        }
    }
    assert!(
        n >= 50 && templates > 0 && menus > 0,
        "{n} {templates} {menus}"
    );
}

#[test]
fn human_labelled_replies_are_all_marked_human() {
    let mut replies = 0;
    for events in sample().of(Archetype::HumanLabelled) {
        for e in events.iter().filter(|e| outbound(e)) {
            assert_eq!(e.sender, Sender::HumanAgent as i32);
            replies += 1;
        }
    }
    assert!(replies > 100, "{replies}");
    // The other assistants say it is a bot.
    let bot = sample()
        .of(Archetype::ChatGpt)
        .iter()
        .flat_map(|evs| evs.iter())
        .filter(|e| outbound(e))
        .all(|e| e.sender == Sender::Bot as i32);
    assert!(bot);
}

#[test]
fn low_volume_accounts_serve_a_few_users_an_hour() {
    let users = |a: Archetype| -> Vec<usize> {
        let mut v: Vec<usize> = sample()
            .of(a)
            .iter()
            .map(|evs| sessions(evs).len())
            .collect();
        v.sort_unstable();
        v
    };
    let low = users(Archetype::LowVolume);
    // At most 3 sessions an hour at the curve's mean: under ~90 in 24 h.
    assert!(low.iter().all(|&n| n < 100), "{low:?}");
    assert!(low.iter().any(|&n| n > 0));
    let chat = users(Archetype::ChatGpt);
    assert!(
        low[low.len() / 2] * 4 < chat[chat.len() / 2],
        "{low:?} vs {chat:?}"
    );
}

/// Median seconds from a user message to the reply that answers it.
fn median_reply_s(events: &[MessageEvent]) -> f64 {
    let at: HashMap<&str, i64> = events
        .iter()
        .map(|e| (e.event_id.as_str(), e.timestamp_ms))
        .collect();
    let mut lat: Vec<i64> = events
        .iter()
        .filter(|e| outbound(e) && e.kind == MessageKind::Text as i32)
        .filter_map(|e| at.get(e.reply_to.as_str()).map(|t| e.timestamp_ms - t))
        .collect();
    lat.sort_unstable();
    lat.get(lat.len() / 2).map_or(0.0, |&ms| ms as f64 / 1000.0)
}

#[test]
fn paced_replies_take_human_time() {
    for events in sample().of(Archetype::Paced) {
        if events.len() < 20 {
            continue;
        }
        let m = median_reply_s(events);
        assert!(m >= 40.0, "paced median reply {m} s");
    }
    let chat: Vec<f64> = sample()
        .of(Archetype::ChatGpt)
        .iter()
        .map(|e| median_reply_s(e))
        .collect();
    assert!(chat.iter().all(|&m| m < 40.0), "{chat:?}");
}

#[test]
fn split_numbers_share_a_waba_and_their_users() {
    let accounts = sample().of(Archetype::SplitNumbers);
    assert!(accounts.len() >= 4, "{}", accounts.len());
    let wabas: HashSet<&str> = accounts
        .iter()
        .filter_map(|evs| evs.first().map(|e| e.waba_id.as_str()))
        .collect();
    assert!(wabas.len() <= super::OPERATORS as usize, "{wabas:?}");
    let mut numbers_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in accounts.iter().flat_map(|evs| evs.iter()) {
        numbers_of
            .entry(e.user_id.as_str())
            .or_default()
            .insert(e.account_id.as_str());
    }
    let hopping = numbers_of.values().filter(|a| a.len() >= 2).count();
    assert!(hopping >= 10, "{hopping} users on two or more numbers");
}

#[test]
fn the_named_assistants_keep_their_shapes() {
    let share = |a: Archetype, kind: MessageKind| -> f64 {
        let inbound: Vec<&MessageEvent> = sample()
            .of(a)
            .into_iter()
            .flat_map(|evs| evs.iter())
            .filter(|e| !outbound(e))
            .collect();
        inbound.iter().filter(|e| e.kind == kind as i32).count() as f64 / inbound.len() as f64
    };
    assert!(share(Archetype::ConsumerAssistant, MessageKind::Audio) >= 0.3);
    assert!(share(Archetype::ChatGpt, MessageKind::Image) > 0.05);
    assert!(share(Archetype::ChatGpt, MessageKind::Audio) > 0.05);
    let cited = sample()
        .of(Archetype::Perplexity)
        .into_iter()
        .flat_map(|evs| evs.iter())
        .filter(|e| outbound(e))
        .all(|e| e.text.contains("https://"));
    assert!(cited);
    let meta = sample()
        .of(Archetype::MetaBusinessAi)
        .into_iter()
        .flat_map(|evs| evs.iter())
        .filter(|e| outbound(e) && !e.handoff && e.sender != Sender::HumanAgent as i32)
        .all(|e| e.sender == Sender::MetaBusinessAgent as i32);
    assert!(meta);
}

#[test]
fn marketing_blasts_come_in_bursts() {
    let mut bursts = 0;
    for events in sample().of(Archetype::MarketingBlast) {
        let mut ts: Vec<i64> = events
            .iter()
            .filter(|e| e.template_category == TemplateCategory::Marketing as i32)
            .map(|e| e.timestamp_ms)
            .collect();
        ts.sort_unstable();
        // 150 marketing templates within 20 minutes.
        if ts.windows(150).any(|w| w[149] - w[0] <= 20 * 60_000) {
            bursts += 1;
        }
    }
    assert!(bursts > 0);
}

#[test]
fn metadata_only_withholds_text_and_keeps_lengths() {
    let c = config(40, 4.0, 9);
    let text = Scenario::generate_family(&c, Family::Adversarial, bank());
    let meta = Scenario::generate_family(
        &ScenarioConfig {
            metadata_only: true,
            ..c
        },
        Family::Adversarial,
        bank(),
    );
    assert_eq!(text.len(), meta.len());
    for (t, m) in text.events().zip(meta.events()) {
        assert!(m.text.is_empty());
        assert_eq!(m.text_length as usize, t.text.chars().count());
        assert_eq!(m.event_id, t.event_id);
    }
}
