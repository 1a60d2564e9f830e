//! Which business portfolio owns a WABA, as the webhooks have said it:
//! an `account_update` whose `waba_info` names the WABA's
//! `owner_business_id` (Meta sends one with `event = PARTNER_ADDED` when a
//! business shares its WABA with the BSP). The receiver learns the pairs
//! and stamps `business_id` on the events of WABAs it knows, so the
//! engine's `portfolio.*` aggregate sees them; events that already carry a
//! `business_id` keep theirs.
//!
//! Per process and bounded: at most [`MAX_PORTFOLIO_WABAS`] WABAs (past it
//! new pairs are refused and counted; known ones still update). In a
//! fleet, each receiver knows the pairs of the webhooks it received: a BSP
//! that knows its customers' portfolios (from onboarding) should set
//! `business_id` on its events itself.

use dashmap::DashMap;

use crate::pb::v1 as pb;
use crate::webhook::tenant_key;

/// WABAs one table holds at most.
pub const MAX_PORTFOLIO_WABAS: usize = 1_000_000;

/// What [`PortfolioTable::learn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A WABA new to the table, or a new owner for a known one.
    New,
    /// The pair was known.
    Known,
    /// The table is full: not kept.
    Full,
}

/// (tenant, WABA) -> business portfolio id, shared by the receiver's
/// requests.
pub struct PortfolioTable {
    owners: DashMap<u128, Box<str>>,
    cap: usize,
}

impl Default for PortfolioTable {
    fn default() -> Self {
        PortfolioTable::with_capacity(MAX_PORTFOLIO_WABAS)
    }
}

impl PortfolioTable {
    /// An empty table of at most `cap` WABAs.
    pub fn with_capacity(cap: usize) -> Self {
        PortfolioTable {
            owners: DashMap::new(),
            cap,
        }
    }

    /// Records that `business_id` owns `waba_id` of `tenant_id`.
    pub fn learn(&self, tenant_id: &str, waba_id: &str, business_id: &str) -> Learned {
        let key = tenant_key(tenant_id, waba_id);
        if let Some(mut owner) = self.owners.get_mut(&key) {
            if &**owner == business_id {
                return Learned::Known;
            }
            *owner = business_id.into();
            return Learned::New;
        }
        if self.owners.len() >= self.cap {
            return Learned::Full;
        }
        self.owners.insert(key, business_id.into());
        Learned::New
    }

    /// Sets `business_id` on each event of a known WABA that has none.
    pub fn stamp(&self, events: &mut [pb::MessageEvent]) {
        if self.owners.is_empty() {
            return;
        }
        for e in events {
            if !e.business_id.is_empty() || e.waba_id.is_empty() {
                continue;
            }
            if let Some(owner) = self.owners.get(&tenant_key(&e.tenant_id, &e.waba_id)) {
                e.business_id = owner.to_string();
            }
        }
    }

    /// WABAs known.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no WABA is known.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(tenant: &str, waba: &str, business: &str) -> pb::MessageEvent {
        pb::MessageEvent {
            tenant_id: tenant.into(),
            waba_id: waba.into(),
            business_id: business.into(),
            ..pb::MessageEvent::default()
        }
    }

    #[test]
    fn known_wabas_of_the_tenant_get_their_owner_and_nothing_else_changes() {
        let t = PortfolioTable::with_capacity(2);
        assert_eq!(t.learn("t1", "w1", "biz-1"), Learned::New);
        assert_eq!(t.learn("t1", "w1", "biz-1"), Learned::Known);
        assert_eq!(t.learn("t1", "w2", "biz-1"), Learned::New);
        assert_eq!(t.learn("t1", "w3", "biz-1"), Learned::Full, "cap of 2");
        assert_eq!(t.learn("t1", "w2", "biz-2"), Learned::New, "a new owner");
        let mut events = vec![
            event("t1", "w1", ""),
            event("t1", "w2", ""),
            event("t1", "w3", ""),
            event("t2", "w1", ""),
            event("t1", "w1", "own"),
            event("t1", "", ""),
        ];
        t.stamp(&mut events);
        let got: Vec<&str> = events.iter().map(|e| e.business_id.as_str()).collect();
        assert_eq!(got, ["biz-1", "biz-2", "", "", "own", ""]);
    }
}
