//! Rules and overrides that change while the service runs. A reload builds
//! and validates the new rule set first, then swaps it in (arc-swap: the hot
//! path never pauses); on any error the running rules stay and the error,
//! with file:line, is logged, counted and returned.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::decide::{Override, OverrideError, Overrides};
use crate::engine::EngineContext;
use crate::rules::RuleSet;
use crate::service::reload_error::ReloadError;
use crate::telemetry::Telemetry;

/// Where the rules in force came from, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRules {
    /// A path, `built-in`, or `ReloadRules request`.
    pub source: String,
    /// Wall-clock load time, ms since the Unix epoch.
    pub loaded_at_ms: i64,
}

/// A file's modification time and length: a change of either is a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// Loads, validates and swaps rule sets.
pub struct RulesManager {
    ctx: Arc<EngineContext>,
    path: Option<PathBuf>,
    telemetry: Arc<Telemetry>,
    loaded: ArcSwap<LoadedRules>,
    stamp: Mutex<Option<FileStamp>>,
    reload_lock: Mutex<()>,
    compile_timeout: std::time::Duration,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How a rules file is named in `GetRuleSet` and the logs.
fn source_of(path: Option<&std::path::Path>) -> String {
    path.map_or_else(|| "built-in".to_string(), |p| p.display().to_string())
}

pub(crate) fn stamp_of(path: &std::path::Path) -> Option<FileStamp> {
    // `metadata` follows symlinks, so a Kubernetes ConfigMap's swapped
    // `..data` link shows up as a change.
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

impl RulesManager {
    /// A manager of the rules in `ctx`, which were loaded from `path`.
    pub fn new(ctx: Arc<EngineContext>, path: Option<PathBuf>, telemetry: Arc<Telemetry>) -> Self {
        let stamp = path.as_deref().and_then(stamp_of);
        let source = source_of(path.as_deref());
        let m = RulesManager {
            ctx,
            path,
            telemetry,
            loaded: ArcSwap::from_pointee(LoadedRules {
                source,
                loaded_at_ms: now_ms(),
            }),
            stamp: Mutex::new(stamp),
            reload_lock: Mutex::new(()),
            compile_timeout: std::time::Duration::from_millis(
                crate::config::limits::DEFAULT_RULES_COMPILE_TIMEOUT_MS,
            ),
        };
        m.telemetry.register_rules(&m.ctx.rules());
        m.telemetry.rules_loaded_at.set(now_ms() as f64 / 1e3);
        m
    }

    /// Gives up on a reload still compiling after `timeout` (the running rules stay).
    pub fn with_compile_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.compile_timeout = timeout;
        self
    }

    /// Reloads off the async runtime: the configured file (`yaml` None) or
    /// the YAML sent over the Admin API is compiled on a blocking thread,
    /// and a compile still running after the compile timeout is abandoned
    /// (its result is dropped). On any error the running rules stay, and
    /// the error is logged, counted and returned.
    pub async fn reload(
        self: &Arc<Self>,
        yaml: Option<String>,
    ) -> Result<Arc<RuleSet>, ReloadError> {
        let source = match &yaml {
            Some(_) => "ReloadRules request".to_string(),
            None => {
                if let (Some(p), Ok(mut s)) = (&self.path, self.stamp.lock()) {
                    *s = stamp_of(p);
                }
                source_of(self.path.as_deref())
            }
        };
        let path = self.path.clone();
        let task = tokio::task::spawn_blocking(move || match yaml {
            Some(src) => RuleSet::from_yaml(&src, "ReloadRules request"),
            None => crate::decide::files::load_rules(path.as_deref()),
        });
        let compiled = match tokio::time::timeout(self.compile_timeout, task).await {
            Ok(Ok(r)) => r.map_err(ReloadError::from),
            Ok(Err(join)) => Err(ReloadError::compiler_failed(join)),
            Err(_) => Err(ReloadError::timeout(
                source.clone(),
                self.compile_timeout.as_millis(),
            )),
        };
        let _guard = self
            .reload_lock
            .lock()
            .map_err(|_| ReloadError::poisoned("reload"))?;
        match compiled {
            Ok(rules) => Ok(self.swap(rules, source)),
            Err(e) => Err(self.refuse(e)),
        }
    }

    /// [`RulesManager::reload`] of the configured file when it changed since
    /// it was last read; None when nothing changed.
    pub async fn reload_if_changed(self: &Arc<Self>) -> Option<Result<Arc<RuleSet>, ReloadError>> {
        let path = self.path.as_deref()?;
        let now = stamp_of(path);
        let changed = self.stamp.lock().map(|s| *s != now).unwrap_or(false);
        if !changed || now.is_none() {
            return None;
        }
        Some(self.reload(None).await)
    }

    /// Where the rules in force came from.
    pub fn loaded(&self) -> Arc<LoadedRules> {
        self.loaded.load_full()
    }

    /// The version of the rules in force.
    pub fn version(&self) -> String {
        self.ctx.rules().version().to_string()
    }

    /// Hits of each rule of `rules` since its id was first installed, in
    /// rule order (counted once, in telemetry).
    pub fn hit_counts(&self, rules: &RuleSet) -> Vec<u64> {
        self.telemetry.rule_hit_counts(rules)
    }

    /// The configured rules file, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    fn swap(&self, rules: RuleSet, source: String) -> Arc<RuleSet> {
        let rules = Arc::new(rules);
        // Counters first, so hits of the new rules are never dropped.
        self.telemetry.register_rules(&rules);
        self.ctx.swap_rules(rules.clone());
        self.loaded.store(Arc::new(LoadedRules {
            source,
            loaded_at_ms: now_ms(),
        }));
        self.telemetry.reloads_ok.increment(1);
        self.telemetry.rules_loaded_at.set(now_ms() as f64 / 1e3);
        tracing::info!(
            version = rules.version(),
            rules = rules.rules().len(),
            "rules loaded"
        );
        rules
    }

