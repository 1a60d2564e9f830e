//! The adversarial family's part of the text bank: its derived pools (cited
//! answers, long FAQ answers, code answers), its built-in lines, and slices
//! of the corpora by source and domain. Built after every baseline text
//! with an RNG of its own, so the baseline family is unchanged.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Dialogue, Lang, Pool, TextBank, NO_TEXT};
use crate::adversarial::lines as l;

/// Which corpus file a slice comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corpus {
    /// assistant.jsonl (or the built-in prompts).
    Assistant,
    /// business.jsonl (or the built-in business turns).
    Business,
}

fn pick<'a, R: Rng>(rng: &mut R, v: &[&'a str]) -> &'a str {
    v[rng.random_range(0..v.len())]
}

impl TextBank {
    /// Adds the adversarial family's pools.
    pub(super) fn add_adversarial(&mut self) {
        let mut rng = ChaCha8Rng::seed_from_u64(0xAD5E_2026_1201);
        for lang in [Lang::En, Lang::Id] {
            let (opener, campaign, shipping, booking, chatty, hello) = match lang {
                Lang::En => (
                    l::OPENER_EN,
                    l::CAMPAIGN_EN,
                    l::SHIPPING_EN,
                    l::BOOKING_EN,
                    l::CHATTY_EN,
                    l::HELLO_EN,
                ),
                Lang::Id => (
                    l::OPENER_ID,
                    l::CAMPAIGN_ID,
                    l::SHIPPING_ID,
                    l::BOOKING_ID,
                    l::CHATTY_ID,
                    l::HELLO_ID,
                ),
            };
            for (pool, lines) in [
                (Pool::AdvOpener, opener),
                (Pool::AdvCampaign, campaign),
                (Pool::AdvShipping, shipping),
                (Pool::AdvBooking, booking),
            ] {
                for brand in l::BRANDS {
                    for line in lines {
                        let idx = self.push(&line.replace("{brand}", brand));
                        self.pool_mut(pool, lang).push(idx);
                    }
                }
            }
            for (pool, lines) in [(Pool::AdvChatty, chatty), (Pool::AdvHello, hello)] {
                for line in lines {
                    let idx = self.push(line);
                    self.pool_mut(pool, lang).push(idx);
                }
            }
            let code: Vec<u32> = self.pools[Pool::AssistSynth as usize * 2 + lang as usize]
                .iter()
                .copied()
                .filter(|&i| self.text(i).contains("```"))
                .collect();
            self.pool_mut(Pool::AdvCode, lang).extend(code);
            self.add_cited(lang, &mut rng);
            self.add_faq(lang, &mut rng);
        }
    }

    /// Answers with a numbered list of sources: a corpus answer of at least
    /// 80 chars where the assistant corpus has one (self_instruct), else the
    /// start of a synthesised one, then 2-5 links. Not matched to the
    /// prompt they answer (nothing in satpam reads meaning).
    fn add_cited(&mut self, lang: Lang, rng: &mut ChaCha8Rng) {
        let answers: Vec<u32> = self.assist[lang as usize]
            .iter()
            .flat_map(|d| (0..d.len).map(move |i| d.start + i))
            .map(|i| self.exchanges[i as usize].bot)
            .filter(|&b| b != NO_TEXT && self.text(b).chars().count() >= 80)
            .collect();
        let synth = self.pools[Pool::AssistSynth as usize * 2 + lang as usize].clone();
        if answers.is_empty() && synth.is_empty() {
            return;
        }
        let head = if lang == Lang::Id {
            l::CITE_HEAD[2]
        } else {
            l::CITE_HEAD[rng.random_range(0..2)]
        };
        for _ in 0..400 {
            let body = if !answers.is_empty() && (synth.is_empty() || rng.random_bool(0.5)) {
                self.text(answers[rng.random_range(0..answers.len())])
                    .to_string()
            } else {
                let t = self.text(synth[rng.random_range(0..synth.len())]);
                let keep = rng.random_range(300..=1400usize);
                t.chars().take(keep).collect()
            };
            let mut text = body;
            text.push_str("\n\n");
            text.push_str(head);
            for k in 1..=rng.random_range(2..=5) {
                let site = pick(rng, l::CITE_SITES);
                let a = pick(rng, l::CITE_WORDS);
                let b = pick(rng, l::CITE_WORDS);
                text.push_str(&format!("\n[{k}] https://{site}/{a}-{b}"));
            }
            let idx = self.push(&text);
            self.pool_mut(Pool::AdvCited, lang).push(idx);
        }
    }

    /// Long FAQ answers as an LLM-backed business bot writes them: a
    /// preface, one to three business replies of the customer-support
    /// corpus (any business reply when it is absent), a closing line that
    /// offers a person.
    fn add_faq(&mut self, lang: Lang, rng: &mut ChaCha8Rng) {
        let preferred = self
            .sources
            .iter()
            .position(|s| s == "bitext_customer_support")
            .map(|i| self.source_bots[i].clone())
            .unwrap_or_default();
        let bots = if preferred.is_empty() || lang == Lang::Id {
            self.pools[Pool::BizBot as usize * 2 + lang as usize].clone()
        } else {
            preferred
        };
        if bots.is_empty() {
            return;
        }
        let (preface, close) = match lang {
            Lang::En => (l::FAQ_PREFACE_EN, l::FAQ_CLOSE_EN),
            Lang::Id => (l::FAQ_PREFACE_ID, l::FAQ_CLOSE_ID),
        };
        for _ in 0..600 {
            let brand = pick(rng, l::BRANDS);
            let mut text = pick(rng, preface).replace("{brand}", brand);
            for _ in 0..rng.random_range(1..=3) {
                text.push_str("\n\n");
                text.push_str(self.text(bots[rng.random_range(0..bots.len())]));
            }
            text.push_str("\n\n");
            text.push_str(pick(rng, close));
            let idx = self.push(&text);
            self.pool_mut(Pool::AdvFaq, lang).push(idx);
        }
    }

    /// Dialogues of `corpus` in `lang` whose source is one of `sources` (all
    /// when empty) and whose domain starts with one of `domains` (all when
    /// empty). May be empty (e.g. with the built-in texts only).
    pub(crate) fn slice(
        &self,
        corpus: Corpus,
        lang: Lang,
        sources: &[&str],
        domains: &[&str],
    ) -> Vec<Dialogue> {
        let set = match corpus {
            Corpus::Assistant => &self.assist[lang as usize],
            Corpus::Business => &self.biz[lang as usize],
        };
        set.iter()
            .copied()
            .filter(|d| {
                let src = self.sources.get(d.source as usize).map_or("", |s| s);
                let dom = self.domains.get(d.domain as usize).map_or("", |s| s);
                (sources.is_empty() || sources.contains(&src))
                    && (domains.is_empty() || domains.iter().any(|p| dom.starts_with(p)))
            })
            .collect()
    }

    /// Whether `pool` has texts in `lang` or in English.
    pub(crate) fn has(&self, pool: Pool, lang: Lang) -> bool {
        !self.pools[pool as usize * 2 + lang as usize].is_empty()
            || !self.pools[pool as usize * 2].is_empty()
    }
}
