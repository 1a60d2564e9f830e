//! A server (`satpam serve`) as a child process: started, ready (its
//! `/readyz` answers `ready`) before it is handed out, its stderr in a log
//! file, and stopped when dropped (SIGTERM, then SIGKILL if it lingers).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::http::{get_body, metric};

/// A running child process serving `/metrics` and `/readyz` on `metrics`.
pub struct Served {
    /// The process.
    pub child: Child,
    /// Its metrics (HTTP) address.
    pub metrics: SocketAddr,
    log: PathBuf,
}

impl Served {
    /// Spawns `cmd` with stdin and stdout closed and stderr to `log`, then
    /// waits up to `ready_within` for `/readyz` on `metrics` to answer
    /// `ready`; panics with the log otherwise.
    pub fn spawn(
        mut cmd: Command,
        metrics: SocketAddr,
        log: &Path,
        ready_within: Duration,
    ) -> Served {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("spawn the server");
        let s = Served {
            child,
            metrics,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + ready_within;
        while Instant::now() < deadline {
            if get_body(metrics, "/readyz").is_ok_and(|b| b.starts_with("ready")) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("not ready on {metrics}; log:\n{}", s.log_text());
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its stderr goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `/metrics` body, scraped now.
    pub fn scrape(&self) -> String {
        get_body(self.metrics, "/metrics").expect("scrape /metrics")
    }

    /// A metric sample (exact name with labels), scraped now.
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(self.metrics, name)
    }

    /// Waits until `f` holds for the sample `name`; panics with the log
    /// after `timeout`. Returns the value that satisfied `f`.
    pub fn wait_metric(&self, name: &str, timeout: Duration, f: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.metric(name).unwrap_or(f64::NAN);
            if f(v) {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{name} = {v} did not reach the expected value; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `sig` (a `kill` argument such as `-HUP`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {}", self.pid());
    }

    /// Its exit status if it has exited on its own within `within`; None
    /// while it runs.
    pub fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to 30 s for it to exit; panics with the log
    /// if it does not.
    pub fn terminate(mut self) -> ExitStatus {
        match self.stop(Duration::from_secs(30)) {
            Some(status) => status,
            None => panic!("did not stop on SIGTERM; log:\n{}", self.log_text()),
        }
    }

    fn stop(&mut self, within: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if self.stop(Duration::from_secs(20)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
