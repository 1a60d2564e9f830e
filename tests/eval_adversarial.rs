//! `satpam eval` scores labels whose archetype names it has never seen: on
//! the adversarial family every archetype gets its own row, on the side its
//! `violating` column puts it (issue 17, item 5).

mod common;

use std::sync::Arc;

use satpam::decide::{CountryPolicy, Overrides};
use satpam::eval::evaluate;
use satpam::RuleSet;
use satpam_scenario::{Archetype, Family, Scenario, ScenarioConfig, TextBank};

#[test]
fn every_adversarial_archetype_gets_its_row() {
    let config = ScenarioConfig {
        accounts: 200,
        hours: 2.0,
        seed: 23,
        ..ScenarioConfig::default()
    };
    let scenario =
        Scenario::generate_family(&config, Family::Adversarial, Arc::new(TextBank::builtin()));
    let labels = common::eval_labels(&scenario);
    let run = evaluate(
        scenario.events().map(Ok),
        labels.clone(),
        Arc::new(RuleSet::default_pack()),
        CountryPolicy::default(),
        Overrides::default(),
        |_| {},
    );
    let card = &run.scorecard;
    for a in Archetype::ADVERSARIAL {
        let labelled = labels.iter().filter(|l| l.archetype == a.name()).count() as u64;
        assert!(labelled > 0, "{a} not in the labels");
        let row = card
            .archetypes
            .iter()
            .find(|r| r.archetype == a.name())
            .unwrap_or_else(|| panic!("no row for {a}"));
        assert_eq!(row.violating, a.is_violating(), "{a}");
        // Accounts a market's policy exempted are counted apart.
        assert!(row.accounts >= 1 && row.accounts <= labelled, "{a}");
    }
    assert_eq!(card.archetypes.len(), Archetype::ADVERSARIAL.len());
    // Legitimate rows first, then violating ones.
    let first_violating = card.archetypes.iter().position(|r| r.violating);
    assert_eq!(first_violating, Some(6));
    let o = &card.overall;
    let exempt = o.exempt_by_policy.violating + o.exempt_by_policy.legitimate;
    assert_eq!(
        o.violating_accounts + o.legitimate_accounts + exempt,
        labels.len() as u64
    );
    let rendered = card.render();
    assert!(rendered.contains("consumer-assistant"), "{rendered}");
}
