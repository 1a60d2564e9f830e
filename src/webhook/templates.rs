//! Which category a WABA's message template is in, as the template webhooks
//! have said it: `message_template_status_update` names it
//! (`message_template_category`) when a template is approved, rejected or
//! paused, and `template_category_update` (`new_category`) when Meta
//! re-categorises one. The receiver learns them, and the send-API tap stamps
//! `template_category` on a template message of a known (WABA, name,
//! language), so the engine's `account.marketing_share`, utility and
//! authentication counts see what a webhook-fed BSP sends. A category the
//! BSP names itself (`X-Satpam-Template-Category`) is kept.
//!
//! The statuses of a send tie back to it too: a template send the tap could
//! not categorise is remembered by its wamid (`X-Satpam-Message-Id`), and
//! the first status that prices it (`pricing.category` `marketing`,
//! `utility` or `authentication`: Meta prices a template message in its
//! template's category) teaches the template's category for the sends after.
//!
//! Per process and bounded: at most [`MAX_TEMPLATES`] templates (past it new
//! ones are refused and counted; known ones still update). Languages are
//! compared as Meta writes them either way (`en-US` in webhooks, `en_US` in
//! the send API): case and `-`/`_` do not matter.

use dashmap::DashMap;
use xxhash_rust::xxh3::Xxh3;

use crate::pb::v1 as pb;
use crate::webhook::map::TemplateNote;
use crate::webhook::portfolio::Learned;
use crate::webhook::{status, tenant_key};

/// Templates one table holds at most.
pub const MAX_TEMPLATES: usize = 1_000_000;

/// The table's key of (tenant, WABA, name, language). Tenant, WABA and
/// template names hold no NUL, so the separators keep them apart.
fn key(tenant_id: &str, waba_id: &str, name: &str, language: &str) -> u128 {
    let mut h = Xxh3::new();
    h.update(tenant_id.as_bytes());
    h.update(&[0]);
    h.update(waba_id.as_bytes());
    h.update(&[0]);
    h.update(name.as_bytes());
    h.update(&[0]);
    for b in language.trim().bytes() {
        let b = if b == b'-' { b'_' } else { b };
        h.update(&[b.to_ascii_lowercase()]);
    }
    h.digest128()
}

/// A template message the send-API tap saw: its name and language code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRef {
    /// `template.name`.
    pub name: String,
    /// `template.language.code`.
    pub language: String,
}

/// The template category a status's `pricing.category` names: Meta prices a
/// template message in its template's category (`marketing_lite` is
/// marketing, `authentication_international` authentication); `None` for
/// `service` and anything else.
pub fn priced_category(pricing_category: &str) -> Option<pb::TemplateCategory> {
    // `marketing_lite` is `OTHER` to the delivery windows, but priced as a
    // marketing template all the same.
    if pricing_category == "marketing_lite" {
        return Some(pb::TemplateCategory::Marketing);
    }
    match status::pricing_category(pricing_category) {
        pb::PricingCategory::Marketing => Some(pb::TemplateCategory::Marketing),
        pb::PricingCategory::Utility => Some(pb::TemplateCategory::Utility),
        pb::PricingCategory::Authentication => Some(pb::TemplateCategory::Authentication),
        _ => None,
    }
}

/// (tenant, WABA, template name, language) -> category, shared by the
/// receiver's requests; and the templates of recent sends whose category was
/// unknown, by wamid, until a status prices one.
pub struct TemplateTable {
    categories: DashMap<u128, i32>,
    /// (tenant, wamid) ([`tenant_key`]) -> the template key of a send the tap could not
    /// categorise; at most `cap` (then emptied: a status comes within
    /// minutes of its send, or never).
    pending: DashMap<u128, u128>,
    cap: usize,
}

impl Default for TemplateTable {
    fn default() -> Self {
        TemplateTable::with_capacity(MAX_TEMPLATES)
    }
}

