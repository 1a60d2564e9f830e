//! WhatsApp Cloud API input: webhook bodies as Meta POSTs them and send-API
//! request bodies as the BSP sends them, mapped to `satpam.v1.MessageEvent`s
//! that then go through the same validation ([`crate::convert`]) as every
//! other source. Field by field in `docs/webhooks.md`.
//!
//! - [`parse`]: the typed records of a webhook body; [`parse_body`] (in
//!   `read`) reads a body into them, tolerant of unknown fields, unknown
//!   message types and values of unexpected JSON types.
//! - [`map`]: the records to wire events (messages, echoes), status records
//!   and counts of the fields that carry no message; [`status`]: a status
//!   record as a delivery-report event.
//! - [`signature`]: `X-Hub-Signature-256` checked in constant time.
//! - [`portfolio`]: which business portfolio owns a WABA, learned from
//!   `account_update`s and stamped on the events.
//! - [`templates`]: which category a WABA's message template is in, learned
//!   from the template webhooks and stamped on the send-API tap's templates.
//! - [`send`]: a send-API request body to one outbound event.
//! - [`render`]: events back to webhook and send-API bodies (load, tests).
//! - [`country`]: the user's country from a profile, a phone number or a
//!   business-scoped user id.
//!
//! Message text is carried into the events (it is what the engine scans)
//! and nowhere else: the records' `Debug` output shows its length only.

pub mod country;
mod lenient;
pub mod map;
pub mod parse;
pub mod portfolio;
mod read;
pub mod render;
pub mod send;
pub mod signature;
pub mod status;
pub mod templates;

pub use map::{map_body, Mapped, StatusRecord};
pub use parse::ParseError;
pub use read::parse_body;

/// The key of an id within a tenant (a WABA, a wamid) in the receiver's
/// tables: tenant ids (from the configuration) hold no NUL, so the
/// separator keeps tenants apart.
pub(crate) fn tenant_key(tenant_id: &str, id: &str) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(tenant_id.as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    h.digest128()
}
