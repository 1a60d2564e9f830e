//! What every event reads from the shared [`EngineContext`]: the rules, the
//! country policy and the overrides. A worker keeps the last ones it loaded
//! in its [`super::Scratch`], with the context's version they were loaded
//! at, and loads them again only when a swap has changed that version: one
//! atomic read per event instead of an `ArcSwap` load (and its guard) per
//! part and per aggregate level.
//!
//! A swap stores the new part first and the new version after it, with
//! release ordering; a worker reads the version with acquire ordering and
//! then the parts. So a worker that sees the new version loads the new
//! part; one that still sees the old version uses what it loaded before,
//! as if its event had come just before the swap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::EngineContext;
use crate::decide::{CountryPolicy, Overrides};
use crate::rules::RuleSet;

/// A version of some context's shared parts, unique in the process (so one
/// scratch used with two contexts never mistakes one's parts for the
/// other's).
pub(super) fn next_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The shared parts as one worker last loaded them.
pub(super) struct Loaded {
    /// The context's version when they were loaded.
    version: u64,
    /// The rule set.
    pub rules: Arc<RuleSet>,
    /// The country policy.
    pub policy: Arc<CountryPolicy>,
    /// The overrides.
    pub overrides: Arc<Overrides>,
}

impl EngineContext {
    /// Marks a swap of some shared part: called after the part is stored.
    pub(super) fn swapped(&self) {
        self.version.store(next_version(), Ordering::Release);
    }

    /// The shared parts in force: `cached` when nothing was swapped since
    /// it was loaded from this context, else loaded anew.
    pub(super) fn loaded(&self, cached: Option<Loaded>) -> Loaded {
        let version = self.version.load(Ordering::Acquire);
        match cached {
            Some(l) if l.version == version => l,
            _ => Loaded {
                version,
                rules: self.rules.load_full(),
                policy: self.policy.load_full(),
                overrides: self.overrides.load_full(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::EngineConfig;

    fn context() -> EngineContext {
        EngineContext::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::default(),
            Arc::new(ManualClock::new(0)),
            EngineConfig::default(),
        )
    }

    #[test]
    fn each_swap_is_seen_by_the_next_load_and_nothing_else_reloads() {
        let ctx = context();
        let first = ctx.loaded(None);
        let kept = ctx.loaded(Some(first));
        assert!(
            Arc::ptr_eq(&kept.rules, &ctx.rules()),
            "nothing swapped: the same parts"
        );

        let rules = Arc::new(RuleSet::default_pack());
        ctx.swap_rules(rules.clone());
        let after_rules = ctx.loaded(Some(kept));
        assert!(Arc::ptr_eq(&after_rules.rules, &rules), "the new rules");

        ctx.swap_policy(CountryPolicy::default());
        let after_policy = ctx.loaded(Some(after_rules));
        assert!(
            Arc::ptr_eq(&after_policy.policy, &ctx.policy()),
            "the new policy"
        );

        ctx.swap_overrides(crate::decide::Overrides::default());
        let after_overrides = ctx.loaded(Some(after_policy));
        assert!(
            Arc::ptr_eq(&after_overrides.overrides, &ctx.overrides()),
            "the new overrides"
        );
        assert!(Arc::ptr_eq(&after_overrides.rules, &rules), "rules kept");
    }

    #[test]
    fn parts_loaded_from_one_context_are_not_taken_for_another_s() {
        let (a, b) = (context(), context());
        let from_a = a.loaded(None);
        let at_b = b.loaded(Some(from_a));
        assert!(Arc::ptr_eq(&at_b.rules, &b.rules()));
        assert!(!Arc::ptr_eq(&at_b.rules, &a.rules()));
    }
}
