//! Rules and overrides that change while the service runs. A reload builds
//! and validates the new rule set first, then swaps it in (arc-swap: the hot
//! path never pauses); on any error the running rules stay and the error,
//! with file:line, is logged, counted and returned.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::decide::{Override, Overrides};
use crate::engine::EngineContext;
use crate::rules::RuleSet;
use crate::telemetry::Telemetry;

/// Where the rules in force came from, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRules {
    /// A path, `built-in`, or `ReloadRules request`.
    pub source: String,
    /// Wall-clock load time, ms since the Unix epoch.
    pub loaded_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
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
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How a rules file is named in `GetRuleSet` and the logs.
fn source_of(path: Option<&std::path::Path>) -> String {
    path.map_or_else(|| "built-in".to_string(), |p| p.display().to_string())
}

fn stamp_of(path: &std::path::Path) -> Option<FileStamp> {
    // `metadata` follows symlinks, so a Kubernetes ConfigMap's swapped
    // `..data` link shows up as a change.
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

impl RulesManager {
    /// Loads the initial rules (`path`, or the built-in pack) and registers their metrics.
    pub fn load_initial(path: Option<&std::path::Path>) -> Result<RuleSet, String> {
        match path {
            Some(p) => RuleSet::load(p).map_err(|e| e.to_string()),
            None => Ok(RuleSet::default_pack()),
        }
    }

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
        };
        m.telemetry.register_rules(&m.ctx.rules());
        m.telemetry.rules_loaded_at.set(now_ms() as f64 / 1e3);
        m
    }

    /// Where the rules in force came from.
    pub fn loaded(&self) -> Arc<LoadedRules> {
        self.loaded.load_full()
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

    fn refuse(&self, why: String) -> String {
        self.telemetry.reloads_failed.increment(1);
        tracing::error!(error = %why, "rules reload refused; the running rules stay in force");
        why
    }

    /// Re-reads the configured file (the built-in pack when none).
    pub fn reload_file(&self) -> Result<Arc<RuleSet>, String> {
        let _guard = self
            .reload_lock
            .lock()
            .map_err(|_| "reload lock poisoned".to_string())?;
        if let Some(p) = &self.path {
            if let Ok(mut s) = self.stamp.lock() {
                *s = stamp_of(p);
            }
        }
        match Self::load_initial(self.path.as_deref()) {
            Ok(rules) => Ok(self.swap(rules, source_of(self.path.as_deref()))),
            Err(e) => Err(self.refuse(e)),
        }
    }

    /// Validates and loads rules sent over the Admin API.
    pub fn reload_yaml(&self, src: &str) -> Result<Arc<RuleSet>, String> {
        let _guard = self
            .reload_lock
            .lock()
            .map_err(|_| "reload lock poisoned".to_string())?;
        match RuleSet::from_yaml(src, "ReloadRules request") {
            Ok(rules) => Ok(self.swap(rules, "ReloadRules request".to_string())),
            Err(e) => Err(self.refuse(e.to_string())),
        }
    }

    /// Reloads when the configured file changed since it was last read.
    /// Returns None when nothing changed.
    pub fn reload_if_changed(&self) -> Option<Result<Arc<RuleSet>, String>> {
        let path = self.path.as_deref()?;
        let now = stamp_of(path);
        let changed = self.stamp.lock().map(|s| *s != now).unwrap_or(false);
        if !changed || now.is_none() {
            return None;
        }
        Some(self.reload_file())
    }
}

/// Analyst overrides set and cleared over the Admin API, written back to
/// the overrides file when one is configured so they survive restarts.
pub struct OverridesManager {
    ctx: Arc<EngineContext>,
    path: Option<PathBuf>,
    lock: Mutex<()>,
}

impl OverridesManager {
    /// A manager of the overrides in `ctx`, persisted to `path`.
    pub fn new(ctx: Arc<EngineContext>, path: Option<PathBuf>) -> Self {
        OverridesManager {
            ctx,
            path,
            lock: Mutex::new(()),
        }
    }

    fn update(
        &self,
        f: impl FnOnce(&mut Overrides) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| "overrides lock poisoned".to_string())?;
        let mut next = (*self.ctx.overrides()).clone();
        let changed = f(&mut next)?;
        if let Some(p) = &self.path {
            next.save(p)?;
        }
        self.ctx.swap_overrides(next);
        Ok(changed)
    }

    /// Adds or replaces an override (the reason is required).
    pub fn set(&self, o: Override) -> Result<(), String> {
        // Checked before it is logged: a hostile reason never reaches the log.
        crate::decide::overrides::check_override(&o)?;
        tracing::info!(tenant = %o.tenant_id, account = %o.account_id, mode = ?o.mode, reason = %o.reason, "override set");
        self.update(|all| all.set(o).map(|()| true)).map(|_| ())
    }

    /// Removes an override; returns whether one was in force.
    pub fn clear(&self, tenant_id: &str, account_id: &str, reason: &str) -> Result<bool, String> {
        if reason.trim().is_empty() {
            return Err("clearing an override needs a reason".into());
        }
        crate::decide::overrides::check_reason(reason)?;
        crate::convert::check_id("tenant_id", tenant_id)
            .and_then(|()| crate::convert::check_id("account_id", account_id))
            .map_err(|e| e.to_string())?;
        tracing::info!(tenant = %tenant_id, account = %account_id, reason = %reason, "override cleared");
        self.update(|all| Ok(all.clear(tenant_id, account_id)))
    }
}
