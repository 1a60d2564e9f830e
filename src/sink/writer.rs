//! Who wrote a record. Every record satpam produces to the signals,
//! dead-letter and state topics carries the header [`WRITER_HEADER`]:
//! `<host>/<pid>/<epoch>`, where `epoch` counts the consumer-group
//! rebalances this process has been through (assignments and revocations
//! alike). An operator reads from it which pod wrote a signal; the fencing
//! test reads from it that a paused instance wrote nothing between its
//! resumption and its next assignment.

use std::sync::atomic::{AtomicU64, Ordering};

/// The header naming a record's writer.
pub const WRITER_HEADER: &str = "satpam-writer";

/// This process as a writer of records, with its rebalance epoch.
#[derive(Debug)]
pub struct Writer {
    host_pid: String,
    epoch: AtomicU64,
}

impl Writer {
    /// This process: the host's name (the pod's name on Kubernetes) and
    /// the process id, at epoch 0.
    pub fn this_process() -> Writer {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".to_string());
        Writer::new(&host, std::process::id())
    }

    /// A writer named `host` and `pid`, at epoch 0.
    pub fn new(host: &str, pid: u32) -> Writer {
        Writer {
            host_pid: format!("{host}/{pid}"),
            epoch: AtomicU64::new(0),
        }
    }

    /// The header value: `<host>/<pid>/<epoch>`.
    pub fn header_value(&self) -> String {
        format!("{}/{}", self.host_pid, self.epoch())
    }

    /// The rebalances gone through so far.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Counts a rebalance (at the start of its callback); returns the new epoch.
    pub fn next_epoch(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::AcqRel) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_host_pid_and_the_epoch() {
        let w = Writer::new("satpam-0", 41);
        assert_eq!(w.header_value(), "satpam-0/41/0");
        assert_eq!(w.next_epoch(), 1);
        assert_eq!(w.next_epoch(), 2);
        assert_eq!(w.header_value(), "satpam-0/41/2");
        assert_eq!(w.epoch(), 2);
    }
}
