//! Hits per rule, counted once, here. A rule set is immutable and counts
//! nothing; when one is installed its per-rule handles are registered
//! (by rule id, so a rule kept across a reload keeps its count), and each
//! event's fired rule indexes are credited to the handles of the set that
//! produced them, found by its [`RuleSet::serial`]. An event evaluated
//! with the old set and counted after a reload is credited by the old
//! set's indexes, never the new one's. The series of a removed rule leaves
//! `/metrics` (the Prometheus recorder cannot forget a series, so these are
//! rendered here).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::rules::RuleSet;

/// Rule sets whose handles stay reachable after newer ones are installed.
/// A worker counts an event's hits right after evaluating it, so an older
/// set is only met when reloads land in between; 64 reloads during one
/// event (a minute of reloads every second) is far beyond what happens.
/// Hits of a set no longer kept are counted as unattributed, never credited
/// to the set in force.
const KEPT_SETS: usize = 64;

/// Per-rule hit counters of one installed rule set, by rule index (none by default).
#[derive(Default)]
pub struct RuleHitCounters {
    serial: u64,
    version: String,
    by_index: Vec<Arc<AtomicU64>>,
}

impl RuleHitCounters {
    /// The rule set version these counters belong to.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The [`RuleSet::serial`] of the set these counters belong to.
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

/// One worker's rule hits not yet credited to the shared counters: plain
/// integers by rule index, counted against one rule set (by its serial),
/// so the hot path touches no cache line another worker writes. Folded in
/// by [`RuleHits::absorb`], which the worker calls with its latency fold
/// and whenever the rule set changes under it.
#[derive(Debug, Default)]
pub struct RuleHitTally {
    serial: u64,
    counts: Vec<u64>,
    pending: bool,
}

impl RuleHitTally {
    /// Counts one event's fired rules, indexes into the set with serial
    /// `rule_set`; what was counted against another set is credited to
    /// `hits` first.
    #[inline]
    pub fn add(&mut self, rule_set: u64, fired: &[u16], hits: &RuleHits) {
        if fired.is_empty() {
            return;
        }
        if rule_set != self.serial {
            hits.absorb(self);
            self.serial = rule_set;
        }
        for &i in fired {
            let i = usize::from(i);
            if i >= self.counts.len() {
                // Once per rule set size: a `u16` index bounds it.
                self.counts.resize(i + 1, 0);
            }
            self.counts[i] += 1;
        }
        self.pending = true;
    }
}

/// The hit counters of the rules in force, by rule id, and the handles of
/// the sets installed last.
pub struct RuleHits {
    by_id: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    current: ArcSwap<RuleHitCounters>,
    recent: Mutex<VecDeque<Arc<RuleHitCounters>>>,
    unattributed: AtomicU64,
}

impl Default for RuleHits {
    fn default() -> Self {
        RuleHits {
            by_id: Mutex::default(),
            current: ArcSwap::from_pointee(RuleHitCounters::default()),
            recent: Mutex::default(),
            unattributed: AtomicU64::new(0),
        }
    }
}

impl RuleHits {
    /// Registers the handles of a rule set about to be installed (before
    /// the engine sees it, so none of its hits is missed): a rule id seen
    /// before keeps its count, a new one starts at zero, and the ids the
    /// set no longer has are dropped (their series leave `/metrics`).
    pub fn register(&self, rules: &RuleSet) -> Arc<RuleHitCounters> {
        let by_index = match self.by_id.lock() {
            Ok(mut by_id) => {
                by_id.retain(|id, _| rules.rules().iter().any(|r| r.id == *id));
                rules
                    .rules()
                    .iter()
                    .map(|r| by_id.entry(r.id.clone()).or_default().clone())
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let counters = Arc::new(RuleHitCounters {
            serial: rules.serial(),
            version: rules.version().to_string(),
            by_index,
        });
        if let Ok(mut recent) = self.recent.lock() {
            recent.push_back(counters.clone());
            while recent.len() > KEPT_SETS {
                recent.pop_front();
            }
        }
        self.current.store(counters.clone());
        counters
    }

    /// Credits the rules in `fired`, indexes into the rule set whose serial
    /// is `rule_set` (see [`crate::Scratch::rule_set`]), at once: a tally
    /// of one event, absorbed.
    pub fn count(&self, rule_set: u64, fired: &[u16]) {
        let mut tally = RuleHitTally::default();
        tally.add(rule_set, fired, self);
        self.absorb(&mut tally);
    }

    /// Credits what `tally` counted since it was last absorbed to the set
    /// it was counted against, and empties it. The set in force is found
    /// without a lock; an older one under a lock (only counts taken across
    /// a reload). Hits of a set never registered, or no longer kept, are
    /// counted as unattributed; an index the set does not have is ignored.
    pub fn absorb(&self, tally: &mut RuleHitTally) {
        if !tally.pending {
            return;
        }
        tally.pending = false;
        let current = self.current.load();
        let counters = if current.serial == tally.serial {
            Some(Arc::clone(&current))
        } else {
            self.older(tally.serial)
        };
        for (i, n) in tally.counts.iter_mut().enumerate() {
            if *n == 0 {
                continue;
            }
            match &counters {
                Some(c) => {
                    if let Some(h) = c.by_index.get(i) {
                        h.fetch_add(*n, Ordering::Relaxed);
                    }
                }
                None => {
                    self.unattributed.fetch_add(*n, Ordering::Relaxed);
                }
            }
            *n = 0;
        }
    }

    /// The handles of an older set still kept, by serial (under a lock).
    fn older(&self, rule_set: u64) -> Option<Arc<RuleHitCounters>> {
        self.recent
            .lock()
            .ok()
            .and_then(|r| r.iter().rev().find(|c| c.serial == rule_set).cloned())
    }

    /// The handles of the set installed last.
    pub fn current(&self) -> Arc<RuleHitCounters> {
        self.current.load_full()
    }

    /// Hits of each rule of `rules`, in rule order, by rule id: the count
    /// since the id was first installed (0 for an id not installed).
    pub fn counts(&self, rules: &RuleSet) -> Vec<u64> {
        let by_id = self.by_id.lock().ok();
        rules
            .rules()
            .iter()
            .map(|r| {
                by_id
                    .as_ref()
                    .and_then(|m| m.get(&r.id))
                    .map_or(0, |c| c.load(Ordering::Relaxed))
            })
            .collect()
    }

    /// Fired rules of sets never registered (none in a running service:
    /// every set is registered before it is installed).
    pub fn unattributed(&self) -> u64 {
        self.unattributed.load(Ordering::Relaxed)
    }

    /// Appends `satpam_rule_hits_total` and
    /// `satpam_rule_hits_unattributed_total` in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let Ok(by_id) = self.by_id.lock() else {
            return;
        };
        if by_id.is_empty() {
            return;
        }
        out.push_str("# HELP satpam_rule_hits_total Events a rule fired on, by rule.\n");
        out.push_str("# TYPE satpam_rule_hits_total counter\n");
        for (id, c) in by_id.iter() {
            let _ = writeln!(
                out,
                "satpam_rule_hits_total{{rule=\"{}\"}} {}",
                super::series::escape(id),
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP satpam_rule_hits_unattributed_total Rule firings of a rule set no longer known when counted (should stay 0).\n",
        );
        out.push_str("# TYPE satpam_rule_hits_unattributed_total counter\n");
        let _ = writeln!(
            out,
            "satpam_rule_hits_unattributed_total {}",
            self.unattributed()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(ids: &[&str]) -> RuleSet {
        let mut src = String::from("version: t\nrules:\n");
        for id in ids {
            src.push_str(&format!(
                "  - id: {id}\n    version: 1\n    description: d\n    score: 0.5\n    when: msg.inbound\n"
            ));
        }
        RuleSet::from_yaml(&src, "t.yaml").expect("rules")
    }

    fn series(hits: &RuleHits) -> Vec<String> {
        let mut out = String::new();
        hits.render(&mut out);
        out.lines()
            .filter(|l| l.starts_with("satpam_rule_hits_total"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_removed_rule_leaves_and_a_kept_one_keeps_its_count() {
        let hits = RuleHits::default();
        let first = rules(&["kept", "dropped"]);
        hits.register(&first);
        hits.count(first.serial(), &[0, 1, 1, 7]);
        let mut out = String::new();
        hits.render(&mut out);
        assert_eq!(
            out,
            "# HELP satpam_rule_hits_total Events a rule fired on, by rule.\n\
             # TYPE satpam_rule_hits_total counter\n\
             satpam_rule_hits_total{rule=\"dropped\"} 2\n\
             satpam_rule_hits_total{rule=\"kept\"} 1\n\
             # HELP satpam_rule_hits_unattributed_total Rule firings of a rule set no longer known when counted (should stay 0).\n\
             # TYPE satpam_rule_hits_unattributed_total counter\n\
             satpam_rule_hits_unattributed_total 0\n"
        );
        let second = rules(&["new", "kept"]);
        hits.register(&second);
        hits.count(second.serial(), &[1, 0]);
        // Late counts against the old set's indexes reach only rules still there.
        hits.count(first.serial(), &[1]);
        assert_eq!(
            series(&hits),
            [
                "satpam_rule_hits_total{rule=\"kept\"} 2",
                "satpam_rule_hits_total{rule=\"new\"} 1",
            ]
        );
        assert_eq!(hits.counts(&second), [1, 2]);
    }

    #[test]
    fn hits_of_the_old_set_counted_after_a_reload_go_to_their_own_rule() {
        // The same rules in another order: index 0 is `a` in the old set and
        // `b` in the new one.
        let hits = RuleHits::default();
        let old = rules(&["a", "b"]);
        let new = rules(&["b", "a"]);
        hits.register(&old);
        hits.register(&new);
        // An event the engine evaluated with `old` just before the swap.
        hits.count(old.serial(), &[0]);
        hits.count(new.serial(), &[0, 0]);
        assert_eq!(
            series(&hits),
            [
                "satpam_rule_hits_total{rule=\"a\"} 1",
                "satpam_rule_hits_total{rule=\"b\"} 2",
            ]
        );
        assert_eq!(hits.counts(&new), [2, 1]);
        assert_eq!(hits.unattributed(), 0);
    }

    #[test]
    fn a_worker_tally_is_credited_when_absorbed_and_to_the_set_it_counted() {
        // `a` is index 0 of the old set and index 1 of the new one.
        let hits = RuleHits::default();
        let old = rules(&["a", "b"]);
        let new = rules(&["b", "a"]);
        let stray = rules(&["a", "b"]);
        hits.register(&old);
        let mut tally = RuleHitTally::default();
        tally.add(old.serial(), &[0, 0, 1], &hits);
        tally.add(old.serial(), &[], &hits);
        assert_eq!(hits.counts(&old), [0, 0], "nothing shared before the fold");
        hits.register(&new);
        // The next event was evaluated with `new`: `old`'s counts go first.
        tally.add(new.serial(), &[1], &hits);
        assert_eq!(hits.counts(&new), [1, 2]);
        hits.absorb(&mut tally);
        assert_eq!(hits.counts(&new), [1, 3]);
        // Absorbed counts are gone from the tally: a second fold adds nothing.
        hits.absorb(&mut tally);
        assert_eq!(hits.counts(&new), [1, 3]);
        // A set never registered: unattributed, never the set in force.
        tally.add(stray.serial(), &[0, 1, 1], &hits);
        hits.absorb(&mut tally);
        assert_eq!(hits.counts(&new), [1, 3]);
        assert_eq!(hits.unattributed(), 3);
    }

    #[test]
    fn a_set_never_registered_is_not_credited_to_the_set_in_force() {
        let hits = RuleHits::default();
        let installed = rules(&["a", "b"]);
        let stray = rules(&["a", "b"]);
        hits.register(&installed);
        hits.count(stray.serial(), &[0, 1]);
        assert_eq!(hits.counts(&installed), [0, 0]);
        assert_eq!(hits.unattributed(), 2);
        let mut out = String::new();
        hits.render(&mut out);
        assert!(
            out.ends_with("\nsatpam_rule_hits_unattributed_total 2\n"),
            "{out}"
        );
    }

    #[test]
    fn reloading_the_same_file_keeps_counting_the_same_series() {
        let hits = RuleHits::default();
        let mut sets = Vec::new();
        for _ in 0..(KEPT_SETS + 3) {
            let r = rules(&["a", "b"]);
            hits.register(&r);
            hits.count(r.serial(), &[1]);
            sets.push(r);
        }
        let last = sets.last().expect("sets");
        assert_eq!(hits.counts(last), [0, (KEPT_SETS + 3) as u64]);
        assert_eq!(hits.current().serial(), last.serial());
    }
}
