//! Validates a rules file and compiles it into a [`RuleSet`]: typed
//! conditions, one pattern automaton, decision settings. Every problem is
//! reported with its file and line; nothing partial is ever returned.

use regex::{Regex, RegexBuilder};
use xxhash_rust::xxh3::xxh3_64;

use super::cel::compile_condition;
use super::decision::{DecisionConfig, MinEvidence};
use super::error::{Diagnostic, RuleError};
use super::limits;
use super::locate::Locator;
use super::spec::{ModeSpec, PatternSetSpec, RuleFileSpec, SideSpec};
use super::{CompiledRule, RuleSet, Subject};
use crate::event::Direction;
use crate::features::{Catalog, Side};
use crate::scan::matcher::{normalise_term, PatternMatcher, TermGroup};
use crate::scan::MAX_PATTERN_SETS;

/// Topics a rule set may declare (one bit each in a 64-bit mask).
pub const MAX_TOPICS: usize = 64;
/// Longest hold a rule may ask for.
const MAX_HOLD_MINUTES: f64 = 24.0 * 60.0;

struct Diags<'a> {
    file: &'a str,
    loc: Locator<'a>,
    list: Vec<Diagnostic>,
}

impl Diags<'_> {
    fn push(&mut self, line: Option<usize>, reason: impl Into<String>) {
        self.list.push(Diagnostic {
            file: self.file.to_string(),
            line: line.unwrap_or(0),
            reason: reason.into(),
        });
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_rule_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_terms(
    d: &mut Diags<'_>,
    line: Option<usize>,
    what: &str,
    terms: &std::collections::BTreeMap<String, Vec<String>>,
) {
    if terms.values().all(|t| t.is_empty()) {
        d.push(line, format!("{what} has no terms"));
    }
    for (lang, list) in terms {
        let ok = lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase());
        if !ok {
            d.push(
                line,
                format!("{what}: `{lang}` is not a two-letter language code"),
            );
        }
        for t in list {
            if normalise_term(t).is_none() {
                d.push(line, format!("{what}: empty term in `{lang}`"));
            } else if t.len() > limits::MAX_TERM_BYTES {
                d.push(
                    line,
                    format!(
                        "{what}: a term in `{lang}` is {} bytes; at most {} are accepted",
                        t.len(),
                        limits::MAX_TERM_BYTES
                    ),
                );
            }
        }
    }
}

/// The decision section's thresholds and timings.
fn check_decision(d: &mut Diags<'_>, ds: &super::spec::DecisionSpec) {
    let dline = d.loc.top_key("decision");
    let t = &ds.thresholds;
    if !(0.0 < t.flag && t.flag < t.throttle && t.throttle < t.suspend && t.suspend <= 1.0) {
        d.push(
            dline,
            "thresholds must satisfy 0 < flag < throttle < suspend <= 1",
        );
    }
    if ds.hysteresis.is_nan() || ds.hysteresis < 0.0 || ds.hysteresis >= t.flag {
        d.push(dline, "hysteresis must be in [0, flag)");
    }
    if ds.cooldown_minutes.is_nan() || ds.cooldown_minutes < 0.0 {
        d.push(dline, "cooldown_minutes must be >= 0");
    }
    if ds.throttle_mps.is_nan() || ds.throttle_mps <= 0.0 {
        d.push(dline, "throttle_mps must be > 0");
    }
}

/// The pattern sets: top-level first (sorted by name), then those declared in rules.
fn pattern_sets(spec: &RuleFileSpec) -> Vec<(String, PatternSetSpec)> {
    let mut sets: Vec<(String, PatternSetSpec)> = spec
        .pattern_sets
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for rule in &spec.rules {
        for (k, v) in &rule.patterns {
            sets.push((k.clone(), v.clone()));
        }
    }
    sets
}

