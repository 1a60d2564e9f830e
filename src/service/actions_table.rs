//! The fleet's actions in force, kept by every instance from the actions
//! topic: each account's latest signal (keyed by tenant and account,
//! written by whichever instance owns the account's partition, fenced like
//! its signals; a tombstone when the action is lifted). `ListActioned` and
//! the action part of `GetAccount` answer from it, so every instance
//! answers the same, whichever partitions it owns.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use prost::Message;
use rdkafka::config::ClientConfig;

use crate::pb::v1 as pb;
use crate::service::topic_follower::{FollowError, Follower, TableRecord};
use crate::sink::kafka_client::ensure_compacted_topic;
use crate::sink::table_key::{account_key, split_account_key};

/// One account's action in force, as the actions topic holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInForce {
    /// The signal that set it.
    pub signal: pb::EnforcementSignal,
    /// The instance that wrote it (`<host>/<pid>/<epoch>`), the owner of
    /// the account's partition then; empty when the record named none.
    pub writer: String,
}

/// Why the actions topic could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("actions topic: {what}: {reason}")]
pub struct ActionsTopicError {
    what: &'static str,
    reason: String,
}

impl From<FollowError> for ActionsTopicError {
    fn from(e: FollowError) -> Self {
        ActionsTopicError {
            what: e.what,
            reason: e.reason,
        }
    }
}

/// The accounts with an action in force across the fleet.
#[derive(Debug, Default)]
pub struct ActionsTable {
    entries: RwLock<HashMap<String, Arc<ActionInForce>>>,
}

impl ActionsTable {
    /// An empty table (fed by [`ActionsTable::apply`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies records of the actions topic in order: a signal sets the
    /// account's entry, a tombstone (or a lifting signal) removes it. A
    /// record that does not decode is skipped with a warning.
    pub fn apply(&self, records: &[TableRecord]) {
        if records.is_empty() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        for r in records {
            let signal = match r.value.as_deref().map(pb::EnforcementSignal::decode) {
                None => None,
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "an actions topic record does not decode; skipped");
                    continue;
                }
            };
            let in_force = signal.filter(|s| {
                !matches!(
                    pb::Action::try_from(s.action),
                    Ok(pb::Action::Restore | pb::Action::Unspecified) | Err(_)
                )
            });
            match in_force {
                Some(signal) if split_account_key(&r.key).is_some() => {
                    entries.insert(
                        r.key.clone(),
                        Arc::new(ActionInForce {
                            signal,
                            writer: r.writer.clone().unwrap_or_default(),
                        }),
                    );
                }
                Some(_) => {
                    tracing::warn!("an actions topic record has no tenant in its key; skipped")
                }
                None => {
                    entries.remove(&r.key);
                }
            }
        }
    }

    /// The account's action in force, if any.
    pub fn get(&self, tenant_id: &str, account_id: &str) -> Option<Arc<ActionInForce>> {
        let entries = self.entries.read().ok()?;
        entries.get(&account_key(tenant_id, account_id)).cloned()
    }

    /// Every account with an action in force, in no particular order.
    pub fn all(&self) -> Vec<Arc<ActionInForce>> {
        self.entries
            .read()
            .map(|e| e.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How many accounts have an action in force.
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether no account has an action in force.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The actions table with the thread that keeps it from the topic.
pub struct ActionsTopic {
    table: Arc<ActionsTable>,
    follower: Follower,
}

impl ActionsTopic {
    /// Creates `topic` when missing (compacted, one partition, with the
    /// `producer` client's settings), reads it to its end, then follows it.
    pub fn start(
        topic: &str,
        producer: &ClientConfig,
        reader: &ClientConfig,
    ) -> Result<Self, ActionsTopicError> {
        ensure_compacted_topic(producer, topic, 1).map_err(|e| ActionsTopicError {
            what: "create",
            reason: e.to_string(),
        })?;
        let table = Arc::new(ActionsTable::new());
        let feed = table.clone();
        let (follower, read) =
            Follower::start(topic, reader, "satpam-actions", move |r| feed.apply(r))?;
        tracing::info!(
            topic,
            records = read,
            accounts = table.len(),
            "actions in force read from the actions topic"
        );
        Ok(ActionsTopic { table, follower })
    }

    /// The table this topic keeps.
    pub fn table(&self) -> &Arc<ActionsTable> {
        &self.table
    }

    /// Stops following.
    pub fn stop(&self) {
        self.follower.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(tenant: &str, account: &str, action: pb::Action, score: f64) -> Vec<u8> {
        pb::EnforcementSignal {
            signal_id: format!("{account}-{}", action.as_str_name()),
            tenant_id: tenant.into(),
            account_id: account.into(),
            action: action as i32,
            score,
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn rec(tenant: &str, account: &str, value: Option<Vec<u8>>) -> TableRecord {
        TableRecord {
            key: account_key(tenant, account),
            value,
            writer: Some("pod-b/7/3".into()),
        }
    }

    #[test]
    fn the_latest_record_of_each_account_is_in_force_and_lifting_removes_it() {
        let t = ActionsTable::new();
        t.apply(&[
            rec("t1", "a", Some(signal("t1", "a", pb::Action::Flag, 0.4))),
            rec("t1", "b", Some(signal("t1", "b", pb::Action::Suspend, 0.9))),
            rec(
                "t2",
                "a",
                Some(signal("t2", "a", pb::Action::Throttle, 0.7)),
            ),
            // a's FLAG stepped up to THROTTLE.
            rec(
                "t1",
                "a",
                Some(signal("t1", "a", pb::Action::Throttle, 0.75)),
            ),
        ]);
        t.apply(&[
            // b lifted by a tombstone, t2/a by a RESTORE signal.
            rec("t1", "b", None),
            rec("t2", "a", Some(signal("t2", "a", pb::Action::Restore, 0.1))),
        ]);
        assert_eq!(t.len(), 1);
        let a = t.get("t1", "a").expect("t1/a in force");
        assert_eq!(a.signal.action, pb::Action::Throttle as i32);
        assert_eq!(a.signal.score, 0.75);
        assert_eq!(a.writer, "pod-b/7/3");
        assert!(t.get("t1", "b").is_none());
        assert!(t.get("t2", "a").is_none());
        // The same account id under another tenant is another account.
        assert!(t.get("t2", "b").is_none());
    }

    #[test]
    fn an_undecodable_record_is_skipped_and_the_rest_applied() {
        let t = ActionsTable::new();
        t.apply(&[
            rec("t1", "a", Some(vec![0xff, 0xff, 0xff])),
            rec("t1", "b", Some(signal("t1", "b", pb::Action::Flag, 0.4))),
            TableRecord {
                key: "no-separator".into(),
                value: Some(signal("t1", "c", pb::Action::Flag, 0.4)),
                writer: None,
            },
        ]);
        assert_eq!(t.len(), 1);
        assert!(t.get("t1", "b").is_some());
    }
}
