//! The audit trail's JSONL file: one record per line, appended and flushed
//! as it happens, read back at start so `ListAudit` sees recent history.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use super::record::AuditRecord;

/// An open audit file.
pub struct AuditFile {
    file: File,
}

impl AuditFile {
    /// Opens `path` for appending (creating it); returns the last `keep`
    /// records already in it (lines that do not parse are skipped).
    pub fn open(path: &Path, keep: usize) -> std::io::Result<(AuditFile, VecDeque<AuditRecord>)> {
        let mut recent = VecDeque::new();
        if let Ok(f) = File::open(path) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                if let Ok(r) = serde_json::from_str::<AuditRecord>(&line) {
                    if recent.len() == keep {
                        recent.pop_front();
                    }
                    recent.push_back(r);
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok((AuditFile { file }, recent))
    }

    /// Appends one record as a line and flushes it.
    pub fn append(&mut self, r: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}