/// Each pattern set's name, terms and confirm regex; returns the compiled
/// regexes in set order (None where a set has none or it failed).
fn check_pattern_sets(d: &mut Diags<'_>, sets: &[(String, PatternSetSpec)]) -> Vec<Option<Regex>> {
    let mut confirm = Vec::new();
    for (i, (name, set)) in sets.iter().enumerate() {
        let line = d.loc.pattern_set(name);
        if !is_identifier(name) {
            d.push(
                line,
                format!("pattern set `{name}`: names are lower_snake_case"),
            );
        }
        if sets[..i].iter().any(|(n, _)| n == name) {
            d.push(line, format!("pattern set `{name}` is declared twice"));
        }
        check_terms(d, line, &format!("pattern set `{name}`"), &set.terms);
        confirm.push(match &set.confirm {
            Some(re) if re.len() > limits::MAX_REGEX_BYTES => {
                d.push(
                    line,
                    format!(
                        "pattern set `{name}`: confirm regex is {} bytes; at most {} are accepted",
                        re.len(),
                        limits::MAX_REGEX_BYTES
                    ),
                );
                None
            }
            Some(re) => match RegexBuilder::new(re)
                .size_limit(limits::REGEX_SIZE_LIMIT)
                .dfa_size_limit(limits::REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(r) => Some(r),
                Err(e) => {
                    d.push(
                        line,
                        format!("pattern set `{name}`: bad confirm regex: {e}"),
                    );
                    None
                }
            },
            None => None,
        });
    }
    if sets.len() > MAX_PATTERN_SETS {
        d.push(
            d.loc.top_key("pattern_sets"),
            format!(
                "{} pattern sets declared; at most {MAX_PATTERN_SETS} are allowed",
                sets.len()
            ),
        );
    }
    confirm
}

/// The topics' count, names and terms.
fn check_topics(d: &mut Diags<'_>, spec: &RuleFileSpec) {
    if spec.topics.len() > MAX_TOPICS {
        d.push(
            d.loc.top_key("topics"),
            format!(
                "{} topics declared; at most {MAX_TOPICS} are allowed",
                spec.topics.len()
            ),
        );
    }
    for (name, terms) in &spec.topics {
        let line = d.loc.entry("topics", name);
        if !is_identifier(name) {
            d.push(line, format!("topic `{name}`: names are lower_snake_case"));
        }
        check_terms(d, line, &format!("topic `{name}`"), terms);
    }
}

/// Pattern sets that would shadow a built-in feature, and the term budget.
fn check_collisions_and_size(
    d: &mut Diags<'_>,
    spec: &RuleFileSpec,
    sets: &[(String, PatternSetSpec)],
) {
    for (name, _) in sets {
        let collides = crate::features::FIXED
            .iter()
            .any(|f| f.name == format!("msg.{name}") || f.name == format!("account.{name}_share"));
        if collides {
            d.push(
                d.loc.pattern_set(name),
                format!("pattern set `{name}` collides with a built-in feature"),
            );
        }
    }

    let terms: usize = sets
        .iter()
        .map(|(_, s)| &s.terms)
        .chain(spec.topics.values())
        .map(|t| t.values().map(Vec::len).sum::<usize>())
        .sum();
    if terms > limits::MAX_TERMS {
        d.push(
            d.loc.top_key("pattern_sets").or(d.loc.top_key("topics")),
            format!(
                "{terms} terms declared; at most {} are allowed",
                limits::MAX_TERMS
            ),
        );
    }
}

