//! The engine: one event through state -> features -> rules -> decision.
//! No I/O; time comes from the events and an injected [`Clock`], so the
//! same events always give the same signals.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use xxhash_rust::xxh3::xxh3_64;

use crate::clock::Clock;
use crate::decide::signal::signal_id;
use crate::decide::{
    Account, AccountDecision, Action, CountryPolicy, Evidence, LadderInput, Overrides, Signal,
};
use crate::event::{Direction, Event, MessageKind, Sender};
use crate::features::catalog::Group;
use crate::features::{extract, extract_delivery, ExtractInput, FeatureVector};
use crate::limits::{EventTimeError, EventTimeLimits};
use crate::rules::{RuleSet, Subject};
use crate::scan::ScanFacts;
use crate::state::{key_of, CapEvictions, StateLimits, StateStore, StoreStats, WabaStore};

mod delivery;
mod evidence;
mod group;
mod loaded;

pub(crate) use evidence::applied_policy_of;
pub use evidence::{applied_policy, rule_evidence};
pub use group::TOP_NUMBERS;

/// The engine's state store: behaviour plus each account's decision state.
pub type Store = StateStore<AccountDecision>;

/// The engine's state of one aggregate level (per WABA, or per business
/// portfolio): the aggregate windows, the numbers, the decision state.
pub type Wabas = WabaStore<AccountDecision>;

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long idle state is kept.
    pub limits: StateLimits,
    /// Event time between two sweeps of idle state.
    pub sweep_every_ms: i64,
    /// The window of event time a shard accepts.
    pub event_time: EventTimeLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: StateLimits::default(),
            sweep_every_ms: 5 * 60_000,
            event_time: EventTimeLimits::default(),
        }
    }
}

/// Per-thread scratch: reused buffers, so the hot path does not allocate.
#[derive(Default)]
pub struct Scratch {
    features: FeatureVector,
    fired: Vec<u16>,
    /// [`RuleSet::serial`] of the set `fired` indexes into.
    rule_set: u64,
    charged: bool,
    /// The event's WABA, then portfolio, after it: sessions and users
    /// (24 h), events (1 h).
    group_evidence: [(u64, u64, u64); 2],
    /// The rules, policy and overrides the last event read.
    loaded: Option<loaded::Loaded>,
}

impl Scratch {
    /// The features of the last message processed with this scratch (a
    /// delivery report computes none: they are left as they were).
    pub fn features(&self) -> &FeatureVector {
        &self.features
    }

    /// Indexes (into [`RuleSet::rules`]) of the rules that fired on the last
    /// event processed with this scratch; empty for a duplicate or late event.
    pub fn fired(&self) -> &[u16] {
        &self.fired
    }

    /// The [`RuleSet::serial`] of the rule set [`Scratch::fired`] indexes
    /// into (0 before the first evaluation). A reload can swap the rules
    /// between two events: hits are credited by this identity, never by
    /// the set in force when they are counted.
    pub fn rule_set(&self) -> u64 {
        self.rule_set
    }

    /// Whether the last event was a message Meta charges the AI Provider for:
    /// a non-template outbound message of an account with CHARGE in force.
    pub fn charged(&self) -> bool {
        self.charged
    }
}

/// What processing one event did. `S` is the signal's form: the engine's
/// own (boxed: rare and large), or the wire form once the pipeline has
/// published it ([`crate::pipeline::Handled`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<S = Box<Signal>> {
    /// Processed; a signal when the action in force changed.
    Processed(Option<S>),
    /// The event id was seen recently in its conversation: ignored.
    Duplicate,
    /// Older than the account's 1-hour window: counted in the 1-minute and
    /// 24-hour windows that still cover it, not in the 1-hour one; no decision.
    Late,
    /// Outside the event-time window the shard accepts: not processed at all.
    Refused(EventTimeError),
}

