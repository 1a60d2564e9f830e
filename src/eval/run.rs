//! Runs events through a fresh engine and builds the scorecard as they go.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::labels::Label;
use crate::decide::{Applied, CountryPolicy, Level, Overrides, PolicyOutcome, Signal};
use crate::engine::{applied_policy, EngineConfig};
use crate::io::RecordError;
use crate::pb::v1::MessageEvent;
use crate::replay::{ReplaySummary, Replayer};
use crate::rules::{RuleSet, Subject};

use super::scorecard::{Scorecard, ScorecardBuilder};

/// What an evaluation produced.
pub struct EvalRun {
    /// The scorecard.
    pub scorecard: Scorecard,
    /// The replay counters (throughput, state, rule hits).
    pub summary: ReplaySummary,
    /// Per actioned account, its strongest signal (ties: the latest).
    pub strongest: Vec<Signal>,
}

/// Runs `events` (in event-time order) against `labels`. `progress` is
/// called every 65,536 records with the count so far.
pub fn evaluate(
    events: impl Iterator<Item = Result<MessageEvent, RecordError>>,
    labels: Vec<Label>,
    rules: Arc<RuleSet>,
    policy: CountryPolicy,
    overrides: Overrides,
    mut progress: impl FnMut(u64),
) -> EvalRun {
    let mut card = ScorecardBuilder::new(labels);
    let mut replayer = Replayer::new(rules, policy, overrides, EngineConfig::default());
    let mut strongest: HashMap<String, Signal> = HashMap::new();
    let mut wabas = WabaMembers::default();
    let mut portfolios = WabaMembers::default();
    // Applied to every number of their WABA (portfolio) once all numbers
    // are known.
    let mut waba_signals: Vec<Signal> = Vec::new();
    let mut portfolio_signals: Vec<Signal> = Vec::new();
    let mut n = 0u64;
    for record in events {
        n += 1;
        if let Ok(m) = &record {
            card.event(&m.account_id, m.timestamp_ms);
            wabas.note(&m.tenant_id, &m.waba_id, &m.account_id);
            portfolios.note(&m.tenant_id, &m.business_id, &m.account_id);
        }
        if let Some(s) = replayer.feed(n, record) {
            match s.level {
                Subject::Waba => waba_signals.push(s.clone()),
                Subject::Portfolio => portfolio_signals.push(s.clone()),
                Subject::Account => card.signal(&s),
            }
            let keep = strongest
                .get(&s.account_id)
                .is_none_or(|old| s.action.severity() >= old.action.severity());
            if keep && s.action.severity() > 0 {
                strongest.insert(s.account_id.clone(), s);
            }
        }
        if n % 65_536 == 0 {
            progress(n);
        }
    }
    progress(n);
    for s in &waba_signals {
        card.waba_signal(s, wabas.members(&s.tenant_id, &s.waba_id));
    }
    // A portfolio signal's account_id is the portfolio's id.
    for s in &portfolio_signals {
        card.waba_signal(s, portfolios.members(&s.tenant_id, &s.account_id));
    }
    let (summary, engine) = replayer.finish();
    let policy = engine.context().policy();
    engine.store().for_each_account(|a| {
        let applied = applied_policy(&policy, a, a.behaviour.last_ms());
        // Exempt by the market's policy; Meta's Business Agent is not a
        // market exemption but a legitimate business, and counts as one.
        if applied != Applied::BUSINESS_AGENT
            && matches!(
                applied.outcome,
                PolicyOutcome::Allow | PolicyOutcome::FlagOnly
            )
        {
            card.exempt(&a.account_id, a.slot.decision.level() >= Level::Throttle);
        }
    });
    let mut strongest: Vec<Signal> = strongest.into_values().collect();
    strongest.sort_by(|a, b| {
        b.action
            .severity()
            .cmp(&a.action.severity())
            .then(b.score.total_cmp(&a.score))
            .then(a.account_id.cmp(&b.account_id))
    });
    EvalRun {
        scorecard: card.finish(),
        summary,
        strongest,
    }
}

/// The numbers seen on each (tenant, WABA): a WABA-level signal is the
/// outcome of every one of them in the scorecard.
#[derive(Default)]
struct WabaMembers {
    by_tenant: HashMap<String, HashMap<String, HashSet<String>>>,
}

impl WabaMembers {
    fn note(&mut self, tenant: &str, waba: &str, account: &str) {
        if waba.is_empty() {
            return;
        }
        // Looked up by reference first: ids are copied once per new member.
        if let Some(members) = self.by_tenant.get_mut(tenant).and_then(|w| w.get_mut(waba)) {
            if !members.contains(account) {
                members.insert(account.to_string());
            }
            return;
        }
        self.by_tenant
            .entry(tenant.to_string())
            .or_default()
            .entry(waba.to_string())
            .or_default()
            .insert(account.to_string());
    }

    fn members<'a>(&'a self, tenant: &str, waba: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_tenant
            .get(tenant)
            .and_then(|w| w.get(waba))
            .into_iter()
            .flat_map(|m| m.iter().map(String::as_str))
    }
}
