//! Per-account traffic simulation into compact events.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::archetype::Archetype;
use super::market::{draw_tenant, lang_of, weighted, CountryMix};
use super::params::Params;
use super::texts::{greeting_templates, Lang, Pool, TextBank, NO_TEXT};
use satpam_proto::v1::{Direction, MessageKind, Sender, TemplateCategory};

/// Marks "no event" in a `reply_to` field.
pub(crate) const NO_EVENT: u32 = u32::MAX;

/// One event, compactly: ids are small integers rendered on output, text is
/// an index into the bank. 40 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CEvent {
    pub ts: i64,
    pub account: u32,
    /// Index of the event within its account (generation order); with
    /// `account` it makes the event id and the sort tie-breaker.
    pub local: u32,
    /// Index of the user within its account.
    pub user: u32,
    /// `local` of the inbound event answered, or `NO_EVENT`.
    pub reply_to: u32,
    pub text: u32,
    /// Truncate the text to this many chars (0 = no cap).
    pub cap: u16,
    pub direction: u8,
    pub kind: u8,
    pub category: u8,
    pub sender: u8,
    pub country: u8,
    pub handoff: bool,
}

/// Per-account facts needed to render events and labels.
#[derive(Clone, Debug)]
pub(crate) struct AccountInfo {
    pub archetype: Archetype,
    pub tenant: u8,
    pub waba: u64,
    /// Key of the account's user ids: its own index, or an operator's
    /// key when several numbers share users (adversarial split-numbers).
    pub user_key: u32,
}

pub(crate) use crate::mix::mix64;

/// A user returns only after this much silence (a new session, as the
/// engine and WhatsApp see it); nobody runs two conversations at once.
const RETURN_GAP_MS: i64 = 30 * 60_000;
/// Users tried when looking for one who can return.
const RETURN_CANDIDATES: usize = 8;

/// Event-level fields of an outbound message.
struct Out {
    kind: MessageKind,
    sender: Sender,
    text: u32,
    reply_to: u32,
    handoff: bool,
    category: TemplateCategory,
}

impl Out {
    fn reply(sender: Sender, text: u32, reply_to: u32) -> Out {
        Out {
            kind: MessageKind::Text,
            sender,
            text,
            reply_to,
            handoff: false,
            category: TemplateCategory::Unspecified,
        }
    }
}

struct Sim<'a> {
    rng: ChaCha8Rng,
    bank: &'a TextBank,
    arch: Archetype,
    p: Params,
    mix: CountryMix,
    account: u32,
    users: Vec<u8>,
    /// Event time of each user's latest message, to keep returning users realistic.
    last_seen: Vec<i64>,
    events: Vec<CEvent>,
    end: i64,
    brand: usize,
    /// Reply length cap in chars for outbound text (0 = none).
    cap: u16,
}

