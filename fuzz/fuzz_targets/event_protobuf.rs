//! Kafka and gRPC events: arbitrary bytes as one protobuf `MessageEvent`
//! (the Kafka source's decode), then validation; and the same bytes as a
//! length-delimited events file (`satpam replay`), each record validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use satpam::io::events::{EventFormat, EventReader};
use satpam::pb::v1 as pb;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = pb::MessageEvent::decode(data) {
        let _ = satpam::convert::event_or_refusal(m);
    }
    let mut reader = EventReader::new(data, EventFormat::LengthDelimited);
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
