//! The report as a document (headings, paragraphs, lists, tables of plain
//! text) built from [`Facts`] in one [`Lang`]; `render` writes it as
//! Markdown or HTML. The sections' content is in [`super::ladder`],
//! [`super::fired`] and [`super::policy`].

pub use super::blocks::{Block, Document, Section};
use super::facts::Facts;
use super::fired::rules_table;
use super::ladder::{action_gloss_id, ladder, severity, step_down};
use super::lang::Lang;
use super::policy::policy;
use super::remedies::remedies;
use super::words::behaviours;

fn risk(f: &Facts, lang: Lang) -> &'static str {
    match severity(f.action) {
        3 => lang.pick("severe", "sangat tinggi"),
        2 => lang.pick("high", "tinggi"),
        1 => lang.pick("elevated", "meningkat"),
        _ if f.ladder.first().is_some_and(|r| f.score >= r.score) => {
            lang.pick("elevated", "meningkat")
        }
        _ if f.score > 0.0 => lang.pick(
            "low (some behaviour is watched)",
            "rendah (beberapa perilaku sedang dipantau)",
        ),
        _ => lang.pick("low", "rendah"),
    }
}

fn risk_text(f: &Facts, lang: Lang) -> String {
    let mut s = match lang {
        Lang::En => format!(
            "Risk level: {}. Action in force: {}.",
            risk(f, lang),
            f.action
        ),
        Lang::Id => format!(
            "Tingkat risiko: {}. Tindakan yang berlaku: {} ({}).",
            risk(f, lang),
            f.action,
            action_gloss_id(f.action)
        ),
    };
    if let Some(m) = f.override_mode {
        s.push_str(&match lang {
            Lang::En => format!(" An analyst's override is in force ({m})."),
            Lang::Id => format!(
                " Keputusan manual dari analis sedang berlaku ({}).",
                if m == "deny" { "ditolak" } else { "diizinkan" }
            ),
        });
    }
    s
}

fn about(f: &Facts, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "As of the account's last event, {}, under rules {}. It is built from the account's counters and features only and contains no message text.",
            f.as_of, f.rule_set_version
        ),
        Lang::Id => format!(
            "Per aktivitas terakhir akun, {}, dengan aturan {}. Laporan ini disusun hanya dari penghitung dan fitur akun, dan tidak memuat isi pesan apa pun.",
            lang.minute(&f.as_of),
            f.rule_set_version
        ),
    }
}

fn section(lang: Lang, en: &'static str, id: &'static str, blocks: Vec<Block>) -> Section {
    Section {
        heading: lang.pick(en, id).to_string(),
        blocks,
    }
}

/// The report of `f`, written in `lang`.
pub fn document(f: &Facts, lang: Lang) -> Document {
    let mut action = vec![Block::Para(risk_text(f, lang))];
    action.extend(ladder(f, lang));
    let seen = behaviours(f, lang);
    let mut change = vec![Block::List(remedies(f, lang))];
    change.extend(step_down(f, lang).map(Block::Para));
    let seen = if seen.is_empty() {
        Block::Para(
            lang.pick(
                "No behaviour of concern is active.",
                "Tidak ada perilaku yang perlu dikhawatirkan saat ini.",
            )
            .to_string(),
        )
    } else {
        Block::List(seen)
    };
    let title = lang.pick("Compliance report", "Laporan kepatuhan");
    Document {
        lang,
        title: format!("{title}: {} / {}", f.tenant_id, f.account_id),
        sections: vec![
            section(
                lang,
                "About this report",
                "Tentang laporan ini",
                vec![Block::Para(about(f, lang))],
            ),
            section(lang, "Risk and action", "Risiko dan tindakan", action),
            section(lang, "What we see", "Yang kami lihat", vec![seen]),
            section(
                lang,
                "Rules that fired",
                "Aturan yang terpicu",
                rules_table(f, lang),
            ),
            section(lang, "What to change", "Yang perlu Anda ubah", change),
            section(lang, "Policy", "Kebijakan", policy(f, lang)),
        ],
    }
}
