//! Rendering compact events into `MessageEvent`s, JSONL and the labels CSV.

use std::io::{self, BufWriter, Write};

use super::generate::{mix64, CEvent, NO_EVENT};
use super::market::COUNTRIES;
use super::texts::NO_TEXT;
use super::Scenario;
use satpam_proto::v1::MessageEvent;

/// `acc-000123`.
pub(crate) fn account_id(index: u32) -> String {
    format!("acc-{index:06}")
}

impl Scenario {
    fn id_key(&self, account: u32) -> u64 {
        mix64(self.seed_key ^ u64::from(account))
    }

    /// `wamid.` + 24 hex digits: a bijection of (seed, account) then the
    /// event's index in its account, so ids are unique.
    fn event_id(&self, account: u32, local: u32) -> String {
        format!("wamid.{:016x}{local:08x}", self.id_key(account))
    }

    /// `u-` + 16 hex digits, a bijection of (seed, user key, user index);
    /// the user key is the account's index unless numbers share users.
    fn user_id(&self, account: u32, user: u32) -> String {
        let key = self.accounts[account as usize].user_key;
        format!(
            "u-{:016x}",
            mix64(self.seed_key.rotate_left(17) ^ ((u64::from(key) << 32) | u64::from(user)))
        )
    }

    /// The event text with the event's length cap applied.
    fn text_of(&self, e: &CEvent) -> &str {
        if e.text == NO_TEXT {
            return "";
        }
        let t = self.bank.text(e.text);
        if e.cap == 0 {
            return t;
        }
        match t.char_indices().nth(usize::from(e.cap)) {
            Some((i, _)) => &t[..i],
            None => t,
        }
    }

    pub(crate) fn materialise(&self, e: &CEvent) -> MessageEvent {
        let acc = &self.accounts[e.account as usize];
        let text = self.text_of(e);
        let (text, text_length) = if self.metadata_only {
            (
                String::new(),
                u32::try_from(text.chars().count()).unwrap_or(u32::MAX),
            )
        } else {
            (text.to_string(), 0)
        };
        MessageEvent {
            event_id: self.event_id(e.account, e.local),
            tenant_id: format!("bsp-{:02}", acc.tenant),
            account_id: account_id(e.account),
            waba_id: format!("waba-{}", acc.waba),
            user_id: self.user_id(e.account, e.user),
            conversation_id: String::new(),
            direction: i32::from(e.direction),
            kind: i32::from(e.kind),
            template_category: i32::from(e.category),
            sender: i32::from(e.sender),
            timestamp_ms: e.ts,
            text,
            text_length,
            user_country: COUNTRIES
                .get(usize::from(e.country))
                .copied()
                .unwrap_or("ZZ")
                .to_string(),
            handoff: e.handoff,
            reply_to: if e.reply_to == NO_EVENT {
                String::new()
            } else {
                self.event_id(e.account, e.reply_to)
            },
            delivery: None,
            business_id: String::new(),
        }
    }

    /// Writes one canonical proto3-JSON `MessageEvent` per line, in event-time
    /// order; returns the number of events written.
    pub fn write_events_jsonl<W: Write>(&self, w: W) -> io::Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, w);
        let mut n = 0u64;
        for e in &self.events {
            serde_json::to_writer(&mut w, &self.materialise(e)).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
            n += 1;
        }
        w.flush()?;
        Ok(n)
    }

    /// Writes `account_id,archetype,violating` with one row per account.
    pub fn write_labels_csv<W: Write>(&self, w: W) -> io::Result<()> {
        let mut w = BufWriter::new(w);
        writeln!(w, "account_id,archetype,violating")?;
        for l in &self.labels {
            writeln!(w, "{},{},{}", l.account_id, l.archetype.name(), l.violating)?;
        }
        w.flush()
    }
}
