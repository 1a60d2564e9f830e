//! Small blocking helpers over librdkafka for the service's own topics
//! (the state topic, the overrides topic): wait for a delivery or admin
//! future on a plain thread, create a compacted topic when it is missing,
//! count a topic's partitions.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

/// How long a blocking call waits before it gives up.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call on one of the service's own topics failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    kind: TopicErrorKind,
}

/// What went wrong, in [`TopicError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicErrorKind {
    /// The client could not be created from its settings.
    Client(String),
    /// The broker failed or refused `what` (e.g. `create t`, `metadata of t`).
    Broker {
        /// The call.
        what: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// No answer to `what` in time.
    NoAnswer {
        /// The call.
        what: String,
    },
    /// The topic exists with fewer partitions than it needs.
    TooFewPartitions {
        /// The topic.
        topic: String,
        /// Partitions it has.
        have: usize,
        /// Partitions it needs.
        need: usize,
    },
}

impl TopicError {
    fn new(kind: TopicErrorKind) -> Self {
        TopicError { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &TopicErrorKind {
        &self.kind
    }
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            TopicErrorKind::Client(e) => write!(f, "admin client: {e}"),
            TopicErrorKind::Broker { what, reason } => write!(f, "{what}: {reason}"),
            TopicErrorKind::NoAnswer { what } => write!(f, "{what}: no answer in time"),
            TopicErrorKind::TooFewPartitions { topic, have, need } => {
                write!(f, "{topic} has {have} partitions; it needs {need}")
            }
        }
    }
}

impl std::error::Error for TopicError {}

fn broker(what: impl Into<String>, reason: impl std::fmt::Display) -> TopicError {
    TopicError::new(TopicErrorKind::Broker {
        what: what.into(),
        reason: reason.to_string(),
    })
}

/// Blocks the calling thread on `f` for at most `timeout`: for threads with
/// no async runtime (the workers), where librdkafka's own threads complete
/// the future. `None` when it did not complete in time.
pub fn wait<F: Future>(f: F, timeout: Duration) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let deadline = Instant::now() + timeout;
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return Some(out);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// Waits for one record's acknowledgement by the broker.
pub fn acked(f: rdkafka::producer::DeliveryFuture, timeout: Duration) -> Result<(), TopicError> {
    match wait(f, timeout) {
        Some(Ok(Ok(_))) => Ok(()),
        Some(Ok(Err((e, _)))) => Err(broker("delivery", e)),
        Some(Err(_)) => Err(broker("delivery", "the producer went away")),
        None => Err(TopicError::new(TopicErrorKind::NoAnswer {
            what: "delivery".into(),
        })),
    }
}

/// The partition count of `topic`; 0 when it does not exist.
pub fn partitions_of(client: &ClientConfig, topic: &str) -> Result<usize, TopicError> {
    let admin: AdminClient<DefaultClientContext> = client
        .create()
        .map_err(|e| TopicError::new(TopicErrorKind::Client(e.to_string())))?;
    let md = admin
        .inner()
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|e| broker(format!("metadata of {topic}"), e))?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len()))
}

/// Creates `topic` with `partitions` partitions and
/// `cleanup.policy=compact` when it does not exist; refuses one with fewer
/// partitions. The replication factor is the broker's default.
pub fn ensure_compacted_topic(
    client: &ClientConfig,
    topic: &str,
    partitions: usize,
) -> Result<(), TopicError> {
    let have = partitions_of(client, topic)?;
    if have >= partitions {
        return Ok(());
    }
    if have > 0 {
        return Err(TopicError::new(TopicErrorKind::TooFewPartitions {
            topic: topic.to_string(),
            have,
            need: partitions,
        }));
    }
    let admin: AdminClient<DefaultClientContext> = client
        .create()
        .map_err(|e| TopicError::new(TopicErrorKind::Client(e.to_string())))?;
    let new = NewTopic::new(topic, partitions as i32, TopicReplication::Fixed(-1))
        .set("cleanup.policy", "compact");
    let created = wait(admin.create_topics([&new], &AdminOptions::new()), TIMEOUT)
        .ok_or_else(|| {
            TopicError::new(TopicErrorKind::NoAnswer {
                what: format!("create {topic}"),
            })
        })?
        .map_err(|e| broker(format!("create {topic}"), e))?;
    for r in created {
        match r {
            Ok(_) => tracing::info!(topic, partitions, "compacted topic created"),
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(broker(format!("create {t}"), e)),
        }
    }
    Ok(())
}
