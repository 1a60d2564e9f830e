//! A rule's condition in words an analyst reads: each comparison of a
//! feature (or a Wilson bound of two) with a constant, the value the
//! feature had when the rule last fired, and whether it held. Used by the
//! account page and by the compliance report
//! (`report`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::expr::{wilson_lower_bound, CmpOp};
use super::{BoolExpr, NumExpr, RuleSet};

/// One comparison of a rule's condition, as the rule saw it when it last fired.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The feature compared, or `wilson_lb(share, n)` of two.
    pub feature: String,
    /// The value it had.
    pub seen: f64,
    /// `<`, `<=`, `>`, `>=`, `==` or `!=`.
    pub op: &'static str,
    /// The value it is compared with.
    pub threshold: f64,
    /// Whether the comparison held.
    pub holds: bool,
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
    }
}

/// A feature term of a comparison: its name and the value it had.
fn term(e: &NumExpr, rules: &RuleSet, seen: &BTreeMap<String, f64>) -> Option<(String, f64)> {
    let name = |s: u16| rules.catalog().name(s).to_string();
    match e {
        NumExpr::Feature(s) => {
            let n = name(*s);
            seen.get(&n).map(|v| (n, *v))
        }
        NumExpr::WilsonLb(p, n) => match (p.as_ref(), n.as_ref()) {
            (NumExpr::Feature(p), NumExpr::Feature(n)) => {
                let (pn, nn) = (name(*p), name(*n));
                let v = wilson_lower_bound(*seen.get(&pn)?, *seen.get(&nn)?);
                Some((format!("wilson_lb({pn}, {nn})"), v))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The comparisons of a feature (or a Wilson bound) with a constant in `e`.
pub fn checks(e: &BoolExpr, rules: &RuleSet, seen: &BTreeMap<String, f64>, out: &mut Vec<Check>) {
    match e {
        BoolExpr::And(a, b) | BoolExpr::Or(a, b) => {
            checks(a, rules, seen, out);
            checks(b, rules, seen, out);
        }
        BoolExpr::Not(a) => checks(a, rules, seen, out),
        BoolExpr::Cmp(op, a, b) => {
            let found = match (a.as_ref(), b.as_ref()) {
                (x, NumExpr::Const(c)) => term(x, rules, seen).map(|t| (t, *op, *c)),
                (NumExpr::Const(c), x) => term(x, rules, seen).map(|t| (t, op.flipped(), *c)),
                _ => None,
            };
            if let Some(((feature, v), op, c)) = found {
                out.push(Check {
                    feature,
                    seen: v,
                    op: op_name(op),
                    threshold: c,
                    holds: op.apply(v, c),
                });
            }
        }
        _ => {}
    }
}

impl Check {
    /// The comparison in words: `account.x was 0.83; the rule needs > 0.5: met`.
    pub fn words(&self) -> String {
        let need = match self.op {
            "<" => "below",
            "<=" => "at most",
            ">" => "above",
            ">=" => "at least",
            "==" => "exactly",
            _ => "other than",
        };
        format!(
            "{} was {}; the rule needs it {need} {}: {}",
            self.feature,
            number(self.seen),
            number(self.threshold),
            if self.holds { "met" } else { "not met" }
        )
    }
}

/// A number as an analyst reads it: whole numbers plain, others to 3 places.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The checks of rule `id` at `version` (when the rules in force have that
/// version of it) over the feature values it saw.
pub fn rule_checks(
    rules: &RuleSet,
    id: &str,
    version: u32,
    seen: &BTreeMap<String, f64>,
) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(r) = rules
        .rules()
        .iter()
        .find(|r| r.id == id && r.version == version)
    {
        checks(&r.condition, rules, seen, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_read_as_words() {
        let c = Check {
            feature: "account.share".into(),
            seen: 0.834,
            op: ">=",
            threshold: 0.5,
            holds: true,
        };
        assert_eq!(
            c.words(),
            "account.share was 0.834; the rule needs it at least 0.500: met"
        );
        assert_eq!(number(12.0), "12");
    }
}
