//! Share of user turns each pattern set (and any topic) matches, per corpus
//! file, source and language, with the real matcher. For rule authors: a set
//! should cover its own class broadly and the other classes rarely.
//!
//! cargo run --release --example pattern_coverage -- [CORPORA_DIR] [RULES]

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use satpam::RuleSet;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("../shared/data/corpora", String::as_str));
    let rules = match args.get(2) {
        Some(p) => RuleSet::load(p.as_ref()).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => RuleSet::default_pack(),
    };
    let sets: Vec<String> = rules
        .pattern_sets()
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    // (file, source, lang) -> (turns, hits per set, turns with a topic)
    type Key = (String, String, String);
    type Row = (u64, Vec<u64>, u64);
    let mut table: BTreeMap<Key, Row> = BTreeMap::new();
    for file in ["assistant", "business", "offtopic"] {
        let f = std::fs::File::open(dir.join(format!("{file}.jsonl")))?;
        for line in std::io::BufReader::new(f).lines() {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            let key = (
                file.to_string(),
                v["source"].as_str().unwrap_or("").to_string(),
                v["lang"].as_str().unwrap_or("").to_string(),
            );
            let row = table
                .entry(key)
                .or_insert_with(|| (0, vec![0; sets.len()], 0));
            for t in v["turns"].as_array().into_iter().flatten() {
                if t["role"] != "user" {
                    continue;
                }
                let facts = rules.matcher().scan(
                    t["text"].as_str().unwrap_or(""),
                    satpam::event::Direction::Inbound,
                );
                row.0 += 1;
                for (i, h) in row.1.iter_mut().enumerate() {
                    *h += u64::from(facts.pattern_hits & (1 << i) != 0);
                }
                row.2 += u64::from(facts.topics != 0);
            }
        }
    }
    print!("{:<48} {:>6}", "file/source/lang", "turns");
    for s in &sets {
        print!(" {:>16}", &s[..s.len().min(16)]);
    }
    println!(" {:>8}", "topical");
    for ((f, s, l), (n, hits, topical)) in &table {
        print!("{:<48} {n:>6}", format!("{f}/{s}/{l}"));
        for h in hits {
            print!(" {:>15.1}%", *h as f64 * 100.0 / (*n).max(1) as f64);
        }
        println!(" {:>7.1}%", *topical as f64 * 100.0 / (*n).max(1) as f64);
    }
    Ok(())
}
