//! The fence against duplicate signals after a restart: the signal ids
//! already on the signals topic, produced after the snapshots this instance
//! resumed from. Re-processing the events since those snapshots makes the
//! same signals again (the ids are deterministic); each is dropped once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Signal ids already on the signals topic, produced after the snapshots
/// this instance resumed from: re-processing makes them again, and they
/// must not be produced twice.
#[derive(Default)]
pub struct Fence {
    ids: Mutex<HashSet<String>>,
    armed: AtomicBool,
}

impl Fence {
    /// Adds `ids` (read from the signals topic after a restore) to the fence.
    pub fn add(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut s) = self.ids.lock() {
            s.extend(ids);
            self.armed.store(!s.is_empty(), Ordering::Release);
        }
    }

    /// True (once) when `signal_id` is fenced: it was produced before a restart.
    pub fn take(&self, signal_id: &str) -> bool {
        if !self.armed.load(Ordering::Acquire) {
            return false;
        }
        let Ok(mut s) = self.ids.lock() else {
            return false;
        };
        let hit = s.remove(signal_id);
        self.armed.store(!s.is_empty(), Ordering::Release);
        hit
    }
}
