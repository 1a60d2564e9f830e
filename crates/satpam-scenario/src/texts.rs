//! The text bank: every text a scenario can use, stored once and grouped by
//! use and language, so that events refer to texts by a `u32` index.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::builtin as b;

mod adversarial;
mod synth;

use synth::{synthesise, Phrases};

pub(crate) use adversarial::Corpus;

/// Marks "no text" in a text index.
pub(crate) const NO_TEXT: u32 = u32::MAX;

/// Language of a text as the generator uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English (and everything that is not Indonesian).
    En = 0,
    /// Indonesian.
    Id = 1,
}

/// What a pool of single texts is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pool {
    BizBot = 0,
    Agent,
    AssistSynth,
    OffTopic,
    Deflect,
    Handoff,
    Menu,
    Button,
    TplUtility,
    TplMarketing,
    TplAuth,
    Greeting,
    BizComposite,
    /// Adversarial family: answers that cite numbered sources with links.
    AdvCited,
    /// Adversarial family: long LLM-written FAQ answers on business topics.
    AdvFaq,
    /// Adversarial family: session-opening templates of disguised assistants.
    AdvOpener,
    /// Adversarial family: marketing campaign templates.
    AdvCampaign,
    /// Adversarial family: short chatty replies of a consumer assistant.
    AdvChatty,
    /// Adversarial family: shipping and order updates (utility templates).
    AdvShipping,
    /// Adversarial family: booking confirmations (utility templates).
    AdvBooking,
    /// Adversarial family: synthesised answers that carry a code block.
    AdvCode,
    /// Adversarial family: a user's first greeting.
    AdvHello,
}

const N_POOLS: usize = 22;

/// One user turn and the reply that followed it in the source, if any.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    pub user: u32,
    pub bot: u32,
}

/// A source record: a run of exchanges in `TextBank::exchanges`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dialogue {
    pub start: u32,
    pub len: u32,
    pub source: u16,
    /// Index of the record's `domain` in `TextBank::domains`.
    pub domain: u16,
}

/// Where the texts of a bank came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextSource {
    /// The JSONL corpora in this directory (plus the built-in texts no corpus has).
    Corpus(PathBuf),
    /// Only the built-in texts.
    Builtin,
}

impl std::fmt::Display for TextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextSource::Corpus(dir) => write!(f, "corpora in {}", dir.display()),
            TextSource::Builtin => f.write_str("built-in texts"),
        }
    }
}

/// All texts a scenario draws from, grouped by use and language; loaded once
/// and shared (read-only) by scenarios.
#[derive(Debug, Default)]
pub struct TextBank {
    texts: Vec<Box<str>>,
    pools: Vec<Vec<u32>>,
    exchanges: Vec<Exchange>,
    biz: [Vec<Dialogue>; 2],
    assist: [Vec<Dialogue>; 2],
    source_bots: Vec<Vec<u32>>,
    sources: Vec<String>,
    domains: Vec<String>,
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    source: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    domain: String,
    turns: Vec<RawTurn>,
}

#[derive(Deserialize)]
struct RawTurn {
    role: String,
    text: String,
}

/// Business bot turns up to this length also serve as human-agent lines.
const AGENT_MAX_CHARS: usize = 160;

/// The corpus files `load_dir` reads.
const FILES: [&str; 3] = ["assistant.jsonl", "business.jsonl", "offtopic.jsonl"];

/// Number of greeting templates per brand in the greeting pool.
pub(crate) fn greeting_templates(lang: Lang) -> usize {
    match lang {
        Lang::En => b::GREET_EN.len(),
        Lang::Id => b::GREET_ID.len(),
    }
}

impl TextBank {
    fn empty() -> TextBank {
        TextBank {
            pools: vec![Vec::new(); N_POOLS * 2],
            ..TextBank::default()
        }
    }

