//! Per-archetype quantiles of every feature, as the engine saw them, over a
//! labelled scenario generated in memory. For rule authors: write conditions
//! against distributions, never against single accounts.
//!
//! cargo run --release --example feature_profile -- [ACCOUNTS] [SEED] [metadata|text] [baseline|adversarial]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use satpam::decide::{CountryPolicy, Overrides};
use satpam::replay::Replayer;
use satpam::{EngineConfig, RuleSet};
use satpam_scenario::{Archetype, Family, Scenario, ScenarioConfig, TextBank};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let accounts = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let seed = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(7);
    let metadata_only = args.get(3).is_some_and(|a| a == "metadata");
    let family = args
        .get(4)
        .and_then(|a| Family::from_name(a))
        .unwrap_or_default();
    let archetypes = family.archetypes();
    let (bank, _) = TextBank::load_or_builtin(Some(Path::new("../shared/data/corpora")))?;
    let config = ScenarioConfig {
        accounts,
        hours: 12.0,
        seed,
        metadata_only,
        ..ScenarioConfig::default()
    };
    let scenario = Scenario::generate_family(&config, family, Arc::new(bank));
    let arch: HashMap<String, Archetype> = scenario
        .labels()
        .iter()
        .map(|l| (l.account_id.clone(), l.archetype))
        .collect();
    let rules = Arc::new(RuleSet::default_pack());
    let names: Vec<String> = rules
        .catalog()
        .iter()
        .map(|(n, _, _)| n.to_string())
        .collect();
    let mut r = Replayer::new(
        rules,
        CountryPolicy::default(),
        Overrides::default(),
        EngineConfig::default(),
    );
    // samples[archetype][feature] = values, taken on every 17th event after the account's first hour.
    let mut samples: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); names.len()]; archetypes.len()];
    let mut first: HashMap<String, i64> = HashMap::new();
    for (i, e) in scenario.events().enumerate() {
        let a = arch[&e.account_id];
        let t0 = *first.entry(e.account_id.clone()).or_insert(e.timestamp_ms);
        let ts = e.timestamp_ms;
        r.feed(i as u64, Ok(e));
        if i % 17 == 0 && ts - t0 > 3_600_000 {
            let ai = archetypes.iter().position(|x| *x == a).unwrap_or(0);
            for (f, v) in r
                .last_features()
                .values()
                .iter()
                .take(names.len())
                .enumerate()
            {
                samples[ai][f].push(*v);
            }
        }
    }
    print!("{:<34}", "feature (p10/p50/p90)");
    for a in archetypes {
        print!(" {:>20}", &a.name()[..a.name().len().min(20)]);
    }
    println!();
    for (f, name) in names.iter().enumerate() {
        if !name.starts_with("account.") {
            continue;
        }
        print!("{name:<34}");
        for s in &mut samples {
            let v = &mut s[f];
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                v.get(((v.len().max(1) - 1) as f64 * p) as usize)
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            print!(" {:>6.2}/{:>6.2}/{:>6.2}", q(0.1), q(0.5), q(0.9));
        }
        println!();
    }
    Ok(())
}
