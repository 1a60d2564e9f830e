//! Each adversarial archetype's shape: its volume and daily curve, where its
//! prompts and answers come from, how fast and as whom it replies, how its
//! sessions open, hand-overs and follow-up templates. Ranges are drawn per
//! account, so accounts of one archetype differ.

use rand::Rng;
use satpam_proto::v1::Sender;

use super::market::Curve;
use crate::archetype::Archetype;
use crate::texts::Pool;

/// Where user messages come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prompts {
    /// A slice of the corpora (see `Slices`).
    Slice(SliceId),
    /// Everyday requests and small talk (the off-topic corpus), the
    /// Indonesian prompts for Indonesian users.
    Everyday,
}

/// The named slices of the corpora the family draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SliceId {
    /// Creative and conversational prompts.
    Chat = 0,
    /// Knowledge questions (self_instruct, knowledge/stem/humanities).
    Knowledge,
    /// Coding, maths and reasoning prompts.
    Code,
    /// Every assistant prompt.
    AnyAssistant,
    /// Customer-support dialogues (Bitext).
    Support,
    /// Banking questions (BANKING77).
    Banking,
    /// Travel and restaurant booking dialogues (MultiWOZ).
    Travel,
    /// Travel questions of CLINC150.
    TravelQuestions,
    /// Orders, delivery and shipping (Bitext).
    Orders,
}

/// Number of [`SliceId`]s.
pub(crate) const N_SLICES: usize = 9;

/// What an outbound reply is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answers {
    /// Long assistant answers: the record's own, else a synthesised one.
    Long,
    /// Answers with numbered sources and links.
    Cited,
    /// Answers with code (half of them), else long ones.
    Code,
    /// Short chatty lines, or the start of a long answer.
    Chatty,
    /// Long LLM-written FAQ answers with a way to a person.
    Faq,
    /// The business corpus reply of the dialogue.
    Business,
}

/// How long a reply takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Latency {
    /// A model writing the whole answer: a lognormal base (median s) plus
    /// the answer's length at `chars_per_s`.
    Model { base_s: f64, chars_per_s: f64 },
    /// Independent of the answer: lognormal median (s), sigma, clamp (s).
    Fixed(f64, f64, f64, f64),
}

/// How a session opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opener {
    /// The user simply writes.
    None,
    /// Every session: a business-initiated template, or (the rest) the
    /// user's greeting answered by an interactive menu and a button tap.
    TemplateOrMenu,
    /// Some sessions (the account's `menu` rate): greeting, menu, button.
    Menu,
}

/// One account's drawn behaviour.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub rate_per_h: f64,
    pub curve: Curve,
    pub returning: f64,
    pub turns: (u32, u32),
    pub prompts: Prompts,
    /// Share of user messages taken from `side_prompts` instead.
    pub side: f64,
    pub side_prompts: Prompts,
    pub answers: Answers,
    /// Answers to side prompts.
    pub side_answers: Answers,
    /// Outbound text cap in chars (0: none).
    pub cap: u16,
    pub latency: Latency,
    pub agent_lat: (f64, f64, f64, f64),
    pub think_s: f64,
    pub image: f64,
    pub audio: f64,
    pub opener: Opener,
    pub menu: f64,
    pub sender: Sender,
    pub handoff: f64,
    /// Off-topic user messages, answered with a deflection.
    pub offtopic: f64,
    /// A utility template from `update_pool` some time after a session.
    pub update: f64,
    pub update_pool: Pool,
    /// Marketing campaigns per day and recipients per campaign.
    pub campaigns: u32,
    pub campaign_size: u32,
    /// Users shared by the numbers of one operator (split-numbers).
    pub shared_users: bool,
}

fn r<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..=hi)
}

/// Log-uniform draw in `[lo, hi]`.
fn lu<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

