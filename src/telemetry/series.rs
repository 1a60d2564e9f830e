//! Labelled series that come and go: consumer lag per assigned partition,
//! and hits per rule of the rule set in force. The Prometheus recorder
//! cannot forget a series once registered, so these are kept and rendered
//! here: a revoked partition's lag and a removed rule's hits leave
//! `/metrics` instead of staying frozen at their last value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::rules::RuleSet;

/// Per-rule hit counters of one rule set, by rule index (none by default).
#[derive(Default)]
pub struct RuleHitCounters {
    version: String,
    by_index: Vec<Arc<AtomicU64>>,
}

impl RuleHitCounters {
    /// Counts the rules that fired (indexes into the rule set's rules).
    #[inline]
    pub fn count(&self, fired: &[u16]) {
        for &i in fired {
            if let Some(c) = self.by_index.get(usize::from(i)) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The rule set version these counters belong to.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// The hit counters of the rules in force, by rule id.
#[derive(Default)]
pub struct RuleHits {
    by_id: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
}

impl RuleHits {
    /// The counters of a newly loaded rule set: a rule id seen before keeps
    /// its count, a new one starts at zero, and the ids the set no longer
    /// has are dropped (their series leave `/metrics`).
    pub fn register(&self, rules: &RuleSet) -> RuleHitCounters {
        let Ok(mut by_id) = self.by_id.lock() else {
            return RuleHitCounters {
                version: rules.version().to_string(),
                by_index: Vec::new(),
            };
        };
        by_id.retain(|id, _| rules.rules().iter().any(|r| r.id == *id));
        let by_index = rules
            .rules()
            .iter()
            .map(|r| by_id.entry(r.id.clone()).or_default().clone())
            .collect();
        RuleHitCounters {
            version: rules.version().to_string(),
            by_index,
        }
    }

    /// Appends `satpam_rule_hits_total` in the text exposition format.
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
                escape(id),
                c.load(Ordering::Relaxed)
            );
        }
    }
}

/// Consumer lag of the partitions this instance is assigned.
#[derive(Default)]
pub struct PartitionLag {
    /// Assigned partitions, with their last known lag (none before the
    /// first statistics after the assignment).
    lags: Mutex<BTreeMap<i32, Option<i64>>>,
}

impl PartitionLag {
    /// The partitions were assigned: their series appear with the next
    /// statistics.
    pub fn assign(&self, partitions: &[i32]) {
        if let Ok(mut l) = self.lags.lock() {
            for p in partitions {
                l.entry(*p).or_insert(None);
            }
        }
    }

    /// The partitions were revoked: their series leave `/metrics`.
    pub fn revoke(&self, partitions: &[i32]) {
        if let Ok(mut l) = self.lags.lock() {
            for p in partitions {
                l.remove(p);
            }
        }
    }

    /// Sets the lag of an assigned partition; a partition not assigned (a
    /// statistics report older than its revocation) is ignored.
    pub fn set(&self, partition: i32, lag: i64) {
        if let Ok(mut l) = self.lags.lock() {
            if let Some(v) = l.get_mut(&partition) {
                *v = Some(lag.max(0));
            }
        }
    }

    /// The total lag of the assigned partitions.
    pub fn total(&self) -> i64 {
        self.lags
            .lock()
            .map(|l| l.values().flatten().sum())
            .unwrap_or(0)
    }

    /// Appends `satpam_consumer_partition_lag_messages` in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let Ok(l) = self.lags.lock() else {
            return;
        };
        let known: Vec<(i32, i64)> = l.iter().filter_map(|(p, v)| v.map(|v| (*p, v))).collect();
        if known.is_empty() {
            return;
        }
        out.push_str(
            "# HELP satpam_consumer_partition_lag_messages Messages behind the end of the events topic, by owned partition (librdkafka statistics).\n",
        );
        out.push_str("# TYPE satpam_consumer_partition_lag_messages gauge\n");
        for (p, v) in known {
            let _ = writeln!(
                out,
                "satpam_consumer_partition_lag_messages{{partition=\"{p}\"}} {v}"
            );
        }
    }
}

/// A label value escaped for the text exposition format.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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

    #[test]
    fn a_removed_rule_leaves_and_a_kept_one_keeps_its_count() {
        let hits = RuleHits::default();
        let first = hits.register(&rules(&["kept", "dropped"]));
        first.count(&[0, 1, 1, 7]);
        let mut out = String::new();
        hits.render(&mut out);
        assert_eq!(
            out,
            "# HELP satpam_rule_hits_total Events a rule fired on, by rule.\n\
             # TYPE satpam_rule_hits_total counter\n\
             satpam_rule_hits_total{rule=\"dropped\"} 2\n\
             satpam_rule_hits_total{rule=\"kept\"} 1\n"
        );
        let second = hits.register(&rules(&["new", "kept"]));
        second.count(&[1, 0]);
        // Late counts against the old set's indexes reach only rules still there.
        first.count(&[1]);
        let mut out = String::new();
        hits.render(&mut out);
        let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "satpam_rule_hits_total{rule=\"kept\"} 2",
                "satpam_rule_hits_total{rule=\"new\"} 1",
            ]
        );
    }

    #[test]
    fn a_revoked_partition_leaves_and_late_statistics_do_not_bring_it_back() {
        let lag = PartitionLag::default();
        lag.assign(&[0, 1, 2]);
        let mut out = String::new();
        lag.render(&mut out);
        assert_eq!(out, "", "no series before the first statistics");
        lag.set(0, 5);
        lag.set(1, 7);
        lag.set(2, -1);
        lag.set(9, 100);
        assert_eq!(lag.total(), 12);
        lag.revoke(&[1]);
        lag.set(1, 70);
        let mut out = String::new();
        lag.render(&mut out);
        let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "satpam_consumer_partition_lag_messages{partition=\"0\"} 5",
                "satpam_consumer_partition_lag_messages{partition=\"2\"} 0",
            ]
        );
        assert_eq!(lag.total(), 5);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
