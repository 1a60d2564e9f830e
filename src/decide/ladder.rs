//! The action ladder of one account: escalate as soon as the score and the
//! evidence allow; step down only after the score has stayed below the
//! level's threshold minus the hysteresis for the cooldown.

use serde::{Deserialize, Serialize};

use super::overrides::OverrideMode;
use super::policy::PolicyOutcome;
use super::Action;
use crate::rules::DecisionConfig;

/// A rung of the ladder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Nothing.
    #[default]
    None,
    /// Flag.
    Flag,
    /// Throttle.
    Throttle,
    /// Suspend.
    Suspend,
}

impl Level {
    fn threshold(self, c: &DecisionConfig) -> f64 {
        match self {
            Level::None => 0.0,
            Level::Flag => c.flag,
            Level::Throttle => c.throttle,
            Level::Suspend => c.suspend,
        }
    }

    /// The action this level takes under the policy outcome `policy`.
    pub fn action(self, policy: PolicyOutcome) -> Action {
        match (self, policy) {
            (Level::None, _) | (_, PolicyOutcome::Allow) => Action::None,
            (Level::Flag, _) | (_, PolicyOutcome::FlagOnly) => Action::Flag,
            (_, PolicyOutcome::Charge) => Action::Charge,
            (Level::Throttle, PolicyOutcome::Enforce) => Action::Throttle,
            (Level::Suspend, PolicyOutcome::Enforce) => Action::Suspend,
        }
    }
}

/// What the ladder reads for one step.
#[derive(Debug, Clone, Copy)]
pub struct LadderInput {
    /// The account score in [0, 1].
    pub score: f64,
    /// Conversation sessions, 24 hours.
    pub sessions: u64,
    /// Distinct users, 24 hours.
    pub users: u64,
    /// Event time now.
    pub now_ms: i64,
    /// An analyst override in force.
    pub override_mode: Option<OverrideMode>,
    /// The policy outcome in force for the account at this event.
    pub policy: PolicyOutcome,
}

/// A change of the action in force: emit a signal for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The action to signal.
    pub action: Action,
    /// The action in force before.
    pub previous: Action,
    /// The new level.
    pub level: Level,
    /// Why, in words for the evidence.
    pub reason: &'static str,
}

/// The ladder state of one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionState {
    level: Level,
    in_force: Action,
    /// Event time the score first fell below the stay threshold; 0 = not below.
    below_since_ms: i64,
    /// Signals emitted for this account.
    signals: u32,
}

impl DecisionState {
    /// The current level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The action in force (`Action::None` for none).
    pub fn action(&self) -> Action {
        self.in_force
    }

    /// Whether an action is in force.
    pub fn in_force(&self) -> bool {
        self.in_force != Action::None
    }

    /// Signals emitted so far.
    pub fn signals(&self) -> u32 {
        self.signals
    }

    /// The highest level `i`'s score and evidence reach under `c` (what a
    /// step moves up to when it is above the level in force).
    pub fn reached(c: &DecisionConfig, i: &LadderInput) -> Level {
        Self::target(c, i, 0.0)
    }

    fn target(c: &DecisionConfig, i: &LadderInput, slack: f64) -> Level {
        for (level, ev) in [
            (Level::Suspend, c.min_evidence[2]),
            (Level::Throttle, c.min_evidence[1]),
            (Level::Flag, c.min_evidence[0]),
        ] {
            if i.score >= level.threshold(c) - slack
                && i.sessions >= ev.sessions
                && i.users >= ev.users
            {
                return level;
            }
        }
        Level::None
    }