/// A rule's id (well formed, used once), version, score, description and
/// hold; returns the hold in minutes.
fn check_rule_fields(d: &mut Diags<'_>, spec: &RuleFileSpec, i: usize, line: Option<usize>) -> f64 {
    let r = &spec.rules[i];
    let key = |d: &Diags<'_>, k: &str| line.and_then(|l| d.loc.key_in_block(l, k)).or(line);
    if !is_rule_id(&r.id) {
        d.push(
            line,
            format!(
                "rule id `{}` must be letters, digits, `_`, `-` or `.`",
                r.id
            ),
        );
    }
    if spec.rules[..i].iter().any(|o| o.id == r.id) {
        d.push(line, format!("rule id `{}` is used twice", r.id));
    }
    if r.version == 0 {
        d.push(
            key(d, "version"),
            format!("rule `{}`: version must be >= 1", r.id),
        );
    }
    if !(r.score > 0.0 && r.score <= 1.0) {
        d.push(
            key(d, "score"),
            format!("rule `{}`: score must be in (0, 1]", r.id),
        );
    }
    if r.description.trim().is_empty() {
        d.push(
            key(d, "description"),
            format!("rule `{}`: description must not be empty", r.id),
        );
    }
    let hold = r.hold_minutes.unwrap_or(30.0);
    if !(hold > 0.0 && hold <= MAX_HOLD_MINUTES) {
        d.push(
            key(d, "hold_minutes"),
            format!("rule `{}`: hold_minutes must be in (0, 1440]", r.id),
        );
    }
    hold
}

/// Each rule's id, version, score, hold and condition; returns the rules
/// that compiled (the file is refused if any diagnostic was pushed).
fn compile_rules(d: &mut Diags<'_>, spec: &RuleFileSpec, catalog: &Catalog) -> Vec<CompiledRule> {
    if spec.rules.is_empty() {
        d.push(d.loc.top_key("rules"), "no rules");
    }
    if spec.rules.len() > limits::MAX_RULES {
        d.push(
            d.loc.top_key("rules"),
            format!(
                "{} rules declared; at most {} are allowed",
                spec.rules.len(),
                limits::MAX_RULES
            ),
        );
    }
    let mut rules = Vec::new();
    for (i, r) in spec.rules.iter().enumerate() {
        let occurrence = spec.rules[..i].iter().filter(|o| o.id == r.id).count();
        let line = d.loc.rule_nth(&r.id, occurrence);
        let key = |d: &Diags<'_>, k: &str| line.and_then(|l| d.loc.key_in_block(l, k)).or(line);
        let hold = check_rule_fields(d, spec, i, line);
        let when_line = key(d, "when");
        match compile_condition(&r.when, catalog) {
            Ok(condition) => {
                let mut slots = Vec::new();
                condition.slots(&mut slots);
                slots.sort_unstable();
                slots.dedup();
                rules.push(CompiledRule {
                    id: r.id.clone(),
                    version: r.version,
                    description: r.description.trim().to_string(),
                    score: r.score,
                    shadow: r.mode == ModeSpec::Shadow,
                    hold_ms: (hold * 60_000.0) as i64,
                    condition,
                    scope: Subject::of_slots(&slots),
                    slots,
                });
            }
            Err(e) => {
                // Block scalars (`when: |`) start on the next line.
                let block = when_line
                    .and_then(|l| d.loc.line(l))
                    .is_some_and(|t| t.trim_end().ends_with('|') || t.trim_end().ends_with('>'));
                let at = when_line.map(|l| if block { l + 1 + e.line_offset } else { l });
                d.push(at, format!("rule `{}`: {}", r.id, e.message));
            }
        }
    }
    rules
}

/// The text matcher over every pattern set's and topic's terms.
fn build_matcher(
    sets: &[(String, PatternSetSpec)],
    spec: &RuleFileSpec,
    confirm: Vec<Option<Regex>>,
    file: &str,
) -> Result<PatternMatcher, RuleError> {
    let groups: Vec<TermGroup<'_>> = sets
        .iter()
        .enumerate()
        .map(|(i, (_, s))| TermGroup {
            terms: s.terms.values().flatten().map(String::as_str).collect(),
            topic: false,
            index: i as u8,
            direction: match s.side {
                SideSpec::Inbound => Direction::Inbound,
                SideSpec::Outbound => Direction::Outbound,
            },
        })
        .chain(
            spec.topics
                .values()
                .enumerate()
                .map(|(i, langs)| TermGroup {
                    terms: langs.values().flatten().map(String::as_str).collect(),
                    topic: true,
                    index: i as u8,
                    direction: Direction::Inbound,
                }),
        )
        .collect();
    PatternMatcher::build(&groups, confirm).map_err(|e| {
        RuleError::new(vec![Diagnostic {
            file: file.to_string(),
            line: 0,
            reason: e.to_string(),
        }])
    })
}

