//! The console's backtests: recorded traffic (the files of `[console]
//! backtest_dir`, picked by name from its listing, never a path from the
//! browser) replayed through the rules in force and a candidate, on a
//! thread of its own, one at a time per instance. The page reads the
//! progress (bytes read over both passes) and, when done, the decisions
//! that change ([`crate::eval::backtest`]). Events are read with their
//! text, which the engine scans and drops; nothing of it is kept here.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::decide::{CountryPolicy, Overrides};
use crate::eval::{backtest, figures, read_labels_csv, BacktestInput, Figure, RulesDiff, Side};
use crate::io::{EventFormat, EventReader};
use crate::rules::RuleSet;

/// Extensions of event files listed (JSONL, length-delimited protobuf).
const EVENT_EXTENSIONS: &[&str] = &["jsonl", "json", "ndjson", "pb", "bin", "binpb"];

/// The files of the backtest directory, by kind, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Event files.
    pub events: Vec<String>,
    /// Label files (`*.csv`).
    pub labels: Vec<String>,
}

/// Why a backtest did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Backtests are off (`[console] backtest_dir` is empty).
    Off,
    /// A name not in the listing, or one that is not a plain file name.
    BadName(String),
    /// Another backtest is running (started by, percent done).
    Busy(String, u32),
    /// The labels file did not parse, or a file could not be read.
    Input(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Off => write!(f, "backtests are off: set [console] backtest_dir"),
            Refused::BadName(why) => write!(f, "{why}"),
            Refused::Busy(who, pct) => write!(
                f,
                "a backtest started by {who} is running ({pct}% done): one runs at a time, start yours when it has finished"
            ),
            Refused::Input(why) => write!(f, "{why}"),
        }
    }
}

/// What a finished backtest found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The accounts whose strongest action differs.
    pub diff: RulesDiff,
    /// Scorecard figures old against new, when labels were given.
    pub figures: Option<Vec<Figure>>,
    /// Events replayed (per side).
    pub events: u64,
    /// Records that did not decode or validate.
    pub malformed: u64,
    /// The version of the rules in force.
    pub old_version: String,
    /// The candidate's version.
    pub new_version: String,
}

/// One backtest, running or finished.
#[derive(Debug)]
pub struct Job {
    /// Who started it.
    pub who: String,
    /// When (ms since the epoch).
    pub started_ms: i64,
    /// The events file's name.
    pub events: String,
    /// The labels file's name, if any.
    pub labels: Option<String>,
    /// The events file's length in bytes (0: unknown, e.g. a pipe).
    pub file_bytes: u64,
    read: Arc<AtomicU64>,
    pass: AtomicU8,
    outcome: Mutex<Option<Result<Outcome, String>>>,
}

impl Job {
    /// Bytes read over both passes.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The replay running: 1 (the rules in force) or 2 (the candidate);
    /// the first pass's file is closed before the second opens it.
    pub fn pass(&self) -> u8 {
        self.pass.load(Ordering::Relaxed)
    }

    /// Percent done (both passes), 0 to 100; 0 when the length is unknown.
    pub fn percent(&self) -> u32 {
        if self.finished() {
            return 100;
        }
        let total = self.file_bytes.saturating_mul(2);
        if total == 0 {
            return 0;
        }
        ((self.bytes_read().min(total) * 100) / total) as u32
    }

    /// The outcome, once finished (`Err`: why it failed).
    pub fn outcome(&self) -> Option<Result<Outcome, String>> {
        lock(&self.outcome).clone()
    }