impl Sim<'_> {
    fn lognormal_ms(&mut self, (median, sigma, lo, hi): (f64, f64, f64, f64)) -> i64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        let s = (median.ln() + sigma * z).exp().clamp(lo, hi);
        (s * 1000.0).round() as i64
    }

    fn think_ms(&mut self) -> i64 {
        let t = self.p.think_s;
        self.lognormal_ms((t, 0.8, 3.0, 1800.0))
    }

    fn push(&mut self, ts: i64, user: u32, dir: Direction, out: Out, cap: u16) -> Option<u32> {
        if ts >= self.end {
            return None;
        }
        let local = self.events.len() as u32;
        let seen = &mut self.last_seen[user as usize];
        *seen = (*seen).max(ts);
        self.events.push(CEvent {
            ts,
            account: self.account,
            local,
            user,
            reply_to: out.reply_to,
            text: out.text,
            cap,
            direction: dir as u8,
            kind: out.kind as u8,
            category: out.category as u8,
            sender: out.sender as u8,
            country: self.users[user as usize],
            handoff: out.handoff,
        });
        Some(local)
    }

    fn inbound(&mut self, ts: i64, user: u32, kind: MessageKind, text: u32) -> Option<u32> {
        let out = Out {
            kind,
            sender: Sender::Unspecified,
            text,
            reply_to: NO_EVENT,
            handoff: false,
            category: TemplateCategory::Unspecified,
        };
        self.push(ts, user, Direction::Inbound, out, 0)
    }

    fn outbound(&mut self, ts: i64, user: u32, out: Out) -> Option<u32> {
        let cap = if out.kind == MessageKind::Text {
            self.cap
        } else {
            0
        };
        self.push(ts, user, Direction::Outbound, out, cap)
    }

    /// A user for a conversation starting at `t0`: at the account's rate a
    /// returning user (one silent for at least [`RETURN_GAP_MS`]; a few
    /// random candidates are tried), else a new one.
    fn pick_user(&mut self, t0: i64, returning: f64) -> (u32, Lang) {
        let mut user = None;
        if !self.users.is_empty() && self.rng.random_bool(returning) {
            for _ in 0..RETURN_CANDIDATES {
                let u = self.rng.random_range(0..self.users.len());
                if self.last_seen[u] + RETURN_GAP_MS <= t0 {
                    user = Some(u as u32);
                    break;
                }
            }
        }
        let user = user.unwrap_or_else(|| {
            let c = self.mix.user_country(&mut self.rng);
            self.users.push(c);
            self.last_seen.push(i64::MIN / 2);
            (self.users.len() - 1) as u32
        });
        (user, lang_of(self.users[user as usize]))
    }

    /// The turn at which a conversation of `turns` is handed to a human,
    /// at the account's hand-off rate; `u32::MAX` for none.
    fn handoff_turn(&mut self, turns: u32) -> u32 {
        if self.p.handoff > 0.0 && turns >= 2 && self.rng.random_bool(self.p.handoff) {
            self.rng.random_range(1..turns)
        } else {
            u32::MAX
        }
    }

    fn turns(&mut self) -> u32 {
        let (lo, hi) = self.p.turns;
        self.rng.random_range(lo..=hi.max(lo))
    }

    fn template(&mut self, ts: i64, user: u32, lang: Lang, cat: usize) -> Option<u32> {
        let (pool, category) = match cat {
            0 => (Pool::TplUtility, TemplateCategory::Utility),
            1 => (Pool::TplMarketing, TemplateCategory::Marketing),
            _ => (Pool::TplAuth, TemplateCategory::Authentication),
        };
        let text = self.bank.pick(pool, lang, &mut self.rng);
        let out = Out {
            kind: MessageKind::Template,
            sender: Sender::Bot,
            text,
            reply_to: NO_EVENT,
            handoff: false,
            category,
        };
        self.outbound(ts, user, out)
    }

    /// A user media message instead of text, at the account's media rate.
    fn media_kind(&mut self) -> Option<MessageKind> {
        if self.p.media > 0.0 && self.rng.random_bool(self.p.media) {
            const KINDS: [MessageKind; 5] = [
                MessageKind::Image,
                MessageKind::Image,
                MessageKind::Document,
                MessageKind::Audio,
                MessageKind::Location,
            ];
            Some(KINDS[self.rng.random_range(0..KINDS.len())])
        } else {
            None
        }
    }

    /// Support, noisy, AI business bots and human desks.
    fn business_conv(&mut self, t0: i64) -> Option<()> {
        let (user, lang) = self.pick_user(t0, self.p.returning);
        let human_desk = self.arch == Archetype::HumanAgentDesk;
        let mut dlg = self.bank.biz_dialogue(lang, &mut self.rng)?;
        let mut pos = 0;
        let turns = self.turns();
        let handoff_at = self.handoff_turn(turns);
        let mut handed = human_desk;
        let mut t = t0;
        for k in 0..turns {
            if pos >= dlg.len {
                dlg = self.bank.biz_dialogue(lang, &mut self.rng)?;
                pos = 0;
            }
            let ex = self.bank.exchange(dlg, pos);
            pos += 1;
            let off = self.p.offtopic > 0.0 && self.rng.random_bool(self.p.offtopic);
            let media = if off { None } else { self.media_kind() };
            let (kind, text) = match (off, media) {
                (true, _) => (
                    MessageKind::Text,
                    self.bank.pick(Pool::OffTopic, lang, &mut self.rng),
                ),
                (false, Some(m)) => (m, NO_TEXT),
                (false, None) => (MessageKind::Text, ex.user),
            };
            let mut ask = self.inbound(t, user, kind, text)?;
            if k == 0 && !handed && self.p.greeting > 0.0 && self.rng.random_bool(self.p.greeting) {
                t += self.lognormal_ms(self.p.bot_lat);
                let tmpl = self.rng.random_range(0..greeting_templates(lang));
                let g = self.bank.nth(
                    Pool::Greeting,
                    lang,
                    self.brand * greeting_templates(lang) + tmpl,
                );
                self.outbound(t, user, Out::reply(Sender::Bot, g, ask))?;
            }
            if k == 0 && !handed && self.p.menu > 0.0 && self.rng.random_bool(self.p.menu) {
                t += self.lognormal_ms(self.p.bot_lat);
                let menu = self.bank.pick(Pool::Menu, lang, &mut self.rng);
                let out = Out {
                    kind: MessageKind::Interactive,
                    ..Out::reply(Sender::Bot, menu, ask)
                };
                self.outbound(t, user, out)?;
                t += self.lognormal_ms((6.0, 0.6, 1.5, 120.0));
                let button = self.bank.pick(Pool::Button, lang, &mut self.rng);
                ask = self.inbound(t, user, MessageKind::ButtonReply, button)?;
            }
            if k == handoff_at && !handed {
                t += self.lognormal_ms(self.p.bot_lat);
                let line = self.bank.pick(Pool::Handoff, lang, &mut self.rng);
                let out = Out {
                    handoff: true,
                    ..Out::reply(Sender::Bot, line, ask)
                };
                self.outbound(t, user, out)?;
                handed = true;
            }
            if handed {
                t += self.lognormal_ms(self.p.agent_lat);
                let reply = if off {
                    self.bank.pick(Pool::Deflect, lang, &mut self.rng)
                } else {
                    self.bank.pick(Pool::Agent, lang, &mut self.rng)
                };
                self.outbound(t, user, Out::reply(Sender::HumanAgent, reply, ask))?;
            } else {
                t += self.lognormal_ms(self.p.bot_lat);
                let reply = if off {
                    self.bank.pick(Pool::Deflect, lang, &mut self.rng)
                } else if self.arch == Archetype::AiBusinessBot {
                    self.bank.pick(Pool::BizComposite, lang, &mut self.rng)
                } else {
                    self.bank.biz_reply(dlg, ex, lang, &mut self.rng)
                };
                self.outbound(t, user, Out::reply(Sender::Bot, reply, ask))?;
            }
            t += self.think_ms();
        }
        Some(())
    }

    /// A template to a user, sometimes answered; used by every archetype
    /// that sends templates.
    fn template_conv(&mut self, t0: i64, returning: f64) -> Option<()> {
        let (user, lang) = self.pick_user(t0, returning);
        let cat = weighted(&mut self.rng, &self.p.tpl_mix);
        self.template(t0, user, lang, cat)?;
        let reply_rate = if self.arch == Archetype::NotificationSender {
            self.p.reply_rate
        } else {
            0.1
        };
        if !self.rng.random_bool(reply_rate) {
            return Some(());
        }
        let mut t = t0 + self.think_ms();
        let dlg = self.bank.biz_dialogue(lang, &mut self.rng)?;
        let by_bot =
            self.arch != Archetype::HumanAgentDesk && self.rng.random_bool(self.p.bot_answers);
        let turns = self.turns();
        for k in 0..turns {
            let ex = self.bank.exchange(dlg, k);
            let ask = self.inbound(t, user, MessageKind::Text, ex.user)?;
            if by_bot {
                t += self.lognormal_ms(self.p.bot_lat);
                let reply = self.bank.biz_reply(dlg, ex, lang, &mut self.rng);
                self.outbound(t, user, Out::reply(Sender::Bot, reply, ask))?;
            } else {
                t += self.lognormal_ms(self.p.agent_lat);
                let reply = self.bank.pick(Pool::Agent, lang, &mut self.rng);
                self.outbound(t, user, Out::reply(Sender::HumanAgent, reply, ask))?;
            }
            t += self.think_ms();
        }
        Some(())
    }

    /// Open-domain prompts and long answers (distributor and evasive).
    fn assistant_conv(&mut self, t0: i64) -> Option<()> {
        let (user, lang) = self.pick_user(t0, self.p.returning);
        let evasive = self.arch == Archetype::EvasiveAssistant;
        let mut dlg = self.bank.assist_dialogue(lang, &mut self.rng)?;
        let mut pos = 0;
        let turns = self.turns();
        let handoff_at = self.handoff_turn(turns);
        let mut handed = false;
        let mut t = t0;
        for k in 0..turns {
            let biz = evasive && self.rng.random_bool(self.p.biz_mix);
            let (text, answer) = if biz {
                let d = self.bank.biz_dialogue(lang, &mut self.rng)?;
                let ex = self.bank.exchange(d, 0);
                (ex.user, self.bank.biz_reply(d, ex, lang, &mut self.rng))
            } else {
                if pos >= dlg.len {
                    dlg = self.bank.assist_dialogue(lang, &mut self.rng)?;
                    pos = 0;
                }
                let ex = self.bank.exchange(dlg, pos);
                pos += 1;
                let answer = if ex.bot != NO_TEXT {
                    ex.bot
                } else {
                    self.bank.pick(Pool::AssistSynth, lang, &mut self.rng)
                };
                (ex.user, answer)
            };
            let mut ask = self.inbound(t, user, MessageKind::Text, text)?;
            if k == 0 && evasive {
                // Greets each new conversation like a business bot would.
                t += self.lognormal_ms((2.0, 0.4, 0.5, 8.0));
                if self.rng.random_bool(self.p.menu) {
                    let menu = self.bank.pick(Pool::Menu, lang, &mut self.rng);
                    let out = Out {
                        kind: MessageKind::Interactive,
                        ..Out::reply(Sender::Bot, menu, ask)
                    };
                    self.outbound(t, user, out)?;
                    t += self.lognormal_ms((6.0, 0.6, 1.5, 120.0));
                    let button = self.bank.pick(Pool::Button, lang, &mut self.rng);
                    ask = self.inbound(t, user, MessageKind::ButtonReply, button)?;
                } else {
                    self.template(t, user, lang, 0)?;
                }
            }
            if k == handoff_at {
                t += self.lognormal_ms(self.p.bot_lat);
                let line = self.bank.pick(Pool::Handoff, lang, &mut self.rng);
                self.outbound(
                    t,
                    user,
                    Out {
                        handoff: true,
                        ..Out::reply(Sender::Bot, line, ask)
                    },
                )?;
                handed = true;
            }
            if handed {
                t += self.lognormal_ms(self.p.agent_lat);
                let reply = self.bank.pick(Pool::Agent, lang, &mut self.rng);
                self.outbound(t, user, Out::reply(Sender::HumanAgent, reply, ask))?;
            } else {
                t += self.lognormal_ms(self.p.bot_lat);
                self.outbound(t, user, Out::reply(Sender::Bot, answer, ask))?;
                if self.p.tpl_after_reply > 0.0
                    && self.rng.random_bool(self.p.tpl_after_reply.min(1.0))
                {
                    t += self.rng.random_range(1000..20_000);
                    self.template(t, user, lang, 0)?;
                }
            }
            t += self.think_ms();
        }
        Some(())
    }

    fn conversation(&mut self, t0: i64) {
        let tpl = self.arch == Archetype::NotificationSender
            || (self.p.template_conv > 0.0 && self.rng.random_bool(self.p.template_conv));
        let _ = if tpl {
            self.template_conv(t0, self.p.returning)
        } else {
            match self.arch {
                Archetype::AssistantDistributor | Archetype::EvasiveAssistant => {
                    self.assistant_conv(t0)
                }
                _ => self.business_conv(t0),
            }
        };
    }
}

