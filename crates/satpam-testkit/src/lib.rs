//! Test support shared by satpam's integration tests (`tests/`) and the
//! load harness's (`loadtest/tests/`): one copy of each helper.
//!
//! * [`figures`]: numbers as a report writes them (thousands, percentages).
//! * [`http`]: plain HTTP/1.0 GETs and any request, forms, metric lookups,
//!   free ports, waiting.
//! * [`webdriver`]: a WebDriver client (chromedriver) over plain HTTP.
//! * [`prom`]: strict parsing of the Prometheus text exposition.
//! * [`process`]: `satpam serve` (or any server with `/readyz`) as a child
//!   process, ready before it is handed out, stopped when dropped.
//! * [`kafka`]: the test broker, topics, producing and reading records.
//! * [`tls`]: a CA and certificates made at test time, GETs over TLS.
//! * [`broker`]: a test's own Tansu broker, to pause, stop and restart.
//! * [`otlp`]: an in-process OTLP/gRPC trace receiver that keeps the spans.
//!
//! It depends on no satpam crate, so it is never part of the production
//! library's build; what needs satpam's types (scripted traffic, driving an
//! engine, decoding signals) stays in `tests/common`.

pub mod broker;
pub mod figures;
pub mod http;
pub mod kafka;
pub mod otlp;
pub mod process;
pub mod prom;
pub mod tls;
pub mod webdriver;
