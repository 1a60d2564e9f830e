//! Scripted traffic for integration tests: small, hand-written, deterministic.
#![allow(dead_code)]

pub mod console;
pub mod embedded;
pub mod faults;
pub mod http;
pub mod kafka;
pub mod service;

use satpam::clock::ManualClock;
use satpam::engine::Outcome;
use satpam::pb::v1::{Direction, MessageEvent, MessageKind, Sender, TemplateCategory};
use satpam::{Engine, Event, Scratch};

/// The value of feature `name` in `scratch` after the event `engine` last
/// processed with it; panics when the catalog has no such feature.
pub fn feature(engine: &Engine, scratch: &Scratch, name: &str) -> f64 {
    let (slot, _) = engine
        .rules()
        .catalog()
        .lookup(name)
        .unwrap_or_else(|| panic!("{name} is in the catalog"));
    scratch.features().get(slot)
}

/// The signals `engine` makes of `events`, in order, with one scratch.
pub fn signals(engine: &Engine, events: &[Event]) -> Vec<satpam::decide::Signal> {
    let mut scratch = Scratch::default();
    events
        .iter()
        .filter_map(|e| match engine.process(e, &mut scratch) {
            Outcome::Processed(Some(s)) => Some(*s),
            _ => None,
        })
        .collect()
}

/// Runs `events` through `engine` in order with one scratch, as the replay
/// driver does; with a `clock`, it is moved to each event's time first
/// (decisions stamped on event time). Returns every outcome.
pub fn drive<'a>(
    engine: &Engine,
    clock: Option<&ManualClock>,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<Outcome> {
    let mut scratch = Scratch::default();
    events
        .into_iter()
        .map(|e| {
            if let Some(c) = clock {
                c.advance_to(e.timestamp_ms);
            }
            engine.process(e, &mut scratch)
        })
        .collect()
}

/// Replays `events` through a fresh [`satpam::replay::Replayer`] with the
/// default rules and `policy`, in order; returns the signals and the
/// replayer (for the engine's state afterwards).
pub fn replay_default_pack(
    events: impl IntoIterator<Item = MessageEvent>,
    policy: satpam::decide::CountryPolicy,
) -> (Vec<satpam::decide::Signal>, satpam::replay::Replayer) {
    let mut r = satpam::replay::Replayer::new(
        std::sync::Arc::new(satpam::RuleSet::default_pack()),
        policy,
        satpam::decide::Overrides::default(),
        satpam::EngineConfig::default(),
    );
    let mut out = Vec::new();
    for (i, m) in events.into_iter().enumerate() {
        out.extend(r.feed(i as u64 + 1, Ok(m)));
    }
    (out, r)
}

/// Validated events of wire messages (test messages are all valid).
pub fn events_of(messages: impl IntoIterator<Item = MessageEvent>) -> Vec<Event> {
    messages
        .into_iter()
        .map(|m| Event::try_from(m).expect("valid"))
        .collect()
}

/// Start of every script: 2026-02-02T00:00:00Z.
pub const T0: i64 = 1_769_990_400_000;

/// Open-domain prompts written for these tests.
pub const PROMPTS: &[&str] = &[
    "Write a short poem about the ocean at night and the stars above it, in four lines please, with a rhyme at the end of each line",
    "Explain how photosynthesis works in simple terms for a ten year old student, step by step, and give one everyday example",
    "Write a python function that reverses a linked list and explain the algorithm complexity in time and memory for large inputs",
    "Summarize the causes of the first world war in five bullet points for my history homework, with the years of each event",
    "Tolong jelaskan apa itu inflasi dan bagaimana dampaknya terhadap ekonomi negara berkembang, berikan contoh sederhana juga ya",
    "Translate this paragraph into French: the weather is lovely today and we are going to the beach with our friends after lunch",
    "Solve the equation 3x + 7 = 22 and show me each step of the algebra clearly please, then check the answer by substitution",
    "Buatkan cerita pendek tentang seorang anak yang menemukan kucing di jalan saat hujan deras dan membawanya pulang ke rumah",
];

/// Business questions written for these tests.
pub const QUESTIONS: &[&str] = &[
    "Where is my order?",
    "I want a refund for my last payment",
    "Can I change my booking to Friday?",
    "pesanan saya belum sampai",
    "What is the price of the blue one?",
    "My card was charged twice",
];