/// Counters of everything the engine did since it started.
#[derive(Debug, Default)]
pub struct EngineCounters {
    events: AtomicU64,
    duplicates: AtomicU64,
    late: AtomicU64,
    refused: AtomicU64,
    signals: [AtomicU64; 6],
}

/// A snapshot of [`EngineCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events processed (duplicates and late ones included).
    pub events: u64,
    /// Duplicates ignored.
    pub duplicates: u64,
    /// Late events.
    pub late: u64,
    /// Events refused for their time (not counted in `events`).
    pub refused: u64,
    /// Signals by action: FLAG, THROTTLE, SUSPEND, RESTORE, CHARGE.
    pub signals: [u64; 5],
}

/// What every shard of an engine shares: the rules, the country policy,
/// the overrides (each swapped atomically, never pausing the hot path), the
/// clock and the settings.
pub struct EngineContext {
    rules: ArcSwap<RuleSet>,
    policy: ArcSwap<CountryPolicy>,
    overrides: ArcSwap<Overrides>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    cap_evictions: Arc<CapEvictions>,
    /// Changed after every swap (see [`loaded`]).
    version: AtomicU64,
}

impl EngineContext {
    /// A context over these rules, policy and clock, with no overrides.
    pub fn new(
        rules: Arc<RuleSet>,
        policy: CountryPolicy,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        EngineContext {
            rules: ArcSwap::new(rules),
            policy: ArcSwap::from_pointee(policy),
            overrides: ArcSwap::from_pointee(Overrides::default()),
            clock,
            config,
            cap_evictions: Arc::default(),
            version: AtomicU64::new(loaded::next_version()),
        }
    }

    /// Entries the per-tenant caps evicted, over every shard of this context.
    pub fn cap_evictions(&self) -> &CapEvictions {
        &self.cap_evictions
    }

    /// The rule set in use.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.load_full()
    }

    /// Swaps in a new rule set (already validated and compiled).
    pub fn swap_rules(&self, rules: Arc<RuleSet>) {
        self.rules.store(rules);
        self.swapped();
    }

    /// Swaps in a new country policy.
    pub fn swap_policy(&self, policy: CountryPolicy) {
        self.policy.store(Arc::new(policy));
        self.swapped();
    }

    /// The country policy in use.
    pub fn policy(&self) -> Arc<CountryPolicy> {
        self.policy.load_full()
    }

    /// Swaps in new overrides.
    pub fn swap_overrides(&self, overrides: Overrides) {
        self.overrides.store(Arc::new(overrides));
        self.swapped();
    }

    /// The overrides in force.
    pub fn overrides(&self) -> Arc<Overrides> {
        self.overrides.load_full()
    }

    /// The clock decisions are stamped with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The settings.
    pub fn config(&self) -> EngineConfig {
        self.config
    }
}

/// The enforcement engine: one shard of state over a shared
/// [`EngineContext`]. Share it between threads (`&self` everywhere); give
/// each thread its own [`Scratch`]. A service keeps one engine per input
/// partition, all over one context.
pub struct Engine {
    ctx: Arc<EngineContext>,
    store: Store,
    wabas: Wabas,
    portfolios: Wabas,
    counters: EngineCounters,
    watermark_ms: AtomicI64,
    next_sweep_ms: AtomicI64,
}

impl Engine {
    /// An engine with its own context over these rules, policy and clock, with no overrides.
    pub fn new(
        rules: Arc<RuleSet>,
        policy: CountryPolicy,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        Engine::with_context(Arc::new(EngineContext::new(rules, policy, clock, config)))
    }

    /// An empty shard over a shared context.
    pub fn with_context(ctx: Arc<EngineContext>) -> Self {
        let limits = ctx.config.limits;
        Engine::from_parts(ctx, Store::new(limits), i64::MIN, i64::MIN)
    }

