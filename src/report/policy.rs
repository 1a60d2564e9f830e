//! The report's policy section: the country policy the account is judged
//! against, its outcome in the account's market and what it means, the
//! terms' dates, and the market's timeline.

use super::blocks::Block;
use super::facts::Facts;
use super::lang::Lang;

fn outcome_meaning(outcome: &str, lang: Lang) -> &'static str {
    match outcome {
        "enforce" => lang.pick(
            "the terms apply: FLAG, THROTTLE and SUSPEND as the ladder decides",
            "ketentuan berlaku: FLAG, THROTTLE, dan SUSPEND sesuai tahapan tindakan",
        ),
        "charge" => lang.pick(
            "Meta charges per AI reply instead of a ban: THROTTLE and SUSPEND become CHARGE",
            "Meta mengenakan biaya per balasan AI sebagai ganti larangan: THROTTLE dan SUSPEND menjadi CHARGE",
        ),
        "allow" => lang.pick(
            "no action is taken in this market; the evidence is still recorded",
            "tidak ada tindakan di pasar ini; buktinya tetap dicatat",
        ),
        "flag_only" => lang.pick(
            "the account may be flagged for review; its traffic is not touched",
            "akun dapat ditandai untuk ditinjau; pengiriman pesannya tidak dibatasi",
        ),
        _ => lang.pick("as the policy file says", "sesuai isi berkas kebijakan"),
    }
}

fn judged(f: &Facts, lang: Lang) -> String {
    let p = &f.policy;
    let day = &f.as_of[..10.min(f.as_of.len())];
    let meaning = outcome_meaning(&p.outcome, lang);
    let mut text = match lang {
        Lang::En => {
            let market = if p.country.is_empty() {
                "an unknown market".to_string()
            } else {
                format!("market {}", p.country)
            };
            format!(
                "Judged against country policy {} for {market} on {day}: outcome {} ({meaning}); entry {} (where: {}).",
                p.version, p.outcome, p.rule, p.scope
            )
        }
        Lang::Id => {
            let market = if p.country.is_empty() {
                "pasar yang tidak diketahui".to_string()
            } else {
                format!("pasar {}", p.country)
            };
            format!(
                "Dinilai berdasarkan kebijakan negara {} untuk {market} pada {}: hasil {} ({meaning}); entri {} (berlaku di: {}).",
                p.version,
                lang.date(day),
                p.outcome,
                p.rule,
                p.scope
            )
        }
    };
    if !p.source.is_empty() {
        text.push_str(&match lang {
            Lang::En => format!(" Source: {}.", p.source),
            Lang::Id => match p.source.strip_suffix(" (uncertain)") {
                Some(s) => format!(" Sumber: {s} (belum pasti)."),
                None => format!(" Sumber: {}.", p.source),
            },
        });
    }
    text
}

/// The policy section's blocks.
pub(super) fn policy(f: &Facts, lang: Lang) -> Vec<Block> {
    let rows = f
        .policy
        .timeline
        .iter()
        .map(|s| {
            let from = match (lang, s.from.as_str()) {
                (Lang::Id, "always") => "selalu".to_string(),
                (_, from) => lang.date(from),
            };
            vec![from, s.outcome.clone(), s.rule.clone()]
        })
        .collect();
    let head = match lang {
        Lang::En => ["From", "Outcome", "Policy entry"],
        Lang::Id => ["Mulai", "Hasil", "Entri kebijakan"],
    };
    vec![
        Block::Para(judged(f, lang)),
        Block::Para(lang.pick(
            "The terms bind new API users from 15 October 2025 and all from 15 January 2026; the market's timeline:",
            "Ketentuan ini mengikat pengguna API baru mulai 15 Oktober 2025 dan semua pengguna mulai 15 Januari 2026; linimasa untuk pasar ini:",
        ).to_string()),
        Block::Table(head.map(String::from).to_vec(), rows),
    ]
}