/// A long, structured assistant-style answer written for these tests.
pub const ANSWER: &str = "Certainly! Here's a clear explanation.\n\n1. First, consider the main idea and why it matters in practice.\n2. Next, look at how the parts fit together and what each one contributes.\n3. Then, work through a small example to check the reasoning step by step.\n4. Finally, review the result and note any assumptions that were made.\n\nIn summary, breaking the problem into steps makes it easier to understand, and you can apply the same approach to similar questions in the future. A few more tips: write down what you already know before you start, keep each step small enough to check on its own, and when something does not add up, go back one step rather than starting over. It also helps to explain the idea in your own words once you are done, because teaching it is the quickest way to find the gaps that are left. Let me know if you would like more detail on any of the steps above.";

/// A short support answer.
pub const SUPPORT_ANSWER: &str = "Thanks! Your order is on its way and should arrive tomorrow.";

/// Which kind of account a script plays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Script {
    /// Open-domain prompts, fast long answers, returning users, no hand-off.
    Assistant,
    /// Business questions, quick short answers, hand-offs, templates.
    SupportBot,
}

/// Builds `users` users' traffic for one account over `minutes`, with or without text.
pub fn traffic(
    script: Script,
    account: &str,
    users: usize,
    minutes: i64,
    with_text: bool,
) -> Vec<MessageEvent> {
    let mut out = Vec::new();
    let mut n = 0u64;
    let mut push = |m: MessageEvent, out: &mut Vec<MessageEvent>| {
        n += 1;
        let mut m = m;
        m.event_id = format!("{account}-e{n}");
        if !with_text {
            m.text_length = m.text.chars().count() as u32;
            m.text.clear();
        }
        out.push(m);
    };
    for u in 0..users {
        let user = format!("{account}-u{u}");
        // Each user opens a session every 40 minutes, staggered.
        let mut t = T0 + (u as i64 * 97_000) % 600_000;
        let mut session = 0;
        while t < T0 + minutes * 60_000 {
            let turns = if script == Script::Assistant { 4 } else { 2 };
            for k in 0..turns {
                let idx = (u + session + k) % 8;
                let text = match script {
                    Script::Assistant => PROMPTS[idx],
                    Script::SupportBot => QUESTIONS[idx % QUESTIONS.len()],
                };
                let base = MessageEvent {
                    tenant_id: "bsp-test".into(),
                    account_id: account.into(),
                    user_id: user.clone(),
                    user_country: if u % 2 == 0 { "ID".into() } else { "BR".into() },
                    timestamp_ms: t,
                    ..Default::default()
                };
                push(
                    MessageEvent {
                        direction: Direction::Inbound as i32,
                        kind: MessageKind::Text as i32,
                        text: text.into(),
                        ..base.clone()
                    },
                    &mut out,
                );
                let handoff = script == Script::SupportBot && session % 3 == 0 && k == 1;
                let (reply, delay, sender) = match script {
                    Script::Assistant => (ANSWER, 4_000, Sender::Bot),
                    Script::SupportBot if handoff => (SUPPORT_ANSWER, 240_000, Sender::HumanAgent),
                    Script::SupportBot => (SUPPORT_ANSWER, 2_000, Sender::Bot),
                };
                push(
                    MessageEvent {
                        direction: Direction::Outbound as i32,
                        kind: MessageKind::Text as i32,
                        sender: sender as i32,
                        text: reply.into(),
                        timestamp_ms: t + delay,
                        handoff,
                        ..base.clone()
                    },
                    &mut out,
                );
                if script == Script::SupportBot && k == 0 && session % 2 == 0 {
                    push(
                        MessageEvent {
                            direction: Direction::Outbound as i32,
                            kind: MessageKind::Template as i32,
                            template_category: TemplateCategory::Utility as i32,
                            sender: Sender::Bot as i32,
                            text: "Your order #123 has shipped.".into(),
                            timestamp_ms: t + delay + 1_000,
                            ..base
                        },
                        &mut out,
                    );
                }
                t += delay + 30_000;
            }
            session += 1;
            t += 40 * 60_000;
        }
    }
    out.sort_by_key(|m| m.timestamp_ms);
    out
}

/// A scenario's ground truth as `satpam eval` reads it (the archetype by
/// its label name).
pub fn eval_labels(scenario: &satpam_scenario::Scenario) -> Vec<satpam::eval::Label> {
    scenario
        .labels()
        .iter()
        .map(|l| satpam::eval::Label {
            account_id: l.account_id.clone(),
            archetype: l.archetype.name().to_string(),
            violating: l.violating,
        })
        .collect()
}