    /// A shard over a shared context with state restored from a snapshot:
    /// the store, the event-time watermark and the next sweep time.
    pub fn from_parts(
        ctx: Arc<EngineContext>,
        store: Store,
        watermark_ms: i64,
        next_sweep_ms: i64,
    ) -> Self {
        let mut store = store;
        store.count_cap_evictions_in(ctx.cap_evictions.clone());
        let mut wabas = Wabas::new(ctx.config.limits);
        wabas.count_cap_evictions_in(ctx.cap_evictions.clone());
        let mut portfolios = Wabas::new(ctx.config.limits);
        portfolios.count_cap_evictions_in(ctx.cap_evictions.clone());
        Engine {
            ctx,
            store,
            wabas,
            portfolios,
            counters: EngineCounters::default(),
            watermark_ms: AtomicI64::new(watermark_ms),
            next_sweep_ms: AtomicI64::new(next_sweep_ms),
        }
    }

    /// What a snapshot needs: the store, the watermark and the next sweep time.
    pub fn parts(&self) -> (&Store, i64, i64) {
        (
            &self.store,
            self.watermark_ms.load(Ordering::Relaxed),
            self.next_sweep_ms.load(Ordering::Relaxed),
        )
    }

    /// This shard with its per-WABA state replaced by `wabas` (restored
    /// from a snapshot).
    pub fn with_wabas(mut self, wabas: Wabas) -> Self {
        self.wabas = wabas;
        self.wabas
            .count_cap_evictions_in(self.ctx.cap_evictions.clone());
        self
    }

    /// The per-WABA state (read access for snapshots, reports and tests).
    pub fn wabas(&self) -> &Wabas {
        &self.wabas
    }

    /// This shard with its per-portfolio state replaced by `portfolios`
    /// (restored from a snapshot).
    pub fn with_portfolios(mut self, portfolios: Wabas) -> Self {
        self.portfolios = portfolios;
        self.portfolios
            .count_cap_evictions_in(self.ctx.cap_evictions.clone());
        self
    }

    /// The per-portfolio state (read access for snapshots, reports and tests).
    pub fn portfolios(&self) -> &Wabas {
        &self.portfolios
    }

    /// The shared context.
    pub fn context(&self) -> &Arc<EngineContext> {
        &self.ctx
    }