impl TemplateTable {
    /// An empty table of at most `cap` templates (and `cap` pending sends).
    pub fn with_capacity(cap: usize) -> Self {
        TemplateTable {
            categories: DashMap::new(),
            pending: DashMap::new(),
            cap,
        }
    }

    /// Records what `note`, a webhook of `tenant_id`, says.
    pub fn learn(&self, tenant_id: &str, note: &TemplateNote) -> Learned {
        let k = key(tenant_id, &note.waba_id, &note.name, &note.language);
        self.learn_key(k, note.category)
    }

    /// Remembers `event`, a send of `template` the tap could not
    /// categorise, so that a status pricing its wamid can
    /// ([`TemplateTable::learn_from_status`]). Sends with a category, no
    /// WABA or no wamid from the BSP are not remembered.
    pub fn remember(&self, event: &pb::MessageEvent, template: Option<&TemplateRef>) {
        let Some(t) = template else { return };
        if event.template_category != pb::TemplateCategory::Unspecified as i32
            || event.waba_id.is_empty()
            || event.event_id.is_empty()
            || event.event_id.starts_with("send:")
            || t.name.is_empty()
        {
            return;
        }
        if self.pending.len() >= self.cap {
            self.pending.clear();
        }
        self.pending.insert(
            tenant_key(&event.tenant_id, &event.event_id),
            key(&event.tenant_id, &event.waba_id, &t.name, &t.language),
        );
    }

    /// Learns the category of the template sent as `message_id` from a
    /// status of it priced `pricing_category`; `None` when the message is
    /// not a remembered send or the price names no template category.
    pub fn learn_from_status(
        &self,
        tenant_id: &str,
        message_id: &str,
        pricing_category: &str,
    ) -> Option<Learned> {
        let category = priced_category(pricing_category)?;
        if self.pending.is_empty() {
            return None;
        }
        let (_, k) = self.pending.remove(&tenant_key(tenant_id, message_id))?;
        Some(self.learn_key(k, category))
    }

    fn learn_key(&self, k: u128, category: pb::TemplateCategory) -> Learned {
        let category = category as i32;
        if let Some(mut known) = self.categories.get_mut(&k) {
            if *known == category {
                return Learned::Known;
            }
            *known = category;
            return Learned::New;
        }
        if self.categories.len() >= self.cap {
            return Learned::Full;
        }
        self.categories.insert(k, category);
        Learned::New
    }

    /// Sets the category of `event`, a template message of `template`, when
    /// it has none and its WABA's template is known.
    pub fn stamp(&self, event: &mut pb::MessageEvent, template: Option<&TemplateRef>) {
        let Some(t) = template else { return };
        if event.template_category != pb::TemplateCategory::Unspecified as i32
            || event.waba_id.is_empty()
            || t.name.is_empty()
            || self.categories.is_empty()
        {
            return;
        }
        let k = key(&event.tenant_id, &event.waba_id, &t.name, &t.language);
        if let Some(c) = self.categories.get(&k) {
            event.template_category = *c;
        }
    }

