//! Pre-rendered webhook traffic (`--prerender N`): the requests of the
//! run's first N events rendered and signed before the timed phases, so
//! that a measurement is of satpam rather than of loadgen's JSON rendering
//! and HMAC (28 µs of CPU per event on the shared two cores otherwise).
//!
//! The bodies are grouped as Meta groups a busy number's notifications: one
//! body per business phone number (`account_body`: one entry, its messages
//! and echoes in order, then `delivered` statuses of the outbound messages
//! it sent through the send-API tap since its last body), with up to
//! `--events-per-body` messages, closed early when a send-API event of the
//! same number comes (which must not overtake it) or when its first event
//! is [`WINDOW`] events of the run old (so that a quiet number's events are
//! not held for long). Other outbound events go one per send-API request,
//! as live. A body is due, and sent, when its last event is due: the
//! batching is Meta's, done before the body reaches satpam, and the run's
//! latencies count from that event's intended send time (as for a full
//! body sent live). Events in bodies not yet due are held (not counted as
//! sent until their body goes); what is left at the end of the N events is
//! sent with the N-th; events past N are rendered live.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use satpam::pb::v1 as pb;
use satpam::webhook::render::account_body;

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
    /// Events in it.
    pub events: u64,
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

/// A number's body being filled.
#[derive(Default)]
struct Filling {
    events: Vec<pb::MessageEvent>,
    delivered: Vec<pb::MessageEvent>,
    /// The sequence numbers of its first and last event.
    first: u64,
    last: u64,
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
        let per_body = settings.events_per_body.max(1);
        let mut due: Vec<Due> = Vec::new();
        let mut out = Prerendered {
            due: VecDeque::new(),
            end: events,
            baseline: Vec::new(),
        };
        let mut filling: BTreeMap<u64, Filling> = BTreeMap::new();
        // Bodies by when they opened: (first event, account).
        let mut opened: VecDeque<(u64, u64)> = VecDeque::new();
        let flush = |due: &mut Vec<Due>, out: &mut Prerendered, f: &mut Filling, conn: usize| {
            if f.events.is_empty() {
                return;
            }
            let body = account_body(&f.events, &f.delivered);
            let events = f.events.len() as u64;
            due.push(Due {
                seq: f.last,
                conn,
                bytes: http_request(settings, &settings.path, "", &body),
                events,
            });
            if f.last < baseline {
                out.baseline.push((f.last, (body, events, true)));
            }
            f.events.clear();
            f.delivered.clear();
        };
        let conn_of = |account: u64| (account % conns as u64) as usize;
        for seq in 0..events {
            while let Some(&(first, account)) = opened.front() {
                if first + WINDOW > seq {
                    break;
                }
                opened.pop_front();
                if let Some(f) = filling.get_mut(&account) {
                    if !f.events.is_empty() && f.first == first {
                        flush(&mut due, &mut out, f, conn_of(account));
                    }
                }
            }
            let account = u64::from(shared.pool.account_of(seq));
            let conn = conn_of(account);
            let e = event_of(shared, seq)?;
            let f = filling.entry(account).or_default();
            if in_webhook(&e) {
                if f.events.is_empty() {
                    f.first = seq;
                    opened.push_back((seq, account));
                }
                f.events.push(e);
                f.last = seq;
                if f.events.len() >= per_body {
                    flush(&mut due, &mut out, f, conn);
                }
            } else {
                // In order: what the number holds goes first.
                flush(&mut due, &mut out, f, conn);
                due.push(Due {
                    seq,
                    conn,
                    bytes: send_request(settings, &e),
                    events: 1,
                });
                if seq < baseline {
                    out.baseline
                        .push((seq, (satpam::webhook::render::send_body(&e), 1, false)));
                }
                f.delivered.push(e);
            }
        }
        for (account, f) in filling.iter_mut() {
            flush(&mut due, &mut out, f, conn_of(*account));
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
