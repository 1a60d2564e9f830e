//! The report as a document (headings, paragraphs, lists, tables of plain
//! text) built from [`Facts`]; `render` writes it as Markdown or HTML.

use super::facts::{Facts, Rung};
use super::words::{behaviours, count, num, remedies};

/// One block of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph.
    Para(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A table: header and rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A titled section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its content.
    pub blocks: Vec<Block>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The title.
    pub title: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

fn severity(action: &str) -> usize {
    match action {
        "FLAG" => 1,
        "THROTTLE" | "CHARGE" => 2,
        "SUSPEND" => 3,
        _ => 0,
    }
}

fn risk(f: &Facts) -> &'static str {
    match severity(f.action) {
        3 => "severe",
        2 => "high",
        1 => "elevated",
        _ if f.ladder.first().is_some_and(|r| f.score >= r.score) => "elevated",
        _ if f.score > 0.0 => "low (some behaviour is watched)",
        _ => "low",
    }
}

fn outcome_meaning(outcome: &str) -> &'static str {
    match outcome {
        "enforce" => "the terms apply: FLAG, THROTTLE and SUSPEND as the ladder decides",
        "charge" => {
            "Meta charges per AI reply instead of a ban: THROTTLE and SUSPEND become CHARGE"
        }
        "allow" => "no action is taken in this market; the evidence is still recorded",
        "flag_only" => "the account may be flagged for review; its traffic is not touched",
        _ => "as the policy file says",
    }
}

fn op_words(op: &str) -> &'static str {
    match op {
        "<" => "under",
        "<=" => "at most",
        ">" => "over",
        ">=" => "at least",
        "==" => "exactly",
        _ => "other than",
    }
}

fn rung_words(r: &Rung) -> String {
    format!(
        "{} at a score of {} with at least {} sessions and {} users in 24 hours",
        r.action,
        num(r.score),
        count(r.sessions as f64),
        count(r.users as f64)
    )
}

