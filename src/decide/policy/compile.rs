//! Validates entries and compiles them into one timeline per country.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::date::format_date;
use super::{country_slot, Applied, CountryPolicy, PolicyEntry, Scope, Segment, COUNTRY_SLOTS};
use crate::event::Country;

/// One problem of a policy file, at a line (0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    line: usize,
    reason: String,
}

impl Problem {
    pub(super) fn new(line: usize, reason: String) -> Self {
        Problem { line, reason }
    }
}

/// Why a policy file was refused: every problem, each as `file:line: reason`
/// (`file: reason` for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    file: String,
    problems: Vec<Problem>,
}

impl PolicyError {
    pub(super) fn one(file: &str, line: usize, reason: String) -> Self {
        PolicyError::many(file, vec![Problem::new(line, reason)])
    }

    pub(super) fn many(file: &str, problems: Vec<Problem>) -> Self {
        PolicyError {
            file: file.to_string(),
            problems,
        }
    }

    pub(super) fn io(file: &str, e: &std::io::Error) -> Self {
        PolicyError::one(file, 0, e.to_string())
    }

    /// The file named in the error.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// `(line, reason)` of each problem; line 0 is the file as a whole.
    pub fn problems(&self) -> impl Iterator<Item = (usize, &str)> {
        self.problems.iter().map(|p| (p.line, p.reason.as_str()))
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.line == 0 {
                write!(f, "{}: {}", self.file, p.reason)?;
            } else {
                write!(f, "{}:{}: {}", self.file, p.line, p.reason)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

fn span(e: &PolicyEntry) -> (i64, i64) {
    (
        e.from_ms.unwrap_or(i64::MIN),
        e.until_ms.unwrap_or(i64::MAX),
    )
}

fn when(ms: i64) -> String {
    match ms {
        i64::MIN => "always".into(),
        i64::MAX => "ever after".into(),
        _ => format_date(ms),
    }
}

/// Entries of one scope may not overlap in time.
fn overlaps(group: &[&PolicyEntry], problems: &mut Vec<Problem>) {
    let mut sorted: Vec<&PolicyEntry> = group.to_vec();
    sorted.sort_by_key(|e| span(e).0);
    for w in sorted.windows(2) {
        let (a, b) = (w[0], w[1]);
        if span(a).1 > span(b).0 {
            problems.push(Problem::new(
                b.line,
                format!(
                    "outcome `{}` overlaps `{}` (line {}) for `{}` from {}: give one an `until` or a later `from`",
                    b.id,
                    a.id,
                    a.line,
                    b.scope,
                    when(span(b).0)
                ),
            ));
        }
    }
}

// Long because each validation (regions, overlaps, coverage of the default)
// reports into the same list before anything is compiled.
/// Builds a policy; every problem is reported, none is guessed around.
pub(super) fn build(
    version: String,
    regions: Vec<(String, Vec<Country>)>,
    entries: Vec<PolicyEntry>,
    file: &str,
) -> Result<CountryPolicy, PolicyError> {
    let mut problems = Vec::new();
    if entries.len() >= usize::from(u16::MAX) {
        return Err(PolicyError::one(
            file,
            0,
            "too many outcomes (at most 65,534)".into(),
        ));
    }
    let mut ids = HashMap::new();
    for e in &entries {
        if let Some(line) = ids.insert(e.id.as_str(), e.line) {
            problems.push(Problem::new(
                e.line,
                format!("outcome `{}` is defined twice (first at line {line})", e.id),
            ));
        }
    }
    // Group by scope and check overlaps within each.
    let mut by_scope: HashMap<String, Vec<&PolicyEntry>> = HashMap::new();
    for e in &entries {
        by_scope.entry(e.scope.to_string()).or_default().push(e);
    }
    for group in by_scope.values() {
        overlaps(group, &mut problems);
    }
    // A country in two regions may not get two region outcomes at once.
    let region_of = |c: Country| -> Vec<&str> {
        regions
            .iter()
            .filter(|(_, m)| m.contains(&c))
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let mut checked = BTreeSet::new();
    for (_, members) in &regions {
        for &c in members {
            let rs = region_of(c);
            if rs.len() < 2 || !checked.insert(rs.clone()) {
                continue;
            }
            let group: Vec<&PolicyEntry> = entries
                .iter()
                .filter(|e| matches!(&e.scope, Scope::Region(r) if rs.contains(&r.as_str())))
                .collect();
            overlaps(&group, &mut problems);
        }
    }
    // The default must cover all time, so every lookup has an answer.
    let mut defaults: Vec<&PolicyEntry> = entries
        .iter()
        .filter(|e| e.scope == Scope::Default)
        .collect();
    defaults.sort_by_key(|e| span(e).0);
    let mut covered_to = i64::MIN;
    let mut gap = None;
    for e in &defaults {
        let (a, b) = span(e);
        if a > covered_to {
            gap = Some((covered_to, a));
            break;
        }
        covered_to = covered_to.max(b);
    }
    if gap.is_none() && covered_to != i64::MAX {
        gap = Some((covered_to, i64::MAX));
    }
    if let Some((a, b)) = gap {
        problems.push(Problem::new(
            0,
            format!(
                "the `default` outcomes leave a gap from {} to {}: the default must cover all time",
                when(a),
                when(b)
            ),
        ));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(PolicyError::many(file, problems));
    }

    let default_timeline = timeline(&entries, |s| *s == Scope::Default, |_| false);
    let mut countries: BTreeSet<Country> = BTreeSet::new();
    for e in &entries {
        if let Scope::Country(c) = e.scope {
            countries.insert(c);
        }
    }
    for (_, members) in &regions {
        countries.extend(members.iter().copied());
    }
    let mut timelines: Vec<Option<Box<[Segment]>>> = vec![None; COUNTRY_SLOTS];
    for c in countries {
        let rs = region_of(c);
        let t = timeline(
            &entries,
            |s| matches!(s, Scope::Country(x) if *x == c),
            |s| matches!(s, Scope::Region(r) if rs.contains(&r.as_str())),
        );
        if let Some(slot) = country_slot(c).and_then(|i| timelines.get_mut(i)) {
            *slot = Some(t.into_boxed_slice());
        }
    }
    Ok(CountryPolicy {
        version,
        entries,
        regions,
        timelines,
        default_timeline,
    })
}

/// The timeline of one market: at each breakpoint, its own entry if one
/// covers it, else its region's, else the default.
fn timeline(
    entries: &[PolicyEntry],
    own: impl Fn(&Scope) -> bool,
    region: impl Fn(&Scope) -> bool,
) -> Vec<Segment> {
    let relevant: Vec<(usize, &PolicyEntry)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| own(&e.scope) || region(&e.scope) || e.scope == Scope::Default)
        .collect();
    let mut points: BTreeSet<i64> = BTreeSet::from([i64::MIN]);
    for (_, e) in &relevant {
        let (a, b) = span(e);
        points.insert(a);
        if b != i64::MAX {
            points.insert(b);
        }
    }
    let rank = |s: &Scope| {
        if own(s) {
            0
        } else if region(s) {
            1
        } else {
            2
        }
    };
    let mut out: Vec<Segment> = Vec::new();
    for t in points {
        let best = relevant
            .iter()
            .filter(|(_, e)| {
                let (a, b) = span(e);
                a <= t && t < b
            })
            .min_by_key(|(_, e)| rank(&e.scope));
        // The default covers all time (checked above), so `best` exists.
        let Some((i, e)) = best else { continue };
        let applied = Applied {
            outcome: e.outcome,
            entry: *i as u16,
        };
        if out.last().is_none_or(|s| s.applied != applied) {
            out.push(Segment {
                from_ms: t,
                applied,
            });
        }
    }
    out
}