impl Params {
    /// Draws an account's parameters for `arch` (an adversarial archetype).
    pub(crate) fn draw<R: Rng>(arch: Archetype, rng: &mut R) -> Params {
        // WhatsApp has no streaming: the whole answer is written first.
        let model = |rng: &mut R| Latency::Model {
            base_s: r(rng, 1.5, 4.0),
            chars_per_s: r(rng, 150.0, 400.0),
        };
        let mut p = Params {
            rate_per_h: lu(rng, 8.0, 40.0),
            curve: Curve::TwoPeaks,
            returning: r(rng, 0.5, 0.8),
            turns: (rng.random_range(2..=4), rng.random_range(8..=16)),
            prompts: Prompts::Slice(SliceId::AnyAssistant),
            side: 0.0,
            side_prompts: Prompts::Everyday,
            answers: Answers::Long,
            side_answers: Answers::Chatty,
            cap: 0,
            latency: model(rng),
            agent_lat: (r(rng, 60.0, 300.0), 0.7, 25.0, 1500.0),
            think_s: r(rng, 20.0, 90.0),
            image: 0.0,
            audio: 0.0,
            opener: Opener::None,
            menu: 0.0,
            sender: Sender::Bot,
            handoff: 0.0,
            offtopic: 0.0,
            update: 0.0,
            update_pool: Pool::AdvShipping,
            campaigns: 0,
            campaign_size: 0,
            shared_users: false,
        };
        match arch {
            Archetype::ChatGpt => {
                p.rate_per_h = lu(rng, 10.0, 50.0);
                p.curve = Curve::Habit;
                p.returning = r(rng, 0.6, 0.85);
                p.turns = (rng.random_range(3..=5), rng.random_range(10..=20));
                p.prompts = Prompts::Slice(SliceId::Chat);
                p.side = r(rng, 0.2, 0.4);
                p.side_prompts = Prompts::Slice(SliceId::AnyAssistant);
                p.side_answers = Answers::Long;
                p.image = r(rng, 0.08, 0.2);
                p.audio = r(rng, 0.08, 0.25);
            }
            Archetype::Perplexity => {
                p.rate_per_h = lu(rng, 8.0, 35.0);
                p.returning = r(rng, 0.3, 0.6);
                p.turns = (1, rng.random_range(2..=4));
                p.prompts = Prompts::Slice(SliceId::Knowledge);
                p.answers = Answers::Cited;
                p.side = r(rng, 0.1, 0.3);
                p.side_prompts = Prompts::Everyday;
                p.side_answers = Answers::Cited;
            }
            Archetype::Copilot => {
                p.rate_per_h = lu(rng, 6.0, 30.0);
                p.curve = Curve::Workday;
                p.turns = (2, rng.random_range(4..=9));
                p.prompts = Prompts::Slice(SliceId::Code);
                p.answers = Answers::Code;
                p.think_s = r(rng, 60.0, 240.0);
                p.side = r(rng, 0.1, 0.3);
                p.side_prompts = Prompts::Slice(SliceId::Knowledge);
                p.side_answers = Answers::Long;
                p.image = r(rng, 0.0, 0.08);
            }
            Archetype::ConsumerAssistant => {
                p.rate_per_h = lu(rng, 12.0, 50.0);
                p.curve = Curve::Habit;
                p.returning = r(rng, 0.85, 0.97);
                p.turns = (rng.random_range(3..=5), rng.random_range(8..=16));
                p.prompts = Prompts::Everyday;
                p.answers = Answers::Chatty;
                p.side = r(rng, 0.1, 0.25);
                p.side_prompts = Prompts::Slice(SliceId::Chat);
                p.side_answers = Answers::Long;
                p.think_s = r(rng, 5.0, 30.0);
                p.audio = r(rng, 0.35, 0.65);
                p.image = r(rng, 0.03, 0.1);
            }
            Archetype::TemplateOpener => {
                p.opener = Opener::TemplateOrMenu;
                p.menu = r(rng, 0.3, 0.6);
            }
            Archetype::HumanLabelled => {
                p.sender = Sender::HumanAgent;
                p.cap = rng.random_range(600..=2500);
                p.latency = Latency::Model {
                    base_s: r(rng, 6.0, 20.0),
                    chars_per_s: r(rng, 60.0, 150.0),
                };
            }
            Archetype::LowVolume => {
                p.rate_per_h = lu(rng, 0.3, 3.0);
                p.curve = Curve::AllDay;
                p.turns = (rng.random_range(2..=4), rng.random_range(6..=14));
            }
            Archetype::Paced => {
                p.rate_per_h = lu(rng, 5.0, 25.0);
                p.latency = Latency::Fixed(r(rng, 60.0, 240.0), 0.6, 20.0, 900.0);
                p.cap = rng.random_range(400..=1500);
                p.think_s = r(rng, 40.0, 150.0);
            }
            Archetype::SplitNumbers => {
                p.rate_per_h = lu(rng, 1.0, 6.0);
                p.curve = Curve::AllDay;
                p.shared_users = true;
                p.returning = r(rng, 0.2, 0.5);
            }
            Archetype::LlmFaqBot => {
                p.rate_per_h = lu(rng, 3.0, 25.0);
                p.curve = Curve::Shop;
                p.returning = r(rng, 0.1, 0.3);
                p.turns = (1, rng.random_range(3..=7));
                p.prompts = Prompts::Slice(SliceId::Support);
                p.answers = Answers::Faq;
                p.side = r(rng, 0.1, 0.3);
                p.side_prompts = Prompts::Slice(SliceId::Banking);
                p.side_answers = Answers::Faq;
                p.handoff = r(rng, 0.05, 0.2);
                p.offtopic = r(rng, 0.02, 0.08);
                p.menu = r(rng, 0.0, 0.3);
                p.opener = Opener::Menu;
            }
            Archetype::MarketingBlast => {
                p.rate_per_h = lu(rng, 0.5, 4.0);
                p.curve = Curve::Shop;
                p.returning = r(rng, 0.05, 0.2);
                p.turns = (1, rng.random_range(1..=3));
                p.prompts = Prompts::Slice(SliceId::Orders);
                p.answers = Answers::Business;
                p.latency = Latency::Fixed(r(rng, 1.0, 3.0), 0.4, 0.5, 10.0);
                p.campaigns = rng.random_range(1..=4);
                p.campaign_size = rng.random_range(200..=1500);
                p.handoff = r(rng, 0.0, 0.2);
            }
            Archetype::CareWithHandover => {
                p.rate_per_h = lu(rng, 3.0, 20.0);
                p.curve = Curve::Shop;
                p.returning = r(rng, 0.1, 0.35);
                p.turns = (2, rng.random_range(4..=9));
                p.prompts = Prompts::Slice(SliceId::Banking);
                p.answers = Answers::Business;
                p.side = r(rng, 0.2, 0.5);
                p.side_prompts = Prompts::Slice(SliceId::Support);
                p.side_answers = Answers::Business;
                p.latency = Latency::Fixed(r(rng, 1.0, 3.0), 0.4, 0.5, 10.0);
                p.handoff = r(rng, 0.3, 0.6);
                p.opener = Opener::Menu;
                p.menu = r(rng, 0.4, 0.9);
                p.think_s = r(rng, 20.0, 120.0);
            }
            Archetype::MetaBusinessAi => {
                p.rate_per_h = lu(rng, 5.0, 30.0);
                p.returning = r(rng, 0.2, 0.5);
                p.turns = (2, rng.random_range(4..=10));
                p.prompts = Prompts::Slice(SliceId::Banking);
                p.answers = Answers::Faq;
                p.side = r(rng, 0.2, 0.4);
                p.side_prompts = Prompts::Slice(SliceId::AnyAssistant);
                p.side_answers = Answers::Long;
                p.sender = Sender::MetaBusinessAgent;
                p.handoff = r(rng, 0.02, 0.1);
            }
            Archetype::Booking => {
                p.rate_per_h = lu(rng, 2.0, 15.0);
                p.curve = Curve::TwoPeaks;
                p.returning = r(rng, 0.1, 0.3);
                p.turns = (rng.random_range(3..=5), rng.random_range(6..=12));
                p.prompts = Prompts::Slice(SliceId::Travel);
                p.answers = Answers::Business;
                p.side = r(rng, 0.1, 0.3);
                p.side_prompts = Prompts::Slice(SliceId::TravelQuestions);
                p.side_answers = Answers::Faq;
                p.latency = Latency::Model {
                    base_s: r(rng, 1.0, 3.0),
                    chars_per_s: r(rng, 80.0, 200.0),
                };
                p.offtopic = r(rng, 0.03, 0.12);
                p.handoff = r(rng, 0.05, 0.2);
                p.update = r(rng, 0.3, 0.7);
                p.update_pool = Pool::AdvBooking;
            }
            Archetype::OrderTracking => {
                p.rate_per_h = lu(rng, 4.0, 30.0);
                p.curve = Curve::Shop;
                p.returning = r(rng, 0.15, 0.4);
                p.turns = (1, rng.random_range(3..=6));
                p.prompts = Prompts::Slice(SliceId::Orders);
                p.answers = Answers::Business;
                p.latency = Latency::Fixed(r(rng, 0.8, 2.5), 0.4, 0.3, 8.0);
                p.opener = Opener::Menu;
                p.menu = r(rng, 0.2, 0.6);
                p.handoff = r(rng, 0.02, 0.1);
                p.update = r(rng, 0.4, 0.9);
                p.image = r(rng, 0.02, 0.08);
            }
            _ => {}
        }
        p
    }
}
