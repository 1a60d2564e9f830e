//! The country policy while the service runs: reloaded exactly like the
//! rules (file change, SIGHUP, Admin `ReloadPolicy`). A reload parses and
//! validates the whole file first, then swaps it in; on any error the
//! policy in force stays and the error, with file:line, is logged, counted
//! and returned.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::decide::CountryPolicy;
use crate::engine::EngineContext;
use crate::service::reload::{now_ms, stamp_of, FileStamp};
use crate::service::reload_error::ReloadError;
use crate::telemetry::Telemetry;

/// Where the policy in force came from, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPolicy {
    /// A path, `built-in`, or `ReloadPolicy request`.
    pub source: String,
    /// Wall-clock load time, ms since the Unix epoch.
    pub loaded_at_ms: i64,
}

/// Loads, validates and swaps country policies.
pub struct PolicyManager {
    ctx: Arc<EngineContext>,
    path: Option<PathBuf>,
    telemetry: Arc<Telemetry>,
    loaded: ArcSwap<LoadedPolicy>,
    stamp: Mutex<Option<FileStamp>>,
    lock: Mutex<()>,
}

fn source_of(path: Option<&Path>) -> String {
    path.map_or_else(|| "built-in".to_string(), |p| p.display().to_string())
}

impl PolicyManager {
    /// A manager of the policy in `ctx`, which was loaded from `path`.
    pub fn new(ctx: Arc<EngineContext>, path: Option<PathBuf>, telemetry: Arc<Telemetry>) -> Self {
        let stamp = path.as_deref().and_then(stamp_of);
        telemetry.policy_loaded_at.set(now_ms() as f64 / 1e3);
        PolicyManager {
            loaded: ArcSwap::from_pointee(LoadedPolicy {
                source: source_of(path.as_deref()),
                loaded_at_ms: now_ms(),
            }),
            ctx,
            path,
            telemetry,
            stamp: Mutex::new(stamp),
            lock: Mutex::new(()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<CountryPolicy> {
        self.ctx.policy()
    }

    /// Where the policy in force came from.
    pub fn loaded(&self) -> Arc<LoadedPolicy> {
        self.loaded.load_full()
    }

    fn swap(&self, policy: CountryPolicy, source: String) -> Arc<CountryPolicy> {
        let old = self.ctx.policy();
        tracing::info!(
            old_version = old.version(),
            version = policy.version(),
            outcomes = policy.entries().len(),
            source = %source,
            "country policy loaded"
        );
        self.ctx.swap_policy(policy);
        self.loaded.store(Arc::new(LoadedPolicy {
            source,
            loaded_at_ms: now_ms(),
        }));
        self.telemetry.policy_reloads_ok.increment(1);
        self.telemetry.policy_loaded_at.set(now_ms() as f64 / 1e3);
        self.ctx.policy()
    }

    fn refuse(&self, why: ReloadError) -> ReloadError {
        self.telemetry.policy_reloads_failed.increment(1);
        tracing::error!(error = %why, "country policy reload refused; the policy in force stays");
        why
    }

    /// Re-reads the configured file (the built-in policy when none).
    pub fn reload_file(&self) -> Result<Arc<CountryPolicy>, ReloadError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| ReloadError::poisoned("policy"))?;
        if let Some(p) = &self.path {
            if let Ok(mut s) = self.stamp.lock() {
                *s = stamp_of(p);
            }
        }
        match crate::decide::files::load_policy(self.path.as_deref()) {
            Ok(p) => Ok(self.swap(p, source_of(self.path.as_deref()))),
            Err(e) => Err(self.refuse(e.into())),
        }
    }

    /// Validates and loads a policy sent over the Admin API.
    pub fn reload_yaml(&self, src: &str) -> Result<Arc<CountryPolicy>, ReloadError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| ReloadError::poisoned("policy"))?;
        match CountryPolicy::from_yaml(src, "ReloadPolicy request") {
            Ok(p) => Ok(self.swap(p, "ReloadPolicy request".to_string())),
            Err(e) => Err(self.refuse(e.into())),
        }
    }

    /// Reloads when the configured file changed since it was last read;
    /// `None` when nothing changed.
    pub fn reload_if_changed(&self) -> Option<Result<Arc<CountryPolicy>, ReloadError>> {
        let path = self.path.as_deref()?;
        let now = stamp_of(path);
        let changed = self.stamp.lock().map(|s| *s != now).unwrap_or(false);
        if !changed || now.is_none() {
            return None;
        }
        Some(self.reload_file())
    }
}
