//! Pre-rendered webhook traffic (`--prerender N`): the requests of the
//! run's first N events rendered and signed before the timed phases, so
//! that a measurement is of satpam rather than of loadgen's JSON rendering
//! and HMAC (28 µs of CPU per event on the shared two cores otherwise).
//!
//! The bodies are grouped as Meta groups notifications (`--webhook-batch`):
//! - `number`: one body per business phone number (one entry: its messages
//!   and echoes in order, then the statuses of the outbound messages it
//!   sent through the send-API tap since its last body), with up to
//!   `--events-per-body` messages;
//! - `connection`: Meta's aggregated batches ("sent in a batch with a
//!   maximum of 1000 updates", Graph API Webhooks): the notifications of
//!   all the numbers on one connection, one entry per number, with up to
//!   `--events-per-body` updates (messages and statuses).
//!
//! Either way a body closes early when a send-API event of a number with
//! messages in it comes (which must not overtake them) or when its first
//! message is [`WINDOW`] events of the run old (so that a quiet number's
//! events are not held for long). Each send-API message is reported later
//! with the statuses of `--statuses`, in the next body of its number or
//! connection. Other outbound events go one per send-API request, as live.
//! A body is due, and sent, when its last message is due: the batching is
//! Meta's, done before the body reaches satpam, and the run's latencies
//! count from that event's intended send time (as for a full body sent
//! live). Events in bodies not yet due are held (not counted as sent until
//! their body goes); what is left at the end of the N events is sent with
//! the N-th; events past N are rendered live.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use satpam::pb::v1 as pb;
use satpam::webhook::render::{account_entry, batch_body, Reported};

use super::args::Batching;
use super::shared::Shared;
use super::webhook_request::{
    event_of, http_request, in_webhook, send_request, Rendered, WebhookSettings,
};

/// A body closes when its first event is this many events of the run old.
pub const WINDOW: u64 = 20_000;

/// One request, due when event `seq` is sent.
pub struct Due {
    /// The event whose sending makes the request due.
    pub seq: u64,
    /// The connection it goes on (its account's).
    pub conn: usize,
    /// The HTTP request, head and body.
    pub bytes: Bytes,
    /// Events in it (messages; a send-API request's one).
    pub events: u64,
    /// Statuses in it.
    pub reports: u64,
}

/// The requests of the first `end` events, in the order they are due.
pub struct Prerendered {
    /// Requests not yet sent.
    pub due: VecDeque<Due>,
    /// Events covered: sequence numbers `0..end`.
    pub end: u64,
    /// The bodies of the requests due within the first `baseline` events,
    /// for the baseline: the sequence number they are due at, and the body,
    /// its events, whether a webhook body.
    pub baseline: Vec<(u64, Rendered)>,
}

/// One number's part of a body being filled.
struct Part {
    account: u64,
    events: Vec<pb::MessageEvent>,
    statuses: Vec<(pb::MessageEvent, Reported)>,
}

/// A body being filled: one number's (`--webhook-batch number`) or one
/// connection's (`--webhook-batch connection`).
#[derive(Default)]
struct Filling {
    parts: Vec<Part>,
    /// Messages in it.
    messages: u64,
    /// Statuses in it.
    reports: u64,
    /// The sequence numbers of its first and last message.
    first: u64,
    last: u64,
}

impl Filling {
    fn part(&mut self, account: u64) -> &mut Part {
        let i = match self.parts.iter().position(|p| p.account == account) {
            Some(i) => i,
            None => {
                self.parts.push(Part {
                    account,
                    events: Vec::new(),
                    statuses: Vec::new(),
                });
                self.parts.len() - 1
            }
        };
        &mut self.parts[i]
    }

    /// Whether it holds messages of `account`, which its send-API event
    /// must not overtake.
    fn holds_messages_of(&self, account: u64) -> bool {
        self.parts
            .iter()
            .any(|p| p.account == account && !p.events.is_empty())
    }

    /// Updates that count against `--events-per-body`.
    fn size(&self, batch: Batching) -> u64 {
        match batch {
            Batching::Number => self.messages,
            Batching::Connection => self.messages + self.reports,
        }
    }
}

