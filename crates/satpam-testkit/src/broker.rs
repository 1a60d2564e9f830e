//! A test's own Kafka-protocol broker (Tansu) on a free loopback port, for
//! fault injection: paused with SIGSTOP and resumed with SIGCONT, stopped
//! and started again on the same port and storage. The shared broker of
//! `scripts/broker.sh` is left alone. Needs the `tansu` binary (on `PATH`
//! or in `~/.cargo/bin`, where `scripts/broker.sh install` puts it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::free_port;

/// A Tansu broker this test started; stopped when dropped.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    storage: String,
    log: PathBuf,
}

/// The `tansu` binary: `command -v tansu`, else `~/.cargo/bin/tansu`.
pub fn tansu() -> PathBuf {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("tansu");
            if p.is_file() {
                return p;
            }
        }
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = Path::new(&home).join(".cargo/bin/tansu");
    assert!(
        p.is_file(),
        "no tansu binary on PATH or in ~/.cargo/bin: run scripts/broker.sh install"
    );
    p
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

impl Broker {
    /// Starts a broker on a free port with `storage` (a Tansu storage URL,
    /// e.g. `sqlite://<dir>/tansu.db` to survive a restart), its log in
    /// `dir`; waits until the port answers.
    pub fn start(dir: &Path, storage: &str) -> Broker {
        let mut b = Broker {
            child: None,
            port: free_port(),
            storage: storage.to_string(),
            log: dir.join("tansu.log"),
        };
        b.spawn();
        b
    }

    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> String {
        self.child
            .as_ref()
            .map(|c| c.id().to_string())
            .expect("the broker runs")
    }

    fn kill(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} broker");
    }

    /// SIGSTOP: the broker stops answering; connections stay open.
    pub fn pause(&self) {
        self.kill("-STOP");
    }

    /// SIGCONT after [`Broker::pause`].
    pub fn resume(&self) {
        self.kill("-CONT");
    }

    /// SIGTERM (SIGKILL after 5 s) and waits: the port closes.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("broker log");
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", &self.storage])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if port_open(self.port) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "tansu exited ({status}); log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("tansu did not open port {} in 20 s", self.port);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A paused broker ignores SIGTERM until continued.
            let _ = Command::new("kill").args(["-CONT", &self.pid()]).status();
        }
        self.stop();
    }
}