    /// The rule set in use.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.ctx.rules()
    }

    /// Swaps in a new rule set (already validated and compiled), for every shard of the context.
    pub fn swap_rules(&self, rules: Arc<RuleSet>) {
        self.ctx.swap_rules(rules);
    }

    /// Swaps in a new country policy, for every shard of the context.
    pub fn swap_policy(&self, policy: CountryPolicy) {
        self.ctx.swap_policy(policy);
    }

    /// Swaps in new overrides, for every shard of the context.
    pub fn swap_overrides(&self, overrides: Overrides) {
        self.ctx.swap_overrides(overrides);
    }

    /// The overrides in force.
    pub fn overrides(&self) -> Arc<Overrides> {
        self.ctx.overrides()
    }

    /// The state store (read access for reports and admin).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Sizes of the state.
    pub fn store_stats(&self) -> StoreStats {
        self.store.stats()
    }

    /// Counters since start.
    pub fn stats(&self) -> EngineStats {
        let c = &self.counters;
        let mut signals = [0; 5];
        for (i, a) in Action::SIGNALLED.iter().enumerate() {
            signals[i] = c.signals[a.index()].load(Ordering::Relaxed);
        }
        EngineStats {
            events: c.events.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            late: c.late.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            signals,
        }
    }

    /// The latest event time seen.
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms.load(Ordering::Relaxed)
    }

    /// Whether an event at `ts_ms` lies inside the window of event time
    /// this shard accepts now ([`EngineConfig::event_time`]).
    pub fn check_event_time(&self, ts_ms: i64) -> Result<(), EventTimeError> {
        let limits = self.ctx.config.event_time;
        limits.check(ts_ms, self.watermark_ms(), self.ctx.clock.now_ms())
    }

    /// Processes one event. An event outside the shard's event-time window
    /// is refused before it touches any state.
    pub fn process(&self, e: &Event, scratch: &mut Scratch) -> Outcome {
        scratch.fired.clear();
        scratch.charged = false;
        let ctx = &*self.ctx;
        // One clock read per event: the window check and the overrides.
        let now_ms = ctx.clock.now_ms();
        let window = ctx.config.event_time;
        if let Err(why) = window.check(e.timestamp_ms, self.watermark_ms(), now_ms) {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Outcome::Refused(why);
        }
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        if let Some(d) = e.delivery {
            return self.observe_delivery(e, d);
        }
        let loaded = ctx.loaded(scratch.loaded.take());
        let outcome = self.process_message(e, &loaded, now_ms, scratch);
        scratch.loaded = Some(loaded);
        outcome
    }

    // Long because it is the hot path in the order of the flow (scan, state,
    // features, rules, WABA, decide), one pass over one event holding the
    // shard's entries; each stage is a call, the glue between them is here.
    /// Processes one message (inside the event-time window) with the
    /// shared parts in force.
    fn process_message(
        &self,
        e: &Event,
        loaded: &loaded::Loaded,
        now_ms: i64,
        scratch: &mut Scratch,
    ) -> Outcome {
        let rules = &loaded.rules;
        scratch.rule_set = rules.serial();
        let scan = if e.has_text() {
            rules.matcher().scan(&e.text, e.direction)
        } else {
            ScanFacts::default()
        };

        let conv_key = key_of(&e.tenant_id, &e.conversation_id);
        let id_hash = xxh3_64(e.event_id.as_bytes());
        let (conv_update, conv_view) = self.store.with_conversation(conv_key, &e.tenant_id, |c| {
            let u = c.observe(e, id_hash, scan.topics);
            (u, c.view(e.timestamp_ms))
        });
        if conv_update.duplicate {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
            return Outcome::Duplicate;
        }
        self.watermark_ms
            .fetch_max(e.timestamp_ms, Ordering::Relaxed);
        self.maybe_sweep(e.timestamp_ms);

        let account_key = key_of(&e.tenant_id, &e.account_id);
        let user_hash = xxh3_64(e.user_id.as_bytes());
        let seen = group::Seen {
            conv: &conv_update,
            scan: &scan,
            user_hash,
            // Hashed once for both levels, and only when the event has one.
            account_hash: if e.waba_id.is_empty() && e.business_id.is_empty() {
                0
            } else {
                xxh3_64(e.account_id.as_bytes())
            },
        };
        let mut groups = [None; 2];
        for g in Group::ALL {
            groups[g as usize] = self.observe_group(g, e, &seen, rules, scratch);
        }
        let policy = &loaded.policy;
        let overrides = &loaded.overrides;
        let override_in_force = overrides.get_by_key(account_key, now_ms);
        let outcome = self
            .store
            .with_account(account_key, &e.tenant_id, &e.account_id, |acct| {
                if !acct.behaviour.observe(e, &conv_update, &scan, user_hash) {
                    return Outcome::Late;
                }
                let at_ms = acct.behaviour.last_ms();
                let totals = acct.behaviour.totals(at_ms);
                extract(
                    &ExtractInput {
                        event: e,
                        conv_update: &conv_update,
                        conv: &conv_view,
                        totals: &totals,
                        scan: &scan,
                        pattern_sides: rules.pattern_sides(),
                    },
                    &mut scratch.features,
                );
                let delivery = acct.delivery.as_mut().map(|d| d.totals(at_ms));
                extract_delivery(delivery.as_ref(), &mut scratch.features);
                rules.evaluate(scratch.features.values(), &mut scratch.fired);
                acct.slot.activity.record(
                    rules,
                    &scratch.fired,
                    Subject::Account,
                    scratch.features.values(),
                    at_ms,
                );
                let score = acct.slot.activity.score(rules);
                let sessions = totals.sessions_day();
                let users = totals.users_day_rounded();
                let country = acct.behaviour.main_country();
                let outbound = e.direction == Direction::Outbound;
                if outbound && e.sender == Sender::MetaBusinessAgent {
                    acct.slot.policy.saw_business_agent(e.timestamp_ms);
                }
                let applied = applied_policy(policy, acct, at_ms);
                let input = LadderInput {
                    score,
                    sessions,
                    users,
                    now_ms: at_ms,
                    override_mode: override_in_force.map(|o| o.mode),
                    policy: applied.outcome,
                };
                let step = acct.slot.decision.step(rules.decision(), &input);
                if outbound
                    && e.kind != MessageKind::Template
                    && acct.slot.decision.action() == Action::Charge
                {
                    acct.slot.policy.charge(e.timestamp_ms);
                    scratch.charged = true;
                }
                let Some(t) = step else {
                    return Outcome::Processed(None);
                };
                let reason = match override_in_force {
                    Some(o) => format!("{}: {}", t.reason, o.reason),
                    None => t.reason.to_string(),
                };
                let evidence = Evidence {
                    rules: rule_evidence(&acct.slot.activity, rules),
                    conversations: sessions,
                    users,
                    events: totals.events_hour(),
                    reason,
                };
                Outcome::Processed(Some(Box::new(Signal {
                    signal_id: signal_id(
                        &e.tenant_id,
                        &e.account_id,
                        t.action,
                        &e.event_id,
                        rules.version(),
                    ),
                    tenant_id: e.tenant_id.clone(),
                    account_id: e.account_id.clone(),
                    action: t.action,
                    previous_action: t.previous,
                    score,
                    throttle_mps: (t.action == Action::Throttle)
                        .then_some(rules.decision().throttle_mps),
                    evidence,
                    rule_set_version: rules.version().to_string(),
                    event_time_ms: e.timestamp_ms,
                    decided_at_ms: now_ms,
                    trigger_event_id: e.event_id.clone(),
                    policy_country: country,
                    policy_version: policy.version().to_string(),
                    policy_rule: policy.rule_id(applied).to_string(),
                    policy_outcome: applied.outcome,
                    level: Subject::Account,
                    waba_id: e.waba_id.clone(),
                    numbers: Vec::new(),
                })))
            });
        // The lowest level that decides on the event signals; the levels
        // above it only record their rules' activity.
        let mut outcome = outcome;
        for g in Group::ALL {
            let Some(key) = groups[g as usize] else {
                continue;
            };
            outcome = match outcome {
                Outcome::Processed(None) => {
                    Outcome::Processed(self.decide_group(g, key, e, loaded, scratch, now_ms))
                }
                o @ Outcome::Processed(Some(_)) => {
                    self.record_group(g, key, e, rules, scratch);
                    o
                }
                o => o,
            };
        }
        match &outcome {
            Outcome::Late => {
                self.counters.late.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Processed(Some(s)) => {
                self.counters.signals[s.action.index()].fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        outcome
    }

    fn maybe_sweep(&self, ts: i64) {
        let next = self.next_sweep_ms.load(Ordering::Relaxed);
        if next == i64::MIN {
            let _ = self.next_sweep_ms.compare_exchange(
                i64::MIN,
                ts.saturating_add(self.ctx.config.sweep_every_ms),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            return;
        }
        if ts < next {
            return;
        }
        let won = self
            .next_sweep_ms
            .compare_exchange(
                next,
                ts.saturating_add(self.ctx.config.sweep_every_ms),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok();
        if won {
            self.store.evict_idle(self.watermark_ms());
            self.wabas.evict_idle(self.watermark_ms());
            self.portfolios.evict_idle(self.watermark_ms());
        }
    }

    /// A copy of one account's state, if tracked.
    pub fn account(&self, tenant_id: &str, account_id: &str) -> Option<Account> {
        self.store.account(key_of(tenant_id, account_id))
    }
}
