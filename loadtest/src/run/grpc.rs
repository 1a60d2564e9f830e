//! The gRPC target: `satpam.v1.Ingest/Ingest` over several bidirectional
//! streams (each on its own connection), batches built straight from the
//! pool's pre-encoded events and sent as bytes through a codec that does
//! not re-encode them, and `Signals.Watch` for the signals.
//!
//! An account always goes to the same stream (account index mod streams),
//! so its events stay in order. A batch goes out when it is full or when
//! its first event has waited `linger`; at most `inflight` batches per
//! stream wait for their acks (the generator blocks beyond that, and the
//! latencies, measured from intended times, show it).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::encoding::{encode_key, encode_varint, WireType};
use satpam::pb::v1 as pb;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

use super::generator::EventSink;
use super::shared::Shared;

/// A codec whose requests are already-encoded `EventBatch` bytes and whose
/// responses are `BatchAck`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBatchCodec;

/// Writes pre-encoded bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// Decodes `BatchAck`s with prost.
#[derive(Debug, Clone, Copy, Default)]
pub struct AckDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for AckDecoder {
    type Item = pb::BatchAck;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<pb::BatchAck>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        <pb::BatchAck as prost::Message>::decode(bytes)
            .map(Some)
            .map_err(|e| Status::internal(format!("BatchAck does not decode: {e}")))
    }
}

impl Codec for RawBatchCodec {
    type Encode = Bytes;
    type Decode = pb::BatchAck;
    type Encoder = RawEncoder;
    type Decoder = AckDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> AckDecoder {
        AckDecoder
    }
}

/// How to talk to an Ingest server.
#[derive(Debug, Clone, Copy)]
pub struct GrpcSettings {
    /// Server address.
    pub addr: SocketAddr,
    /// Ingest streams (connections).
    pub streams: usize,
    /// Events per batch at most.
    pub batch: usize,
    /// Longest an event waits for its batch to fill.
    pub linger: Duration,
    /// Batches per stream awaiting their ack, at most.
    pub inflight: usize,
}

/// What the acks said, over all streams.
#[derive(Debug, Default)]
pub struct AckStats {
    /// Events acknowledged (accepted plus rejected).
    pub events: AtomicU64,
    /// Batches acknowledged.
    pub batches: AtomicU64,
    /// Events refused by validation.
    pub rejected: AtomicU64,
    /// Events satpam saw as duplicates.
    pub duplicates: AtomicU64,
    /// Signals the acks reported.
    pub signals: AtomicU64,
    error: Mutex<Option<String>>,
}

impl AckStats {
    /// Why a stream ended early, if one did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn fail(&self, why: String) {
        if let Ok(mut e) = self.error.lock() {
            e.get_or_insert(why);
        }
    }
}

/// A batch's identity, for its ack.
struct BatchMeta {
    id: u64,
    intended: Instant,
    phase: usize,
}

/// One stream's shared parts: the batches awaiting acks and the window.
struct StreamState {
    pending: Mutex<VecDeque<BatchMeta>>,
    inflight: Mutex<usize>,
    acked: Condvar,
    dead: AtomicBool,
}

/// The batch a stream is filling.
struct Builder {
    buf: BytesMut,
    events: usize,
    first: Instant,
    last: Instant,
    phase: usize,
    id: u64,
}

struct StreamHandle {
    tx: mpsc::Sender<Bytes>,
    state: Arc<StreamState>,
    building: Option<Builder>,
}

/// The client side of the gRPC target.
pub struct GrpcSink {
    settings: GrpcSettings,
    shared: Arc<Shared>,
    streams: Vec<StreamHandle>,
    next_id: u64,
    stats: Arc<AckStats>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    blocked: Duration,
}

/// A connected channel to `addr`.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(8 << 20))
        .connect()
        .await
        .with_context(|| format!("connecting to gRPC {addr}"))
}

impl GrpcSink {
    /// Opens `settings.streams` Ingest streams on `rt`.
    pub fn connect(
        rt: &Handle,
        settings: GrpcSettings,
        shared: Arc<Shared>,
    ) -> anyhow::Result<GrpcSink> {
        let stats = Arc::new(AckStats::default());
        let mut streams = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..settings.streams.max(1) {
            let channel = rt.block_on(connect(settings.addr))?;
            let (tx, rx) = mpsc::channel::<Bytes>(settings.inflight.max(1) + 1);
            let state = Arc::new(StreamState {
                pending: Mutex::new(VecDeque::new()),
                inflight: Mutex::new(0),
                acked: Condvar::new(),
                dead: AtomicBool::new(false),
            });
            let task = rt.spawn(stream_task(
                channel,
                rx,
                state.clone(),
                shared.clone(),
                stats.clone(),
            ));
            streams.push(StreamHandle {
                tx,
                state,
                building: None,
            });
            tasks.push(task);
        }
        Ok(GrpcSink {
            settings,
            shared,
            streams,
            next_id: 1,
            stats,
            tasks,
            blocked: Duration::ZERO,
        })
    }

