//! The consumer's callbacks: an assignment restores the partitions'
//! snapshots, fences the signals made since them and hands each partition's
//! queue to its worker; a revocation drains the workers, commits and lets go.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientContext;

use super::fence_reader::read_signal_ids;
use super::shared::{Cmd, Shared, SnapshotMeta, SourceContext};

impl ClientContext for SourceContext {
    fn stats(&self, stats: Statistics) {
        if let Some(t) = stats.topics.get(&self.shared.cfg.events_topic) {
            self.shared.telemetry.set_lags(
                t.partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
                    .map(|p| (p.partition, p.consumer_lag)),
            );
        }
    }
}

impl ConsumerContext for SourceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        // A new epoch for whatever this callback decides (see sink::writer).
        let epoch = self.shared.sink.writer().next_epoch();
        self.shared.telemetry.rebalances.increment(1);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.prepare_assignment(consumer, tpl);
                // Before the assignment takes effect, so that no record of
                // these partitions reaches the consumer's own queue.
                self.hand_out_queues(tpl);
                // Cooperative: `tpl` holds only the partitions added; the
                // others stay assigned, with their shards and workers.
                let taken = if cooperative(consumer) {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = taken {
                    self.shared
                        .fail(format!("cannot take the assigned partitions: {e}"));
                }
                self.count_assigned(consumer);
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                if consumer.assignment_lost() {
                    // Another instance owns them by now: nothing of theirs
                    // is written, checkpointed or committed from here.
                    self.shared.lease.lose_up_to(epoch);
                    tracing::warn!(partitions = ?parts, "partitions lost (the group session expired): dropped without a checkpoint or a commit");
                    self.shared
                        .telemetry
                        .lost_partitions
                        .increment(parts.len() as u64);
                    drop_lost(&self.shared, &parts);
                } else {
                    tracing::info!(partitions = ?parts, "partitions revoked: draining");
                    let offsets = drain(&self.shared, &parts);
                    commit(consumer, &self.shared, offsets, CommitMode::Sync);
                }
                if let Ok(mut starts) = self.shared.starts.lock() {
                    starts.retain(|p, _| !parts.contains(p));
                }
                self.shared.telemetry.partitions_revoked(&parts);
                self.shared
                    .telemetry
                    .revoked_partitions
                    .increment(parts.len() as u64);
                // Cooperative: only these go; eager: every partition does.
                let released = if cooperative(consumer) {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = released {
                    tracing::warn!(error = %e, "unassign failed");
                }
                self.count_assigned(consumer);
            }
            other => tracing::warn!(error = ?other, "rebalance error"),
        }
    }
}

/// Whether the group runs the cooperative (incremental) rebalance protocol.
fn cooperative(consumer: &BaseConsumer<SourceContext>) -> bool {
    matches!(
        consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    )
}

impl SourceContext {
    /// Splits each partition of `tpl` off the consumer's queue and hands
    /// the queue to the partition's worker, set to wake it when records
    /// arrive.
    fn hand_out_queues(&self, tpl: &TopicPartitionList) {
        let s = &self.shared;
        let Some(consumer) = s.consumer.get().and_then(std::sync::Weak::upgrade) else {
            s.fail("the consumer is gone: cannot take the assigned partitions".into());
            return;
        };
        for e in tpl.elements() {
            let p = e.partition();
            let Some(mut queue) = consumer.split_partition_queue(e.topic(), p) else {
                s.fail(format!(
                    "cannot split the queue of partition {p} off the consumer"
                ));
                return;
            };
            let w = s.worker_of(p);
            if let Some(thread) = s.workers[w].thread.get().cloned() {
                queue.set_nonempty_callback(move || thread.unpark());
            }
            if !s.send(w, Cmd::Assign(p, Box::new(queue))) {
                return;
            }
        }
    }

    /// Sets `satpam_shards` to the partitions assigned now.
    fn count_assigned(&self, consumer: &BaseConsumer<Self>) {
        let n = consumer.assignment().map_or(0, |a| a.count());
        self.shared.telemetry.shards.set(n as f64);
    }

