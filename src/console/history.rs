//! The signals of each account, for its page: a task reads the service's
//! signal broadcast (the one `Signals.Watch` reads) and keeps the last
//! `history_per_account` signals of the last `history_accounts` accounts to
//! change, in memory. Signals hold rules, versions, feature values and
//! counts, never text. A history starts when the console does; a burst
//! larger than the broadcast buffer loses signals (counted, and said on
//! the account page).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::sink::WireSignal;

/// Bounded per-account signal history.
pub struct History {
    per_account: usize,
    accounts: usize,
    inner: Mutex<Inner>,
    lost: AtomicU64,
}

#[derive(Default)]
struct Inner {
    by_account: HashMap<(String, String), VecDeque<WireSignal>>,
    /// Accounts in the order they were first recorded (oldest first out).
    order: VecDeque<(String, String)>,
}

impl History {
    /// A history of `per_account` signals for up to `accounts` accounts.
    pub fn new(per_account: usize, accounts: usize) -> Self {
        History {
            per_account: per_account.max(1),
            accounts: accounts.max(1),
            inner: Mutex::new(Inner::default()),
            lost: AtomicU64::new(0),
        }
    }

    /// Records one signal.
    pub fn record(&self, s: WireSignal) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let key = (s.tenant_id.clone(), s.account_id.clone());
        if !inner.by_account.contains_key(&key) {
            while inner.order.len() >= self.accounts {
                if let Some(old) = inner.order.pop_front() {
                    inner.by_account.remove(&old);
                }
            }
            inner.order.push_back(key.clone());
        }
        let list = inner.by_account.entry(key).or_default();
        if list.len() >= self.per_account {
            list.pop_front();
        }
        list.push_back(s);
    }

    /// The account's signals, oldest first.
    pub fn of(&self, tenant_id: &str, account_id: &str) -> Vec<WireSignal> {
        let key = (tenant_id.to_string(), account_id.to_string());
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.by_account.get(&key).map(|l| l.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// Signals the history missed (the reader fell behind the broadcast).
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Reads `rx` into the history until `stop` turns true.
    pub async fn follow(
        self: Arc<Self>,
        mut rx: broadcast::Receiver<WireSignal>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                s = rx.recv() => match s {
                    Ok(s) => self.record(s),
                    Err(RecvError::Lagged(n)) => {
                        self.lost.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => break,
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v1 as pb;

    fn sig(account: &str, score: f64) -> WireSignal {
        Arc::new(pb::EnforcementSignal {
            tenant_id: "t".into(),
            account_id: account.into(),
            score,
            ..Default::default()
        })
    }

    #[test]
    fn keeps_the_last_signals_of_the_last_accounts() {
        let h = History::new(2, 2);
        for s in [0.1, 0.2, 0.3] {
            h.record(sig("a", s));
        }
        let scores: Vec<f64> = h.of("t", "a").iter().map(|s| s.score).collect();
        assert_eq!(scores, vec![0.2, 0.3]);
        h.record(sig("b", 0.5));
        h.record(sig("c", 0.6));
        assert!(h.of("t", "a").is_empty(), "the oldest account left");
        assert_eq!(h.of("t", "b").len(), 1);
        assert_eq!(h.of("t", "c").len(), 1);
    }
}
