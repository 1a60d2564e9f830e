//! The console's backtests: recorded traffic replayed through the rules in
//! force and a candidate, on a thread of its own, one at a time per
//! instance. The traffic is a file of `[console] backtest_dir` (picked by
//! name from its listing, never a path from the browser) or, when Kafka is
//! configured, the last hours of the events topic
//! ([`crate::source::kafka::topic_window`], its offsets fixed once so both
//! passes read the same records). The page reads the progress (bytes or
//! records read over both passes) and, when done, the decisions that change
//! ([`crate::eval::backtest`]). Events are read with their text, which the
//! engine scans and drops; nothing of it is kept here.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::decide::{CountryPolicy, Overrides};
use crate::eval::{
    backtest, figures, read_labels_csv, Backtest, BacktestInput, Figure, RulesDiff, Side,
};
use crate::io::{EventFormat, EventReader};
use crate::rules::RuleSet;
use crate::source::kafka::{TopicWindow, TopicWindowSettings};

/// The longest window of the events topic a backtest reads (a week).
pub const MAX_TOPIC_HOURS: f64 = 168.0;

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

/// The recorded traffic a backtest replays.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A file of the backtest directory, by name.
    File(String),
    /// The events topic's records of the last `hours`.
    Topic {
        /// How far back, in hours (0 < hours <= [`MAX_TOPIC_HOURS`]).
        hours: f64,
    },
}

/// What a job's progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of a file.
    Bytes,
    /// Records of the events topic.
    Records,
}

/// Why a backtest did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Backtests are off (no `[console] backtest_dir`, no Kafka), or the
    /// events topic was asked for without Kafka.
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
            Refused::Off => write!(
                f,
                "backtests are off: set [console] backtest_dir, or configure [kafka] to replay the events topic"
            ),
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
    /// The traffic replayed, in words (`day.jsonl`, `events topic satpam.events, last 2 h`).
    pub events: String,
    /// The labels file's name, if any.
    pub labels: Option<String>,
    /// What the progress counts.
    pub unit: Unit,
    /// The traffic's size in `unit` (0: unknown, e.g. a pipe, or the
    /// topic's offsets not yet looked up).
    size: AtomicU64,
    read: Arc<AtomicU64>,
    pass: AtomicU8,
    outcome: Mutex<Option<Result<Outcome, String>>>,
}