    fn refuse(&self, why: ReloadError) -> ReloadError {
        self.telemetry.reloads_failed.increment(1);
        tracing::error!(error = %why, "rules reload refused; the running rules stay in force");
        why
    }
}

/// Analyst overrides set and cleared over the Admin API, written back to
/// the overrides file when one is configured so they survive restarts.
pub struct OverridesManager {
    ctx: Arc<EngineContext>,
    path: Option<PathBuf>,
    lock: Mutex<()>,
    /// With Kafka: the fleet's overrides topic (then the file is not written).
    topic: Option<Arc<crate::service::overrides_topic::OverridesTopic>>,
}

impl OverridesManager {
    /// A manager of the overrides in `ctx`, persisted to `path`.
    pub fn new(ctx: Arc<EngineContext>, path: Option<PathBuf>) -> Self {
        OverridesManager {
            ctx,
            path,
            lock: Mutex::new(()),
            topic: None,
        }
    }

    /// Changes go to the fleet's overrides `topic` (acknowledged before a
    /// call returns) instead of the file.
    pub fn with_topic(
        mut self,
        topic: Arc<crate::service::overrides_topic::OverridesTopic>,
    ) -> Self {
        self.topic = Some(topic);
        self
    }

    fn publish(
        &self,
        tenant_id: &str,
        account_id: &str,
        o: Option<&Override>,
    ) -> Result<(), ReloadError> {
        match &self.topic {
            Some(t) => t
                .publish(tenant_id, account_id, o)
                .map_err(|e| ReloadError::topic(e.to_string())),
            None => Ok(()),
        }
    }

