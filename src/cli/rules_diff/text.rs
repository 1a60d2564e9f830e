//! The text form of `satpam rules diff`: summary, transitions, tallies per
//! tenant and per rule, the changed accounts, and the scorecard deltas.

use std::fmt::Write;

use satpam::eval::{figures, EvalRun, RulesDiff};

use super::DiffArgs;

/// Changed accounts listed in the text output (`--json` lists them all).
pub const LISTED: usize = 100;

fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".to_string()
    }
}

fn delta(o: f64, n: f64, decimals: usize) -> String {
    if o.is_finite() && n.is_finite() {
        format!("{:+.decimals$}", n - o)
    } else {
        "-".to_string()
    }
}

// Long because it is the text layout, section by section, top to bottom.
/// Renders the comparison for a terminal or a CI log.
pub fn render(
    args: &DiffArgs,
    old: &EvalRun,
    new: &EvalRun,
    d: &RulesDiff,
    scored: bool,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "rules diff on {} ({} events, {} malformed)",
        args.events.display(),
        old.summary.engine.events,
        old.summary.malformed
    );
    let _ = writeln!(
        s,
        "  old  {} (version {})",
        args.old.display(),
        old.summary.rule_set_version
    );
    let _ = writeln!(
        s,
        "  new  {} (version {})",
        args.new.display(),
        new.summary.rule_set_version
    );
    let _ = writeln!(
        s,
        "accounts actioned (FLAG or above): old {}, new {}; moved up {}, moved down {}, unchanged {}",
        d.actioned_old, d.actioned_new, d.up, d.down, d.unchanged
    );
    if d.changes.is_empty() {
        let _ = writeln!(s, "no decision changes");
    } else {
        let _ = writeln!(s, "transitions (strongest action, old -> new)");
        for t in &d.transitions {
            let mv = format!("{} -> {}", t.old.name(), t.new.name());
            let _ = writeln!(s, "  {mv:<22} {:>8}", t.accounts);
        }
        let _ = writeln!(s, "by tenant");
        for t in &d.by_tenant {
            let _ = writeln!(s, "  {:<44} up {:>6}  down {:>6}", t.key, t.up, t.down);
        }
        let _ = writeln!(s, "by rule that made the difference");
        for t in &d.by_rule {
            let _ = writeln!(s, "  {:<44} up {:>6}  down {:>6}", t.key, t.up, t.down);
        }
        let _ = writeln!(
            s,
            "changed accounts{}",
            if d.changes.len() > LISTED {
                format!(" (first {LISTED} of {}; --json lists all)", d.changes.len())
            } else {
                String::new()
            }
        );
        for c in d.changes.iter().take(LISTED) {
            let label = match (&c.archetype, c.violating) {
                (Some(a), Some(v)) => {
                    format!("  [{a}, {}]", if v { "violating" } else { "legitimate" })
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} / {}  {} -> {}  {}  ({}){label}",
                c.tenant_id,
                c.account_id,
                c.old.name(),
                c.new.name(),
                if c.up { "up" } else { "down" },
                c.rules.join(", ")
            );
        }
    }
    if scored {
        let _ = writeln!(
            s,
            "scorecard                                       old        new      delta"
        );
        for f in figures(&old.scorecard, &new.scorecard) {
            let (name, o, n, dp) = (f.name, f.old, f.new, f.decimals);
            let _ = writeln!(
                s,
                "  {name:<40} {:>10} {:>10} {:>10}",
                num(o, dp),
                num(n, dp),
                delta(o, n, dp)
            );
        }
    }
    s
}
