//! Signals appended to a file as JSONL (canonical proto3 JSON), one per
//! line, by the same [`SignalWriter`] as `satpam replay --out`.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::io::signals::SignalWriter;
use crate::pb::v1 as pb;

/// An append-only JSONL file of signals. Signals are rare, so each line is
/// flushed as it is written: a crash loses none that were published.
pub struct JsonlSink {
    path: PathBuf,
    out: Mutex<SignalWriter<BufWriter<File>>>,
}

impl JsonlSink {
    /// Opens (creating, appending) `path`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            out: Mutex::new(SignalWriter::new(BufWriter::new(f))),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one signal.
    pub fn write(&self, s: &pb::EnforcementSignal) {
        let Ok(mut out) = self.out.lock() else {
            return;
        };
        let written = out.write_pb(s).and_then(|()| out.flush());
        if let Err(e) = written {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write signal to the JSONL sink");
        }
    }

    /// Flushes buffered lines.
    pub fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.flush();
        }
    }
}
