//! The report's rules that fired: each active rule's score, when it last
//! fired, and the comparisons of its condition against their thresholds,
//! with the rule's description from the rules file.

use super::blocks::Block;
use super::facts::{Facts, FiredRule};
use super::lang::Lang;

fn op_words(op: &str, lang: Lang) -> &'static str {
    match op {
        "<" => lang.pick("under", "di bawah"),
        "<=" => lang.pick("at most", "paling tinggi"),
        ">" => lang.pick("over", "di atas"),
        ">=" => lang.pick("at least", "minimal"),
        "==" => lang.pick("exactly", "tepat"),
        _ => lang.pick("other than", "selain"),
    }
}

/// What `r` saw: the comparisons that held (an `||` has alternatives: the
/// ones that held are what fired it), else all, else its feature values.
fn saw(r: &FiredRule, lang: Lang) -> String {
    let held: Vec<_> = r.checks.iter().filter(|c| c.holds).collect();
    let shown = if held.is_empty() {
        r.checks.iter().collect()
    } else {
        held
    };
    let was = lang.pick("was", "bernilai");
    let parts: Vec<String> = if shown.is_empty() {
        r.features
            .iter()
            .map(|(k, v)| format!("{k} {was} {}", lang.num(*v)))
            .collect()
    } else {
        let needs = lang.pick("needs", "syarat:");
        shown
            .iter()
            .map(|c| {
                format!(
                    "{} {was} {} ({needs} {} {})",
                    c.feature,
                    lang.num(c.seen),
                    op_words(c.op, lang),
                    lang.num(c.threshold)
                )
            })
            .collect()
    };
    parts.join("; ")
}

/// The rules table and the rules' descriptions, or a line saying none is active.
pub(super) fn rules_table(f: &Facts, lang: Lang) -> Vec<Block> {
    if f.rules.is_empty() {
        return vec![Block::Para(
            lang.pick(
                "No rule is active for this account.",
                "Tidak ada aturan yang aktif untuk akun ini.",
            )
            .to_string(),
        )];
    }
    let rows = f
        .rules
        .iter()
        .map(|r| {
            vec![
                format!("{} v{}", r.id, r.version),
                lang.num(r.score),
                lang.minute(&r.last_fired),
                saw(r, lang),
            ]
        })
        .collect();
    let described: Vec<String> = f
        .rules
        .iter()
        .filter(|r| !r.description.is_empty())
        .map(|r| format!("{} v{}: {}", r.id, r.version, r.description))
        .collect();
    let head = match lang {
        Lang::En => [
            "Rule",
            "Adds to score",
            "Last fired",
            "What it saw against its thresholds",
        ],
        Lang::Id => [
            "Aturan",
            "Tambahan skor",
            "Terakhir terpicu",
            "Yang terlihat dibandingkan ambang batasnya",
        ],
    };
    let mut out = vec![Block::Table(head.map(String::from).to_vec(), rows)];
    if lang == Lang::Id && !described.is_empty() {
        out.push(Block::Para(
            "Keterangan setiap aturan, sebagaimana tertulis di berkas aturan (dalam bahasa Inggris):"
                .to_string(),
        ));
    }
    out.push(Block::List(described));
    out
}
