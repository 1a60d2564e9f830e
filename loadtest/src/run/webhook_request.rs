//! The requests loadgen sends to satpam's webhook receiver, whether built
//! while the run goes or before it (`--prerender`): how to reach the
//! receiver, a pool event as a wire event, which events go in webhook
//! bodies, and a signed HTTP/1.1 request.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use satpam::pb::v1 as pb;
use satpam::webhook::render::{send_body, Reported};
use satpam::webhook::signature::sign;

use super::args::{Batching, StatusSet};
use super::shared::Shared;

/// How to reach satpam's webhook receiver.
#[derive(Clone)]
pub struct WebhookSettings {
    /// The receiver's address.
    pub addr: SocketAddr,
    /// The webhook path (`webhook.path`).
    pub path: String,
    /// The send-API tap's prefix (`webhook.send_path`).
    pub send_path: String,
    /// Connections (one task each).
    pub connections: usize,
    /// Events per webhook body at most.
    pub events_per_body: usize,
    /// Requests per connection waiting to be sent, at most.
    pub inflight: usize,
    /// Longest an event waits for its body to fill.
    pub linger: Duration,
    /// The app secret the bodies are signed with.
    pub secret: Vec<u8>,
    /// Events whose requests are rendered and signed before the timed
    /// phases (`--prerender`; 0: none), grouped per phone number.
    pub prerender: u64,
    /// How notifications share a body (with `prerender`).
    pub batch: Batching,
    /// The statuses each send-API message is reported with.
    pub statuses: StatusSet,
}

impl WebhookSettings {
    /// The states each send-API message is reported in.
    pub fn reported(&self) -> &'static [Reported] {
        match self.statuses {
            StatusSet::Delivered => &[Reported::Delivered],
            StatusSet::All => &Reported::ALL,
        }
    }
}

/// Event `seq` of the pool as a wire event (ids, time and reply filled in).
pub fn event_of(shared: &Shared, seq: u64) -> anyhow::Result<pb::MessageEvent> {
    let mut buf = Vec::with_capacity(shared.pool.encoded_len(seq));
    shared.pool.encode(seq, &mut buf);
    <pb::MessageEvent as prost::Message>::decode(buf.as_slice()).context("pool event")
}

/// Whether `e` goes in a webhook body (inbound, or an echo of a person's
/// message) rather than to the send-API tap.
pub fn in_webhook(e: &pb::MessageEvent) -> bool {
    e.direction != pb::Direction::Outbound as i32 || e.sender == pb::Sender::HumanAgent as i32
}

/// The HTTP/1.1 request: head and body.
pub fn http_request(settings: &WebhookSettings, path: &str, extra: &str, body: &[u8]) -> Bytes {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {}\r\n{extra}Content-Length: {}\r\n\r\n",
        settings.addr,
        sign(&settings.secret, body),
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// The send-API request of an outbound event.
pub fn send_request(settings: &WebhookSettings, e: &pb::MessageEvent) -> Bytes {
    let extra = format!(
        "X-Satpam-Message-Id: {}\r\nX-Satpam-Waba-Id: {}\r\nX-Satpam-Timestamp-Ms: {}\r\n",
        e.event_id, e.waba_id, e.timestamp_ms
    );
    let path = format!("{}/{}/messages", settings.send_path, e.account_id);
    http_request(settings, &path, &extra, &send_body(e))
}

/// A request body, its events, and whether it is a webhook body.
pub type Rendered = (Vec<u8>, u64, bool);
