//! The state snapshot decoder (a partition's restart state): arbitrary
//! bytes as a snapshot file, and (so that the fuzzer reaches the state
//! decoder past the checksum) arbitrary bytes as the payload of a snapshot
//! with a valid header of format 2 or 3. A decoded state is written again.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use satpam::clock::ManualClock;
use satpam::decide::CountryPolicy;
use satpam::snapshot::{read_shard, write_shard, MAGIC};
use satpam::{EngineConfig, EngineContext, RuleSet};

fn context() -> Arc<EngineContext> {
    static CTX: std::sync::OnceLock<Arc<EngineContext>> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        Arc::new(EngineContext::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::default(),
            Arc::new(ManualClock::new(0)),
            EngineConfig::default(),
        ))
    })
    .clone()
}

fn decode(bytes: &[u8]) {
    if let Ok(engine) = read_shard(context(), &mut &bytes[..]) {
        let mut out = Vec::new();
        let _ = write_shard(&engine, &mut out);
    }
}

fuzz_target!(|data: &[u8]| {
    decode(data);
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let version: u32 = if selector & 1 == 0 { 3 } else { 2 };
    let mut framed = Vec::with_capacity(28 + payload.len());
    framed.extend_from_slice(&MAGIC);
    framed.extend_from_slice(&version.to_le_bytes());
    framed.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    framed.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes());
    framed.extend_from_slice(payload);
    decode(&framed);
});