/// Daily cycle of conversation starts: 0.4x at 04:00 local, 1.6x at 16:00.
fn daily_factor(ts: i64, utc_offset_h: i64) -> f64 {
    let h = ((ts / 1000 + utc_offset_h * 3600).rem_euclid(86_400)) as f64 / 3600.0;
    1.0 + 0.6 * (std::f64::consts::TAU * (h - 10.0) / 24.0).sin()
}

/// The seed of account `index`'s RNG.
pub(crate) fn account_seed(seed: u64, index: u32) -> u64 {
    mix64(mix64(seed) ^ mix64(u64::from(index).wrapping_add(0xACC0_0000)))
}

/// Generates one account's traffic in `[start_ms, start_ms + hours)`.
pub(crate) fn generate_account(
    bank: &TextBank,
    seed: u64,
    index: u32,
    start_ms: i64,
    hours: f64,
) -> (AccountInfo, Vec<CEvent>) {
    let mut rng = ChaCha8Rng::seed_from_u64(account_seed(seed, index));
    let archetype = Archetype::from_unit(rng.random());
    let tenant = draw_tenant(&mut rng);
    let waba = 100_000_000_000_000 + rng.random_range(0..900_000_000_000_000u64);
    let mix = CountryMix::draw(&mut rng);
    // A number of a multi-number WABA behaves as its group says; every
    // other account keeps the draws above.
    let group = super::waba::group_of(seed, index);
    let (archetype, tenant, waba) = match &group {
        Some(g) => (g.behaves_as, g.tenant, g.waba),
        None => (archetype, tenant, waba),
    };
    let mut p = Params::draw(archetype, &mut rng);
    if let Some(rate) = group.as_ref().and_then(|g| g.conv_per_h) {
        p.conv_per_h = rate;
    }
    let brand = rng.random_range(0..super::builtin::BRANDS.len());
    let stretch_ms = (hours.max(0.0) * 3_600_000.0) as i64;
    let end = start_ms + stretch_ms;
    let cap = p.cap;
    let mut sim = Sim {
        rng,
        bank,
        arch: archetype,
        p,
        mix,
        account: index,
        users: Vec::new(),
        last_seen: Vec::new(),
        events: Vec::new(),
        end,
        brand,
        cap,
    };
    if stretch_ms > 0 {
        // First conversation within the first 10% of the stretch, then a
        // Poisson process thinned by the daily cycle.
        let mut t = start_ms + sim.rng.random_range(0..(stretch_ms / 10).max(1));
        let max_rate_per_ms = sim.p.conv_per_h * 1.6 / 3_600_000.0;
        sim.conversation(t);
        loop {
            let u: f64 = sim.rng.random();
            t += (-(1.0 - u).ln() / max_rate_per_ms).ceil() as i64;
            if t >= end {
                break;
            }
            if sim.rng.random::<f64>() * 1.6 < daily_factor(t, sim.mix.utc_offset_h) {
                sim.conversation(t);
            }
        }
    }
    let mut events = sim.events;
    let archetype = if let Some(g) = group {
        g.label
    } else if archetype == Archetype::AssistantDistributor && index % 8 == 3 {
        for e in &mut events {
            if e.direction == Direction::Outbound as u8 && e.sender == Sender::Bot as u8 {
                e.sender = Sender::MetaBusinessAgent as u8;
            }
        }
        Archetype::MetaBusinessAgent
    } else {
        archetype
    };
    let info = AccountInfo {
        archetype,
        tenant,
        waba,
        user_key: index,
    };
    (info, events)
}