    /// Loads `assistant.jsonl`, `business.jsonl` and `offtopic.jsonl` from
    /// `dir` and adds the built-in texts for every use no corpus covers
    /// (menus, templates, deflections, ..., and Indonesian bot replies).
    /// Errors name the file and line of a malformed record.
    pub fn load_dir(dir: &Path) -> anyhow::Result<TextBank> {
        let mut bank = TextBank::empty();
        for name in FILES {
            let path = dir.join(name);
            let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
            for (i, line) in BufReader::new(file).lines().enumerate() {
                let lineno = i + 1;
                let line = line.with_context(|| format!("{}:{lineno}: reading", path.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let rec: RawRecord = serde_json::from_str(&line)
                    .with_context(|| format!("{}:{lineno}: malformed record", path.display()))?;
                bank.add_record(name, rec)
                    .with_context(|| format!("{}:{lineno}: unusable record", path.display()))?;
            }
        }
        bank.add_builtin(false);
        bank.finish();
        Ok(bank)
    }

    /// A bank of the built-in texts only (no corpus needed).
    pub fn builtin() -> TextBank {
        let mut bank = TextBank::empty();
        bank.add_builtin(true);
        bank.finish();
        bank
    }

    /// Loads the corpora from `dir` if it is given and exists, else returns
    /// the built-in bank.
    pub fn load_or_builtin(dir: Option<&Path>) -> anyhow::Result<(TextBank, TextSource)> {
        match dir {
            Some(d) if d.exists() => {
                Ok((TextBank::load_dir(d)?, TextSource::Corpus(d.to_path_buf())))
            }
            _ => Ok((TextBank::builtin(), TextSource::Builtin)),
        }
    }

    /// Number of distinct texts held.
    pub fn text_count(&self) -> usize {
        self.texts.len()
    }

    pub(crate) fn text(&self, idx: u32) -> &str {
        self.texts.get(idx as usize).map_or("", |s| s)
    }

    fn push(&mut self, text: &str) -> u32 {
        let idx = u32::try_from(self.texts.len()).unwrap_or(NO_TEXT - 1);
        self.texts.push(text.into());
        idx
    }

    fn source_id(&mut self, source: &str) -> u16 {
        if let Some(i) = self.sources.iter().position(|s| s == source) {
            return i as u16;
        }
        self.sources.push(source.to_string());
        self.source_bots.push(Vec::new());
        (self.sources.len() - 1) as u16
    }

    fn domain_id(&mut self, domain: &str) -> u16 {
        if let Some(i) = self.domains.iter().position(|s| s == domain) {
            return i as u16;
        }
        self.domains.push(domain.to_string());
        (self.domains.len() - 1) as u16
    }

    fn pool_mut(&mut self, pool: Pool, lang: Lang) -> &mut Vec<u32> {
        &mut self.pools[pool as usize * 2 + lang as usize]
    }

    fn add_record(&mut self, file: &str, rec: RawRecord) -> anyhow::Result<()> {
        let lang = if rec.lang == "id" { Lang::Id } else { Lang::En };
        if rec.turns.iter().all(|t| t.role != "user") {
            bail!("record has no user turn");
        }
        let source = self.source_id(&rec.source);
        let domain = self.domain_id(&rec.domain);
        match file {
            "offtopic.jsonl" => {
                for t in rec.turns.iter().filter(|t| t.role == "user") {
                    let idx = self.push(&t.text);
                    self.pool_mut(Pool::OffTopic, lang).push(idx);
                }
            }
            _ => {
                let is_assist = file == "assistant.jsonl";
                let start = self.exchanges.len() as u32;
                let mut turns = rec.turns.iter().peekable();
                while let Some(t) = turns.next() {
                    match t.role.as_str() {
                        "user" => {
                            let user = self.push(&t.text);
                            let mut bot = NO_TEXT;
                            if let Some(next) = turns.peek() {
                                if next.role == "bot" || next.role == "agent" {
                                    bot = self.push(&next.text);
                                    let role = next.role.clone();
                                    turns.next();
                                    self.note_reply(is_assist, &role, source, lang, bot);
                                }
                            }
                            self.exchanges.push(Exchange { user, bot });
                        }
                        "bot" | "agent" => {
                            let idx = self.push(&t.text);
                            self.note_reply(is_assist, &t.role, source, lang, idx);
                        }
                        other => bail!("unknown turn role {other:?}"),
                    }
                }
                let len = self.exchanges.len() as u32 - start;
                let d = Dialogue {
                    start,
                    len,
                    source,
                    domain,
                };
                if is_assist {
                    self.assist[lang as usize].push(d);
                } else {
                    self.biz[lang as usize].push(d);
                }
            }
        }
        Ok(())
    }

    fn note_reply(&mut self, is_assist: bool, role: &str, source: u16, lang: Lang, idx: u32) {
        if is_assist {
            return;
        }
        if role == "agent" {
            self.pool_mut(Pool::Agent, lang).push(idx);
        } else {
            // Short business replies (e.g. MultiWOZ's human wizards) double as
            // human-agent lines.
            if self.texts[idx as usize].chars().count() <= AGENT_MAX_CHARS {
                self.pool_mut(Pool::Agent, lang).push(idx);
            }
            self.source_bots[source as usize].push(idx);
            self.pool_mut(Pool::BizBot, lang).push(idx);
        }
    }

    /// Adds built-in texts. With `all`, also the texts corpora normally
    /// provide (business users/bots, prompts, off-topic); otherwise only
    /// into pools that are still empty for a language.
    fn add_builtin(&mut self, all: bool) {
        let builtin_source = self.source_id("builtin");
        let no_domain = self.domain_id("");
        for lang in [Lang::En, Lang::Id] {
            let (users, bots, prompts, offtopic) = match lang {
                Lang::En => (b::BIZ_USER_EN, b::BIZ_BOT_EN, b::ASSIST_EN, b::OFFTOPIC_EN),
                Lang::Id => (b::BIZ_USER_ID, b::BIZ_BOT_ID, b::ASSIST_ID, b::OFFTOPIC_ID),
            };
            if all || self.biz[lang as usize].is_empty() {
                for u in users {
                    let user = self.push(u);
                    let start = self.exchanges.len() as u32;
                    self.exchanges.push(Exchange { user, bot: NO_TEXT });
                    self.biz[lang as usize].push(Dialogue {
                        start,
                        len: 1,
                        source: builtin_source,
                        domain: no_domain,
                    });
                }
            }
            if all || self.assist[lang as usize].is_empty() {
                for p in prompts {
                    let user = self.push(p);
                    let start = self.exchanges.len() as u32;
                    self.exchanges.push(Exchange { user, bot: NO_TEXT });
                    self.assist[lang as usize].push(Dialogue {
                        start,
                        len: 1,
                        source: builtin_source,
                        domain: no_domain,
                    });
                }
            }
            self.fill(Pool::BizBot, lang, bots, all);
            self.fill(Pool::OffTopic, lang, offtopic, all);
            let agent = match lang {
                Lang::En => b::AGENT_EN,
                Lang::Id => b::AGENT_ID,
            };
            // Human agents always get the short built-in lines as well.
            self.fill(Pool::Agent, lang, agent, true);
            let (deflect, handoff, menu, button, util, mkt, auth) = match lang {
                Lang::En => (
                    b::DEFLECT_EN,
                    b::HANDOFF_EN,
                    b::MENU_EN,
                    b::BUTTON_EN,
                    b::TPL_UTILITY_EN,
                    b::TPL_MARKETING_EN,
                    b::TPL_AUTH_EN,
                ),
                Lang::Id => (
                    b::DEFLECT_ID,
                    b::HANDOFF_ID,
                    b::MENU_ID,
                    b::BUTTON_ID,
                    b::TPL_UTILITY_ID,
                    b::TPL_MARKETING_ID,
                    b::TPL_AUTH_ID,
                ),
            };
            self.fill(Pool::Deflect, lang, deflect, true);
            self.fill(Pool::Handoff, lang, handoff, true);
            self.fill(Pool::Menu, lang, menu, true);
            self.fill(Pool::Button, lang, button, true);
            self.fill(Pool::TplUtility, lang, util, true);
            self.fill(Pool::TplMarketing, lang, mkt, true);
            self.fill(Pool::TplAuth, lang, auth, true);
            let greet = match lang {
                Lang::En => b::GREET_EN,
                Lang::Id => b::GREET_ID,
            };
            // Laid out brand-major: pool[brand * templates + template].
            for brand in b::BRANDS {
                for g in greet {
                    let idx = self.push(&g.replace("{brand}", brand));
                    self.pool_mut(Pool::Greeting, lang).push(idx);
                }
            }
        }
    }

    fn fill(&mut self, pool: Pool, lang: Lang, texts: &[&str], always: bool) {
        if !always && !self.pools[pool as usize * 2 + lang as usize].is_empty() {
            return;
        }
        for t in texts {
            let idx = self.push(t);
            self.pool_mut(pool, lang).push(idx);
        }
    }

    /// Builds the derived pools (synthesised assistant answers, long
    /// composite business answers) with a fixed seed, so a bank is a pure
    /// function of its inputs.
    fn finish(&mut self) {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5a7_0a11);
        for lang in [Lang::En, Lang::Id] {
            let phrases = match lang {
                Lang::En => Phrases {
                    intro: b::SYN_INTRO_EN,
                    points: b::SYN_POINT_EN,
                    details: b::SYN_DETAIL_EN,
                    close: b::SYN_CLOSE_EN,
                },
                Lang::Id => Phrases {
                    intro: b::SYN_INTRO_ID,
                    points: b::SYN_POINT_ID,
                    details: b::SYN_DETAIL_ID,
                    close: b::SYN_CLOSE_ID,
                },
            };
            for _ in 0..400 {
                let text = synthesise(&mut rng, &phrases);
                let idx = self.push(&text);
                self.pool_mut(Pool::AssistSynth, lang).push(idx);
            }
            let bots = self.pools[Pool::BizBot as usize * 2 + lang as usize].clone();
            if bots.is_empty() {
                continue;
            }
            for _ in 0..1500 {
                let target = rng.random_range(300..=1200usize);
                let mut text = String::new();
                let mut tries = 0;
                while text.chars().count() < target && tries < 12 {
                    tries += 1;
                    let piece = self.text(bots[rng.random_range(0..bots.len())]).to_string();
                    if !text.is_empty() && text.chars().count() + piece.chars().count() > 1200 {
                        continue;
                    }
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(&piece);
                }
                let idx = self.push(&text);
                self.pool_mut(Pool::BizComposite, lang).push(idx);
            }
        }
        // After every baseline text, with an RNG of its own, so the baseline
        // family's texts and picks are unchanged.
        self.add_adversarial();
        self.texts.shrink_to_fit();
    }

    /// A random text of `pool` in `lang`, falling back to English, else `NO_TEXT`.
    pub(crate) fn pick<R: Rng>(&self, pool: Pool, lang: Lang, rng: &mut R) -> u32 {
        let mut v = &self.pools[pool as usize * 2 + lang as usize];
        if v.is_empty() {
            v = &self.pools[pool as usize * 2];
        }
        if v.is_empty() {
            return NO_TEXT;
        }
        v[rng.random_range(0..v.len())]
    }

    /// The `i`-th text of a pool (modulo its size).
    pub(crate) fn nth(&self, pool: Pool, lang: Lang, i: usize) -> u32 {
        let mut v = &self.pools[pool as usize * 2 + lang as usize];
        if v.is_empty() {
            v = &self.pools[pool as usize * 2];
        }
        if v.is_empty() {
            return NO_TEXT;
        }
        v[i % v.len()]
    }

    /// A random business dialogue in `lang` (falls back to English).
    pub(crate) fn biz_dialogue<R: Rng>(&self, lang: Lang, rng: &mut R) -> Option<Dialogue> {
        pick_dialogue(&self.biz, lang, rng)
    }

    /// A random assistant prompt record in `lang` (falls back to English).
    pub(crate) fn assist_dialogue<R: Rng>(&self, lang: Lang, rng: &mut R) -> Option<Dialogue> {
        pick_dialogue(&self.assist, lang, rng)
    }

    pub(crate) fn exchange(&self, d: Dialogue, i: u32) -> Exchange {
        self.exchanges[(d.start + i.min(d.len.saturating_sub(1))) as usize]
    }

    /// A bot reply for an exchange: its own reply, else one of the same
    /// source, else any business bot reply in `lang`.
    pub(crate) fn biz_reply<R: Rng>(
        &self,
        d: Dialogue,
        ex: Exchange,
        lang: Lang,
        rng: &mut R,
    ) -> u32 {
        if ex.bot != NO_TEXT {
            return ex.bot;
        }
        match self.source_bots.get(d.source as usize) {
            Some(v) if !v.is_empty() => v[rng.random_range(0..v.len())],
            _ => self.pick(Pool::BizBot, lang, rng),
        }
    }

    /// Counts per pool, for tests and diagnostics.
    #[cfg(test)]
    pub(crate) fn pool_len(&self, pool: Pool, lang: Lang) -> usize {
        self.pools[pool as usize * 2 + lang as usize].len()
    }

    #[cfg(test)]
    pub(crate) fn pool_texts(&self, pool: Pool, lang: Lang) -> Vec<&str> {
        self.pools[pool as usize * 2 + lang as usize]
            .iter()
            .map(|&i| self.text(i))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn dialogue_counts(&self) -> [usize; 4] {
        [
            self.biz[0].len(),
            self.biz[1].len(),
            self.assist[0].len(),
            self.assist[1].len(),
        ]
    }
}

fn pick_dialogue<R: Rng>(sets: &[Vec<Dialogue>; 2], lang: Lang, rng: &mut R) -> Option<Dialogue> {
    let mut v = &sets[lang as usize];
    if v.is_empty() {
        v = &sets[0];
    }
    if v.is_empty() {
        return None;
    }
    Some(v[rng.random_range(0..v.len())])
}
