//! The webhook target: scenario traffic POSTed to satpam's webhook receiver
//! as Meta and the BSP would send it, signed with the app secret.
//!
//! Inbound events and outbound events a person sent (echoes) go in webhook
//! bodies (`--events-per-body` events each; one entry per event) to
//! `--webhook-path`; each body also reports `delivered` statuses of the
//! outbound messages sent since the previous body on its connection. Other
//! outbound events go one per request to the send-API tap
//! (`<send-path>/<phone-number-id>/messages`, the wamid, WABA and event time
//! in the `X-Satpam-*` headers). An account always goes to the same
//! connection, whose requests are sequential, so its events stay in order.
//!
//! Keep-alive HTTP/1.1 over plain TCP, written by hand (one request out, its
//! answer read back, then the next): no client library's pooling or retries
//! between loadgen and the figures. At most `inflight` requests per
//! connection wait to be sent; the generator blocks beyond that.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use satpam::pb::v1 as pb;
use satpam::webhook::render::{send_body, webhook_body_with_statuses};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::generator::EventSink;
use super::phases::Probe;
use super::prerender::Prerendered;
use super::shared::Shared;
pub use super::webhook_request::{
    event_of, http_request, in_webhook, send_request, Rendered, WebhookSettings,
};

/// What the answers said, over all connections.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Events in requests answered 200.
    pub events: AtomicU64,
    /// Statuses in requests answered 200 (satpam counts them as events
    /// too: delivery reports).
    pub reports: AtomicU64,
    /// Requests answered (any status).
    pub requests: AtomicU64,
    /// Requests answered with anything but 200.
    pub refused: AtomicU64,
    /// Events handed to the sink whose pre-rendered body is not yet due
    /// (`--prerender`): not sent yet.
    pub held: AtomicU64,
    error: Mutex<Option<String>>,
}

impl WebhookStats {
    /// Why a connection ended early, if one did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn fail(&self, why: String) {
        if let Ok(mut e) = self.error.lock() {
            e.get_or_insert(why);
        }
    }
}

/// One request ready to go.
struct Request {
    bytes: Bytes,
    events: u64,
    reports: u64,
    intended: Instant,
    phase: usize,
}

/// The body a connection is filling.
#[derive(Default)]
struct Building {
    events: Vec<pb::MessageEvent>,
    /// Outbound messages sent since the last body, reported as delivered in the next.
    delivered: Vec<pb::MessageEvent>,
    first: Option<Instant>,
    last: Option<Instant>,
    phase: usize,
}

/// The client side of the webhook target.
pub struct WebhookSink {
    settings: WebhookSettings,
    shared: Arc<Shared>,
    conns: Vec<(mpsc::Sender<Request>, Building)>,
    stats: Arc<WebhookStats>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    blocked: Duration,
    pre: Option<Prerendered>,
}

impl WebhookSink {
    /// Opens `settings.connections` connections on `rt`.
    pub fn connect(
        rt: &Handle,
        settings: WebhookSettings,
        shared: Arc<Shared>,
    ) -> anyhow::Result<WebhookSink> {
        let stats = Arc::new(WebhookStats::default());
        let pre = match settings.prerender {
            0 => None,
            n => {
                eprintln!("prerendering the requests of {n} events (before the timed phases)");
                let started = Instant::now();
                let p = Prerendered::build(&shared, &settings, n, BASELINE_EVENTS)?;
                eprintln!(
                    "prerendered {} requests, {} MB, in {:.1} s",
                    p.due.len(),
                    p.bytes() / 1_000_000,
                    started.elapsed().as_secs_f64()
                );
                Some(p)
            }
        };
        let mut conns = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..settings.connections.max(1) {
            let stream = rt
                .block_on(TcpStream::connect(settings.addr))
                .with_context(|| format!("connecting to the webhook receiver {}", settings.addr))?;
            stream.set_nodelay(true)?;
            let (tx, rx) = mpsc::channel::<Request>(settings.inflight.max(1));
            tasks.push(rt.spawn(connection(stream, rx, shared.clone(), stats.clone())));
            conns.push((tx, Building::default()));
        }
        Ok(WebhookSink {
            settings,
            shared,
            conns,
            stats,
            tasks,
            blocked: Duration::ZERO,
            pre,
        })
    }

