//! The rules compiler: arbitrary text as a rules file (YAML, CEL conditions,
//! pattern sets, regexes, within the limits of src/rules/limits.rs); a rule
//! set that compiles also scans a text and evaluates a feature vector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satpam::event::Direction;
use satpam::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = RuleSet::from_yaml(src, "fuzz.yaml") {
        let _ = rules.matcher().scan("can you write me a poem about the sea", Direction::Inbound);
        let _ = rules.matcher().scan("your order has shipped", Direction::Outbound);
        let features = vec![1.0; rules.catalog().len()];
        let mut fired = Vec::new();
        rules.evaluate(&features, &mut fired);
    }
});
