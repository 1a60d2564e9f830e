//! `satpam policy check` and `satpam policy at`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use satpam::decide::policy::{format_date, parse_instant};
use satpam::decide::{Applied, CountryPolicy, PolicyOutcome, Scope};
use satpam::event::Country;

/// Validates each file; prints `file:line: reason` per problem.
pub fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for f in files {
        match CountryPolicy::load(f) {
            Ok(p) => {
                let uncertain = p.entries().iter().filter(|e| e.uncertain).count();
                println!(
                    "{}: ok, version {}, {} outcomes ({} uncertain), {} regions",
                    f.display(),
                    p.version(),
                    p.entries().len(),
                    uncertain,
                    p.regions().len()
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn when(ms: i64) -> String {
    if ms == i64::MIN {
        "always".into()
    } else {
        format_date(ms)
    }
}

fn describe(p: &CountryPolicy, a: Applied) -> (String, String, String) {
    match p.entry(a) {
        Some(e) => (
            e.id.clone(),
            format!(
                "{}{}",
                e.source,
                if e.uncertain { " (uncertain)" } else { "" }
            ),
            e.charge
                .as_ref()
                .map(|c| format!("{} {} per message", c.per_message, c.currency))
                .unwrap_or_default(),
        ),
        None => (p.rule_id(a).to_string(), "built in".into(), String::new()),
    }
}

/// Prints the outcome in force in `country` at `date`, its source, and the
/// market's timeline.
pub fn at(date: &str, country: &str, policy: Option<&Path>, json: bool) -> Result<ExitCode> {
    let p = match policy {
        Some(f) => CountryPolicy::load(f).map_err(|e| anyhow!("policy did not load:\n{e}"))?,
        None => CountryPolicy::default(),
    };
    let at_ms = parse_instant(date)
        .ok_or_else(|| anyhow!("--date {date}: not YYYY-MM-DD or an RFC 3339 instant"))?;
    let c = Country::parse(country)
        .filter(|c| !c.is_known() || country.len() == 2)
        .ok_or_else(|| anyhow!("--country {country}: not an ISO 3166-1 alpha-2 code"))?;
    let c = c.is_known().then_some(c);
    let applied = p.at(c, at_ms);
    let (rule, source, charge) = describe(&p, applied);
    let scope = p.entry(applied).map_or(Scope::Default, |e| e.scope.clone());
    let timeline = p.timeline(c);
    if json {
        let steps: Vec<serde_json::Value> = timeline
            .iter()
            .map(|(from, a)| {
                serde_json::json!({
                    "from": when(*from),
                    "outcome": a.outcome.name(),
                    "rule": p.rule_id(*a),
                })
            })
            .collect();
        let v = serde_json::json!({
            "policy_version": p.version(),
            "date": date,
            "country": c.map(|c| c.as_str().to_string()),
            "outcome": applied.outcome.name(),
            "rule": rule,
            "where": scope.to_string(),
            "source": source,
            "charge": charge,
            "timeline": steps,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let what = match applied.outcome {
        PolicyOutcome::Enforce => "enforce: FLAG, THROTTLE and SUSPEND as the ladder decides",
        PolicyOutcome::Charge => "charge: THROTTLE and SUSPEND become CHARGE per AI reply",
        PolicyOutcome::Allow => "allow: no action; evidence recorded",
        PolicyOutcome::FlagOnly => "flag_only: FLAG for review; traffic never touched",
    };
    println!(
        "policy {} | {} | {}",
        p.version(),
        c.as_ref().map_or("unknown country", |c| c.as_str()),
        date
    );
    println!("outcome   {what}");
    println!("rule      {rule} (where: {scope})");
    println!("source    {source}");
    if !charge.is_empty() {
        println!("charge    {charge}");
    }
    println!("timeline");
    for (from, a) in timeline {
        println!(
            "  from {:<10}  {:<9}  {}",
            when(from),
            a.outcome.name(),
            p.rule_id(a)
        );
    }
    Ok(ExitCode::SUCCESS)
}