impl Job {
    /// Bytes (or records) read over both passes.
    pub fn units_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// What has been read, in words (`12 MB`, `40000 records`).
    pub fn read_text(&self) -> String {
        match self.unit {
            Unit::Bytes => format!("{} MB", self.units_read() / 1_000_000),
            Unit::Records => format!("{} records", self.units_read()),
        }
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
        let total = self.size.load(Ordering::Relaxed).saturating_mul(2);
        if total == 0 {
            return 0;
        }
        ((self.units_read().min(total) * 100) / total) as u32
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
    /// When (ms since the epoch): the topic's window ends here.
    pub now_ms: i64,
    /// The traffic to replay.
    pub events: Recorded,
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

/// The backtests of one console: the directory, the events topic and the
/// latest job.
pub struct Backtests {
    dir: Option<PathBuf>,
    topic: Option<TopicWindowSettings>,
    latest: Mutex<Option<Arc<Job>>>,
}

impl Backtests {
    /// Backtests over the files of `dir` (empty: none) and the last hours
    /// of the events topic `topic` describes (`None`: Kafka is not configured).
    pub fn new(dir: &str, topic: Option<TopicWindowSettings>) -> Backtests {
        Backtests {
            dir: (!dir.trim().is_empty()).then(|| PathBuf::from(dir.trim())),
            topic,
            latest: Mutex::new(None),
        }
    }

    /// Whether backtests are on (a directory, the events topic, or both).
    pub fn enabled(&self) -> bool {
        self.dir.is_some() || self.topic.is_some()
    }

    /// The events topic a backtest can replay, when Kafka is configured.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_ref().map(TopicWindowSettings::topic)
    }

    /// The latest backtest, running or finished.
    pub fn latest(&self) -> Option<Arc<Job>> {
        lock(&self.latest).clone()
    }

    /// The event and label files of the directory (not directories, not
    /// hidden), by name.
    /// Empty when there is no directory but the events topic can be replayed.
    pub fn list(&self) -> Result<Listing, Refused> {
        let Some(dir) = self.dir.as_ref() else {
            return match self.topic {
                Some(_) => Ok(Listing::default()),
                None => Err(Refused::Off),
            };
        };
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

    /// What `recorded` names, checked: a listed file, or a window of the
    /// events topic when Kafka is configured.
    fn source(&self, recorded: &Recorded, listing: &Listing) -> Result<Source, Refused> {
        match recorded {
            Recorded::File(name) => Ok(Source::File(self.pick(name, &listing.events, "events")?)),
            Recorded::Topic { hours } => {
                let topic = self.topic.clone().ok_or(Refused::Off)?;
                if !(*hours > 0.0 && *hours <= MAX_TOPIC_HOURS) {
                    return Err(Refused::BadName(format!(
                        "the hours of the events topic to replay must be more than 0 and at most {MAX_TOPIC_HOURS}"
                    )));
                }
                Ok(Source::Topic(topic, *hours))
            }
        }
    }

    /// Starts `req` on a thread of its own, unless one is running.
    pub fn start(&self, req: Request) -> Result<Arc<Job>, Refused> {
        let listing = self.list()?;
        let source = self.source(&req.events, &listing)?;
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
        let (events, unit, size) = match &source {
            Source::File(path) => (
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                Unit::Bytes,
                std::fs::metadata(path)
                    .ok()
                    .filter(|m| m.is_file())
                    .map_or(0, |m| m.len()),
            ),
            Source::Topic(topic, hours) => (
                format!("events topic {}, last {hours} h", topic.topic()),
                Unit::Records,
                0,
            ),
        };
        let mut latest = lock(&self.latest);
        if let Some(j) = latest.as_ref().filter(|j| !j.finished()) {
            return Err(Refused::Busy(j.who.clone(), j.percent()));
        }
        let job = Arc::new(Job {
            who: req.who.clone(),
            started_ms: req.now_ms,
            events,
            labels: labels_path.as_ref().map(|_| req.labels.clone()),
            unit,
            size: AtomicU64::new(size),
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
        let now_ms = req.now_ms;
        std::thread::Builder::new()
            .name("console-backtest".into())
            .spawn(move || {
                let scored = runner.labels.is_some();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(input, &source, now_ms, &runner, scored)
                }))
                .unwrap_or_else(|_| Err("the backtest stopped on an internal error".into()));
                *lock(&runner.outcome) = Some(result);
            })
            .map_err(|e| Refused::Input(format!("cannot start the backtest: {e}")))?;
        *latest = Some(job.clone());
        Ok(job)
    }
}

/// What a started backtest reads.
enum Source {
    /// A file of the directory.
    File(PathBuf),
    /// The events topic's last hours.
    Topic(TopicWindowSettings, f64),
}

/// Both replays of `source`, counting what is read and the pass in `job`.
fn run(
    input: BacktestInput,
    source: &Source,
    now_ms: i64,
    job: &Job,
    scored: bool,
) -> Result<Outcome, String> {
    let read = &job.read;
    let pass = |side: Side| {
        job.pass
            .store(if side == Side::Old { 1 } else { 2 }, Ordering::Relaxed)
    };
    let done = match source {
        Source::File(events) => {
            let format = EventFormat::detect(events, None);
            backtest(
                input,
                |side| {
                    pass(side);
                    let counted = Counted {
                        inner: File::open(events)?,
                        read: read.clone(),
                    };
                    Ok(EventReader::new(
                        BufReader::with_capacity(1 << 20, counted),
                        format,
                    ))
                },
                |_, _| {},
            )
            .map_err(|e| format!("the events file could not be read: {e}"))?
        }
        Source::Topic(topic, hours) => {
            let since_ms = now_ms - (hours * 3_600_000.0) as i64;
            let bounds = topic.bounds(since_ms).map_err(|e| e.to_string())?;
            job.size.store(bounds.records(), Ordering::Relaxed);
            backtest(
                input,
                |side| {
                    pass(side);
                    TopicWindow::open(topic, &bounds, read.clone()).map_err(io::Error::other)
                },
                |_, _| {},
            )
            .map_err(|e| format!("the events topic could not be read: {e}"))?
        }
    };
    Ok(outcome(done, scored))
}

/// What the page shows of both replays.
fn outcome(done: Backtest, scored: bool) -> Outcome {
    Outcome {
        figures: scored.then(|| figures(&done.old.scorecard, &done.new.scorecard)),
        events: done.old.summary.engine.events,
        malformed: done.old.summary.malformed,
        old_version: done.old.summary.rule_set_version.clone(),
        new_version: done.new.summary.rule_set_version.clone(),
        diff: done.diff,
    }
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