    /// The pre-rendered bodies due within the first `events` events (at
    /// most [`BASELINE_EVENTS`]; `None` without `--prerender`): the
    /// baseline's input, the bodies as sent.
    pub fn take_baseline(&mut self, events: u64) -> Option<Vec<Rendered>> {
        self.pre.as_mut().map(|p| {
            std::mem::take(&mut p.baseline)
                .into_iter()
                .filter(|(seq, _)| *seq < events)
                .map(|(_, r)| r)
                .collect()
        })
    }

    /// What the answers said so far.
    pub fn stats(&self) -> Arc<WebhookStats> {
        self.stats.clone()
    }

    fn push(&mut self, c: usize, r: Request) -> anyhow::Result<()> {
        let waiting = Instant::now();
        let sent = self.conns[c].0.blocking_send(r).map_err(|_| {
            anyhow::anyhow!(
                "webhook connection {c} closed: {}",
                self.stats
                    .error()
                    .unwrap_or_else(|| "no reason given".into())
            )
        });
        self.blocked += waiting.elapsed();
        sent
    }

    /// Sends connection `c`'s body (and the statuses it carries), if any.
    fn flush(&mut self, c: usize, full: bool, now: Instant) -> anyhow::Result<()> {
        let b = std::mem::take(&mut self.conns[c].1);
        let (Some(first), Some(last)) = (b.first, b.last) else {
            self.conns[c].1 = b;
            return Ok(());
        };
        let intended = if full {
            last
        } else {
            (first + self.settings.linger).min(now)
        };
        let body = webhook_body_with_statuses(&b.events, &b.delivered);
        let bytes = http_request(&self.settings, &self.settings.path, "", &body);
        self.push(
            c,
            Request {
                bytes,
                events: b.events.len() as u64,
                reports: b.delivered.len() as u64,
                intended,
                phase: b.phase,
            },
        )
    }

    /// Closes the connections and waits for their tasks.
    pub fn close(self, rt: &Handle) {
        let WebhookSink { conns, tasks, .. } = self;
        drop(conns);
        for t in tasks {
            let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), t).await });
        }
    }
}

impl EventSink for WebhookSink {
    fn send(&mut self, seq: u64, intended: Instant, phase: usize) -> anyhow::Result<()> {
        if let Some(due) = self.pre.as_mut().and_then(|p| p.take(seq)) {
            self.stats.held.fetch_add(1, Ordering::Relaxed);
            for d in due {
                self.stats.held.fetch_sub(d.events, Ordering::Relaxed);
                self.push(
                    d.conn,
                    Request {
                        bytes: d.bytes,
                        events: d.events,
                        reports: d.reports,
                        intended,
                        phase,
                    },
                )?;
            }
            return Ok(());
        }
        let c = self.shared.pool.account_of(seq) as usize % self.conns.len();
        if self.conns[c].1.first.is_some() && self.conns[c].1.phase != phase {
            self.flush(c, false, Instant::now())?;
        }
        let e = event_of(&self.shared, seq)?;
        if !in_webhook(&e) {
            // In order: what the connection holds goes first.
            self.flush(c, false, Instant::now())?;
            let bytes = send_request(&self.settings, &e);
            self.conns[c].1.delivered.push(e);
            return self.push(
                c,
                Request {
                    bytes,
                    events: 1,
                    reports: 0,
                    intended,
                    phase,
                },
            );
        }
        let b = &mut self.conns[c].1;
        b.first.get_or_insert(intended);
        b.last = Some(intended);
        b.phase = phase;
        b.events.push(e);
        if b.events.len() >= self.settings.events_per_body.max(1) {
            self.flush(c, true, Instant::now())?;
        }
        Ok(())
    }

