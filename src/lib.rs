//! satpam: keeps general-purpose AI assistants off the WhatsApp Business Platform.
//!
//! Data flows one way, and the modules follow it:
//! `pb` (wire types) -> `convert` -> `event` -> `state` -> `features` ->
//! `rules` -> `decide` -> signals, driven by `engine` on event time.
//! The service (`service`) wraps it: `source` (Kafka, gRPC) -> engine
//! shards -> `sink` (Kafka, Watch, JSONL), with `telemetry` and `snapshot`.
//!
//! Without the default `service` feature only the deterministic core is
//! built (`pb`, `convert`, `event`, `state`, `features`, `rules`, `decide`,
//! `engine`, `snapshot`, `webhook`, `io`): the fuzz targets' build.
#![warn(missing_docs)]

#[cfg(feature = "service")]
pub mod access;
pub mod clock;
#[cfg(feature = "service")]
pub mod config;
#[cfg(feature = "service")]
pub mod console;
pub mod convert;
pub mod decide;
pub mod engine;
#[cfg(feature = "service")]
pub mod eval;
pub mod event;
pub mod features;
pub mod io;
/// Bounds on hostile input: the event-time window a shard accepts.
pub mod limits;
pub mod pb;
#[cfg(feature = "service")]
pub mod pipeline;
#[cfg(feature = "service")]
pub mod replay;
#[cfg(feature = "service")]
pub mod report;
pub mod rules;
pub(crate) mod scan;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "service")]
pub mod sink;
/// Snapshots of one engine shard: its state written to bytes and restored
/// exactly, so that a service restarted after a crash reloads a partition's
/// state and re-processes the events after the snapshot with the same
/// signals and signal ids.
pub mod snapshot;
#[cfg(feature = "service")]
pub(crate) mod source;
pub mod state;
#[cfg(feature = "service")]
pub mod telemetry;
pub mod webhook;

pub use engine::{Engine, EngineConfig, EngineContext, Outcome, Scratch};
pub use event::Event;
pub use rules::RuleSet;
