//! JSON events (`satpam replay` / `eval` files, the canonical protobuf JSON
//! mapping): arbitrary bytes as a JSONL file, each record validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satpam::io::events::{EventFormat, EventReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = EventReader::new(data, EventFormat::JsonLines);
    // A reader yields at most one record per byte (plus the end).
    for _ in 0..=data.len() {
        match reader.next_record() {
            Some(Ok(m)) => {
                let _ = satpam::convert::event_or_refusal(m);
            }
            Some(Err(_)) => {}
            None => break,
        }
    }
});