/// The compiled decision settings (checked by [`check_decision`]).
fn decision_config(ds: &super::spec::DecisionSpec) -> DecisionConfig {
    let t = &ds.thresholds;
    let ev = |e: &super::spec::EvidenceSpec| MinEvidence {
        sessions: e.sessions,
        users: e.users,
    };
    DecisionConfig {
        flag: t.flag,
        throttle: t.throttle,
        suspend: t.suspend,
        hysteresis: ds.hysteresis,
        cooldown_ms: (ds.cooldown_minutes * 60_000.0) as i64,
        throttle_mps: ds.throttle_mps,
        min_evidence: [
            ev(&ds.min_evidence.flag),
            ev(&ds.min_evidence.throttle),
            ev(&ds.min_evidence.suspend),
        ],
    }
}

/// Compiles `src` (YAML) read from `file`.
pub fn compile(src: &str, file: &str) -> Result<RuleSet, RuleError> {
    if src.len() > limits::MAX_FILE_BYTES {
        return Err(RuleError::new(vec![Diagnostic {
            file: file.to_string(),
            line: 0,
            reason: format!(
                "rules file is {} bytes; at most {} are accepted",
                src.len(),
                limits::MAX_FILE_BYTES
            ),
        }]));
    }
    let spec: RuleFileSpec = yaml_serde::from_str(src).map_err(|e| {
        RuleError::new(vec![Diagnostic {
            file: file.to_string(),
            line: e.location().map_or(0, |l| l.line()),
            reason: e.to_string(),
        }])
    })?;
    let mut d = Diags {
        file,
        loc: Locator::new(src),
        list: Vec::new(),
    };

    if spec.version.trim().is_empty() {
        d.push(d.loc.top_key("version"), "version must not be empty");
    }

    let ds = &spec.decision;
    check_decision(&mut d, ds);

    let sets = pattern_sets(&spec);
    let confirm = check_pattern_sets(&mut d, &sets);
    check_topics(&mut d, &spec);
    let catalog = Catalog::new(sets.iter().map(|(n, _)| n.as_str()));
    check_collisions_and_size(&mut d, &spec, &sets);

    let rules = compile_rules(&mut d, &spec, &catalog);

    if !d.list.is_empty() {
        let mut list = d.list;
        list.sort_by_key(|x| x.line);
        return Err(RuleError::new(list));
    }

    let matcher = build_matcher(&sets, &spec, confirm, file)?;

    let decision = decision_config(ds);
    let program = super::program::Program::compile(rules.iter().map(|r| &r.condition));
    let sides: Vec<Side> = sets
        .iter()
        .map(|(_, s)| match s.side {
            SideSpec::Inbound => Side::Inbound,
            SideSpec::Outbound => Side::Outbound,
        })
        .collect();
    let version = format!(
        "{}@{:08x}",
        spec.version.trim(),
        xxh3_64(src.as_bytes()) as u32
    );
    Ok(RuleSet {
        fingerprint: xxh3_64(version.as_bytes()),
        version,
        file: file.to_string(),
        rules,
        matcher,
        catalog,
        pattern_sets: sets
            .iter()
            .zip(&sides)
            .map(|((n, _), side)| (n.clone(), *side))
            .collect(),
        sides,
        topics: spec.topics.keys().cloned().collect(),
        decision,
        serial: super::next_serial(),
        program,
    })
}