    /// What the acks said so far.
    pub fn stats(&self) -> Arc<AckStats> {
        self.stats.clone()
    }

    fn flush(&mut self, s: usize, full: bool, now: Instant) -> anyhow::Result<()> {
        let Some(b) = self.streams[s].building.take() else {
            return Ok(());
        };
        // The batch was meant to go when it filled up, or when its first
        // event had waited `linger`; never later than now.
        let intended = if full {
            b.last
        } else {
            (b.first + self.settings.linger).min(now)
        };
        let state = self.streams[s].state.clone();
        let waiting = Instant::now();
        {
            let mut n = state.inflight.lock().unwrap_or_else(|p| p.into_inner());
            while *n >= self.settings.inflight.max(1) {
                if state.dead.load(Ordering::Acquire) {
                    break;
                }
                n = state
                    .acked
                    .wait_timeout(n, Duration::from_millis(100))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            *n += 1;
        }
        if state.dead.load(Ordering::Acquire) {
            anyhow::bail!(
                "gRPC Ingest stream {s} ended: {}",
                self.stats.error().unwrap_or_else(|| "closed".into())
            );
        }
        state
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(BatchMeta {
                id: b.id,
                intended,
                phase: b.phase,
            });
        let sent = self.streams[s]
            .tx
            .blocking_send(b.buf.freeze())
            .map_err(|_| {
                anyhow::anyhow!(
                    "gRPC Ingest stream {s} closed: {}",
                    self.stats
                        .error()
                        .unwrap_or_else(|| "no reason given".into())
                )
            });
        self.blocked += waiting.elapsed();
        sent
    }

    /// Closes the streams (the server sees the end of each) and waits for the tasks.
    pub fn close(self, rt: &Handle) {
        let GrpcSink { streams, tasks, .. } = self;
        drop(streams);
        for t in tasks {
            let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), t).await });
        }
    }
}

impl EventSink for GrpcSink {
    fn send(&mut self, seq: u64, intended: Instant, phase: usize) -> anyhow::Result<()> {
        let streams = self.streams.len();
        let s = self.shared.pool.account_of(seq) as usize % streams;
        if self.streams[s]
            .building
            .as_ref()
            .is_some_and(|b| b.phase != phase)
        {
            self.flush(s, false, Instant::now())?;
        }
        if self.streams[s].building.is_none() {
            let id = self.next_id;
            self.next_id += 1;
            let mut buf = BytesMut::with_capacity(self.settings.batch * 256 + 16);
            encode_key(1, WireType::Varint, &mut buf);
            encode_varint(id, &mut buf);
            self.streams[s].building = Some(Builder {
                buf,
                events: 0,
                first: intended,
                last: intended,
                phase,
                id,
            });
        }
        let pool = &self.shared.pool;
        let full = {
            let Some(b) = self.streams[s].building.as_mut() else {
                return Ok(());
            };
            encode_key(2, WireType::LengthDelimited, &mut b.buf);
            encode_varint(pool.encoded_len(seq) as u64, &mut b.buf);
            pool.encode(seq, &mut b.buf);
            b.events += 1;
            b.last = intended;
            b.events >= self.settings.batch
        };
        if full {
            self.flush(s, true, Instant::now())?;
        }
        Ok(())
    }

