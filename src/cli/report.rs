//! Shared report pieces.

use satpam::replay::ReplaySummary;

/// Prints per-rule hits.
pub fn rule_hits(s: &ReplaySummary) {
    println!("rule hits ({})", s.rule_set_version);
    for r in &s.rule_hits {
        let mode = if r.shadow { "  (shadow)" } else { "" };
        println!("  {:<32} v{:<3} {:>12}{mode}", r.id, r.version, r.hits);
    }
}