    /// Whether it has finished.
    pub fn finished(&self) -> bool {
        lock(&self.outcome).is_some()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a backtest compares: the candidate against the rules, policy and
/// overrides in force.
pub struct Request {
    /// Who starts it.
    pub who: String,
    /// When (ms since the epoch).
    pub now_ms: i64,
    /// The events file's name, from the listing.
    pub events: String,
    /// The labels file's name, from the listing; empty: none.
    pub labels: String,
    /// The rules in force.
    pub old: Arc<RuleSet>,
    /// The candidate, compiled.
    pub new: Arc<RuleSet>,
    /// The country policy in force.
    pub policy: CountryPolicy,
    /// The overrides in force.
    pub overrides: Overrides,
}

/// The backtests of one console: the directory and the latest job.
pub struct Backtests {
    dir: Option<PathBuf>,
    latest: Mutex<Option<Arc<Job>>>,
}

impl Backtests {
    /// Backtests over the files of `dir` (empty: off).
    pub fn new(dir: &str) -> Backtests {
        Backtests {
            dir: (!dir.trim().is_empty()).then(|| PathBuf::from(dir.trim())),
            latest: Mutex::new(None),
        }
    }

    /// Whether backtests are on.
    pub fn enabled(&self) -> bool {
        self.dir.is_some()
    }

    /// The latest backtest, running or finished.
    pub fn latest(&self) -> Option<Arc<Job>> {
        lock(&self.latest).clone()
    }

    /// The event and label files of the directory (not directories, not
    /// hidden), by name.
    pub fn list(&self) -> Result<Listing, Refused> {
        let dir = self.dir.as_ref().ok_or(Refused::Off)?;
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Refused::Input(format!("backtest_dir cannot be listed: {e}")))?;
        let mut out = Listing::default();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || entry.path().is_dir() {
                continue;
            }
            let ext = Path::new(&name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if EVENT_EXTENSIONS.contains(&ext.as_str()) {
                out.events.push(name);
            } else if ext == "csv" {
                out.labels.push(name);
            }
        }
        out.events.sort();
        out.labels.sort();
        Ok(out)
    }

    /// The path of `name`, one of `listed`: a bare file name only.
    fn pick(&self, name: &str, listed: &[String], what: &str) -> Result<PathBuf, Refused> {
        let dir = self.dir.as_ref().ok_or(Refused::Off)?;
        if name.is_empty()
            || name.contains(['/', '\\', '\0'])
            || name.contains("..")
            || name.starts_with('.')
        {
            return Err(Refused::BadName(format!(
                "pick the {what} file from the list: a file name only, no directories or `..`"
            )));
        }
        if !listed.iter().any(|l| l == name) {
            return Err(Refused::BadName(format!(
                "no {what} file of that name in the backtest directory"
            )));
        }
        Ok(dir.join(name))
    }

    /// Starts `req` on a thread of its own, unless one is running.
    pub fn start(&self, req: Request) -> Result<Arc<Job>, Refused> {
        let listing = self.list()?;
        let events = self.pick(&req.events, &listing.events, "events")?;
        let labels_path = match req.labels.as_str() {
            "" => None,
            name => Some(self.pick(name, &listing.labels, "labels")?),
        };
        let labels = match &labels_path {
            None => Vec::new(),
            Some(p) => {
                let f =
                    File::open(p).map_err(|e| Refused::Input(format!("{}: {e}", req.labels)))?;
                read_labels_csv(BufReader::new(f), &req.labels)
                    .map_err(|e| Refused::Input(format!("{e:#}")))?
            }
        };
        let file_bytes = std::fs::metadata(&events)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0, |m| m.len());
        let mut latest = lock(&self.latest);
        if let Some(j) = latest.as_ref().filter(|j| !j.finished()) {
            return Err(Refused::Busy(j.who.clone(), j.percent()));
        }
        let job = Arc::new(Job {
            who: req.who.clone(),
            started_ms: req.now_ms,
            events: req.events.clone(),
            labels: labels_path.as_ref().map(|_| req.labels.clone()),
            file_bytes,
            read: Arc::new(AtomicU64::new(0)),
            pass: AtomicU8::new(1),
            outcome: Mutex::new(None),
        });
        let input = BacktestInput {
            old: req.old,
            new: req.new,
            policy: req.policy,
            overrides: req.overrides,
            labels,
        };
        let runner = job.clone();
        std::thread::Builder::new()
            .name("console-backtest".into())
            .spawn(move || {
                let scored = runner.labels.is_some();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(input, &events, &runner, scored)
                }))
                .unwrap_or_else(|_| Err("the backtest stopped on an internal error".into()));
                *lock(&runner.outcome) = Some(result);
            })
            .map_err(|e| Refused::Input(format!("cannot start the backtest: {e}")))?;
        *latest = Some(job.clone());
        Ok(job)
    }
}

/// Both replays of `events`, counting the bytes read and the pass in `job`.
fn run(input: BacktestInput, events: &Path, job: &Job, scored: bool) -> Result<Outcome, String> {
    let format = EventFormat::detect(events, None);
    let read = &job.read;
    let done = backtest(
        input,
        |side| {
            job.pass
                .store(if side == Side::Old { 1 } else { 2 }, Ordering::Relaxed);
            let file = File::open(events)?;
            let counted = Counted {
                inner: file,
                read: read.clone(),
            };
            Ok(EventReader::new(
                BufReader::with_capacity(1 << 20, counted),
                format,
            ))
        },
        |_, _| {},
    )
    .map_err(|e| format!("the events file could not be read: {e}"))?;
    Ok(Outcome {
        figures: scored.then(|| figures(&done.old.scorecard, &done.new.scorecard)),
        events: done.old.summary.engine.events,
        malformed: done.old.summary.malformed,
        old_version: done.old.summary.rule_set_version.clone(),
        new_version: done.new.summary.rule_set_version.clone(),
        diff: done.diff,
    })
}

/// A reader that adds the bytes it reads to a shared counter.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
