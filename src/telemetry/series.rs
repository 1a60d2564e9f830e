//! Labelled series that come and go: consumer lag per assigned partition
//! (hits per rule are in [`super::rule_hits`]). The Prometheus recorder
//! cannot forget a series once registered, so these are kept and rendered
//! here: a revoked partition's lag leaves `/metrics` instead of staying
//! frozen at its last value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

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
pub(crate) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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
