//! satpam: keeps general-purpose AI assistants off the WhatsApp Business Platform.
//!
//! Data flows one way, and the modules follow it:
//! `pb` (wire types) -> `convert` -> `event` -> `state` -> `features` ->
//! `rules` -> `decide` -> signals, driven by `engine` on event time.
//! The service (`service`) wraps it: `source` (Kafka, gRPC) -> engine
//! shards -> `sink` (Kafka, Watch, JSONL), with `telemetry` and `snapshot`.
#![warn(missing_docs)]

pub mod access;
pub mod clock;
pub mod config;
pub mod console;
pub mod convert;
pub mod decide;
pub mod engine;
pub mod eval;
pub mod event;
pub mod features;
pub mod io;
/// Bounds on hostile input: the event-time window a shard accepts.
pub mod limits;
pub mod pb;
pub mod pipeline;
pub mod replay;
pub mod report;
pub mod rules;
pub(crate) mod scan;
pub mod service;
pub mod sink;
/// Snapshots of one engine shard: its state written to bytes and restored
/// exactly, so that a service restarted after a crash reloads a partition's
/// state and re-processes the events after the snapshot with the same
/// signals and signal ids.
pub mod snapshot;
pub(crate) mod source;
pub mod state;
pub mod telemetry;
pub mod webhook;

pub use engine::{Engine, EngineConfig, EngineContext, Outcome, Scratch};
pub use event::Event;
pub use rules::RuleSet;
