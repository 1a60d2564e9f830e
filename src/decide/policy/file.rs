//! The policy file's YAML schema, parsed into entries for [`super::compile`].
//!
//! Two shapes are read: the dated one (`version`, `regions`, `outcomes`)
//! and, for files written before dates existed, the undated one
//! (`default: enforce`, `countries: {IT: {outcome: charge}}`), read as
//! entries that hold always.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::compile::{build, PolicyError, Problem};
use super::date::parse_instant;
use super::{ChargeRate, CountryPolicy, PolicyEntry, PolicyOutcome, Scope};
use crate::event::Country;
use crate::rules::locate::Locator;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    regions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    outcomes: Vec<EntrySpec>,
    /// Undated shape.
    #[serde(default)]
    default: Option<PolicyOutcome>,
    /// Undated shape.
    #[serde(default)]
    countries: BTreeMap<String, LegacyCountry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyCountry {
    outcome: PolicyOutcome,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    id: String,
    #[serde(rename = "where")]
    scope: String,
    outcome: PolicyOutcome,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    charge: Option<ChargeSpec>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    uncertain: bool,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeSpec {
    currency: String,
    per_message: f64,
}

fn country(code: &str) -> Option<Country> {
    Country::parse(code).filter(|c| c.is_known() && code.len() == 2)
}

// Long because each entry's fields are checked where the file names them,
// with their lines, before anything is compiled.
/// Parses `src` (named `file` in errors) and compiles it.
pub(super) fn parse(src: &str, file: &str) -> Result<CountryPolicy, PolicyError> {
    let f: PolicyFile = yaml_serde::from_str(src)
        .map_err(|e| PolicyError::one(file, e.location().map_or(0, |l| l.line()), e.to_string()))?;
    let loc = Locator::new(src);
    let mut problems = Vec::new();
    let mut regions = Vec::new();
    for (name, codes) in &f.regions {
        let line = loc.top_key("regions").unwrap_or(0);
        if name.len() <= 2 || name.eq_ignore_ascii_case("default") {
            problems.push(Problem::new(
                line,
                format!("region `{name}`: a region's name needs three or more letters and is not `default`"),
            ));
        }
        let mut members = Vec::new();
        for code in codes {
            match country(code) {
                Some(c) => members.push(c),
                None => problems.push(Problem::new(
                    line,
                    format!("region `{name}`: `{code}` is not an ISO 3166-1 alpha-2 code"),
                )),
            }
        }
        members.sort();
        members.dedup();
        regions.push((name.clone(), members));
    }

    let legacy = f.default.is_some() || !f.countries.is_empty();
    if legacy && !f.outcomes.is_empty() {
        return Err(PolicyError::one(
            file,
            loc.top_key("outcomes").unwrap_or(0),
            "`outcomes` cannot be mixed with the undated `default`/`countries` keys".into(),
        ));
    }
    let mut entries = Vec::new();
    if legacy {
        let line = loc.top_key("default").unwrap_or(0);
        let Some(default) = f.default else {
            return Err(PolicyError::one(
                file,
                0,
                "`countries` needs a `default` outcome".into(),
            ));
        };
        entries.push(undated(
            "default",
            Scope::Default,
            default,
            String::new(),
            line,
        ));
        for (code, c) in f.countries {
            let line = loc.top_key("countries").unwrap_or(0);
            match country(&code) {
                Some(k) => entries.push(undated(&code, Scope::Country(k), c.outcome, c.note, line)),
                None => problems.push(Problem::new(
                    line,
                    format!("`{code}` is not an ISO 3166-1 alpha-2 code"),
                )),
            }
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in &f.outcomes {
        let n = seen.entry(&spec.id).or_insert(0);
        let line = loc.rule_nth(&spec.id, *n).unwrap_or(0);
        *n += 1;
        match entry(spec, &regions, line) {
            Ok(e) => entries.push(e),
            Err(why) => problems.push(Problem::new(line, format!("outcome `{}`: {why}", spec.id))),
        }
    }
    if !problems.is_empty() {
        return Err(PolicyError::many(file, problems));
    }
    let version = match (f.version, legacy) {
        (Some(v), _) if !v.trim().is_empty() => v,
        (_, true) => "undated".to_string(),
        _ => {
            return Err(PolicyError::one(
                file,
                0,
                "`version` is required (it is carried on every signal)".into(),
            ))
        }
    };
    build(version, regions, entries, file)
}

fn undated(
    id: &str,
    scope: Scope,
    outcome: PolicyOutcome,
    note: String,
    line: usize,
) -> PolicyEntry {
    PolicyEntry {
        id: id.to_string(),
        scope,
        outcome,
        from_ms: None,
        until_ms: None,
        charge: None,
        source: String::new(),
        uncertain: false,
        note,
        line,
    }
}

fn instant(what: &str, v: &Option<String>) -> Result<Option<i64>, String> {
    match v {
        None => Ok(None),
        Some(s) => parse_instant(s).map(Some).ok_or_else(|| {
            format!("`{what}: {s}` is not a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 instant")
        }),
    }
}

fn entry(
    spec: &EntrySpec,
    regions: &[(String, Vec<Country>)],
    line: usize,
) -> Result<PolicyEntry, String> {
    if spec.id.trim().is_empty() || spec.id.len() > 128 {
        return Err("an id of 1 to 128 characters is required".into());
    }
    let scope = if spec.scope == "default" {
        Scope::Default
    } else if let Some((name, _)) = regions.iter().find(|(n, _)| *n == spec.scope) {
        Scope::Region(name.clone())
    } else if let Some(c) = country(&spec.scope) {
        Scope::Country(c)
    } else {
        return Err(format!(
            "`where: {}` is neither `default`, a region defined under `regions`, nor an ISO 3166-1 alpha-2 code",
            spec.scope
        ));
    };
    let from_ms = instant("from", &spec.from)?;
    let until_ms = instant("until", &spec.until)?;
    if let (Some(a), Some(b)) = (from_ms, until_ms) {
        if a >= b {
            return Err("`from` must be before `until`".into());
        }
    }
    let charge = match (&spec.charge, spec.outcome) {
        (Some(_), o) if o != PolicyOutcome::Charge => {
            return Err("`charge` is only for `outcome: charge`".into())
        }
        (Some(c), _) => {
            let cur = c.currency.as_bytes();
            if cur.len() != 3 || !cur.iter().all(u8::is_ascii_uppercase) {
                return Err(format!(
                    "`currency: {}` is not an ISO 4217 code",
                    c.currency
                ));
            }
            if !c.per_message.is_finite() || c.per_message < 0.0 {
                return Err("`per_message` must be a finite amount >= 0".into());
            }
            Some(ChargeRate {
                currency: c.currency.clone(),
                per_message: c.per_message,
            })
        }
        (None, _) => None,
    };
    Ok(PolicyEntry {
        id: spec.id.clone(),
        scope,
        outcome: spec.outcome,
        from_ms,
        until_ms,
        charge,
        source: spec.source.clone(),
        uncertain: spec.uncertain,
        note: spec.note.clone(),
        line,
    })
}
