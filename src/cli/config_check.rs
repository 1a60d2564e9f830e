//! `satpam config check`: loads everything `serve` would load (the config
//! with the environment applied, the rules, the country policy, the
//! overrides) without starting anything, and reports every problem as
//! `file:line: reason` (the line where the loader knows it). Exit 1 on any.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use satpam::decide::{CountryPolicy, Overrides};
use satpam::service::Config;
use satpam::RuleSet;

/// What one file came to: a line for stdout when fine, problems otherwise.
type Outcome = Result<String, Vec<String>>;

/// Names `path` in a loader's message unless it already does.
fn with_file(path: &Path, msg: String) -> String {
    let file = path.display().to_string();
    if msg.starts_with(&file) {
        msg
    } else {
        format!("{file}: {msg}")
    }
}

fn check_rules(path: Option<&Path>) -> Outcome {
    let Some(p) = path else {
        return Ok(format!(
            "rules: built-in, version {}",
            RuleSet::default_pack().version()
        ));
    };
    match RuleSet::load(p) {
        Ok(r) => Ok(format!(
            "rules {}: ok, version {}, {} rules",
            p.display(),
            r.version(),
            r.rules().len()
        )),
        Err(e) => Err(e.diagnostics().iter().map(ToString::to_string).collect()),
    }
}

fn check_policy(path: Option<&Path>) -> Outcome {
    let Some(p) = path else {
        return Ok(format!(
            "policy: built-in, version {}",
            CountryPolicy::default().version()
        ));
    };
    CountryPolicy::load(p)
        .map(|c| {
            format!(
                "policy {}: ok, version {}, {} outcomes",
                p.display(),
                c.version(),
                c.entries().len()
            )
        })
        .map_err(|e| e.to_string().lines().map(str::to_string).collect())
}

fn check_overrides(path: Option<&Path>) -> Outcome {
    let Some(p) = path else {
        return Ok("overrides: none".into());
    };
    // As `serve`: an absent file is an empty set, written on the first SetOverride.
    if !p.exists() {
        return Ok(format!(
            "overrides {}: absent (created by the first SetOverride)",
            p.display()
        ));
    }
    Overrides::load(p)
        .map(|_| format!("overrides {}: ok", p.display()))
        .map_err(|e| vec![with_file(p, e.to_string())])
}

/// Checks with the environment `env` (the process's, read by the caller).
pub fn run(
    config_path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<ExitCode> {
    let config = match Config::load(config_path, env) {
        Ok(c) => c,
        Err(e) => {
            // Without a config the other files are unknown: stop here.
            eprintln!("{e}");
            eprintln!("config check: 1 problem");
            return Ok(ExitCode::FAILURE);
        }
    };
    let name = config_path.map_or_else(
        || "<embedded default>".to_string(),
        |p| p.display().to_string(),
    );
    println!("config {name}: ok");
    for ignored in config.ignored_keys() {
        eprintln!("{name}: warning: {ignored}");
    }
    let e = &config.engine;
    let mut problems = Vec::new();
    for outcome in [
        check_rules(e.rules.as_deref()),
        check_policy(e.policy.as_deref()),
        check_overrides(e.overrides.as_deref()),
    ] {
        match outcome {
            Ok(line) => println!("{line}"),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        println!("config check: ok");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "config check: {} problem{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::FAILURE)
}
