//! Records of raw webhook bodies (`kafka.events_format = "webhook"`): the
//! body as Meta POSTed it, the signature in an `x-hub-signature-256` header.
//! A record is verified with the `[[webhook.apps]]` secrets (the app that
//! signed it names the tenant, as over HTTP), parsed and mapped by
//! [`crate::webhook`], and its events are processed by the partition's
//! worker like protobuf events. A record that cannot be read is handed back
//! with the reason, for the dead-letter topic; the consumer goes on.
//!
//! The same topic may carry the BSP's send-API request bodies: a record
//! with an `x-satpam-phone-number-id` header is one, mapped as the HTTP
//! send-API tap maps a request to `<send_path>/<phone-number-id>/messages`
//! (its `x-satpam-waba-id`, `-message-id`, `-timestamp-ms` and
//! `-business-id` headers as the tap's). Keyed by the phone number id like
//! the webhook bodies, it lands in its number's partition, in order with
//! the number's notifications.

use std::sync::Arc;

use crate::config::{EventsFormat, KafkaSection, WebhookSection};
use crate::pb::v1 as pb;
use crate::telemetry::{Source, Telemetry, WebhookResult};
use crate::webhook::map::template_category;
use crate::webhook::parse::ParseError;
use crate::webhook::portfolio::PortfolioTable;
use crate::webhook::send::{map_send_template, SendContext, SendError, Sent};
use crate::webhook::signature::{find_signer, SignatureError};
use crate::webhook::templates::TemplateTable;
use crate::webhook::{map_body, parse_body};

/// The header a record's signature is read from (Meta's HTTP header, lower case).
pub const SIGNATURE_HEADER: &str = crate::webhook::signature::HEADER;

/// The header that marks a send-API record and names its sending phone
/// number id (the `<phone-number-id>` of the HTTP tap's path).
pub const PHONE_NUMBER_ID_HEADER: &str = "x-satpam-phone-number-id";
/// The other send-API headers, as over HTTP.
pub const WABA_ID_HEADER: &str = "x-satpam-waba-id";
/// The wamid Meta answered the send with.
pub const MESSAGE_ID_HEADER: &str = "x-satpam-message-id";
/// When it was sent, ms since the epoch (else the record's timestamp).
pub const TIMESTAMP_HEADER: &str = "x-satpam-timestamp-ms";
/// The business portfolio that owns the WABA.
pub const BUSINESS_ID_HEADER: &str = "x-satpam-business-id";
/// A template message's category, as the BSP knows it.
pub const TEMPLATE_CATEGORY_HEADER: &str = "x-satpam-template-category";

/// What satpam reads of a raw-body record's headers (any case; the first of
/// each name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    /// `x-hub-signature-256`.
    pub signature: Option<String>,
    /// Set on a send-API record (one with `x-satpam-phone-number-id`).
    pub send: Option<SendHeaders>,
}

/// The headers of a send-API record: what the HTTP tap reads from its path
/// and headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendHeaders {
    /// `x-satpam-phone-number-id`.
    pub phone_number_id: String,
    /// `x-satpam-waba-id` (empty when absent).
    pub waba_id: String,
    /// `x-satpam-message-id` (empty when absent: an id is derived from the body).
    pub message_id: String,
    /// `x-satpam-business-id` (empty when absent).
    pub business_id: String,
    /// `x-satpam-template-category` (empty when absent).
    pub template_category: String,
    /// `x-satpam-timestamp-ms`, else the record's own timestamp; 0 when
    /// neither (the event is then refused by validation).
    pub timestamp_ms: i64,
}

impl RecordHeaders {
    /// Reads them from `headers` (name, value) and the record's timestamp.
    pub fn read<'a>(
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        record_ms: Option<i64>,
    ) -> RecordHeaders {
        let mut out = RecordHeaders::default();
        let mut send = SendHeaders::default();
        let mut stamped: Option<i64> = None;
        let mut is_send = false;
        for (key, value) in headers {
            let Some(value) = value else { continue };
            let text = || String::from_utf8_lossy(value).trim().to_string();
            let first = |slot: &mut String| {
                if slot.is_empty() {
                    *slot = text();
                }
            };
            if key.eq_ignore_ascii_case(SIGNATURE_HEADER) {
                if out.signature.is_none() {
                    out.signature = Some(String::from_utf8_lossy(value).into_owned());
                }
            } else if key.eq_ignore_ascii_case(PHONE_NUMBER_ID_HEADER) {
                is_send = true;
                first(&mut send.phone_number_id);
            } else if key.eq_ignore_ascii_case(WABA_ID_HEADER) {
                first(&mut send.waba_id);
            } else if key.eq_ignore_ascii_case(MESSAGE_ID_HEADER) {
                first(&mut send.message_id);
            } else if key.eq_ignore_ascii_case(BUSINESS_ID_HEADER) {
                first(&mut send.business_id);
            } else if key.eq_ignore_ascii_case(TEMPLATE_CATEGORY_HEADER) {
                first(&mut send.template_category);
            } else if key.eq_ignore_ascii_case(TIMESTAMP_HEADER) && stamped.is_none() {
                stamped = text().parse::<i64>().ok().filter(|t| *t > 0);
            }
        }
        if is_send {
            send.timestamp_ms = stamped.or(record_ms.filter(|t| *t > 0)).unwrap_or(0);
            out.send = Some(send);
        }
        out
    }
}

