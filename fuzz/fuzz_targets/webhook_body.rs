//! Meta's Cloud API webhook bodies: arbitrary bytes parsed as a webhook
//! (`parse_body`) and mapped to events and statuses (`map_body`), each
//! mapped event validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satpam::webhook::{map_body, parse_body};

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = parse_body(data) {
        let mapped = map_body(&body, "tenant-fuzz");
        for m in mapped.events {
            let _ = satpam::convert::event_or_refusal(m);
        }
    }
});
