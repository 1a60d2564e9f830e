//! The report's ladder: where the account's score and counts stand against
//! the FLAG, THROTTLE and SUSPEND rungs, the next rung, and what would
//! bring the score back under the first one.

use super::blocks::Block;
use super::facts::{Facts, Rung};
use super::lang::Lang;

/// 0 for no action, 1 FLAG, 2 THROTTLE or CHARGE, 3 SUSPEND.
pub(super) fn severity(action: &str) -> usize {
    match action {
        "FLAG" => 1,
        "THROTTLE" | "CHARGE" => 2,
        "SUSPEND" => 3,
        _ => 0,
    }
}

fn rung_words(r: &Rung, lang: Lang) -> String {
    let (score, sessions, users) = (
        lang.num(r.score),
        lang.count(r.sessions as f64),
        lang.count(r.users as f64),
    );
    match lang {
        Lang::En => format!(
            "{} at a score of {score} with at least {sessions} sessions and {users} users in 24 hours",
            r.action
        ),
        Lang::Id => format!(
            "{} ({}) pada skor {score} dengan sedikitnya {sessions} sesi dan {users} pengguna dalam 24 jam",
            r.action,
            action_gloss_id(r.action)
        ),
    }
}

fn now(f: &Facts, lang: Lang) -> String {
    let (score, sessions, users, events) = (
        lang.num(f.score),
        lang.count(f.sessions_24h as f64),
        lang.count(f.users_24h as f64),
        lang.count(f.events_1h as f64),
    );
    match lang {
        Lang::En => format!(
            "The score is {score} with {sessions} sessions and {users} users in the last 24 hours ({events} events in the last hour)."
        ),
        Lang::Id => format!(
            "Skor akun Anda {score}, dengan {sessions} sesi dan {users} pengguna dalam 24 jam terakhir ({events} kejadian dalam satu jam terakhir)."
        ),
    }
}

fn next(f: &Facts, lang: Lang) -> String {
    f.ladder
        .iter()
        .enumerate()
        .find(|(i, _)| i + 1 > severity(f.action))
        .map(|(_, r)| {
            let mut s = match lang {
                Lang::En => format!("Next on the ladder: {}.", rung_words(r, lang)),
                Lang::Id => format!("Tahap berikutnya: {}.", rung_words(r, lang)),
            };
            if f.policy.outcome == "charge" && r.action != "FLAG" {
                s.push_str(lang.pick(
                    " In this market it would be CHARGE instead.",
                    " Di pasar ini, tindakan itu diganti CHARGE (biaya per balasan AI).",
                ));
            } else if f.policy.outcome == "allow"
                || (f.policy.outcome == "flag_only" && r.action != "FLAG")
            {
                s.push_str(lang.pick(
                    " In this market the policy takes no such action.",
                    " Di pasar ini, kebijakan tidak mengambil tindakan tersebut.",
                ));
            }
            s
        })
        .unwrap_or_else(|| {
            lang.pick(
                "The account is on the last rung of the ladder.",
                "Akun ini sudah berada di tahap tindakan terakhir.",
            )
            .to_string()
        })
}

/// The ladder's blocks: where the account stands, the next rung, the rungs.
pub(super) fn ladder(f: &Facts, lang: Lang) -> Vec<Block> {
    let rows = f
        .ladder
        .iter()
        .map(|r| {
            let reached =
                f.score >= r.score && f.sessions_24h >= r.sessions && f.users_24h >= r.users;
            vec![
                r.action.to_string(),
                lang.num(r.score),
                lang.count(r.sessions as f64),
                lang.count(r.users as f64),
                if reached {
                    lang.pick("yes", "ya")
                } else {
                    lang.pick("no", "tidak")
                }
                .to_string(),
            ]
        })
        .collect();
    let head = match lang {
        Lang::En => [
            "Action",
            "Score at least",
            "Sessions (24 h)",
            "Users (24 h)",
            "Reached now",
        ],
        Lang::Id => [
            "Tindakan",
            "Skor minimal",
            "Sesi (24 jam)",
            "Pengguna (24 jam)",
            "Sudah tercapai",
        ],
    };
    vec![
        Block::Para(now(f, lang)),
        Block::Para(next(f, lang)),
        Block::Table(head.map(String::from).to_vec(), rows),
    ]
}

/// What would bring the score under the FLAG line: the rules whose
/// behaviour must stop, strongest first, and the cooldown that follows.
pub(super) fn step_down(f: &Facts, lang: Lang) -> Option<String> {
    let line = f.ladder.first()?.score;
    let mut scores: Vec<(&str, f64)> = f.rules.iter().map(|r| (r.id.as_str(), r.score)).collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let combined = |s: &[(&str, f64)]| 1.0 - s.iter().map(|(_, x)| 1.0 - x).product::<f64>();
    let mut dropped = Vec::new();
    while combined(&scores) >= line && !scores.is_empty() {
        dropped.push(scores.remove(0).0);
    }
    if dropped.is_empty() {
        return None;
    }
    let (rules, to, line, less) = (
        dropped.join(", "),
        lang.num(combined(&scores)),
        lang.num(line),
        lang.num(f.hysteresis),
    );
    let minutes = f.cooldown_min;
    Some(match lang {
        Lang::En => format!(
            "Once the behaviour behind {rules} stops, the score falls to {to}, under the FLAG line of {line}. An action in force steps down after the score stays under its line less {less} for {minutes} minutes."
        ),
        Lang::Id => format!(
            "Begitu perilaku di balik {rules} berhenti, skor turun ke {to}, di bawah batas FLAG sebesar {line}. Tindakan yang sedang berlaku diturunkan setelah skor bertahan di bawah batasnya dikurangi {less} selama {minutes} menit."
        ),
    })
}

/// What an action means for the business, in Indonesian.
pub(super) fn action_gloss_id(action: &str) -> &'static str {
    match action {
        "FLAG" => "ditandai untuk ditinjau",
        "THROTTLE" => "pengiriman pesan dibatasi",
        "SUSPEND" => "nomor ditangguhkan",
        "CHARGE" => "dikenai biaya per balasan AI",
        "RESTORE" => "dipulihkan",
        _ => "tidak ada tindakan",
    }
}