/// Why a raw webhook record is dead-lettered whole (the reason names no
/// text: neither error quotes the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefused {
    /// No signature, a bad one, or one no configured app's secret made.
    #[error("webhook record refused: {0}")]
    Signature(#[from] SignatureError),
    /// Not JSON.
    #[error("webhook record refused: {0}")]
    Body(ParseError),
    /// A send-API record that is not JSON, or has no phone number id.
    #[error("send-API record refused: {0}")]
    Send(SendError),
}

/// How the events topic's records are decoded, built from the config.
#[derive(Debug, Clone, Default)]
pub enum RecordFormat {
    /// `satpam.v1.MessageEvent` protobuf.
    #[default]
    Protobuf,
    /// Raw webhook bodies.
    Webhook(WebhookRecords),
}

impl RecordFormat {
    /// The format `kafka.events_format` names, with the apps of `webhook`.
    pub fn from_config(kafka: &KafkaSection, webhook: &WebhookSection) -> RecordFormat {
        match kafka.events_format {
            EventsFormat::Protobuf => RecordFormat::Protobuf,
            EventsFormat::Webhook => {
                RecordFormat::Webhook(WebhookRecords::new(webhook, &kafka.webhook_unsigned_tenant))
            }
        }
    }
}

/// One app's tenant and secret.
#[derive(Clone)]
struct App {
    tenant_id: String,
    secret: Vec<u8>,
}

/// Verifies and maps raw webhook records.
#[derive(Clone)]
pub struct WebhookRecords {
    apps: Vec<App>,
    /// The tenant of records without a signature header; `None`: refused.
    unsigned_tenant: Option<String>,
    /// Which portfolio owns which WABA, as `account_update`s said; shared
    /// by the partitions' workers (a clone shares it).
    portfolios: Arc<PortfolioTable>,
    /// Which category each WABA's templates are in, as template webhooks
    /// said; shared like `portfolios`.
    templates: Arc<TemplateTable>,
}

impl std::fmt::Debug for WebhookRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of Debug output.
        f.debug_struct("WebhookRecords")
            .field("apps", &self.apps.len())
            .field("unsigned_tenant", &self.unsigned_tenant)
            .finish()
    }
}

