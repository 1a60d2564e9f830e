//! The adversarial family's per-account simulation: sessions opened on the
//! account's daily curve, played out turn by turn into compact events.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use satpam_proto::v1::{Direction, MessageKind, Sender, TemplateCategory};

use super::market::Market;
use super::shape::{Answers, Latency, Opener, Params, Prompts};
use super::Slices;
use crate::generate::{CEvent, NO_EVENT};
use crate::market::lang_of;
use crate::texts::{Dialogue, Lang, Pool, TextBank, NO_TEXT};

/// A user starts a new session only after this much silence.
pub(crate) const SESSION_GAP_MS: i64 = 30 * 60_000;

/// Users of one split-numbers operator, shared by its numbers.
pub(crate) const SHARED_USERS: u32 = 4000;

/// One outbound message.
struct Msg {
    kind: MessageKind,
    text: u32,
    reply_to: u32,
    category: TemplateCategory,
    sender: Sender,
    handoff: bool,
    cap: u16,
}

pub(crate) struct Sim<'a> {
    pub rng: ChaCha8Rng,
    pub bank: &'a TextBank,
    pub slices: &'a Slices,
    pub p: Params,
    pub market: Market,
    pub account: u32,
    /// Per user: country index and the time of their latest message.
    pub users: Vec<(u8, i64)>,
    pub events: Vec<CEvent>,
    pub end: i64,
}

