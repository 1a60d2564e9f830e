//! `satpam serve` on its embedded default (no broker) as a child process, on
//! free loopback ports, in a temporary directory; stopped when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use satpam_testkit::http::free_addr;
use satpam_testkit::process::Served;

/// A running `satpam serve` with no config file.
pub struct Embedded {
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    /// The process (dropped before `dir`).
    pub served: Served,
    pub dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts it and waits until `/readyz` answers `ready`.
    pub fn start() -> Embedded {
        let dir = tempfile::tempdir().expect("dir");
        let (grpc, metrics) = (free_addr(), free_addr());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("SATPAM_GRPC__LISTEN", grpc.to_string())
            .env("SATPAM_METRICS__LISTEN", metrics.to_string())
            .env("SATPAM_LOG", "warn");
        let served = Served::spawn(
            cmd,
            metrics,
            &dir.path().join("satpam.log"),
            Duration::from_secs(30),
        );
        Embedded {
            grpc,
            metrics,
            served,
            dir,
        }
    }

    /// The `/metrics` body, scraped now.
    pub fn scrape(&self) -> String {
        self.served.scrape()
    }
}
