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
//! Per process and bounded: at most [`MAX_TEMPLATES`] templates (past it new
//! ones are refused and counted; known ones still update). Languages are
//! compared as Meta writes them either way (`en-US` in webhooks, `en_US` in
//! the send API): case and `-`/`_` do not matter.

use dashmap::DashMap;
use xxhash_rust::xxh3::Xxh3;

use crate::pb::v1 as pb;
use crate::webhook::map::TemplateNote;
use crate::webhook::portfolio::Learned;

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

/// (tenant, WABA, template name, language) -> category, shared by the
/// receiver's requests.
pub struct TemplateTable {
    categories: DashMap<u128, i32>,
    cap: usize,
}

impl Default for TemplateTable {
    fn default() -> Self {
        TemplateTable::with_capacity(MAX_TEMPLATES)
    }
}

impl TemplateTable {
    /// An empty table of at most `cap` templates.
    pub fn with_capacity(cap: usize) -> Self {
        TemplateTable {
            categories: DashMap::new(),
            cap,
        }
    }

    /// Records what `note`, a webhook of `tenant_id`, says.
    pub fn learn(&self, tenant_id: &str, note: &TemplateNote) -> Learned {
        let k = key(tenant_id, &note.waba_id, &note.name, &note.language);
        let category = note.category as i32;
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
}
