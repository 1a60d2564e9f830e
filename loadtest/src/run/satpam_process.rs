//! A `satpam serve` that loadgen starts itself (the catch-up phase): its
//! log in a file, its `/metrics` awaited, its threads' CPU time read from
//! `/proc/<pid>/task`, and a SIGTERM (then SIGKILL) when it is done.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::cpu;
use super::metrics_scrape::MetricsEndpoint;

/// A running `satpam serve` started by loadgen.
pub struct SatpamProcess {
    child: Child,
    log: PathBuf,
}

/// CPU seconds by thread name (threads of the same name summed).
pub type ThreadCpu = BTreeMap<String, f64>;

impl SatpamProcess {
    /// Starts `bin serve --config config` with the environment `env` added
    /// (stdout and stderr to `log`), and waits until `metrics` answers.
    pub fn start(
        bin: &Path,
        config: &Path,
        env: &[(&str, String)],
        log: PathBuf,
        metrics: &MetricsEndpoint,
        timeout: Duration,
    ) -> anyhow::Result<SatpamProcess> {
        let out = std::fs::File::create(&log)
            .with_context(|| format!("creating satpam's log {}", log.display()))?;
        let err = out.try_clone().context("satpam's log")?;
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} (pass --satpam-bin)", bin.display()))?;
        let mut p = SatpamProcess { child, log };
        let deadline = Instant::now() + timeout;
        loop {
            if metrics.scrape().is_ok() {
                return Ok(p);
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                anyhow::bail!(
                    "satpam exited ({status}) before {} answered; its log is {}",
                    metrics.url(),
                    p.log.display()
                );
            }
            if Instant::now() >= deadline {
                p.stop(Duration::from_secs(5));
                anyhow::bail!(
                    "satpam's metrics at {} did not answer within {} s (is --metrics the [metrics] listen of --satpam-config?); its log is {}",
                    metrics.url(),
                    timeout.as_secs(),
                    p.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its stdout and stderr go.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// CPU seconds of each of its threads now, by thread name.
    pub fn threads(&self) -> ThreadCpu {
        thread_cpu(self.pid())
    }

    /// SIGTERM (satpam drains, commits and exits), then SIGKILL after
    /// `within`; returns whether it stopped on SIGTERM.
    pub fn stop(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.exited() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for SatpamProcess {
    fn drop(&mut self) {
        if !self.exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds of each thread of `pid` now (`/proc/<pid>/task/*/stat`),
/// summed by thread name; empty when the process cannot be read.
pub fn thread_cpu(pid: u32) -> ThreadCpu {
    let mut out = ThreadCpu::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some(name) = thread_name(&stat) else {
            continue;
        };
        if let Ok(s) = cpu::cpu_seconds(&task.path().join("stat")) {
            *out.entry(name.to_string()).or_default() += s;
        }
    }
    out
}

/// The command name of a `stat` line (between the first `(` and the last `)`).
fn thread_name(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    (close > open).then(|| &stat[open + 1..close])
}

/// CPU seconds each thread name used between `before` and `after` (names
/// new in `after` count from zero), largest first, rounded to 0.01 s.
pub fn thread_use(before: &ThreadCpu, after: &ThreadCpu) -> Vec<(String, f64)> {
    let mut used: Vec<(String, f64)> = after
        .iter()
        .map(|(n, s)| {
            let d = s - before.get(n).copied().unwrap_or(0.0);
            (n.clone(), (d.max(0.0) * 100.0).round() / 100.0)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    used.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_keep_spaces_and_parentheses() {
        assert_eq!(thread_name("12 (rdk:broker1) S 1 2"), Some("rdk:broker1"));
        assert_eq!(thread_name("12 (a (b) c) R 1"), Some("a (b) c"));
        assert_eq!(thread_name("garbage"), None);
    }

    #[test]
    fn thread_use_is_the_difference_largest_first() {
        let before = ThreadCpu::from([("poll".into(), 1.0), ("worker".into(), 2.0)]);
        let after = ThreadCpu::from([
            ("poll".into(), 1.5),
            ("worker".into(), 4.25),
            ("new".into(), 0.3),
            ("idle".into(), 0.0),
        ]);
        assert_eq!(
            thread_use(&before, &after),
            vec![
                ("worker".to_string(), 2.25),
                ("poll".to_string(), 0.5),
                ("new".to_string(), 0.3)
            ]
        );
    }

    #[test]
    fn this_process_has_named_threads_with_cpu_time() {
        let t = thread_cpu(std::process::id());
        assert!(!t.is_empty(), "no threads read");
        assert!(t.values().all(|s| *s >= 0.0), "{t:?}");
        assert!(thread_cpu(u32::MAX).is_empty());
    }
}
