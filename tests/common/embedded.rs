//! `satpam serve` on its embedded default (no broker) as a child process, on
//! free loopback ports, in a temporary directory; killed when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::{free_port, get_body};

/// A running `satpam serve` with no config file.
pub struct Embedded {
    pub child: Child,
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts it and waits until `/readyz` answers `ready`.
    pub fn start() -> Embedded {
        let dir = tempfile::tempdir().expect("dir");
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_satpam"))
            .arg("serve")
            .current_dir(dir.path())
            .env("SATPAM_GRPC__LISTEN", grpc.to_string())
            .env("SATPAM_METRICS__LISTEN", metrics.to_string())
            .env("SATPAM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("satpam serve");
        let s = Embedded {
            child,
            grpc,
            metrics,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if get_body(metrics, "/readyz").is_ok_and(|b| b.starts_with("ready")) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("satpam serve did not become ready on {metrics}");
    }

    /// The `/metrics` body, scraped now.
    pub fn scrape(&self) -> String {
        get_body(self.metrics, "/metrics").expect("scrape /metrics")
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
