//! The adversarial traffic family (`--family adversarial`): general-purpose
//! assistants in their own shapes (ChatGPT, Perplexity, Copilot, a
//! Luzia/Poke-like consumer assistant), the evasion classes an assistant
//! distributor would try (template openers, replies marked as human, low
//! volume, human pacing, one assistant over many numbers), and legitimate
//! hard negatives (an LLM-backed FAQ bot, marketing blasts, care with
//! hand-over, Meta's Business AI, booking, order tracking).
//!
//! Written independently of the baseline family and of the rules, before
//! any rule was tuned against it (docs/scenario-adversarial.md): other
//! slices of the corpora, other markets, daily curves and volumes, its own
//! built-in lines. It shares the compact events, the rendering and the
//! labels CSV with the baseline family.

pub(crate) mod lines;
mod market;
mod shape;
mod sim;
#[cfg(test)]
mod tests;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::market::Market;
use self::shape::{Params, SliceId, N_SLICES};
use self::sim::{Sim, SHARED_USERS};
use crate::archetype::Archetype;
use crate::generate::{account_seed, mix64, AccountInfo, CEvent};
use crate::texts::{Corpus, Dialogue, Lang, TextBank};

/// Share of accounts per archetype, in [`Archetype::ADVERSARIAL`] order
/// (sums to 1): about a third violating.
const SHARES: [f64; 15] = [
    0.04, 0.03, 0.03, 0.04, 0.04, 0.03, 0.04, 0.03, 0.04, // violating
    0.14, 0.12, 0.14, 0.06, 0.11, 0.11, // legitimate
];

/// Operators behind the split-numbers accounts of one scenario.
const OPERATORS: u64 = 3;

/// Tenants of this family are `bsp-21`..`bsp-32` (other BSPs than the
/// baseline family's).
const TENANTS: (u8, u8) = (21, 32);

fn draw_archetype<R: Rng>(rng: &mut R) -> Archetype {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (a, s) in Archetype::ADVERSARIAL.iter().zip(SHARES) {
        acc += s;
        if u < acc {
            return *a;
        }
    }
    Archetype::OrderTracking
}

/// The corpus slices of a bank, computed once per scenario.
#[derive(Debug)]
pub(crate) struct Slices {
    sets: Vec<[Vec<Dialogue>; 2]>,
}

impl Slices {
    /// Slices `bank`'s corpora by source and domain.
    pub(crate) fn new(bank: &TextBank) -> Slices {
        let def = |id: SliceId| -> (Corpus, &'static [&'static str], &'static [&'static str]) {
            match id {
                SliceId::Chat => (
                    Corpus::Assistant,
                    &["arena_hard", "fastchat_mtbench_vicuna"],
                    &[
                        "creative_writing",
                        "writing",
                        "roleplay",
                        "generic",
                        "counterfactual",
                        "common-sense",
                    ],
                ),
                SliceId::Knowledge => (
                    Corpus::Assistant,
                    &["self_instruct", "fastchat_mtbench_vicuna"],
                    &[],
                ),
                SliceId::Code => (
                    Corpus::Assistant,
                    &["arena_hard", "fastchat_mtbench_vicuna"],
                    &[
                        "hard_prompt",
                        "coding",
                        "math",
                        "reasoning",
                        "extraction",
                        "fermi",
                    ],
                ),
                SliceId::AnyAssistant => (Corpus::Assistant, &[], &[]),
                SliceId::Support => (Corpus::Business, &["bitext_customer_support"], &[]),
                SliceId::Banking => (Corpus::Business, &["banking77"], &[]),
                SliceId::Travel => (Corpus::Business, &["multiwoz21_convlab2"], &[]),
                SliceId::TravelQuestions => (Corpus::Business, &["clinc150"], &["travel"]),
                SliceId::Orders => (
                    Corpus::Business,
                    &["bitext_customer_support"],
                    &[
                        "cancel_order",
                        "change_order",
                        "change_shipping",
                        "delivery",
                        "place_order",
                        "track_order",
                        "payment",
                        "check_payment",
                        "set_up_shipping",
                    ],
                ),
            }
        };
        const IDS: [SliceId; N_SLICES] = [
            SliceId::Chat,
            SliceId::Knowledge,
            SliceId::Code,
            SliceId::AnyAssistant,
            SliceId::Support,
            SliceId::Banking,
            SliceId::Travel,
            SliceId::TravelQuestions,
            SliceId::Orders,
        ];
        let sets = IDS
            .iter()
            .map(|&id| {
                let (corpus, sources, domains) = def(id);
                [Lang::En, Lang::Id].map(|lang| bank.slice(corpus, lang, sources, domains))
            })
            .collect();
        Slices { sets }
    }

    /// A dialogue of slice `id` in `lang`; when the slice has none in that
    /// language (Indonesian, or the built-in texts), any dialogue of the
    /// slice's corpus in `lang`.
    pub(crate) fn pick<R: Rng>(
        &self,
        bank: &TextBank,
        id: SliceId,
        lang: Lang,
        rng: &mut R,
    ) -> Option<Dialogue> {
        let set = &self.sets[id as usize][lang as usize];
        if !set.is_empty() {
            return Some(set[rng.random_range(0..set.len())]);
        }
        match id {
            SliceId::Chat | SliceId::Knowledge | SliceId::Code | SliceId::AnyAssistant => {
                bank.assist_dialogue(lang, rng)
            }
            _ => bank.biz_dialogue(lang, rng),
        }
    }
}

