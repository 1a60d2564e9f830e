//! A webhook status ([`StatusRecord`]) as a `satpam.v1.MessageEvent` that
//! carries a `DeliveryReport`: outbound, no text, keyed by the business
//! phone number, its `event_id` the wamid and the state (so a retried
//! webhook is the same report, and each state of one message a report of
//! its own).

use crate::pb::v1 as pb;
use crate::webhook::map::StatusRecord;
use crate::webhook::parse::StatusKind;

/// The user id of a report whose status named no recipient (validation
/// needs one; no feature reads the user of a report).
pub const UNKNOWN_RECIPIENT: &str = "unknown-recipient";

/// `pricing.category` as sent, to the wire enum: the four Meta documents
/// by name (`authentication_international` is authentication), any other
/// name `OTHER`, none `UNSPECIFIED`.
pub fn pricing_category(category: &str) -> pb::PricingCategory {
    match category {
        "" => pb::PricingCategory::Unspecified,
        "service" => pb::PricingCategory::Service,
        "utility" => pb::PricingCategory::Utility,
        "marketing" => pb::PricingCategory::Marketing,
        "authentication" | "authentication_international" => pb::PricingCategory::Authentication,
        _ => pb::PricingCategory::Other,
    }
}

fn state(s: StatusKind) -> Option<pb::DeliveryState> {
    match s {
        StatusKind::Sent => Some(pb::DeliveryState::Sent),
        StatusKind::Delivered => Some(pb::DeliveryState::Delivered),
        StatusKind::Read | StatusKind::Played => Some(pb::DeliveryState::Read),
        StatusKind::Failed => Some(pb::DeliveryState::Failed),
        StatusKind::Other => None,
    }
}

impl StatusRecord {
    /// The report as an event; `None` for a status value satpam does not
    /// know (counted as `other`, not fed).
    pub fn to_event(&self) -> Option<pb::MessageEvent> {
        let state = state(self.status)?;
        Some(pb::MessageEvent {
            event_id: format!("{}/{}", self.message_id, self.status.label()),
            tenant_id: self.tenant_id.clone(),
            account_id: self.account_id.clone(),
            waba_id: self.waba_id.clone(),
            user_id: if self.user_id.is_empty() {
                UNKNOWN_RECIPIENT.to_string()
            } else {
                self.user_id.clone()
            },
            direction: pb::Direction::Outbound as i32,
            kind: pb::MessageKind::Other as i32,
            timestamp_ms: self.timestamp_ms,
            delivery: Some(pb::DeliveryReport {
                state: state as i32,
                message_id: self.message_id.clone(),
                pricing_category: pricing_category(&self.category) as i32,
                billable: self.billable.unwrap_or(false),
            }),
            ..pb::MessageEvent::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DeliveryState, PricingCategory};
    use crate::webhook::{map_body, parse_body};

    #[test]
    fn pricing_categories_as_meta_names_them() {
        let cases = [
            ("", pb::PricingCategory::Unspecified),
            ("service", pb::PricingCategory::Service),
            ("utility", pb::PricingCategory::Utility),
            ("marketing", pb::PricingCategory::Marketing),
            ("authentication", pb::PricingCategory::Authentication),
            (
                "authentication_international",
                pb::PricingCategory::Authentication,
            ),
            ("marketing_lite", pb::PricingCategory::Other),
            ("business_initiated", pb::PricingCategory::Other),
        ];
        for (name, want) in cases {
            assert_eq!(pricing_category(name), want, "{name}");
        }
    }

    #[test]
    fn each_status_is_a_report_of_its_own_and_unknown_ones_are_not_fed() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
            "metadata":{"phone_number_id":"P"},
            "statuses":[
              {"id":"wamid.A","status":"delivered","timestamp":"1769000000","recipient_id":"6281234567890",
               "pricing":{"billable":true,"pricing_model":"PMP","category":"service"}},
              {"id":"wamid.A","status":"read","timestamp":"1769000005","recipient_id":"6281234567890"},
              {"id":"wamid.B","status":"failed","timestamp":"1769000001","recipient_user_id":"ID.5",
               "errors":[{"code":131047,"title":"Re-engagement message"}]},
              {"id":"wamid.C","status":"deleted","timestamp":"1769000002"},
              {"id":"wamid.D","status":"played","timestamp":"1769000003"}
            ]}}]}]}"#;
        let mapped = map_body(&parse_body(body.as_bytes()).expect("body"), "t");
        let events: Vec<_> = mapped
            .statuses
            .iter()
            .filter_map(StatusRecord::to_event)
            .map(|m| crate::event::Event::try_from(m).expect("valid"))
            .collect();
        let got: Vec<_> = events
            .iter()
            .map(|e| {
                let d = e.delivery.expect("a report");
                (
                    e.event_id.as_str(),
                    e.user_id.as_str(),
                    e.reply_to.as_deref().unwrap_or(""),
                    d.state,
                    d.category,
                    d.billable,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "wamid.A/delivered",
                    "6281234567890",
                    "wamid.A",
                    DeliveryState::Delivered,
                    PricingCategory::Service,
                    true
                ),
                (
                    "wamid.A/read",
                    "6281234567890",
                    "wamid.A",
                    DeliveryState::Read,
                    PricingCategory::Unknown,
                    false
                ),
                (
                    "wamid.B/failed",
                    "ID.5",
                    "wamid.B",
                    DeliveryState::Failed,
                    PricingCategory::Unknown,
                    false
                ),
                (
                    "wamid.D/played",
                    UNKNOWN_RECIPIENT,
                    "wamid.D",
                    DeliveryState::Read,
                    PricingCategory::Unknown,
                    false
                ),
            ]
        );
        assert!(events
            .iter()
            .all(|e| e.account_id == "P" && e.waba_id == "W"));
    }
}