    /// Takes one step; returns the transition to signal, if any.
    pub fn step(&mut self, c: &DecisionConfig, i: &LadderInput) -> Option<Transition> {
        let (new_level, reason) = match i.override_mode {
            Some(OverrideMode::Allow) => (Level::None, "override: allow"),
            Some(OverrideMode::Deny) => (Level::Suspend, "override: deny"),
            None => {
                let up = Self::target(c, i, 0.0);
                if up > self.level {
                    self.below_since_ms = 0;
                    (up, "score and evidence reached the level")
                } else if self.level == Level::None
                    || i.score >= self.level.threshold(c) - c.hysteresis
                {
                    self.below_since_ms = 0;
                    return self.settle(i);
                } else if self.below_since_ms == 0 {
                    self.below_since_ms = i.now_ms;
                    return None;
                } else if i.now_ms.saturating_sub(self.below_since_ms) < c.cooldown_ms {
                    return None;
                } else {
                    self.below_since_ms = 0;
                    (
                        Self::target(c, i, c.hysteresis).min(self.level),
                        "score stayed below the level for the cooldown",
                    )
                }
            }
        };
        self.level = new_level;
        self.emit(new_level.action(i.policy), reason)
    }

    /// With no change of level, the action may still change when the
    /// policy or an expired override changed.
    fn settle(&mut self, i: &LadderInput) -> Option<Transition> {
        let want = self.level.action(i.policy);
        if want == self.in_force {
            return None;
        }
        self.emit(want, "policy changed")
    }