impl WebhookRecords {
    /// The apps of `section`; records without a signature go to
    /// `unsigned_tenant`, or are refused when it is empty.
    pub fn new(section: &WebhookSection, unsigned_tenant: &str) -> WebhookRecords {
        WebhookRecords {
            apps: section
                .apps
                .iter()
                .map(|a| App {
                    tenant_id: a.tenant_id.clone(),
                    secret: a.app_secret.as_bytes().to_vec(),
                })
                .collect(),
            unsigned_tenant: Some(unsigned_tenant.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            portfolios: Arc::default(),
            templates: Arc::default(),
        }
    }

    /// The tenant of a record with `signature` (the header's value, if any).
    fn tenant(&self, body: &[u8], signature: Option<&str>) -> Result<&str, RecordRefused> {
        match (signature, &self.unsigned_tenant) {
            (None, Some(t)) => Ok(t),
            _ => find_signer(
                self.apps.iter().map(|a| a.secret.as_slice()),
                body,
                signature,
            )
            .map(|i| self.apps[i].tenant_id.as_str())
            .map_err(RecordRefused::Signature),
        }
    }

    /// The events of one record, counted in the webhook counters like a
    /// request to the receiver; `Err` (the reason, never the text) for a
    /// record to dead-letter: no or a bad signature, or not JSON. JSON that
    /// is not a WhatsApp Business Account webhook has no events (counted
    /// `unknown_shape`), as over HTTP.
    ///
    /// A record whose headers name a phone number id
    /// (`x-satpam-phone-number-id`) is a send-API request body, mapped as
    /// the HTTP tap maps one, with the tap's other headers.
    pub fn decode(
        &self,
        body: &[u8],
        headers: &RecordHeaders,
        telemetry: &Telemetry,
    ) -> Result<Vec<pb::MessageEvent>, RecordRefused> {
        let w = &telemetry.webhook;
        let tenant = self
            .tenant(body, headers.signature.as_deref())
            .inspect_err(|_| w.request(WebhookResult::BadSignature).increment(1))?;
        if let Some(send) = &headers.send {
            return self.decode_send(body, tenant, send, telemetry);
        }
        let parsed = match parse_body(body) {
            Ok(p) => p,
            Err(e @ ParseError::NotJson(_)) => {
                w.request(WebhookResult::Malformed).increment(1);
                telemetry
                    .source(Source::Webhook)
                    .decode_failures
                    .increment(1);
                return Err(RecordRefused::Body(e));
            }
            Err(ParseError::UnknownShape(_)) => {
                w.request(WebhookResult::UnknownShape).increment(1);
                return Ok(Vec::new());
            }
        };
        let mapped = map_body(&parsed, tenant);
        for s in &mapped.statuses {
            w.status(s.status).increment(1);
        }
        w.other_fields.increment(mapped.other_fields.len() as u64);
        w.notices.increment(u64::from(mapped.notices));
        w.learn_portfolios(&self.portfolios, tenant, &mapped.portfolios);
        w.learn_templates(&self.templates, tenant, &mapped.templates, &mapped.statuses);
        w.request(WebhookResult::Ok).increment(1);
        let mut events = mapped.into_events();
        self.portfolios.stamp(&mut events);
        Ok(events)
    }

    /// A send-API record of `tenant`: its one outbound event, or none for a
    /// body that is not a message (a mark-as-read), as over HTTP.
    fn decode_send(
        &self,
        body: &[u8],
        tenant: &str,
        send: &SendHeaders,
        telemetry: &Telemetry,
    ) -> Result<Vec<pb::MessageEvent>, RecordRefused> {
        let w = &telemetry.webhook;
        if send.phone_number_id.is_empty() {
            w.request(WebhookResult::Malformed).increment(1);
            return Err(RecordRefused::Send(SendError::NotAMessage(
                "an empty x-satpam-phone-number-id header",
            )));
        }
        let ctx = SendContext {
            tenant_id: tenant,
            phone_number_id: &send.phone_number_id,
            waba_id: &send.waba_id,
            message_id: &send.message_id,
            timestamp_ms: send.timestamp_ms,
        };
        match map_send_template(body, &ctx) {
            Ok(Sent {
                mut event,
                template,
            }) => {
                // The portfolio: as the BSP names it, else as an account_update did.
                event.business_id = send.business_id.clone();
                self.portfolios.stamp(std::slice::from_mut(&mut event));
                // The template's category likewise.
                if let Some(c) = template_category(&send.template_category) {
                    event.template_category = c as i32;
                }
                self.templates.stamp(&mut event, template.as_ref());
                self.templates.remember(&event, template.as_ref());
                w.request(WebhookResult::Ok).increment(1);
                Ok(vec![event])
            }
            Err(e @ SendError::NotJson(_)) => {
                w.request(WebhookResult::Malformed).increment(1);
                telemetry
                    .source(Source::Webhook)
                    .decode_failures
                    .increment(1);
                Err(RecordRefused::Send(e))
            }
            Err(SendError::NotAMessage(_)) => {
                w.send_refused.increment(1);
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebhookApp;
    use crate::webhook::send::map_send;
    use crate::webhook::signature::sign;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"W1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},"messages":[{"id":"wamid.1","from":"6281234567890","timestamp":"1767225600","type":"text","text":{"body":"hi"}}]}}]}]}"#;

    fn signed(sig: &str) -> RecordHeaders {
        RecordHeaders {
            signature: Some(sig.to_string()),
            send: None,
        }
    }

    fn records(unsigned: &str) -> WebhookRecords {
        let section = WebhookSection {
            apps: vec![
                WebhookApp {
                    tenant_id: "bsp-a".into(),
                    app_secret: "secret-a".into(),
                    ..WebhookApp::default()
                },
                WebhookApp {
                    tenant_id: "bsp-b".into(),
                    app_secret: "secret-b".into(),
                    ..WebhookApp::default()
                },
            ],
            ..WebhookSection::default()
        };
        WebhookRecords::new(&section, unsigned)
    }

    #[test]
    fn the_app_that_signed_a_record_names_its_tenant() {
        let t = Telemetry::new();
        let sig = sign(b"secret-b", BODY);
        let events = records("")
            .decode(BODY, &signed(&sig), &t)
            .expect("verified");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].tenant_id, "bsp-b");
        assert_eq!(events[0].account_id, "P1");
    }

    #[test]
    fn unsigned_records_are_refused_unless_a_tenant_is_configured() {
        let t = Telemetry::new();
        let err = records("")
            .decode(BODY, &RecordHeaders::default(), &t)
            .expect_err("refused");
        assert_eq!(err, RecordRefused::Signature(SignatureError::Missing));
        assert_eq!(
            err.to_string(),
            "webhook record refused: no X-Hub-Signature-256 header"
        );
        let events = records("bsp-u")
            .decode(BODY, &RecordHeaders::default(), &t)
            .expect("taken");
        assert_eq!(events[0].tenant_id, "bsp-u");
        // A signature that is there must verify, unsigned tenant or not.
        let bad = sign(b"another-secret", BODY);
        let err = records("bsp-u")
            .decode(BODY, &signed(&bad), &t)
            .expect_err("refused");
        assert_eq!(err, RecordRefused::Signature(SignatureError::Mismatch));
    }

    #[test]
    fn a_signed_record_that_is_not_json_is_refused_and_unknown_json_has_no_events() {
        let t = Telemetry::new();
        let body = b"{not json";
        let sig = sign(b"secret-a", body);
        let err = records("")
            .decode(body, &signed(&sig), &t)
            .expect_err("refused");
        assert!(
            matches!(err, RecordRefused::Body(ParseError::NotJson(_))),
            "{err}"
        );
        let reason = err.to_string();
        assert!(
            reason.starts_with("webhook record refused: body is not JSON"),
            "{reason}"
        );
        assert!(
            !reason.contains("not json"),
            "the body is not in the reason"
        );
        let other = br#"{"object":"page","entry":[]}"#;
        let sig = sign(b"secret-a", other);
        assert_eq!(
            records("")
                .decode(other, &signed(&sig), &t)
                .map(|e| e.len()),
            Ok(0)
        );
    }

    const SEND: &[u8] = br#"{"messaging_product":"whatsapp","to":"+6281234567890","type":"text","text":{"body":"Pesanan Anda sudah dikirim."}}"#;

    fn send_headers(sig: &str, extra: &[(&'static str, &'static [u8])]) -> RecordHeaders {
        let mut pairs: Vec<(&str, Option<&[u8]>)> = vec![
            ("X-Hub-Signature-256", Some(sig.as_bytes())),
            ("x-satpam-phone-number-id", Some(b"P9".as_slice())),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (*k, Some(*v))));
        RecordHeaders::read(pairs, Some(1_767_225_999_000))
    }

    /// Headers of a send-API record, in any case; a webhook record's are
    /// the signature only.
    #[test]
    fn record_headers_mark_send_api_records_and_carry_the_tap_headers() {
        let h = RecordHeaders::read(
            [
                ("X-Satpam-Waba-Id", Some(b" W9 ".as_slice())),
                ("x-satpam-message-id", Some(b"wamid.9".as_slice())),
                ("X-SATPAM-TIMESTAMP-MS", Some(b"1767225600123".as_slice())),
                ("x-satpam-business-id", Some(b"B9".as_slice())),
                ("x-satpam-phone-number-id", Some(b"P9".as_slice())),
                ("x-satpam-phone-number-id", Some(b"P-second".as_slice())),
                ("x-other", None),
            ],
            Some(5),
        );
        assert_eq!(
            h.send,
            Some(SendHeaders {
                phone_number_id: "P9".into(),
                waba_id: "W9".into(),
                message_id: "wamid.9".into(),
                business_id: "B9".into(),
                template_category: String::new(),
                timestamp_ms: 1_767_225_600_123,
            })
        );
        assert_eq!(h.signature, None);
        let only_sig = RecordHeaders::read(
            [("x-hub-signature-256", Some(b"sha256=ab".as_slice()))],
            Some(5),
        );
        assert_eq!(only_sig, signed("sha256=ab"));
        // No timestamp header: the record's own time.
        let h = RecordHeaders::read(
            [("x-satpam-phone-number-id", Some(b"P9".as_slice()))],
            Some(77),
        );
        assert_eq!(h.send.map(|s| s.timestamp_ms), Some(77));
    }

    /// A signed send-API record maps to the outbound event the HTTP tap
    /// makes of the same body and headers.
    #[test]
    fn a_send_api_record_is_one_outbound_event_of_its_number() {
        let t = Telemetry::new();
        let sig = sign(b"secret-a", SEND);
        let events = records("")
            .decode(
                SEND,
                &send_headers(
                    &sig,
                    &[
                        ("x-satpam-message-id", b"wamid.out"),
                        ("x-satpam-waba-id", b"W9"),
                    ],
                ),
                &t,
            )
            .expect("verified");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        let got = (
            e.tenant_id.as_str(),
            e.account_id.as_str(),
            e.waba_id.as_str(),
            e.event_id.as_str(),
            e.user_id.as_str(),
            e.direction,
            e.timestamp_ms,
            e.text.as_str(),
        );
        assert_eq!(
            got,
            (
                "bsp-a",
                "P9",
                "W9",
                "wamid.out",
                "6281234567890",
                pb::Direction::Outbound as i32,
                1_767_225_999_000,
                "Pesanan Anda sudah dikirim."
            )
        );
        let ctx = SendContext {
            tenant_id: "bsp-a",
            phone_number_id: "P9",
            waba_id: "W9",
            message_id: "wamid.out",
            timestamp_ms: 1_767_225_999_000,
        };
        assert_eq!(
            Ok(e.clone()),
            map_send(SEND, &ctx),
            "as the HTTP tap maps it"
        );
    }

    #[test]
    fn send_api_records_that_are_not_messages_or_not_json_are_told_apart() {
        let t = Telemetry::new();
        let read = br#"{"messaging_product":"whatsapp","status":"read","message_id":"wamid.1"}"#;
        let sig = sign(b"secret-a", read);
        assert_eq!(
            records("")
                .decode(read, &send_headers(&sig, &[]), &t)
                .map(|e| e.len()),
            Ok(0),
            "a mark-as-read: no event, not dead-lettered"
        );
        let bad = b"{not json";
        let sig = sign(b"secret-a", bad);
        let err = records("")
            .decode(bad, &send_headers(&sig, &[]), &t)
            .expect_err("refused");
        assert!(
            matches!(err, RecordRefused::Send(SendError::NotJson(_))),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("send-API record refused"),
            "{err}"
        );
        // A forged send record is refused like a forged webhook.
        let forged = sign(b"another-secret", SEND);
        assert_eq!(
            records("").decode(SEND, &send_headers(&forged, &[]), &t),
            Err(RecordRefused::Signature(SignatureError::Mismatch))
        );
        let empty = RecordHeaders::read(
            [
                (
                    "x-hub-signature-256",
                    Some(sign(b"secret-a", SEND).as_bytes()),
                ),
                ("x-satpam-phone-number-id", Some(b" ".as_slice())),
            ]
            .iter()
            .map(|(k, v)| (*k, v.as_deref())),
            None,
        );
        assert!(matches!(
            records("").decode(SEND, &empty, &t),
            Err(RecordRefused::Send(SendError::NotAMessage(_)))
        ));
    }

    /// A template webhook record teaches the category; a later send-API
    /// record of that WABA's template carries it, unless the BSP named one;
    /// another tenant's records learn nothing from it.
    #[test]
    fn template_webhook_records_name_the_category_of_later_send_records() {
        let t = Telemetry::new();
        let r = records("");
        let update = br#"{"object":"whatsapp_business_account","entry":[{"id":"W9","changes":[{"field":"template_category_update","value":{"message_template_id":1,"message_template_name":"promo_12","message_template_language":"id","new_category":"MARKETING"}}]}]}"#;
        let sig = sign(b"secret-a", update);
        assert_eq!(r.decode(update, &signed(&sig), &t).map(|e| e.len()), Ok(0));
        let body: &[u8] = br#"{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"promo_12","language":{"code":"id"}}}"#;
        let category = |secret: &[u8], extra: &[(&'static str, &'static [u8])]| {
            let mut h = send_headers(&sign(secret, body), extra);
            if let Some(s) = h.send.as_mut() {
                s.waba_id = "W9".into();
            }
            let events = r.decode(body, &h, &t).expect("maps");
            events[0].template_category
        };
        assert_eq!(
            category(b"secret-a", &[]),
            pb::TemplateCategory::Marketing as i32
        );
        assert_eq!(
            category(b"secret-a", &[("x-satpam-template-category", b"utility")]),
            pb::TemplateCategory::Utility as i32,
            "the BSP's own category stands"
        );
        assert_eq!(
            category(b"secret-b", &[]),
            pb::TemplateCategory::Unspecified as i32,
            "another tenant's WABA W9 is another WABA"
        );
    }
}