fn ladder(f: &Facts) -> Vec<Block> {
    let now = format!(
        "The score is {} with {} sessions and {} users in the last 24 hours ({} events in the last hour).",
        num(f.score),
        count(f.sessions_24h as f64),
        count(f.users_24h as f64),
        count(f.events_1h as f64)
    );
    let next = f
        .ladder
        .iter()
        .enumerate()
        .find(|(i, _)| i + 1 > severity(f.action))
        .map(|(_, r)| {
            let mut s = format!("Next on the ladder: {}.", rung_words(r));
            if f.policy.outcome == "charge" && r.action != "FLAG" {
                s.push_str(" In this market it would be CHARGE instead.");
            } else if f.policy.outcome == "allow"
                || (f.policy.outcome == "flag_only" && r.action != "FLAG")
            {
                s.push_str(" In this market the policy takes no such action.");
            }
            s
        })
        .unwrap_or_else(|| "The account is on the last rung of the ladder.".to_string());
    let rows = f
        .ladder
        .iter()
        .map(|r| {
            vec![
                r.action.to_string(),
                num(r.score),
                count(r.sessions as f64),
                count(r.users as f64),
                if f.score >= r.score && f.sessions_24h >= r.sessions && f.users_24h >= r.users {
                    "yes".to_string()
                } else {
                    "no".to_string()
                },
            ]
        })
        .collect();
    vec![
        Block::Para(now),
        Block::Para(next),
        Block::Table(
            [
                "Action",
                "Score at least",
                "Sessions (24 h)",
                "Users (24 h)",
                "Reached now",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ),
    ]
}

fn step_down(f: &Facts) -> Option<String> {
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
    Some(format!(
        "Once the behaviour behind {} stops, the score falls to {}, under the FLAG line of {}. An action in force steps down after the score stays under its line less {} for {} minutes.",
        dropped.join(", "),
        num(combined(&scores)),
        num(line),
        num(f.hysteresis),
        f.cooldown_min
    ))
}

fn rules_table(f: &Facts) -> Vec<Block> {
    if f.rules.is_empty() {
        return vec![Block::Para(
            "No rule is active for this account.".to_string(),
        )];
    }
    let rows = f
        .rules
        .iter()
        .map(|r| {
            // An `||` has alternatives: the comparisons that held are what fired it.
            let held: Vec<_> = r.checks.iter().filter(|c| c.holds).collect();
            let shown = if held.is_empty() {
                r.checks.iter().collect()
            } else {
                held
            };
            let saw = if shown.is_empty() {
                r.features
                    .iter()
                    .map(|(k, v)| format!("{k} was {}", num(*v)))
                    .collect::<Vec<_>>()
            } else {
                shown
                    .iter()
                    .map(|c| {
                        format!(
                            "{} was {} (needs {} {})",
                            c.feature,
                            num(c.seen),
                            op_words(c.op),
                            num(c.threshold)
                        )
                    })
                    .collect()
            };
            vec![
                format!("{} v{}", r.id, r.version),
                num(r.score),
                r.last_fired.clone(),
                saw.join("; "),
            ]
        })
        .collect();
    let described = f
        .rules
        .iter()
        .filter(|r| !r.description.is_empty())
        .map(|r| format!("{} v{}: {}", r.id, r.version, r.description))
        .collect();
    vec![
        Block::Table(
            [
                "Rule",
                "Adds to score",
                "Last fired",
                "What it saw against its thresholds",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ),
        Block::List(described),
    ]
}

fn policy(f: &Facts) -> Vec<Block> {
    let p = &f.policy;
    let market = if p.country.is_empty() {
        "an unknown market".to_string()
    } else {
        format!("market {}", p.country)
    };
    let mut text = format!(
        "Judged against country policy {} for {market} on {}: outcome {} ({}); entry {} (where: {}).",
        p.version,
        &f.as_of[..10.min(f.as_of.len())],
        p.outcome,
        outcome_meaning(&p.outcome),
        p.rule,
        p.scope
    );
    if !p.source.is_empty() {
        text.push_str(&format!(" Source: {}.", p.source));
    }
    let rows = p
        .timeline
        .iter()
        .map(|s| vec![s.from.clone(), s.outcome.clone(), s.rule.clone()])
        .collect();
    vec![
        Block::Para(text),
        Block::Para("The terms bind new API users from 15 October 2025 and all from 15 January 2026; the market's timeline:".to_string()),
        Block::Table(["From", "Outcome", "Policy entry"].map(String::from).to_vec(), rows),
    ]
}

/// The report of `f`.
pub fn document(f: &Facts) -> Document {
    let mut risk_text = format!("Risk level: {}. Action in force: {}.", risk(f), f.action);
    if let Some(m) = f.override_mode {
        risk_text.push_str(&format!(" An analyst's override is in force ({m})."));
    }
    let mut action = vec![Block::Para(risk_text)];
    action.extend(ladder(f));
    let seen = behaviours(f);
    let mut change = vec![Block::List(remedies(f))];
    change.extend(step_down(f).map(Block::Para));
    Document {
        title: format!("Compliance report: {} / {}", f.tenant_id, f.account_id),
        sections: vec![
            Section {
                heading: "About this report".to_string(),
                blocks: vec![Block::Para(format!(
                    "As of the account's last event, {}, under rules {}. It is built from the account's counters and features only and contains no message text.",
                    f.as_of, f.rule_set_version
                ))],
            },
            Section { heading: "Risk and action".to_string(), blocks: action },
            Section {
                heading: "What we see".to_string(),
                blocks: vec![if seen.is_empty() {
                    Block::Para("No behaviour of concern is active.".to_string())
                } else {
                    Block::List(seen)
                }],
            },
            Section { heading: "Rules that fired".to_string(), blocks: rules_table(f) },
            Section { heading: "What to change".to_string(), blocks: change },
            Section { heading: "Policy".to_string(), blocks: policy(f) },
        ],
    }
}