    /// Sends waiting for a status that prices them.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Templates known.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether no template is known.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(waba: &str, name: &str, language: &str, c: pb::TemplateCategory) -> TemplateNote {
        TemplateNote {
            waba_id: waba.into(),
            name: name.into(),
            language: language.into(),
            category: c,
        }
    }

    fn sent(tenant: &str, waba: &str, category: pb::TemplateCategory) -> pb::MessageEvent {
        pb::MessageEvent {
            tenant_id: tenant.into(),
            waba_id: waba.into(),
            kind: pb::MessageKind::Template as i32,
            template_category: category as i32,
            ..pb::MessageEvent::default()
        }
    }

    fn tref(name: &str, language: &str) -> TemplateRef {
        TemplateRef {
            name: name.into(),
            language: language.into(),
        }
    }

    #[test]
    fn known_templates_of_the_waba_get_their_category_and_nothing_else_changes() {
        use pb::TemplateCategory::{Marketing, Unspecified, Utility};
        let t = TemplateTable::with_capacity(2);
        assert_eq!(
            t.learn("t1", &note("w1", "order_update", "en-US", Utility)),
            Learned::New
        );
        assert_eq!(
            t.learn("t1", &note("w1", "order_update", "en_us", Utility)),
            Learned::Known
        );
        assert_eq!(
            t.learn("t1", &note("w1", "promo", "id", Marketing)),
            Learned::New
        );
        assert_eq!(
            t.learn("t1", &note("w1", "third", "id", Marketing)),
            Learned::Full
        );
        // Meta re-categorises one: the new category stands.
        assert_eq!(
            t.learn("t1", &note("w1", "order_update", "en_US", Marketing)),
            Learned::New
        );
        let cases = [
            ("t1", "w1", "order_update", "en_US", Unspecified, Marketing),
            ("t1", "w1", "promo", "ID", Unspecified, Marketing),
            ("t1", "w1", "promo", "pt_BR", Unspecified, Unspecified),
            ("t1", "w2", "promo", "id", Unspecified, Unspecified),
            ("t2", "w1", "promo", "id", Unspecified, Unspecified),
            ("t1", "", "promo", "id", Unspecified, Unspecified),
            ("t1", "w1", "third", "id", Unspecified, Unspecified),
            ("t1", "w1", "promo", "id", Utility, Utility),
        ];
        for (tenant, waba, name, lang, had, want) in cases {
            let mut e = sent(tenant, waba, had);
            t.stamp(&mut e, Some(&tref(name, lang)));
            assert_eq!(
                e.template_category, want as i32,
                "{tenant} {waba} {name} {lang}"
            );
        }
        let mut e = sent("t1", "w1", Unspecified);
        t.stamp(&mut e, None);
        assert_eq!(e.template_category, Unspecified as i32, "not a template");
    }

    #[test]
    fn a_status_that_prices_a_remembered_send_teaches_its_template() {
        use pb::TemplateCategory::{Marketing, Unspecified, Utility};
        let t = TemplateTable::with_capacity(3);
        let send = |id: &str, category: pb::TemplateCategory| pb::MessageEvent {
            event_id: id.into(),
            ..sent("t1", "w1", category)
        };
        t.remember(&send("wamid.1", Unspecified), Some(&tref("promo", "id")));
        t.remember(&send("wamid.2", Utility), Some(&tref("known", "id")));
        t.remember(&send("send:abc", Unspecified), Some(&tref("derived", "id")));
        t.remember(&send("wamid.3", Unspecified), None);
        assert_eq!(
            t.pending(),
            1,
            "only an uncategorised template with a wamid"
        );
        assert_eq!(
            t.learn_from_status("t1", "wamid.1", "service"),
            None,
            "not a template price"
        );
        assert_eq!(
            t.learn_from_status("t2", "wamid.1", "marketing"),
            None,
            "another tenant"
        );
        assert_eq!(
            t.learn_from_status("t1", "wamid.1", "marketing"),
            Some(Learned::New)
        );
        assert_eq!(
            t.learn_from_status("t1", "wamid.1", "marketing"),
            None,
            "once"
        );
        let mut e = sent("t1", "w1", Unspecified);
        t.stamp(&mut e, Some(&tref("promo", "ID")));
        assert_eq!(e.template_category, Marketing as i32);
        // Bounded: past the cap the pending sends start over.
        for i in 0..5 {
            t.remember(
                &send(&format!("wamid.x{i}"), Unspecified),
                Some(&tref("p", "id")),
            );
        }
        assert!(t.pending() <= 3);
        assert_eq!(
            priced_category("authentication_international"),
            Some(pb::TemplateCategory::Authentication)
        );
        assert_eq!(priced_category("marketing_lite"), Some(Marketing));
        assert_eq!(priced_category("referral_conversion"), None);
    }
}
