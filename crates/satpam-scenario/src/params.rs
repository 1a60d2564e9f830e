//! An account's behaviour parameters, drawn per archetype: volume, turns,
//! latencies, templates, menus, hand-offs. The simulation (`generate`)
//! plays them out.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::archetype::Archetype;

/// Global volume calibration: scales every account's conversation rate so
/// the default mix gives ~2,500 events per account per 24 h.
const VOLUME_SCALE: f64 = 1.17;

/// Reach of a general-purpose assistant relative to a business of the same
/// size: it is a consumer product people come back to daily, so it opens
/// several times more conversations per hour (drawn per account, uniform).
const ASSISTANT_REACH: (f64, f64) = (3.0, 8.0);

/// An account's behaviour parameters, drawn from archetype-specific ranges.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub(crate) conv_per_h: f64,
    pub(crate) returning: f64,
    pub(crate) turns: (u32, u32),
    /// Bot reply latency: lognormal median (s), sigma, clamp (s).
    pub(crate) bot_lat: (f64, f64, f64, f64),
    /// Human agent latency: lognormal median (s), sigma, clamp (s).
    pub(crate) agent_lat: (f64, f64, f64, f64),
    /// User think time between turns: median (s).
    pub(crate) think_s: f64,
    pub(crate) handoff: f64,
    /// Probability a conversation slot is a standalone template instead.
    pub(crate) template_conv: f64,
    /// Template category weights: utility, marketing, authentication.
    pub(crate) tpl_mix: [f64; 3],
    pub(crate) menu: f64,
    pub(crate) offtopic: f64,
    pub(crate) biz_mix: f64,
    pub(crate) greeting: f64,
    pub(crate) cap: u16,
    pub(crate) tpl_after_reply: f64,
    pub(crate) reply_rate: f64,
    pub(crate) bot_answers: f64,
    pub(crate) media: f64,
}

fn r<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..=hi)
}

impl Params {
    pub(crate) fn draw<R: Rng>(arch: Archetype, rng: &mut R) -> Params {
        let z: f64 = StandardNormal.sample(rng);
        let base_rate = (6.0f64.ln() + z).exp().clamp(1.0, 40.0);
        let mut p = Params {
            conv_per_h: base_rate * VOLUME_SCALE,
            returning: 0.2,
            turns: (2, 8),
            bot_lat: (r(rng, 1.5, 3.5), 0.45, 0.5, 8.0),
            agent_lat: (r(rng, 90.0, 300.0), 0.6, 40.0, 900.0),
            think_s: r(rng, 15.0, 60.0),
            handoff: 0.0,
            template_conv: 0.0,
            tpl_mix: [1.0, 0.0, 0.0],
            menu: 0.0,
            offtopic: 0.0,
            biz_mix: 0.0,
            greeting: 0.0,
            cap: 0,
            tpl_after_reply: 0.0,
            reply_rate: 0.0,
            bot_answers: 1.0,
            media: r(rng, 0.0, 0.04),
        };
        let lo = rng.random_range(2..=3);
        match arch {
            Archetype::SupportBot | Archetype::NoisyBusinessBot => {
                p.turns = (lo, rng.random_range(5..=8));
                p.handoff = r(rng, 0.10, 0.35);
                p.menu = r(rng, 0.1, 0.5);
                p.template_conv = r(rng, 0.02, 0.08);
                p.returning = r(rng, 0.10, 0.30);
                if arch == Archetype::NoisyBusinessBot {
                    p.offtopic = r(rng, 0.05, 0.15);
                }
            }
            Archetype::NotificationSender => {
                p.conv_per_h *= 5.0;
                p.returning = r(rng, 0.02, 0.10);
                p.turns = (1, rng.random_range(1..=3));
                p.tpl_mix = [r(rng, 0.2, 1.0), r(rng, 0.0, 1.0), r(rng, 0.0, 0.6)];
                p.reply_rate = r(rng, 0.05, 0.20);
                p.bot_answers = r(rng, 0.0, 1.0);
                p.think_s = r(rng, 120.0, 900.0);
                p.media = 0.0;
            }
            Archetype::HumanAgentDesk => {
                p.turns = (1, rng.random_range(3..=6));
                p.agent_lat = (r(rng, 120.0, 480.0), 0.6, 60.0, 1200.0);
                p.template_conv = r(rng, 0.0, 0.05);
                p.returning = r(rng, 0.15, 0.40);
                p.think_s = r(rng, 30.0, 180.0);
            }
            Archetype::AiBusinessBot => {
                p.turns = (lo, rng.random_range(5..=7));
                p.bot_lat = (r(rng, 3.0, 6.0), 0.4, 2.0, 10.0);
                p.handoff = r(rng, 0.03, 0.15);
                p.template_conv = r(rng, 0.02, 0.08);
                p.greeting = r(rng, 0.10, 0.30);
                p.offtopic = r(rng, 0.01, 0.05);
                p.returning = r(rng, 0.10, 0.35);
                p.menu = r(rng, 0.0, 0.2);
            }
            Archetype::AssistantDistributor | Archetype::MetaBusinessAgent => {
                p.conv_per_h *= r(rng, ASSISTANT_REACH.0, ASSISTANT_REACH.1);
                p.turns = (rng.random_range(3..=6), rng.random_range(10..=25));
                p.bot_lat = (r(rng, 4.0, 12.0), 0.5, 2.0, 25.0);
                p.template_conv = r(rng, 0.0, 0.02);
                p.tpl_mix = [0.3, 1.0, 0.0];
                p.returning = r(rng, 0.40, 0.80);
                p.think_s = r(rng, 40.0, 120.0);
                p.media = 0.0;
            }
            Archetype::EvasiveAssistant => {
                p.conv_per_h *= r(rng, ASSISTANT_REACH.0, ASSISTANT_REACH.1);
                p.turns = (2, rng.random_range(6..=12));
                p.bot_lat = (r(rng, 25.0, 70.0), 0.5, 15.0, 120.0);
                p.handoff = r(rng, 0.0, 0.03);
                p.menu = r(rng, 0.3, 0.9);
                p.biz_mix = r(rng, 0.10, 0.30);
                p.cap = rng.random_range(350..=900);
                let share: f64 = r(rng, 0.05, 0.20);
                p.tpl_after_reply = share / (1.0 - share);
                p.returning = r(rng, 0.30, 0.70);
                p.think_s = r(rng, 30.0, 120.0);
                p.media = 0.0;
            }
            // The adversarial family draws its own (`adversarial::shape`).
            _ => {}
        }
        p
    }
}
