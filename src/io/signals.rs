//! Writes signals as JSONL in the canonical proto3 JSON mapping: the one
//! writer of `satpam replay --out` and the service's `sinks.jsonl`.

use std::io::{self, Write};

use crate::decide::Signal;
use crate::pb::v1::EnforcementSignal;

/// Writes one canonical-JSON `EnforcementSignal` per line.
pub struct SignalWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> SignalWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        SignalWriter { out, written: 0 }
    }

    /// Writes one signal.
    pub fn write(&mut self, s: &Signal) -> io::Result<()> {
        self.write_pb(&EnforcementSignal::from(s))
    }

    /// Writes one signal already in its wire form (what the service's
    /// sinks hold).
    pub fn write_pb(&mut self, pb: &EnforcementSignal) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, pb).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Signals written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
