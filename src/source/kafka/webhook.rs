//! Records of raw webhook bodies (`kafka.events_format = "webhook"`): the
//! body as Meta POSTed it, the signature in an `x-hub-signature-256` header.
//! A record is verified with the `[[webhook.apps]]` secrets (the app that
//! signed it names the tenant, as over HTTP), parsed and mapped by
//! [`crate::webhook`], and its events are processed by the partition's
//! worker like protobuf events. A record that cannot be read is handed back
//! with the reason, for the dead-letter topic; the consumer goes on.

use std::sync::Arc;

use crate::config::{EventsFormat, KafkaSection, WebhookSection};
use crate::pb::v1 as pb;
use crate::telemetry::{Source, Telemetry, WebhookResult};
use crate::webhook::parse::ParseError;
use crate::webhook::portfolio::PortfolioTable;
use crate::webhook::signature::{find_signer, SignatureError};
use crate::webhook::{map_body, parse_body};

/// The header a record's signature is read from (Meta's HTTP header, lower case).
pub const SIGNATURE_HEADER: &str = crate::webhook::signature::HEADER;

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
    pub fn decode(
        &self,
        body: &[u8],
        signature: Option<&str>,
        telemetry: &Telemetry,
    ) -> Result<Vec<pb::MessageEvent>, RecordRefused> {
        let w = &telemetry.webhook;
        let tenant = self
            .tenant(body, signature)
            .inspect_err(|_| w.request(WebhookResult::BadSignature).increment(1))?;
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
        w.request(WebhookResult::Ok).increment(1);
        let mut events = mapped.into_events();
        self.portfolios.stamp(&mut events);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebhookApp;
    use crate::webhook::signature::sign;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"W1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},"messages":[{"id":"wamid.1","from":"6281234567890","timestamp":"1767225600","type":"text","text":{"body":"hi"}}]}}]}]}"#;

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
        let events = records("").decode(BODY, Some(&sig), &t).expect("verified");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].tenant_id, "bsp-b");
        assert_eq!(events[0].account_id, "P1");
    }

    #[test]
    fn unsigned_records_are_refused_unless_a_tenant_is_configured() {
        let t = Telemetry::new();
        let err = records("").decode(BODY, None, &t).expect_err("refused");
        assert_eq!(err, RecordRefused::Signature(SignatureError::Missing));
        assert_eq!(
            err.to_string(),
            "webhook record refused: no X-Hub-Signature-256 header"
        );
        let events = records("bsp-u").decode(BODY, None, &t).expect("taken");
        assert_eq!(events[0].tenant_id, "bsp-u");
        // A signature that is there must verify, unsigned tenant or not.
        let bad = sign(b"another-secret", BODY);
        let err = records("bsp-u")
            .decode(BODY, Some(&bad), &t)
            .expect_err("refused");
        assert_eq!(err, RecordRefused::Signature(SignatureError::Mismatch));
    }

    #[test]
    fn a_signed_record_that_is_not_json_is_refused_and_unknown_json_has_no_events() {
        let t = Telemetry::new();
        let body = b"{not json";
        let sig = sign(b"secret-a", body);
        let err = records("")
            .decode(body, Some(&sig), &t)
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
            records("").decode(other, Some(&sig), &t).map(|e| e.len()),
            Ok(0)
        );
    }
}
