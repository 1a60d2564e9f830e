//! The audit trail's JSONL file: one record per line, appended and flushed
//! as it happens, read back at start so `ListAudit` sees recent history.
//! The file is created with its first record (a service that audits
//! nothing leaves no empty file behind); its directory must exist at start.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::record::AuditRecord;

/// An audit file, opened for appending.
pub struct AuditFile {
    path: PathBuf,
    file: Option<File>,
}

fn append_to(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl AuditFile {
    /// The audit file at `path`, and the last `keep` records already in it
    /// (lines that do not parse are skipped). Fails when an existing file
    /// cannot be appended to, or the directory of a new one does not exist.
    pub fn open(path: &Path, keep: usize) -> std::io::Result<(AuditFile, VecDeque<AuditRecord>)> {
        let mut recent = VecDeque::new();
        let file = if path.exists() {
            for line in BufReader::new(File::open(path)?).lines() {
                let Ok(line) = line else { break };
                if let Ok(r) = serde_json::from_str::<AuditRecord>(&line) {
                    if recent.len() == keep {
                        recent.pop_front();
                    }
                    recent.push_back(r);
                }
            }
            Some(append_to(path)?)
        } else {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("directory {} does not exist", dir.display()),
                ));
            }
            None
        };
        Ok((
            AuditFile {
                path: path.to_path_buf(),
                file,
            },
            recent,
        ))
    }

    /// Appends one record as a line and flushes it.
    pub fn append(&mut self, r: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(append_to(&self.path)?),
        };
        file.write_all(&line)?;
        file.flush()
    }
}
