//! Files of events and signals: JSONL in the canonical proto3 JSON mapping,
//! and length-delimited binary protobuf for events.

pub mod events;
pub mod signals;

pub use events::{EventFormat, EventReader, RecordError};
pub use signals::SignalWriter;
