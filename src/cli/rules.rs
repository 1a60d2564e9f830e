//! `satpam rules check` and `satpam rules features`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use satpam::features::FeatureKind;
use satpam::RuleSet;

/// Validates each file; prints `file:line: reason` per problem.
pub fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for f in files {
        match RuleSet::load(f) {
            Ok(r) => {
                let shadow = r.rules().iter().filter(|x| x.shadow).count();
                println!(
                    "{}: ok, version {}, {} rules ({} shadow), {} pattern sets, {} topics, {} terms",
                    f.display(),
                    r.version(),
                    r.rules().len(),
                    shadow,
                    r.pattern_sets().len(),
                    r.topics().len(),
                    r.term_count()
                );
            }
            Err(e) => {
                failed = true;
                for d in e.diagnostics() {
                    eprintln!("{d}");
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Lists the features of the default rules or of `rules`.
pub fn features(rules: Option<&Path>) -> Result<ExitCode> {
    let set = match rules {
        Some(p) => RuleSet::load(p).map_err(|e| anyhow!("{e}"))?,
        None => RuleSet::default_pack(),
    };
    for (name, kind, doc) in set.catalog().iter() {
        let kind = match kind {
            FeatureKind::Number => "number",
            FeatureKind::Bool => "bool",
        };
        println!("{name:<34} {kind:<6} {doc}");
    }
    Ok(ExitCode::SUCCESS)
}
