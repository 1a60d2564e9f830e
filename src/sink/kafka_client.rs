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
pub fn acked(f: rdkafka::producer::DeliveryFuture, timeout: Duration) -> Result<(), String> {
    match wait(f, timeout) {
        Some(Ok(Ok(_))) => Ok(()),
        Some(Ok(Err((e, _)))) => Err(e.to_string()),
        Some(Err(_)) => Err("the producer went away".into()),
        None => Err("no acknowledgement in time".into()),
    }
}

/// The partition count of `topic`; 0 when it does not exist.
pub fn partitions_of(client: &ClientConfig, topic: &str) -> Result<usize, String> {
    let admin: AdminClient<DefaultClientContext> =
        client.create().map_err(|e| format!("admin client: {e}"))?;
    let md = admin
        .inner()
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
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
) -> Result<(), String> {
    let have = partitions_of(client, topic)?;
    if have >= partitions {
        return Ok(());
    }
    if have > 0 {
        return Err(format!(
            "{topic} has {have} partitions; it needs {partitions}"
        ));
    }
    let admin: AdminClient<DefaultClientContext> =
        client.create().map_err(|e| format!("admin client: {e}"))?;
    let new = NewTopic::new(topic, partitions as i32, TopicReplication::Fixed(-1))
        .set("cleanup.policy", "compact");
    let created = wait(admin.create_topics([&new], &AdminOptions::new()), TIMEOUT)
        .ok_or_else(|| format!("create {topic}: no answer in time"))?
        .map_err(|e| format!("create {topic}: {e}"))?;
    for r in created {
        match r {
            Ok(_) => tracing::info!(topic, partitions, "compacted topic created"),
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("create {t}: {e}")),
        }
    }
    Ok(())
}
