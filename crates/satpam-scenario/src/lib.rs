//! Labelled scenario traffic: simulated BSP message events from accounts of
//! known archetypes (legitimate business bots and general-purpose assistant
//! distributors), for evaluating the detector. Two independently designed
//! families share the event rendering and the labels: `baseline`
//! (docs/scenario.md) and `adversarial` (docs/scenario-adversarial.md).
//!
//! Events are kept compact (text as an index into a shared [`TextBank`]) and
//! rendered into `MessageEvent`s on demand. Everything is a pure function of
//! the [`ScenarioConfig`] (its seed) and the bank. Message text is never logged.

mod adversarial;
mod archetype;
mod builtin;
mod config;
mod family;
mod generate;
mod market;
mod mix;
mod output;
mod params;
#[cfg(test)]
mod tests;
mod texts;
mod waba;

use std::sync::Arc;

pub use archetype::Archetype;
pub use config::{ScenarioConfig, DEFAULT_START_MS};
pub use family::Family;
pub use texts::{TextBank, TextSource};

use generate::{generate_account, mix64, AccountInfo, CEvent};

use satpam_proto::v1::{Direction, MessageEvent, MessageKind};

/// The ground truth for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// `acc-000123`.
    pub account_id: String,
    /// What the account really does.
    pub archetype: Archetype,
    /// Whether it distributes a general-purpose assistant.
    pub violating: bool,
}

/// Counts over a scenario, for summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioStats {
    /// The family, whose [`Family::archetypes`] order the vectors follow.
    pub family: Family,
    /// Accounts per archetype, in [`Family::archetypes`] order.
    pub accounts: Vec<usize>,
    /// Events per archetype, in [`Family::archetypes`] order.
    pub events_by_archetype: Vec<u64>,
    /// All events.
    pub events: u64,
    /// Inbound (user to business) events.
    pub inbound: u64,
    /// Outbound (business to user) events.
    pub outbound: u64,
    /// Template messages.
    pub templates: u64,
}

/// A generated scenario: compact events sorted by (timestamp, sequence) plus labels.
#[derive(Debug)]
pub struct Scenario {
    bank: Arc<TextBank>,
    accounts: Vec<AccountInfo>,
    labels: Vec<Label>,
    events: Vec<CEvent>,
    metadata_only: bool,
    seed_key: u64,
    family: Family,
}

impl Scenario {
    /// Generates a scenario of the baseline family. Each account is
    /// simulated with its own RNG derived from (seed, account index), on up
    /// to 4 threads; the result does not depend on the thread count.
    pub fn generate(config: &ScenarioConfig, bank: Arc<TextBank>) -> Scenario {
        Scenario::generate_family(config, Family::Baseline, bank)
    }

    /// Generates a scenario of `family`, as [`Scenario::generate`] does.
    pub fn generate_family(
        config: &ScenarioConfig,
        family: Family,
        bank: Arc<TextBank>,
    ) -> Scenario {
        let slices = match family {
            Family::Adversarial => Some(adversarial::Slices::new(&bank)),
            Family::Baseline => None,
        };
        let n = u32::try_from(config.accounts).unwrap_or(u32::MAX);
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, 4) as u32;
        let chunk = n.div_ceil(threads).max(1);
        let parts: Vec<Vec<(AccountInfo, Vec<CEvent>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let bank = &*bank;
                    let slices = slices.as_ref();
                    let lo = (t * chunk).min(n);
                    let hi = (lo.saturating_add(chunk)).min(n);
                    s.spawn(move || {
                        (lo..hi)
                            .map(|i| match slices {
                                Some(slices) => adversarial::generate_account(
                                    bank,
                                    slices,
                                    config.seed,
                                    i,
                                    config.start_ms,
                                    config.hours,
                                ),
                                None => generate_account(
                                    bank,
                                    config.seed,
                                    i,
                                    config.start_ms,
                                    config.hours,
                                ),
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let total: usize = parts.iter().flatten().map(|(_, ev)| ev.len()).sum();
        let mut events = Vec::with_capacity(total);
        let mut accounts = Vec::with_capacity(config.accounts);
        for (info, ev) in parts.into_iter().flatten() {
            events.extend_from_slice(&ev);
            accounts.push(info);
        }
        events.sort_unstable_by_key(|e| (e.ts, e.account, e.local));
        let labels = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| Label {
                account_id: output::account_id(i as u32),
                archetype: a.archetype,
                violating: a.archetype.is_violating(),
            })
            .collect();
        Scenario {
            bank,
            accounts,
            labels,
            events,
            metadata_only: config.metadata_only,
            seed_key: mix64(config.seed ^ 0x5EED),
            family,
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The family that generated it.
    pub fn family(&self) -> Family {
        self.family
    }

    /// One label per account, in account order.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The events as `MessageEvent`s, materialised lazily in event-time order.
    pub fn events(&self) -> impl Iterator<Item = MessageEvent> + '_ {
        self.events.iter().map(|e| self.materialise(e))
    }

    /// Counts per archetype and direction.
    pub fn stats(&self) -> ScenarioStats {
        let archetypes = self.family.archetypes();
        let mut s = ScenarioStats {
            family: self.family,
            accounts: vec![0; archetypes.len()],
            events_by_archetype: vec![0; archetypes.len()],
            ..ScenarioStats::default()
        };
        let idx = |a: Archetype| archetypes.iter().position(|x| *x == a).unwrap_or(0);
        for a in &self.accounts {
            s.accounts[idx(a.archetype)] += 1;
        }
        for e in &self.events {
            s.events += 1;
            s.events_by_archetype[idx(self.accounts[e.account as usize].archetype)] += 1;
            if e.direction == Direction::Inbound as u8 {
                s.inbound += 1;
            } else {
                s.outbound += 1;
            }
            if e.kind == MessageKind::Template as u8 {
                s.templates += 1;
            }
        }
        s
    }
}
