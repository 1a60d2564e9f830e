//! Where a partition's state is kept between owners: the state topic
//! (whoever is assigned the partition next restores it), snapshot files
//! (only this instance finds them again), or nowhere.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::state_topic::{StateTopic, StateTopicError};
use crate::engine::{Engine, EngineContext};
use crate::snapshot::SnapshotError;

/// Why a partition's state could not be kept, or read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum StoreError {
    /// The state topic could not be set up, written or read.
    #[error("{0}")]
    Topic(#[from] StateTopicError),
    /// A snapshot could not be encoded or written.
    #[error("snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    /// The snapshot directory could not be made.
    #[error("kafka.state_dir {path}: {reason}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// A checkpoint was read but could not be decoded.
    #[error("{place}: {source}")]
    Decode {
        /// The topic and partition, or the file.
        place: String,
        /// Why.
        source: SnapshotError,
    },
}

/// The store's settings (part of [`super::SourceSettings`]).
#[derive(Debug, Clone)]
pub enum StoreSettings {
    /// The state topic, written with these producer settings and read with
    /// these reader settings.
    Kafka {
        /// The topic.
        topic: String,
        /// Producer settings (bootstrap, security, `[kafka.producer]`).
        producer: rdkafka::config::ClientConfig,
        /// Reader settings (no group offsets, no commits).
        reader: rdkafka::config::ClientConfig,
    },
    /// A snapshot file per partition in this directory.
    Files(PathBuf),
    /// Nowhere.
    None,
}

/// The running store.
pub(super) enum StateStore {
    Kafka(StateTopic),
    Files { dir: PathBuf, topic: String },
    None,
}

impl StateStore {
    /// Builds the store; for the state topic, creates it when missing with
    /// the events topic's partition count.
    /// Records name `writer` in their `satpam-writer` header.
    pub(super) fn build(
        s: &StoreSettings,
        events_topic: &str,
        writer: Arc<crate::sink::writer::Writer>,
    ) -> Result<Self, StoreError> {
        Ok(match s {
            StoreSettings::Kafka {
                topic,
                producer,
                reader,
            } => {
                super::state_topic::ensure_topic(producer, events_topic, topic)?;
                StateStore::Kafka(StateTopic::new(
                    topic.clone(),
                    producer,
                    reader.clone(),
                    writer,
                )?)
            }
            StoreSettings::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|reason| StoreError::Dir {
                    path: dir.clone(),
                    reason,
                })?;
                StateStore::Files {
                    dir: dir.clone(),
                    topic: events_topic.to_string(),
                }
            }
            StoreSettings::None => StateStore::None,
        })
    }

    /// Whether checkpoints go to the state topic (written at most every
    /// `state_interval`, as each is the partition's whole state).
    pub(super) fn is_topic(&self) -> bool {
        matches!(self, StateStore::Kafka(_))
    }

    /// Whether checkpoints are kept at all.
    pub(super) fn enabled(&self) -> bool {
        !matches!(self, StateStore::None)
    }

    /// Saves partition `p`'s shard with `extra` beside it; an error means
    /// the checkpoint is not kept (and its offset must not be committed).
    /// `still_ours` is asked again just before the state topic's head
    /// record, which makes a checkpoint current (the zombie fence).
    pub(super) fn save(
        &self,
        p: i32,
        engine: &Engine,
        extra: &[u8],
        still_ours: &dyn Fn() -> bool,
    ) -> Result<(), StoreError> {
        match self {
            StateStore::Kafka(t) => {
                let mut bytes = Vec::new();
                crate::snapshot::write_shard_with_extra(engine, extra, &mut bytes)?;
                Ok(t.write(p, &bytes, still_ours)?)
            }
            StateStore::Files { dir, topic } => {
                let path = snapshot_file(dir, topic, p);
                Ok(crate::snapshot::save_to_file(engine, &path, extra)?)
            }
            StateStore::None => Ok(()),
        }
    }

    /// Loads each of `parts`' last checkpoint into a new engine over `ctx`,
    /// with its `extra` bytes (`Ok(None)`: none kept). The state topic is
    /// read once for all of them, so an assignment of many partitions
    /// costs one pass, not one per partition.
    #[allow(clippy::type_complexity)]
    pub(super) fn load_many(
        &self,
        ctx: &Arc<EngineContext>,
        parts: &[i32],
    ) -> HashMap<i32, Result<Option<(Engine, Vec<u8>)>, StoreError>> {
        let decode = |p: i32, bytes: Vec<u8>, topic: &str| {
            crate::snapshot::read_shard_with_extra(ctx.clone(), &mut bytes.as_slice())
                .map(Some)
                .map_err(|source| StoreError::Decode {
                    place: format!("{topic}: partition {p}"),
                    source,
                })
        };
        let started = std::time::Instant::now();
        match self {
            StateStore::Kafka(t) => match t.read_many(parts) {
                Ok(read) => {
                    // What a move costs: the restore rate is read off this line.
                    let read_ms = started.elapsed().as_millis() as u64;
                    let t0 = std::time::Instant::now();
                    let bytes: usize = read
                        .values()
                        .map(|r| r.as_ref().ok().and_then(Option::as_ref).map_or(0, Vec::len))
                        .sum();
                    let loaded: HashMap<_, _> = read
                        .into_iter()
                        .map(|(p, r)| {
                            let loaded = match r {
                                Ok(Some(bytes)) => decode(p, bytes, t.topic()),
                                Ok(None) => Ok(None),
                                Err(e) => Err(StoreError::Topic(e)),
                            };
                            (p, loaded)
                        })
                        .collect();
                    let accounts: usize = loaded
                        .values()
                        .filter_map(|r| r.as_ref().ok().and_then(Option::as_ref))
                        .map(|(engine, _)| engine.store().stats().accounts)
                        .sum();
                    tracing::info!(
                        partitions = ?parts,
                        bytes,
                        accounts,
                        read_ms,
                        decode_ms = t0.elapsed().as_millis() as u64,
                        "state restored from the state topic"
                    );
                    loaded
                }
                Err(e) => parts
                    .iter()
                    .map(|p| (*p, Err(StoreError::Topic(e.clone()))))
                    .collect(),
            },
            StateStore::Files { dir, topic } => parts
                .iter()
                .map(|&p| {
                    let path = snapshot_file(dir, topic, p);
                    let loaded =
                        crate::snapshot::load_from_file(ctx.clone(), &path).map_err(|source| {
                            StoreError::Decode {
                                place: path.display().to_string(),
                                source,
                            }
                        });
                    (p, loaded)
                })
                .collect(),
            StateStore::None => parts.iter().map(|p| (*p, Ok(None))).collect(),
        }
    }

    /// Flushes writes in flight (at shutdown).
    pub(super) fn flush(&self) {
        if let StateStore::Kafka(t) = self {
            t.flush();
        }
    }
}

/// The snapshot file of one partition.
fn snapshot_file(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    dir.join(format!("{topic}-{partition}.snap"))
}