    fn update(
        &self,
        f: impl FnOnce(&mut Overrides) -> Result<bool, OverrideError>,
    ) -> Result<bool, ReloadError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| ReloadError::poisoned("overrides"))?;
        let mut next = (*self.ctx.overrides()).clone();
        let changed = f(&mut next)?;
        if let (Some(p), None) = (&self.path, &self.topic) {
            next.save(p)?;
        }
        self.ctx.swap_overrides(next);
        Ok(changed)
    }

    /// Adds or replaces an override (the reason is required).
    pub fn set(&self, o: Override) -> Result<(), ReloadError> {
        // Checked before it is logged: a hostile reason never reaches the log.
        crate::decide::overrides::check_override(&o)?;
        tracing::info!(tenant = %o.tenant_id, account = %o.account_id, mode = ?o.mode, reason = %o.reason, "override set");
        self.publish(&o.tenant_id, &o.account_id, Some(&o))?;
        self.update(|all| all.set(o).map(|()| true)).map(|_| ())
    }

    /// Removes an override; returns whether one was in force.
    pub fn clear(
        &self,
        tenant_id: &str,
        account_id: &str,
        reason: &str,
    ) -> Result<bool, ReloadError> {
        crate::decide::overrides::check_reason(reason)?;
        crate::decide::overrides::check_account(tenant_id, account_id)?;
        tracing::info!(tenant = %tenant_id, account = %account_id, reason = %reason, "override cleared");
        self.publish(tenant_id, account_id, None)?;
        self.update(|all| Ok(all.clear(tenant_id, account_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::decide::CountryPolicy;
    use crate::engine::EngineConfig;
    use std::time::Duration;

    fn manager(timeout: Duration) -> (Arc<RulesManager>, Arc<EngineContext>) {
        let ctx = Arc::new(EngineContext::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::enforce_everywhere(),
            Arc::new(ManualClock::new(0)),
            EngineConfig::default(),
        ));
        let telemetry = Telemetry::new();
        let m = RulesManager::new(ctx.clone(), None, telemetry).with_compile_timeout(timeout);
        (Arc::new(m), ctx)
    }

    const OTHER: &str = "version: other\nrules:\n  - {id: r, version: 1, description: d, score: 0.5, when: msg.inbound}\n";

    #[tokio::test]
    async fn a_compile_over_the_time_limit_is_abandoned_and_the_old_rules_stay() {
        // A zero limit expires before the blocking compile can answer.
        let (m, ctx) = manager(Duration::ZERO);
        let before = ctx.rules().version().to_string();
        let big = include_str!("../../rules/default.yaml").to_string();
        let e = m.reload(Some(big)).await.expect_err("timed out");
        assert!(e.is_invalid_input());
        assert_eq!(
            e.to_string(),
            "ReloadRules request: compiling the rules took longer than 0 ms (limits.rules_compile_timeout_ms)"
        );
        assert_eq!(ctx.rules().version(), before);

        let (m, ctx) = manager(Duration::from_secs(600));
        let e = m
            .reload(Some("rules: [".into()))
            .await
            .expect_err("bad yaml")
            .to_string();
        assert!(e.starts_with("ReloadRules request:"), "{e}");
        assert_eq!(ctx.rules().version(), before);
        let swapped = m.reload(Some(OTHER.into())).await.expect("compiles");
        assert!(swapped.version().starts_with("other@"));
        assert_eq!(ctx.rules().version(), swapped.version());
    }

    #[test]
    fn override_refusals_say_whose_fault_they_are() {
        let (_, ctx) = manager(Duration::from_secs(600));
        let dir = tempfile::tempdir().expect("dir");
        let o = Override {
            tenant_id: "t".into(),
            account_id: "a".into(),
            mode: crate::decide::OverrideMode::Deny,
            reason: "appeal 7".into(),
            expires_at_ms: None,
        };
        // The file's directory does not exist: the service's fault.
        let m = OverridesManager::new(ctx.clone(), Some(dir.path().join("no/such/o.yaml")));
        let e = m.set(o.clone()).expect_err("cannot write");
        assert!(!e.is_invalid_input(), "{e}");
        assert!(e.to_string().contains("no/such/o.yaml"), "{e}");
        assert!(ctx.overrides().is_empty(), "nothing swapped in");
        // A blank reason or a bad id: the caller's.
        let m = OverridesManager::new(ctx.clone(), Some(dir.path().join("o.yaml")));
        let blank = Override {
            reason: " ".into(),
            ..o.clone()
        };
        assert!(m.set(blank).expect_err("no reason").is_invalid_input());
        let e = m.clear("t", "a\n", "why").expect_err("bad id");
        assert!(e.is_invalid_input());
        assert_eq!(
            e.to_string(),
            "override: field `account_id` contains a control character or NUL"
        );
        m.set(o).expect("kept");
        assert_eq!(m.clear("t", "a", "appeal upheld").ok(), Some(true));
    }
}