impl Sim<'_> {
    fn lognormal_ms(&mut self, (median, sigma, lo, hi): (f64, f64, f64, f64)) -> i64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        ((median.ln() + sigma * z).exp().clamp(lo, hi) * 1000.0).round() as i64
    }

    fn think_ms(&mut self) -> i64 {
        let t = self.p.think_s;
        // Below the session gap, so a pause never splits a session.
        self.lognormal_ms((t, 0.9, 2.0, 1500.0))
    }

    fn reply_ms(&mut self, text: u32, cap: u16) -> i64 {
        match self.p.latency {
            Latency::Model {
                base_s,
                chars_per_s,
            } => {
                let mut chars = self.bank.text(text).chars().count();
                if cap > 0 {
                    chars = chars.min(usize::from(cap));
                }
                self.lognormal_ms((base_s, 0.4, 0.5, 30.0))
                    + (chars as f64 / chars_per_s * 1000.0) as i64
            }
            Latency::Fixed(m, s, lo, hi) => self.lognormal_ms((m, s, lo, hi)),
        }
    }

    fn push(&mut self, ts: i64, user: u32, dir: Direction, m: Msg) -> Option<u32> {
        if ts >= self.end {
            return None;
        }
        let local = self.events.len() as u32;
        let (country, seen) = &mut self.users[user as usize];
        *seen = (*seen).max(ts);
        let country = *country;
        self.events.push(CEvent {
            ts,
            account: self.account,
            local,
            user,
            reply_to: m.reply_to,
            text: m.text,
            cap: m.cap,
            direction: dir as u8,
            kind: m.kind as u8,
            category: m.category as u8,
            sender: m.sender as u8,
            country,
            handoff: m.handoff,
        });
        Some(local)
    }

    fn user_msg(&mut self, ts: i64, user: u32, kind: MessageKind, text: u32) -> Option<u32> {
        let m = Msg {
            kind,
            text,
            reply_to: NO_EVENT,
            category: TemplateCategory::Unspecified,
            sender: Sender::Unspecified,
            handoff: false,
            cap: 0,
        };
        self.push(ts, user, Direction::Inbound, m)
    }

    fn reply(&mut self, ts: i64, user: u32, text: u32, to: u32, sender: Sender) -> Option<u32> {
        let m = Msg {
            kind: MessageKind::Text,
            text,
            reply_to: to,
            category: TemplateCategory::Unspecified,
            sender,
            handoff: false,
            cap: self.p.cap,
        };
        self.push(ts, user, Direction::Outbound, m)
    }

    fn template(&mut self, ts: i64, user: u32, pool: Pool, cat: TemplateCategory) -> Option<u32> {
        let lang = self.lang(user);
        let text = self.bank.pick(pool, lang, &mut self.rng);
        let m = Msg {
            kind: MessageKind::Template,
            text,
            reply_to: NO_EVENT,
            category: cat,
            sender: Sender::Bot,
            handoff: false,
            cap: 0,
        };
        self.push(ts, user, Direction::Outbound, m)
    }

    fn lang(&self, user: u32) -> Lang {
        lang_of(self.users[user as usize].0)
    }

    fn new_user(&mut self) -> u32 {
        let c = self.market.user_country(&mut self.rng);
        self.users.push((c, i64::MIN / 2));
        (self.users.len() - 1) as u32
    }

    /// A user free to start a session at `t0`: a returning one at the
    /// account's rate (a few are tried), else a new one. Split-numbers
    /// draw from their operator's shared population (none when the few
    /// tried are all busy).
    fn session_user(&mut self, t0: i64) -> Option<u32> {
        if self.p.shared_users {
            return (0..32).find_map(|_| {
                let u = self.rng.random_range(0..SHARED_USERS);
                (self.users[u as usize].1 + SESSION_GAP_MS <= t0).then_some(u)
            });
        }
        if !self.users.is_empty() && self.rng.random_bool(self.p.returning) {
            for _ in 0..8 {
                let u = self.rng.random_range(0..self.users.len());
                if self.users[u].1 + SESSION_GAP_MS <= t0 {
                    return Some(u as u32);
                }
            }
        }
        Some(self.new_user())
    }

    /// A dialogue of `prompts` for `lang`.
    fn dialogue(&mut self, prompts: Prompts, lang: Lang) -> Option<Dialogue> {
        match prompts {
            Prompts::Slice(id) => self.slices.pick(self.bank, id, lang, &mut self.rng),
            Prompts::Everyday => None,
        }
    }

    /// An everyday request: the off-topic corpus, or an Indonesian prompt.
    fn everyday(&mut self, lang: Lang) -> u32 {
        if lang == Lang::Id && self.rng.random_bool(0.4) {
            if let Some(d) = self.bank.assist_dialogue(lang, &mut self.rng) {
                return self.bank.exchange(d, 0).user;
            }
        }
        self.bank.pick(Pool::OffTopic, lang, &mut self.rng)
    }

    fn answer(&mut self, answers: Answers, d: Option<(Dialogue, u32)>, lang: Lang) -> (u32, u16) {
        let own = d.map_or(NO_TEXT, |(d, i)| self.bank.exchange(d, i).bot);
        let rng = &mut self.rng;
        match answers {
            Answers::Long if own != NO_TEXT => (own, 0),
            Answers::Long => (self.bank.pick(Pool::AssistSynth, lang, rng), 0),
            Answers::Cited => (self.bank.pick(Pool::AdvCited, lang, rng), 0),
            Answers::Code if self.bank.has(Pool::AdvCode, lang) && rng.random_bool(0.5) => {
                (self.bank.pick(Pool::AdvCode, lang, rng), 0)
            }
            Answers::Code => (self.bank.pick(Pool::AssistSynth, lang, rng), 0),
            Answers::Chatty if rng.random_bool(0.6) => {
                (self.bank.pick(Pool::AdvChatty, lang, rng), 0)
            }
            Answers::Chatty => {
                let cap = rng.random_range(150..=600);
                (self.bank.pick(Pool::AssistSynth, lang, rng), cap)
            }
            Answers::Faq => (self.bank.pick(Pool::AdvFaq, lang, rng), 0),
            Answers::Business => match d {
                Some((d, i)) => {
                    let ex = self.bank.exchange(d, i);
                    (self.bank.biz_reply(d, ex, lang, rng), 0)
                }
                None => (self.bank.pick(Pool::BizBot, lang, rng), 0),
            },
        }
    }

    /// The session opener (a template, or greeting, menu, button tap and
    /// the bot's welcome); returns when the user's first question comes.
    fn open(&mut self, mut t: i64, user: u32) -> Option<i64> {
        let lang = self.lang(user);
        let menu = match self.p.opener {
            Opener::None => return Some(t),
            Opener::TemplateOrMenu => !self.rng.random_bool(0.55) || self.p.menu >= 1.0,
            Opener::Menu => self.p.menu > 0.0 && self.rng.random_bool(self.p.menu),
        };
        if !menu {
            if self.p.opener == Opener::TemplateOrMenu {
                let cat = if self.rng.random_bool(0.7) {
                    TemplateCategory::Utility
                } else {
                    TemplateCategory::Marketing
                };
                self.template(t, user, Pool::AdvOpener, cat)?;
                t += self.think_ms();
            }
            return Some(t);
        }
        let hi = self.bank.pick(Pool::AdvHello, lang, &mut self.rng);
        let greet = self.user_msg(t, user, MessageKind::Text, hi)?;
        t += self.lognormal_ms((1.5, 0.4, 0.3, 6.0));
        let menu = self.bank.pick(Pool::Menu, lang, &mut self.rng);
        let m = Msg {
            kind: MessageKind::Interactive,
            text: menu,
            reply_to: greet,
            category: TemplateCategory::Unspecified,
            sender: Sender::Bot,
            handoff: false,
            cap: 0,
        };
        self.push(t, user, Direction::Outbound, m)?;
        t += self.lognormal_ms((5.0, 0.6, 1.0, 90.0));
        let button = self.bank.pick(Pool::Button, lang, &mut self.rng);
        let tap = self.user_msg(t, user, MessageKind::ButtonReply, button)?;
        t += self.lognormal_ms((1.5, 0.4, 0.3, 6.0));
        let opener = self.bank.pick(Pool::AdvOpener, lang, &mut self.rng);
        self.reply(t, user, opener, tap, Sender::Bot)?;
        t += self.think_ms();
        Some(t)
    }

    /// One session of a user with the account.
    pub(crate) fn session(&mut self, t0: i64) -> Option<()> {
        let user = self.session_user(t0)?;
        let lang = self.lang(user);
        let mut t = self.open(t0, user)?;
        let turns = self
            .rng
            .random_range(self.p.turns.0..=self.p.turns.1.max(self.p.turns.0));
        let handoff_at =
            if self.p.handoff > 0.0 && turns >= 2 && self.rng.random_bool(self.p.handoff) {
                self.rng.random_range(1..turns)
            } else {
                u32::MAX
            };
        let mut handed = false;
        let mut main: Option<(Dialogue, u32)> = None;
        for k in 0..turns {
            let off = self.p.offtopic > 0.0 && self.rng.random_bool(self.p.offtopic);
            let side = !off && self.p.side > 0.0 && self.rng.random_bool(self.p.side);
            let (prompts, answers) = if side {
                (self.p.side_prompts, self.p.side_answers)
            } else {
                (self.p.prompts, self.p.answers)
            };
            // Main prompts play a record's turns in order; side prompts are one-offs.
            let at = if side {
                self.dialogue(prompts, lang).map(|d| (d, 0))
            } else {
                match main {
                    Some((d, i)) if i + 1 < d.len => Some((d, i + 1)),
                    _ => self.dialogue(prompts, lang).map(|d| (d, 0)),
                }
            };
            if !side {
                main = at;
            }
            let text = match (off, at) {
                (true, _) => self.bank.pick(Pool::OffTopic, lang, &mut self.rng),
                (false, Some((d, i))) => self.bank.exchange(d, i).user,
                (false, None) => self.everyday(lang),
            };
            let media = if off {
                None
            } else if self.p.audio > 0.0 && self.rng.random_bool(self.p.audio) {
                Some(MessageKind::Audio)
            } else if self.p.image > 0.0 && self.rng.random_bool(self.p.image) {
                Some(MessageKind::Image)
            } else {
                None
            };
            let ask = match media {
                Some(kind) => self.user_msg(t, user, kind, NO_TEXT)?,
                None => self.user_msg(t, user, MessageKind::Text, text)?,
            };
            if k == handoff_at && !handed {
                t += self.lognormal_ms((2.0, 0.4, 0.5, 8.0));
                let line = self.bank.pick(Pool::Handoff, lang, &mut self.rng);
                let m = Msg {
                    kind: MessageKind::Text,
                    text: line,
                    reply_to: ask,
                    category: TemplateCategory::Unspecified,
                    sender: Sender::Bot,
                    handoff: true,
                    cap: 0,
                };
                self.push(t, user, Direction::Outbound, m)?;
                handed = true;
            }
            if handed {
                t += self.lognormal_ms(self.p.agent_lat);
                let line = self.bank.pick(Pool::Agent, lang, &mut self.rng);
                self.reply(t, user, line, ask, Sender::HumanAgent)?;
            } else if off {
                t += self.lognormal_ms((2.0, 0.4, 0.5, 8.0));
                let line = self.bank.pick(Pool::Deflect, lang, &mut self.rng);
                self.reply(t, user, line, ask, self.p.sender)?;
            } else {
                let (text, cap) = self.answer(answers, at, lang);
                t += self.reply_ms(text, cap.max(self.p.cap));
                let m = Msg {
                    kind: MessageKind::Text,
                    text,
                    reply_to: ask,
                    category: TemplateCategory::Unspecified,
                    sender: self.p.sender,
                    handoff: false,
                    cap: if cap > 0 { cap } else { self.p.cap },
                };
                self.push(t, user, Direction::Outbound, m)?;
            }
            t += self.think_ms();
        }
        if self.p.update > 0.0 && self.rng.random_bool(self.p.update) {
            let later = t + self.rng.random_range(20 * 60_000..6 * 3_600_000);
            self.template(later, user, self.p.update_pool, TemplateCategory::Utility)?;
        }
        Some(())
    }

    /// A marketing campaign at `t0`: templates to many users within a few
    /// minutes; a few reply, and the bot answers them.
    pub(crate) fn campaign(&mut self, t0: i64) {
        let spread = self.rng.random_range(3 * 60_000..20 * 60_000i64);
        let size = self.p.campaign_size;
        let mut replies = Vec::new();
        for i in 0..size {
            let t = t0 + spread * i64::from(i) / i64::from(size.max(1));
            let user = if !self.users.is_empty() && self.rng.random_bool(0.6) {
                self.rng.random_range(0..self.users.len()) as u32
            } else {
                self.new_user()
            };
            if self
                .template(t, user, Pool::AdvCampaign, TemplateCategory::Marketing)
                .is_none()
            {
                break;
            }
            if self.rng.random_bool(0.04) {
                replies.push((t + self.lognormal_ms((600.0, 1.2, 20.0, 14_400.0)), user));
            }
        }
        for (t, user) in replies {
            let lang = self.lang(user);
            let d = self.dialogue(self.p.prompts, lang);
            let text = match d {
                Some(d) => self.bank.exchange(d, 0).user,
                None => self.bank.pick(Pool::Button, lang, &mut self.rng),
            };
            let Some(ask) = self.user_msg(t, user, MessageKind::Text, text) else {
                continue;
            };
            let (answer, _) = self.answer(Answers::Business, d.map(|d| (d, 0)), lang);
            let at = t + self.reply_ms(answer, 0);
            let _ = self.reply(at, user, answer, ask, Sender::Bot);
        }
    }
}
