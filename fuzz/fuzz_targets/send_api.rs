//! The BSP's send-API bodies (the outbound tap): arbitrary bytes mapped to
//! an outbound event (`map_send`), then validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satpam::webhook::send::{map_send, SendContext};

fuzz_target!(|data: &[u8]| {
    let ctx = SendContext {
        tenant_id: "tenant-fuzz",
        phone_number_id: "1234567890",
        waba_id: "",
        message_id: "",
        timestamp_ms: 1_769_904_000_000,
    };
    if let Ok(m) = map_send(data, &ctx) {
        let _ = satpam::convert::event_or_refusal(m);
    }
});