    fn idle(&mut self, now: Instant) -> anyhow::Result<()> {
        for s in 0..self.streams.len() {
            let due = self.streams[s]
                .building
                .as_ref()
                .is_some_and(|b| b.first + self.settings.linger <= now);
            if due {
                self.flush(s, false, now)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        for s in 0..self.streams.len() {
            self.flush(s, false, now)?;
        }
        Ok(())
    }

    fn blocked(&self) -> Duration {
        self.blocked
    }
}

/// One Ingest stream: sends what the generator hands over, matches acks to batches.
async fn stream_task(
    channel: Channel,
    rx: mpsc::Receiver<Bytes>,
    state: Arc<StreamState>,
    shared: Arc<Shared>,
    stats: Arc<AckStats>,
) {
    let result = async {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/satpam.v1.Ingest/Ingest");
        let mut acks = grpc
            .streaming(
                tonic::Request::new(ReceiverStream::new(rx)),
                path,
                RawBatchCodec,
            )
            .await?
            .into_inner();
        while let Some(ack) = acks.message().await? {
            let now = Instant::now();
            let meta = state
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            match meta {
                Some(m) if m.id == ack.batch_id => shared.on_ack(m.phase, m.intended, now),
                other => {
                    return Err(Status::internal(format!(
                        "ack for batch {} when batch {:?} was next",
                        ack.batch_id,
                        other.map(|m| m.id)
                    )))
                }
            }
            stats
                .events
                .fetch_add(u64::from(ack.accepted + ack.rejected), Ordering::Relaxed);
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats
                .rejected
                .fetch_add(u64::from(ack.rejected), Ordering::Relaxed);
            stats
                .duplicates
                .fetch_add(u64::from(ack.duplicates), Ordering::Relaxed);
            stats
                .signals
                .fetch_add(u64::from(ack.signals), Ordering::Relaxed);
            let mut n = state.inflight.lock().unwrap_or_else(|p| p.into_inner());
            *n = n.saturating_sub(1);
            state.acked.notify_all();
        }
        let unacked = state
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        if unacked > 0 {
            return Err(Status::aborted(format!(
                "the server ended the Ingest stream with {unacked} batches unacknowledged"
            )));
        }
        Ok::<(), Status>(())
    }
    .await;
    if let Err(status) = result {
        stats.fail(format!("{}: {}", status.code(), status.message()));
    }
    state.dead.store(true, Ordering::Release);
    state.acked.notify_all();
}

/// An open `Signals.Watch` (every tenant and action).
pub struct Watch {
    client: pb::signals_client::SignalsClient<Channel>,
    stream: tonic::Streaming<pb::EnforcementSignal>,
}

impl Watch {
    /// Subscribes; signals decided from now on arrive on the stream.
    pub async fn open(channel: Channel) -> anyhow::Result<Watch> {
        let mut client = pb::signals_client::SignalsClient::new(channel);
        let stream = client
            .watch(pb::WatchRequest::default())
            .await
            .context("Signals.Watch")?
            .into_inner();
        Ok(Watch { client, stream })
    }

    /// Hands every signal to [`Shared::on_signal`] until aborted,
    /// re-subscribing when the server cuts a watcher that fell behind
    /// (counted in `lagged`).
    pub async fn run(mut self, shared: Arc<Shared>, lagged: Arc<AtomicU64>) -> anyhow::Result<()> {
        loop {
            match self.stream.message().await {
                Ok(Some(s)) => shared.on_signal(&s, Instant::now()),
                Ok(None) => return Ok(()),
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    lagged.fetch_add(1, Ordering::Relaxed);
                    self.stream = self
                        .client
                        .watch(pb::WatchRequest::default())
                        .await
                        .context("Signals.Watch")?
                        .into_inner();
                }
                Err(status) => return Err(anyhow::anyhow!("Signals.Watch: {status}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_batches_decode_as_event_batches() {
        use std::sync::Arc;

        use satpam_scenario::{Scenario, ScenarioConfig, TextBank};

        use super::super::traffic::Pool;

        let (bank, _) = TextBank::load_or_builtin(None).expect("texts");
        let sc = Scenario::generate(
            &ScenarioConfig {
                accounts: 4,
                hours: 0.5,
                ..ScenarioConfig::default()
            },
            Arc::new(bank),
        );
        let pool = Pool::build(&sc, 9, 60_000).expect("pool");
        let mut buf = BytesMut::new();
        encode_key(1, WireType::Varint, &mut buf);
        encode_varint(77, &mut buf);
        for seq in 0..10 {
            encode_key(2, WireType::LengthDelimited, &mut buf);
            encode_varint(pool.encoded_len(seq) as u64, &mut buf);
            pool.encode(seq, &mut buf);
        }
        let batch = <pb::EventBatch as prost::Message>::decode(buf.freeze()).expect("decodes");
        assert_eq!(batch.batch_id, 77);
        assert_eq!(batch.events.len(), 10);
        for (seq, e) in batch.events.iter().enumerate() {
            let id = super::super::traffic::parse_event_id(&e.event_id);
            assert_eq!(id, Some((9, seq as u64)));
            assert!(!e.account_id.is_empty());
        }
    }
}