    fn emit(&mut self, want: Action, reason: &'static str) -> Option<Transition> {
        if want == self.in_force {
            return None;
        }
        let previous = self.in_force;
        self.in_force = want;
        self.signals += 1;
        let action = if want == Action::None {
            Action::Restore
        } else {
            want
        };
        Some(Transition {
            action,
            previous,
            level: self.level,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MinEvidence;

    fn cfg() -> DecisionConfig {
        DecisionConfig {
            flag: 0.5,
            throttle: 0.75,
            suspend: 0.9,
            hysteresis: 0.15,
            cooldown_ms: 600_000,
            throttle_mps: 1.0,
            min_evidence: [
                MinEvidence {
                    sessions: 2,
                    users: 2,
                },
                MinEvidence {
                    sessions: 5,
                    users: 5,
                },
                MinEvidence {
                    sessions: 10,
                    users: 10,
                },
            ],
        }
    }

    fn input(score: f64, users: u64, now_ms: i64) -> LadderInput {
        LadderInput {
            score,
            sessions: users,
            users,
            now_ms,
            override_mode: None,
            policy: PolicyOutcome::Enforce,
        }
    }

    /// Runs a script of (score, users, time) steps; returns the actions signalled.
    fn run(steps: &[(f64, u64, i64)], policy: PolicyOutcome) -> Vec<Action> {
        let c = cfg();
        let mut s = DecisionState::default();
        steps
            .iter()
            .filter_map(|&(score, users, t)| {
                let mut i = input(score, users, t);
                i.policy = policy;
                s.step(&c, &i).map(|tr| tr.action)
            })
            .collect()
    }

    // Long because it is the table: one row per rung and transition.
    #[test]
    fn ladder_table() {
        use Action::*;
        let m = 60_000;
        type Case<'a> = (&'a str, &'a [(f64, u64, i64)], PolicyOutcome, &'a [Action]);
        let cases: &[Case<'_>] = &[
            (
                "below flag: nothing",
                &[(0.4, 50, 0), (0.45, 50, m)],
                PolicyOutcome::Enforce,
                &[],
            ),
            (
                "no evidence: nothing",
                &[(0.99, 1, 0)],
                PolicyOutcome::Enforce,
                &[],
            ),
            (
                "evidence gates the rung",
                &[(0.99, 6, 0)],
                PolicyOutcome::Enforce,
                &[Throttle],
            ),
            (
                "escalates step by step",
                &[(0.6, 20, 0), (0.8, 20, m), (0.95, 20, 2 * m)],
                PolicyOutcome::Enforce,
                &[Flag, Throttle, Suspend],
            ),
            (
                "skips rungs",
                &[(0.95, 20, 0)],
                PolicyOutcome::Enforce,
                &[Suspend],
            ),
            (
                "hysteresis: a dip inside the margin holds",
                &[
                    (0.8, 20, 0),
                    (0.65, 20, m),
                    (0.8, 20, 30 * m),
                    (0.61, 20, 60 * m),
                ],
                PolicyOutcome::Enforce,
                &[Throttle],
            ),
            (
                "cooldown: restore only after staying below",
                &[
                    (0.6, 20, 0),
                    (0.1, 20, m),
                    (0.1, 20, 5 * m),
                    (0.1, 20, 11 * m),
                ],
                PolicyOutcome::Enforce,
                &[Flag, Restore],
            ),
            (
                "a rise during the cooldown resets it",
                &[
                    (0.6, 20, 0),
                    (0.1, 20, m),
                    (0.6, 20, 5 * m),
                    (0.1, 20, 6 * m),
                    (0.1, 20, 12 * m),
                    (0.1, 20, 16 * m),
                ],
                PolicyOutcome::Enforce,
                &[Flag, Restore],
            ),
            (
                "steps down to the rung the score holds within the margin",
                &[(0.95, 20, 0), (0.7, 20, m), (0.7, 20, 12 * m)],
                PolicyOutcome::Enforce,
                &[Suspend, Throttle],
            ),
            (
                "steps down further when the score is lower",
                &[(0.95, 20, 0), (0.5, 20, m), (0.5, 20, 12 * m)],
                PolicyOutcome::Enforce,
                &[Suspend, Flag],
            ),
            (
                "charge countries charge",
                &[(0.6, 20, 0), (0.95, 20, m)],
                PolicyOutcome::Charge,
                &[Flag, Charge],
            ),
            (
                "charge is signalled once",
                &[(0.8, 20, 0), (0.95, 20, m)],
                PolicyOutcome::Charge,
                &[Charge],
            ),
            (
                "flag-only countries never go further",
                &[(0.95, 20, 0)],
                PolicyOutcome::FlagOnly,
                &[Flag],
            ),
            (
                "allowed markets are never actioned, not even flagged",
                &[
                    (0.6, 20, 0),
                    (0.95, 20, m),
                    (0.1, 20, 2 * m),
                    (0.1, 20, 20 * m),
                ],
                PolicyOutcome::Allow,
                &[],
            ),
        ];
        for (name, steps, policy, want) in cases {
            assert_eq!(run(steps, *policy), *want, "{name}");
        }
    }

    /// The outcome in force changes with the date: the level the evidence
    /// reached is kept, and the action follows the outcome on the next event.
    #[test]
    fn a_change_of_outcome_acts_on_the_next_event() {
        let c = cfg();
        let mut s = DecisionState::default();
        let mut i = input(0.95, 20, 0);
        i.policy = PolicyOutcome::Allow;
        assert_eq!(s.step(&c, &i), None, "allowed: evidence only");
        assert_eq!((s.level(), s.action()), (Level::Suspend, Action::None));
        i.policy = PolicyOutcome::Charge;
        i.now_ms = 60_000;
        let t = s.step(&c, &i).expect("the charge starts");
        assert_eq!(
            (t.action, t.previous, t.reason),
            (Action::Charge, Action::None, "policy changed")
        );
        i.policy = PolicyOutcome::Allow;
        i.now_ms = 120_000;
        let t = s.step(&c, &i).expect("the charge ends");
        assert_eq!((t.action, t.previous), (Action::Restore, Action::Charge));
        i.policy = PolicyOutcome::Enforce;
        i.now_ms = 180_000;
        let t = s.step(&c, &i).expect("the ban applies");
        assert_eq!((t.action, t.previous), (Action::Suspend, Action::None));
        assert_eq!(s.signals(), 3);
    }

    #[test]
    fn overrides_win() {
        let c = cfg();
        let mut s = DecisionState::default();
        let mut i = input(0.95, 20, 0);
        i.override_mode = Some(OverrideMode::Allow);
        assert_eq!(s.step(&c, &i), None, "allowed: nothing to signal");
        i.override_mode = Some(OverrideMode::Deny);
        i.score = 0.0;
        assert_eq!(s.step(&c, &i).map(|t| t.action), Some(Action::Suspend));
        i.override_mode = Some(OverrideMode::Allow);
        let t = s.step(&c, &i).expect("restores");
        assert_eq!((t.action, t.previous), (Action::Restore, Action::Suspend));
        assert!(!s.in_force());
    }
}
