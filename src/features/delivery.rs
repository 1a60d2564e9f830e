//! The `account.delivered_*` features: what the Cloud API's delivery
//! reports said of the account's messages over 24 hours. All zero for an
//! account that never got one (most inputs carry no statuses).
//!
//! Why they carry signal: a general-purpose assistant answers users inside
//! the customer service window, so nearly all it delivers is priced
//! `service`; a business bot also sends utility (order, booking) and
//! marketing templates, which are priced apart.

use super::catalog::F;
use super::extract::{ratio, FeatureVector};
use crate::state::delivery::counter;
use crate::state::DeliveryTotals;

/// Fills the `account.delivered_*` features of `v` from the account's
/// delivery totals (`None`: the account has had no report).
pub fn extract_delivery(t: Option<&DeliveryTotals>, v: &mut FeatureVector) {
    let zero = [0; counter::COUNT];
    let t = t.unwrap_or(&zero);
    let delivered = t[counter::DELIVERED];
    v.set(F::AccDelivered24h, delivered as f64);
    v.set(
        F::AccDeliveredServiceShare24h,
        ratio(t[counter::SERVICE], delivered),
    );
    v.set(
        F::AccDeliveredUtilityShare24h,
        ratio(t[counter::UTILITY], delivered),
    );
    v.set(
        F::AccDeliveredMarketingShare24h,
        ratio(t[counter::MARKETING], delivered),
    );
    v.set(
        F::AccDeliveredAuthShare24h,
        ratio(t[counter::AUTHENTICATION], delivered),
    );
    v.set(
        F::AccBillableShare24h,
        ratio(t[counter::BILLABLE], delivered),
    );
    v.set(
        F::AccFailedShare24h,
        ratio(t[counter::FAILED], delivered + t[counter::FAILED]),
    );
    v.set(
        F::AccReadShare24h,
        ratio(t[counter::READ].min(delivered), delivered),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_of_delivered_messages_and_zero_without_reports() {
        let mut v = FeatureVector::default();
        extract_delivery(None, &mut v);
        for f in [
            F::AccDelivered24h,
            F::AccDeliveredServiceShare24h,
            F::AccFailedShare24h,
        ] {
            assert_eq!(v.get(f as u16), 0.0);
        }
        // sent, delivered, read, failed, service, utility, marketing, auth, other, billable
        let t: DeliveryTotals = [0, 8, 10, 2, 6, 1, 1, 0, 0, 4];
        extract_delivery(Some(&t), &mut v);
        let want = [
            (F::AccDelivered24h, 8.0),
            (F::AccDeliveredServiceShare24h, 0.75),
            (F::AccDeliveredUtilityShare24h, 0.125),
            (F::AccDeliveredMarketingShare24h, 0.125),
            (F::AccDeliveredAuthShare24h, 0.0),
            (F::AccBillableShare24h, 0.5),
            (F::AccFailedShare24h, 0.2),
            // More reads than deliveries (a read without its delivered
            // report): capped at every delivered message read.
            (F::AccReadShare24h, 1.0),
        ];
        for (f, x) in want {
            assert_eq!(v.get(f as u16), x, "{f:?}");
        }
    }
}