impl Prerendered {
    /// Renders and signs the requests of events `0..events`; keeps the
    /// bodies of those within the first `baseline` events.
    pub fn build(
        shared: &Shared,
        settings: &WebhookSettings,
        events: u64,
        baseline: u64,
    ) -> anyhow::Result<Prerendered> {
        let conns = settings.connections.max(1);
        let per_body = settings.events_per_body.max(1) as u64;
        let batch = settings.batch;
        let reported = settings.reported();
        let mut due: Vec<Due> = Vec::new();
        let mut out = Prerendered {
            due: VecDeque::new(),
            end: events,
            baseline: Vec::new(),
        };
        let conn_of = |account: u64| (account % conns as u64) as usize;
        // A body per number, or per connection.
        let group_of = |account: u64| match batch {
            Batching::Number => account,
            Batching::Connection => conn_of(account) as u64,
        };
        let mut filling: BTreeMap<u64, Filling> = BTreeMap::new();
        // Bodies by when they opened: (first message, group).
        let mut opened: VecDeque<(u64, u64)> = VecDeque::new();
        // A body is sent once it has messages; statuses wait for one.
        let flush = |due: &mut Vec<Due>, out: &mut Prerendered, f: &mut Filling, conn: usize| {
            if f.messages == 0 {
                return;
            }
            let entries = f
                .parts
                .iter()
                .filter_map(|p| {
                    let statuses: Vec<(&pb::MessageEvent, Reported)> =
                        p.statuses.iter().map(|(e, r)| (e, *r)).collect();
                    account_entry(&p.events, &statuses)
                })
                .collect();
            let body = batch_body(entries);
            due.push(Due {
                seq: f.last,
                conn,
                bytes: http_request(settings, &settings.path, "", &body),
                events: f.messages,
                reports: f.reports,
            });
            if f.last < baseline {
                out.baseline.push((f.last, (body, f.messages, true)));
            }
            *f = Filling::default();
        };
        for seq in 0..events {
            while let Some(&(first, group)) = opened.front() {
                if first + WINDOW > seq {
                    break;
                }
                opened.pop_front();
                if let Some(f) = filling.get_mut(&group) {
                    if f.messages > 0 && f.first == first {
                        let conn = f.parts.first().map_or(0, |p| conn_of(p.account));
                        flush(&mut due, &mut out, f, conn);
                    }
                }
            }
            let account = u64::from(shared.pool.account_of(seq));
            let conn = conn_of(account);
            let group = group_of(account);
            let e = event_of(shared, seq)?;
            let f = filling.entry(group).or_default();
            if in_webhook(&e) {
                if f.messages == 0 {
                    f.first = seq;
                    opened.push_back((seq, group));
                }
                f.part(account).events.push(e);
                f.messages += 1;
                f.last = seq;
            } else {
                // In order: what the number has in the body goes first.
                if f.holds_messages_of(account) {
                    flush(&mut due, &mut out, f, conn);
                }
                due.push(Due {
                    seq,
                    conn,
                    bytes: send_request(settings, &e),
                    events: 1,
                    reports: 0,
                });
                if seq < baseline {
                    out.baseline
                        .push((seq, (satpam::webhook::render::send_body(&e), 1, false)));
                }
                let part = f.part(account);
                for r in reported {
                    part.statuses.push((e.clone(), *r));
                }
                f.reports += reported.len() as u64;
            }
            if f.size(batch) >= per_body {
                flush(&mut due, &mut out, f, conn);
            }
        }
        for f in filling.values_mut() {
            let conn = f.parts.first().map_or(0, |p| conn_of(p.account));
            flush(&mut due, &mut out, f, conn);
        }
        // Due in the order of their last events (stable: a number's body
        // stays before the send-API request that closed it).
        due.sort_by_key(|d| d.seq);
        out.baseline.sort_by_key(|b| b.0);
        out.due = due.into();
        Ok(out)
    }

    /// The requests due when event `seq` is sent; `None` when `seq` is past
    /// the pre-rendered events.
    pub fn take(&mut self, seq: u64) -> Option<Vec<Due>> {
        if seq >= self.end {
            return None;
        }
        let mut out = Vec::new();
        while self.due.front().is_some_and(|d| d.seq <= seq) {
            if let Some(d) = self.due.pop_front() {
                out.push(d);
            }
        }
        Some(out)
    }

    /// Bytes held, for the run's report.
    pub fn bytes(&self) -> usize {
        self.due.iter().map(|d| d.bytes.len()).sum()
    }
}
