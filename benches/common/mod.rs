//! Bench inputs: scenario traffic from the corpora, encoded as the wire
//! carries it (protobuf `satpam.v1.MessageEvent`, as on the events topic).

use std::path::PathBuf;
use std::sync::Arc;

use prost::Message;
use satpam_scenario::{Scenario, ScenarioConfig, TextBank, TextSource};

/// The corpora: `SATPAM_CORPORA` or `../shared/data/corpora` beside the checkout.
pub fn corpora_dir() -> PathBuf {
    std::env::var_os("SATPAM_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/corpora"))
}

/// A scenario's events, encoded, with a description of where the texts came from.
pub struct Traffic {
    /// One encoded `MessageEvent` per event, in event-time order.
    pub wire: Vec<Vec<u8>>,
    /// Where the texts came from.
    pub source: TextSource,
    /// Bytes of message text over all events.
    pub text_bytes: usize,
}

/// `accounts` accounts over `hours` of event time, with text or metadata only.
pub fn traffic(accounts: usize, hours: f64, metadata_only: bool) -> Traffic {
    let (bank, source) = TextBank::load_or_builtin(Some(&corpora_dir())).expect("the corpora load");
    let scenario = Scenario::generate(
        &ScenarioConfig {
            accounts,
            hours,
            seed: 11,
            metadata_only,
            ..ScenarioConfig::default()
        },
        Arc::new(bank),
    );
    let mut text_bytes = 0;
    let wire = scenario
        .events()
        .map(|m| {
            text_bytes += m.text.len();
            m.encode_to_vec()
        })
        .collect();
    Traffic {
        wire,
        source,
        text_bytes,
    }
}