    /// Restores snapshots of the assigned partitions and sets their start offsets.
    fn prepare_assignment(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let s = &self.shared;
        let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        tracing::info!(partitions = ?parts, "partitions assigned");
        s.telemetry.partitions_assigned(&parts);
        let committed: HashMap<i32, i64> = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .map(|c| {
                c.elements()
                    .iter()
                    .filter_map(|e| match e.offset() {
                        Offset::Offset(o) => Some((e.partition(), o)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut fence_from: Vec<(i32, i64)> = Vec::new();
        let mut starts = committed.clone();
        let mut loaded = s.store.load_many(s.shards.context(), &parts);
        for p in parts {
            let Some(checkpoint) = loaded.remove(&p) else {
                continue;
            };
            match checkpoint {
                Ok(Some((engine, extra))) => {
                    let meta: Option<SnapshotMeta> = serde_json::from_slice(&extra).ok();
                    let Some(meta) =
                        meta.filter(|m| m.topic == s.cfg.events_topic && m.partition == p)
                    else {
                        tracing::warn!(
                            partition = p,
                            "checkpoint of another topic or partition; ignored"
                        );
                        continue;
                    };
                    let behind = committed.get(&p).is_some_and(|c| *c > meta.offset);
                    if behind {
                        tracing::info!(partition = p, snapshot = meta.offset, committed = ?committed.get(&p),
                            "snapshot is behind the group's offset (another instance went on); starting empty");
                        continue;
                    }
                    s.shards.install_partition(p, Arc::new(engine));
                    starts.insert(p, meta.offset);
                    let _ = tpl.set_partition_offset(
                        &s.cfg.events_topic,
                        p,
                        Offset::Offset(meta.offset),
                    );
                    tracing::debug!(partition = p, watermarks = ?meta.signals_watermarks, "snapshot's signals watermarks");
                    fence_from.extend(meta.signals_watermarks);
                    tracing::info!(
                        partition = p,
                        offset = meta.offset,
                        "partition resumed from its snapshot"
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "checkpoint unreadable; starting empty")
                }
            }
        }
        if let Ok(mut st) = s.starts.lock() {
            st.extend(starts);
        }
        if !fence_from.is_empty() {
            match read_signal_ids(&s.cfg, &s.sink, &fence_from) {
                Ok(ids) => {
                    tracing::info!(
                        signals = ids.len(),
                        "fenced signals produced since the snapshots"
                    );
                    tracing::debug!(?ids, "fenced ids");
                    s.pipeline.fence.add(ids);
                }
                Err(e) => s.fail(format!(
                    "cannot read the signals topic to fence re-emitted signals: {e}"
                )),
            }
        }
    }
}

/// Sends each worker owning some of `parts` the command `cmd` makes of
/// them, and waits for every reply (a worker that died answers nothing).
fn ask_owners<R>(
    shared: &Shared,
    parts: &[i32],
    cmd: impl Fn(Vec<i32>, SyncSender<R>) -> Cmd,
) -> Vec<R> {
    let mut by_worker: HashMap<usize, Vec<i32>> = HashMap::new();
    for p in parts {
        by_worker.entry(shared.worker_of(*p)).or_default().push(*p);
    }
    let mut replies = Vec::new();
    for (w, ps) in by_worker {
        let (tx, rx) = sync_channel(1);
        let link = &shared.workers[w];
        if link.commands.send(cmd(ps, tx)).is_ok() {
            link.wake();
            replies.push(rx);
        }
    }
    replies.into_iter().filter_map(|r| r.recv().ok()).collect()
}

/// Asks the workers to checkpoint `parts` and drop them; returns the offsets to commit.
pub(super) fn drain(shared: &Shared, parts: &[i32]) -> Vec<(i32, i64)> {
    let mut out: Vec<(i32, i64)> = ask_owners(shared, parts, Cmd::Revoke)
        .into_iter()
        .flatten()
        .collect();
    if let Ok(mut ready) = shared.ready.lock() {
        // Anything checkpointed earlier for these partitions is superseded.
        for p in parts {
            if let Some(o) = ready.remove(p) {
                if !out.iter().any(|(q, _)| q == p) {
                    out.push((*p, o));
                }
            }
        }
    }
    out
}

/// Drops lost partitions from the workers (no checkpoint) and forgets
/// their offsets waiting to be committed.
fn drop_lost(shared: &Shared, parts: &[i32]) {
    ask_owners(shared, parts, Cmd::Drop);
    if let Ok(mut ready) = shared.ready.lock() {
        ready.retain(|p, _| !parts.contains(p));
    }
}

/// Commits `offsets` of the events topic, counting the result.
pub(super) fn commit(
    consumer: &BaseConsumer<SourceContext>,
    shared: &Shared,
    offsets: Vec<(i32, i64)>,
    mode: CommitMode,
) {
    if offsets.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in &offsets {
        if tpl
            .add_partition_offset(&shared.cfg.events_topic, *p, Offset::Offset(*o))
            .is_err()
        {
            return;
        }
    }
    match consumer.commit(&tpl, mode) {
        Ok(()) => shared.telemetry.commits.increment(1),
        Err(e) => {
            shared.telemetry.commit_failures.increment(1);
            tracing::warn!(error = %e, "offset commit failed");
        }
    }
}