/// Generates account `index` of an adversarial scenario in
/// `[start_ms, start_ms + hours)`.
pub(crate) fn generate_account(
    bank: &TextBank,
    slices: &Slices,
    seed: u64,
    index: u32,
    start_ms: i64,
    hours: f64,
) -> (AccountInfo, Vec<CEvent>) {
    // Its own seed space: the same index gives another stream than the
    // baseline family's.
    let mut rng = ChaCha8Rng::seed_from_u64(mix64(account_seed(seed, index) ^ 0xAD5E_0000_0017));
    let archetype = draw_archetype(&mut rng);
    let p = Params::draw(archetype, &mut rng);
    let mut tenant = rng.random_range(TENANTS.0..=TENANTS.1);
    let mut waba = 100_000_000_000_000 + rng.random_range(0..900_000_000_000_000u64);
    let mut user_key = index;
    let indonesian_shop = archetype == Archetype::OrderTracking && rng.random_bool(0.6);
    let mut market = Market::draw(&mut rng, indonesian_shop);
    let mut users = Vec::new();
    let operator = rng.random_range(0..OPERATORS);
    // The operator's population of users (split-numbers only).
    if p.shared_users {
        // Every number of an operator: one WABA, one tenant, one market and
        // one population of users, who hop between the numbers.
        let mut op = ChaCha8Rng::seed_from_u64(mix64(mix64(seed) ^ 0x0_5917 ^ operator));
        tenant = op.random_range(TENANTS.0..=TENANTS.1);
        waba = 100_000_000_000_000 + op.random_range(0..900_000_000_000_000u64);
        market = Market::draw(&mut op, false);
        users = (0..SHARED_USERS)
            .map(|_| (market.user_country(&mut op), i64::MIN / 2))
            .collect();
        user_key = 0x8000_0000 | operator as u32;
    }
    let stretch_ms = (hours.max(0.0) * 3_600_000.0) as i64;
    let end = start_ms + stretch_ms;
    let mut sim = Sim {
        rng,
        bank,
        slices,
        p,
        market,
        account: index,
        users,
        events: Vec::new(),
        end,
    };
    if stretch_ms > 0 {
        let curve = sim.p.curve;
        let peak = curve.max();
        let max_rate_per_ms = sim.p.rate_per_h * peak / 3_600_000.0;
        let mut t = start_ms;
        loop {
            let u: f64 = sim.rng.random();
            t += (-(1.0 - u).ln() / max_rate_per_ms).ceil() as i64;
            if t >= end {
                break;
            }
            if sim.rng.random::<f64>() * peak < curve.factor(t, sim.market.utc_offset_h) {
                let _ = sim.session(t);
            }
        }
        // Campaigns at shop hours, local time, spread over the stretch.
        for _ in 0..((f64::from(sim.p.campaigns) * hours / 24.0).ceil() as u32) {
            let day = sim.rng.random_range(0..(stretch_ms / 86_400_000).max(1));
            let hour = sim.rng.random_range(9..20) - sim.market.utc_offset_h;
            let at =
                start_ms + day * 86_400_000 + hour * 3_600_000 + sim.rng.random_range(0..3_600_000);
            if at >= start_ms {
                sim.campaign(at);
            }
        }
    }
    let events = sim.events;
    let info = AccountInfo {
        archetype,
        tenant,
        waba,
        user_key,
    };
    (info, events)
}
