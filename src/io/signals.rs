//! Writes signals as JSONL in the canonical proto3 JSON mapping.

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
        let pb = EnforcementSignal::from(s);
        serde_json::to_writer(&mut self.out, &pb).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
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