    fn idle(&mut self, now: Instant) -> anyhow::Result<()> {
        for c in 0..self.conns.len() {
            let due = self.conns[c]
                .1
                .first
                .is_some_and(|f| f + self.settings.linger <= now);
            if due {
                self.flush(c, false, now)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        for c in 0..self.conns.len() {
            self.flush(c, false, now)?;
        }
        Ok(())
    }

    fn blocked(&self) -> Duration {
        self.blocked
    }
}

/// The status code and the end of the head of an HTTP/1.1 answer in `buf`,
/// with its `Content-Length`; `None` until the head is complete.
pub fn parse_head(buf: &[u8]) -> Option<anyhow::Result<(u16, usize, usize)>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    Some(match (status, length) {
        (Some(s), Some(l)) => Ok((s, end, l)),
        _ => Err(anyhow::anyhow!(
            "an answer without a status or Content-Length"
        )),
    })
}

/// Reads the next HTTP/1.1 answer on `stream` (what is left of earlier
/// reads in `buf`, which keeps what follows it) and returns its status.
pub async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<u16> {
    let (status, body_end) = loop {
        if let Some(head) = parse_head(buf) {
            let (status, head_end, len) = head?;
            if buf.len() >= head_end + len {
                break (status, head_end + len);
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the receiver closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    };
    buf.drain(..body_end);
    Ok(status)
}

/// One connection: each request written, its answer read, then the next.
async fn connection(
    mut stream: TcpStream,
    mut rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    stats: Arc<WebhookStats>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let result = async {
        while let Some(r) = rx.recv().await {
            stream.write_all(&r.bytes).await?;
            let status = read_answer(&mut stream, &mut buf).await?;
            let now = Instant::now();
            shared.on_ack(r.phase, r.intended, now);
            stats.requests.fetch_add(1, Ordering::Relaxed);
            if status == 200 {
                stats.events.fetch_add(r.events, Ordering::Relaxed);
                stats.reports.fetch_add(r.reports, Ordering::Relaxed);
            } else {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                // Counted as answered, so that the run does not wait for them.
                stats.events.fetch_add(r.events, Ordering::Relaxed);
            }
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        stats.fail(e.to_string());
    }
}

/// The probe of the webhook target: events in answered requests.
pub struct WebhookCounter {
    /// The answers of one sink.
    pub stats: Arc<WebhookStats>,
    /// For the events sent.
    pub shared: Arc<Shared>,
    /// `shared.sent` when this sink started.
    pub offset: u64,
}

impl Probe for WebhookCounter {
    fn processed(&self) -> anyhow::Result<(u64, Instant)> {
        if let Some(e) = self.stats.error() {
            anyhow::bail!("webhook connection failed: {e}");
        }
        Ok((self.stats.events.load(Ordering::Relaxed), Instant::now()))
    }
    fn sent(&self) -> u64 {
        (self.shared.sent.load(Ordering::Relaxed) - self.offset)
            .saturating_sub(self.stats.held.load(Ordering::Relaxed))
    }
    fn interval(&self) -> Duration {
        Duration::from_millis(20)
    }
}

/// Events the baseline covers at most (the run's first).
pub const BASELINE_EVENTS: u64 = 100_000;

/// The requests of `events` pool events from `first_seq` as loadgen sends
/// them (bodies of `events_per_body`, send-API bodies one per event), with
/// their event counts and whether each is a webhook body (else a send-API
/// body): the baseline's input.
pub fn rendered(
    shared: &Shared,
    events_per_body: usize,
    first_seq: u64,
    events: u64,
) -> anyhow::Result<Vec<Rendered>> {
    let mut out = Vec::new();
    let mut body: Vec<pb::MessageEvent> = Vec::new();
    let done = |body: &mut Vec<pb::MessageEvent>, out: &mut Vec<Rendered>| {
        if !body.is_empty() {
            out.push((
                webhook_body_with_statuses(body, &[]),
                body.len() as u64,
                true,
            ));
            body.clear();
        }
    };
    for seq in first_seq..first_seq + events {
        let e = event_of(shared, seq)?;
        if in_webhook(&e) {
            body.push(e);
            if body.len() >= events_per_body.max(1) {
                done(&mut body, &mut out);
            }
        } else {
            out.push((send_body(&e), 1, false));
        }
    }
    done(&mut body, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_once_its_head_and_body_are_in() {
        let a = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nok\n";
        assert!(parse_head(&a[..20]).is_none());
        let (status, end, len) = parse_head(a).expect("complete").expect("valid");
        assert_eq!((status, len), (200, 3));
        assert_eq!(&a[end..end + len], b"ok\n");
        let bad = b"HTTP/1.1 401 Unauthorized\r\n\r\n";
        assert!(parse_head(bad).expect("complete").is_err());
    }
}
