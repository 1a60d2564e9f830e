//! Kafka and gRPC events: arbitrary bytes as one protobuf `MessageEvent`
//! (the Kafka source's decode), then validation; and the same bytes as a
//! length-delimited events file (`satpam replay`), each record validated.
//! The Kafka source's `EventDecoder` (its own wire reader, prost for what
//! that reader leaves) must give what prost and `Event::try_from` give.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use satpam::convert::{DecodeError, EventDecoder};
use satpam::event::Event;
use satpam::io::events::{EventFormat, EventReader};
use satpam::pb::v1 as pb;

fuzz_target!(|data: &[u8]| {
    let reference = match pb::MessageEvent::decode(data) {
        Ok(m) => satpam::convert::event_or_refusal(m).map_err(|r| DecodeError::Invalid(r.reason)),
        Err(e) => Err(DecodeError::Wire(e)),
    };
    let mut decoder = EventDecoder::new();
    let decoded: Result<Event, DecodeError> = decoder.decode(data).cloned();
    // `Event` has no `Debug` (its text is never printed): compare, then say which side refused.
    assert!(
        decoded == reference,
        "EventDecoder and prost disagree: decoder ok={}, prost ok={}",
        decoded.is_ok(),
        reference.is_ok()
    );
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
