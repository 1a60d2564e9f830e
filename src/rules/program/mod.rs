//! The conditions of a rule set, compiled for the hot path.
//!
//! The typed trees of [`expr`](super::expr) say what a rule means; a
//! [`Program`] is how all of a set's rules are evaluated per event:
//! - `&&` and `||` chains are flattened and their operands ordered cheapest
//!   first (a comparison of a feature with a constant before a Wilson
//!   bound), so most rules are decided by one or two loads. Conditions are
//!   pure and total (no errors, division by zero is 0), so the order of
//!   operands never changes a result.
//! - Costly numeric subexpressions (`wilson_lb(...)`, arithmetic) that are
//!   written the same way in several places are computed once per event
//!   and shared, through a small memo on the stack.
//! - A comparison of a feature with a constant is one node.
//! - Every distinct comparison of a feature with a constant (a "leaf",
//!   such as `account.users_1h >= 2`), wherever it is written, is taken
//!   into one table. Each leaf is evaluated once per event, in one
//!   branchless loop per operator, into a bitmap. The leaves a rule's
//!   top-level `&&` chain requires become one mask test before the rest of
//!   its chain runs; a leaf deeper down (in an `||`, say) is a bit test.
//!   As conditions are pure, evaluating a leaf that a short-circuit would
//!   have skipped changes no result.

mod leaves;

use super::expr::{wilson_lower_bound, ArithOp, BoolExpr, CmpOp, NumExpr};
use leaves::{leaf_table, num_leaves, split_leaves, to_bits, to_leaves};

/// Shared subexpressions memoised per event, at most.
const MAX_SHARED: usize = 32;

/// A compiled numeric expression.
#[derive(Debug, Clone)]
enum Num {
    Const(f64),
    Feature(u16),
    /// A shared subexpression, by index.
    Shared(u16),
    Neg(Box<Num>),
    Arith(ArithOp, Box<Num>, Box<Num>),
    Cond(Box<Cond>, Box<Num>, Box<Num>),
    Min(Vec<Num>),
    Max(Vec<Num>),
    WilsonLb(Box<Num>, Box<Num>),
}

/// A compiled condition.
#[derive(Debug, Clone)]
enum Cond {
    Const(bool),
    Feature(u16),
    Not(Box<Cond>),
    /// Every operand holds (operands cheapest first).
    All(Vec<Cond>),
    /// Some operand holds (operands cheapest first).
    Any(Vec<Cond>),
    /// `feature op constant`.
    FeatureConst(CmpOp, u16, f64),
    /// `feature op constant` taken into the leaf table: a bit of the
    /// event's leaf bitmap, by leaf index.
    Leaf(u16),
    /// An `||` chain that starts with leaves of one word of the bitmap:
    /// some of the bits of `mask` in word `word`, or else the rest.
    AnyBits(u8, u64, Box<Cond>),
    /// An `&&` chain that starts with leaves of one word of the bitmap:
    /// every bit of `mask` in word `word`, and then the rest.
    AllBits(u8, u64, Box<Cond>),
    /// `shared subexpression op constant`.
    SharedConst(CmpOp, u16, f64),
    Cmp(CmpOp, Box<Num>, Box<Num>),
    BoolEq(bool, Box<Cond>, Box<Cond>),
    If(Box<Cond>, Box<Cond>, Box<Cond>),
    In(Box<Num>, Vec<f64>),
}

/// Most distinct leaves held in the per-event bitmap; the leaves of a set
/// with more stay in their chains.
const MAX_LEAVES: usize = 256;
/// Words of the per-event leaf bitmap.
const LEAF_WORDS: usize = MAX_LEAVES / 64;

/// A comparison of a feature with a constant, evaluated once per event.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    op: CmpOp,
    slot: u16,
    value: f64,
}

/// The leaves of one operator, bits `first..first + leaves.len()` of the
/// bitmap, all in one of its words: one loop without a branch on the
/// operator, into one word.
#[derive(Debug, Clone)]
struct LeafGroup {
    op: CmpOp,
    first: usize,
    /// (feature slot, constant) of each leaf.
    leaves: Vec<(u16, f64)>,
}

/// One rule: the leaves it requires (a mask over the leaf bitmap), then
/// the rest of its condition.
#[derive(Debug, Clone)]
struct Rule {
    must: [u64; LEAF_WORDS],
    rest: Cond,
}

/// The values of shared subexpressions computed so far for one event.
struct Memo {
    values: [f64; MAX_SHARED],
    done: u32,
    /// The event's leaf bitmap.
    bits: [u64; LEAF_WORDS],
}

impl Memo {
    fn leaf(&self, i: u16) -> bool {
        let i = usize::from(i);
        self.bits
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    /// The bits of `mask` that are set in word `word`.
    fn word(&self, word: u8, mask: u64) -> u64 {
        self.bits.get(usize::from(word)).map_or(0, |w| w & mask)
    }
}

/// Every condition of a rule set, compiled together. Immutable,
/// `Send + Sync`; evaluation keeps its scratch on the stack.
#[derive(Debug, Clone, Default)]
pub struct Program {
    rules: Vec<Rule>,
    shared: Vec<Num>,
    /// The distinct leaves, grouped by operator (bits in group order).
    groups: Vec<LeafGroup>,
}

fn feature(f: &[f64], slot: u16) -> f64 {
    f.get(usize::from(slot)).copied().unwrap_or(0.0)
}

impl Num {
    fn eval(&self, f: &[f64], p: &Program, m: &mut Memo) -> f64 {
        match self {
            Num::Const(v) => *v,
            Num::Feature(s) => feature(f, *s),
            Num::Shared(i) => p.shared_value(*i, f, m),
            Num::Neg(x) => -x.eval(f, p, m),
            Num::Arith(op, a, b) => {
                let a = a.eval(f, p, m);
                op.apply(a, b.eval(f, p, m))
            }
            Num::Cond(c, a, b) => {
                if c.eval(f, p, m) {
                    a.eval(f, p, m)
                } else {
                    b.eval(f, p, m)
                }
            }
            Num::Min(xs) => xs
                .iter()
                .map(|x| x.eval(f, p, m))
                .fold(f64::INFINITY, f64::min),
            Num::Max(xs) => xs
                .iter()
                .map(|x| x.eval(f, p, m))
                .fold(f64::NEG_INFINITY, f64::max),
            Num::WilsonLb(a, n) => wilson_lower_bound(a.eval(f, p, m), n.eval(f, p, m)),
        }
    }

    /// A rough cost, in loads and operations.
    fn cost(&self) -> u32 {
        match self {
            Num::Const(_) => 0,
            Num::Feature(_) => 1,
            // Often computed already by an earlier rule.
            Num::Shared(_) => 4,
            Num::Neg(x) => 1 + x.cost(),
            Num::Arith(_, a, b) => 2 + a.cost() + b.cost(),
            Num::Cond(c, a, b) => 1 + c.cost() + a.cost().max(b.cost()),
            Num::Min(xs) | Num::Max(xs) => xs.iter().map(|x| 1 + x.cost()).sum(),
            Num::WilsonLb(a, n) => 30 + a.cost() + n.cost(),
        }
    }
}

impl Cond {
    /// Evaluates the common leaves in line, the rest by a call: the
    /// operands of a chain are mostly comparisons with a constant.
    #[inline(always)]
    fn eval_leaf(&self, f: &[f64], p: &Program, m: &mut Memo) -> bool {
        match self {
            Cond::Leaf(i) => m.leaf(*i),
            Cond::AnyBits(w, mask, rest) => m.word(*w, *mask) != 0 || rest.eval(f, p, m),
            Cond::AllBits(w, mask, rest) => m.word(*w, *mask) == *mask && rest.eval(f, p, m),
            Cond::FeatureConst(op, s, v) => op.apply(feature(f, *s), *v),
            Cond::SharedConst(op, i, v) => op.apply(p.shared_value(*i, f, m), *v),
            other => other.eval(f, p, m),
        }
    }

    fn eval(&self, f: &[f64], p: &Program, m: &mut Memo) -> bool {
        match self {
            Cond::Const(v) => *v,
            Cond::Feature(s) => feature(f, *s) != 0.0,
            Cond::Not(x) => !x.eval(f, p, m),
            Cond::All(xs) => xs.iter().all(|x| x.eval_leaf(f, p, m)),
            Cond::Any(xs) => xs.iter().any(|x| x.eval_leaf(f, p, m)),
            Cond::Leaf(i) => m.leaf(*i),
            Cond::AnyBits(w, mask, rest) => m.word(*w, *mask) != 0 || rest.eval(f, p, m),
            Cond::AllBits(w, mask, rest) => m.word(*w, *mask) == *mask && rest.eval(f, p, m),
            Cond::FeatureConst(op, s, v) => op.apply(feature(f, *s), *v),
            Cond::SharedConst(op, i, v) => op.apply(p.shared_value(*i, f, m), *v),
            Cond::Cmp(op, a, b) => {
                let a = a.eval(f, p, m);
                op.apply(a, b.eval(f, p, m))
            }
            Cond::BoolEq(eq, a, b) => (a.eval(f, p, m) == b.eval(f, p, m)) == *eq,
            Cond::If(c, a, b) => {
                if c.eval(f, p, m) {
                    a.eval(f, p, m)
                } else {
                    b.eval(f, p, m)
                }
            }
            Cond::In(x, vs) => {
                let x = x.eval(f, p, m);
                vs.contains(&x)
            }
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Cond::Const(_) | Cond::Leaf(_) => 0,
            Cond::AnyBits(_, _, rest) | Cond::AllBits(_, _, rest) => 1 + rest.cost(),
            Cond::Feature(_) | Cond::FeatureConst(..) => 1,
            Cond::SharedConst(..) => 4,
            Cond::Not(x) => x.cost(),
            Cond::All(xs) | Cond::Any(xs) => xs.iter().map(Cond::cost).sum(),
            Cond::Cmp(_, a, b) => 1 + a.cost() + b.cost(),
            Cond::BoolEq(_, a, b) => 1 + a.cost() + b.cost(),
            Cond::If(c, a, b) => c.cost() + a.cost().max(b.cost()),
            Cond::In(x, vs) => x.cost() + vs.len() as u32,
        }
    }
}

/// Lowers typed trees into a [`Program`], sharing repeated subexpressions.
struct Lowering {
    /// The typed form of each shared subexpression, for finding repeats.
    seen: Vec<NumExpr>,
    /// How often each typed subexpression occurs in the whole set.
    counts: Vec<(NumExpr, u32)>,
    shared: Vec<Num>,
}

impl Lowering {
    /// Counts every costly numeric subexpression of `e`.
    fn count_bool(&mut self, e: &BoolExpr) {
        match e {
            BoolExpr::Const(_) | BoolExpr::Feature(_) => {}
            BoolExpr::Not(x) => self.count_bool(x),
            BoolExpr::And(a, b) | BoolExpr::Or(a, b) | BoolExpr::BoolEq(_, a, b) => {
                self.count_bool(a);
                self.count_bool(b);
            }
            BoolExpr::Cmp(_, a, b) => {
                self.count_num(a);
                self.count_num(b);
            }
            BoolExpr::Cond(c, a, b) => {
                self.count_bool(c);
                self.count_bool(a);
                self.count_bool(b);
            }
            BoolExpr::In(x, _) => self.count_num(x),
        }
    }

    fn count_num(&mut self, e: &NumExpr) {
        match e {
            NumExpr::Const(_) | NumExpr::Feature(_) => return,
            NumExpr::Neg(x) => self.count_num(x),
            NumExpr::Arith(_, a, b) | NumExpr::WilsonLb(a, b) => {
                self.count_num(a);
                self.count_num(b);
            }
            NumExpr::Cond(c, a, b) => {
                self.count_bool(c);
                self.count_num(a);
                self.count_num(b);
            }
            NumExpr::Min(xs) | NumExpr::Max(xs) => xs.iter().for_each(|x| self.count_num(x)),
        }
        match self.counts.iter_mut().find(|(x, _)| x == e) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((e.clone(), 1)),
        }
    }

    fn times_seen(&self, e: &NumExpr) -> u32 {
        self.counts
            .iter()
            .find(|(x, _)| x == e)
            .map_or(0, |(_, n)| *n)
    }

    fn num(&mut self, e: &NumExpr) -> Num {
        let lowered = match e {
            NumExpr::Const(v) => return Num::Const(*v),
            NumExpr::Feature(s) => return Num::Feature(*s),
            NumExpr::Neg(x) => Num::Neg(Box::new(self.num(x))),
            NumExpr::Arith(op, a, b) => {
                Num::Arith(*op, Box::new(self.num(a)), Box::new(self.num(b)))
            }
            NumExpr::Cond(c, a, b) => Num::Cond(
                Box::new(self.cond(c)),
                Box::new(self.num(a)),
                Box::new(self.num(b)),
            ),
            NumExpr::Min(xs) => Num::Min(xs.iter().map(|x| self.num(x)).collect()),
            NumExpr::Max(xs) => Num::Max(xs.iter().map(|x| self.num(x)).collect()),
            NumExpr::WilsonLb(a, n) => Num::WilsonLb(Box::new(self.num(a)), Box::new(self.num(n))),
        };
        if self.times_seen(e) < 2 {
            return lowered;
        }
        if let Some(i) = self.seen.iter().position(|x| x == e) {
            return Num::Shared(i as u16);
        }
        if self.shared.len() >= MAX_SHARED {
            return lowered;
        }
        self.seen.push(e.clone());
        self.shared.push(lowered);
        Num::Shared((self.shared.len() - 1) as u16)
    }

    fn cond(&mut self, e: &BoolExpr) -> Cond {
        match e {
            BoolExpr::Const(v) => Cond::Const(*v),
            BoolExpr::Feature(s) => Cond::Feature(*s),
            BoolExpr::Not(x) => Cond::Not(Box::new(self.cond(x))),
            BoolExpr::And(..) => {
                let mut parts = Vec::new();
                flatten(e, true, &mut parts);
                Cond::All(self.ordered(&parts))
            }
            BoolExpr::Or(..) => {
                let mut parts = Vec::new();
                flatten(e, false, &mut parts);
                Cond::Any(self.ordered(&parts))
            }
            BoolExpr::Cmp(op, a, b) => match (&**a, &**b) {
                (NumExpr::Feature(s), NumExpr::Const(v)) => Cond::FeatureConst(*op, *s, *v),
                (NumExpr::Const(v), NumExpr::Feature(s)) => {
                    Cond::FeatureConst(op.flipped(), *s, *v)
                }
                (x, NumExpr::Const(v)) => match self.num(x) {
                    Num::Shared(i) => Cond::SharedConst(*op, i, *v),
                    n => Cond::Cmp(*op, Box::new(n), Box::new(Num::Const(*v))),
                },
                (NumExpr::Const(v), x) => match self.num(x) {
                    Num::Shared(i) => Cond::SharedConst(op.flipped(), i, *v),
                    n => Cond::Cmp(*op, Box::new(Num::Const(*v)), Box::new(n)),
                },
                _ => Cond::Cmp(*op, Box::new(self.num(a)), Box::new(self.num(b))),
            },
            BoolExpr::BoolEq(eq, a, b) => {
                Cond::BoolEq(*eq, Box::new(self.cond(a)), Box::new(self.cond(b)))
            }
            BoolExpr::Cond(c, a, b) => Cond::If(
                Box::new(self.cond(c)),
                Box::new(self.cond(a)),
                Box::new(self.cond(b)),
            ),
            BoolExpr::In(x, vs) => Cond::In(Box::new(self.num(x)), vs.clone()),
        }
    }

    /// Lowers the operands of a chain, cheapest first (stable).
    fn ordered(&mut self, parts: &[&BoolExpr]) -> Vec<Cond> {
        let mut out: Vec<Cond> = parts.iter().map(|p| self.cond(p)).collect();
        out.sort_by_key(Cond::cost);
        out
    }
}

/// The operands of a chain of `&&` (`and`) or `||`, left to right.
fn flatten<'a>(e: &'a BoolExpr, and: bool, out: &mut Vec<&'a BoolExpr>) {
    match e {
        BoolExpr::And(a, b) if and => {
            flatten(a, and, out);
            flatten(b, and, out);
        }
        BoolExpr::Or(a, b) if !and => {
            flatten(a, and, out);
            flatten(b, and, out);
        }
        _ => out.push(e),
    }
}

impl Program {
    /// Compiles the conditions of a rule set, in rule order.
    pub fn compile<'a>(conditions: impl IntoIterator<Item = &'a BoolExpr> + Clone) -> Program {
        let mut l = Lowering {
            seen: Vec::new(),
            counts: Vec::new(),
            shared: Vec::new(),
        };
        for c in conditions.clone() {
            l.count_bool(c);
        }
        let conds: Vec<Cond> = conditions.into_iter().map(|c| l.cond(c)).collect();
        let leaves = leaf_table(&conds, &l.shared);
        let rules = conds
            .into_iter()
            .map(|c| split_leaves(to_leaves(c, &leaves)))
            .map(|r| Rule {
                must: r.must,
                rest: to_bits(r.rest),
            })
            .collect();
        let shared = l
            .shared
            .into_iter()
            .map(|n| num_leaves(n, &leaves))
            .collect();
        let mut groups: Vec<LeafGroup> = Vec::new();
        for (i, l) in leaves.iter().enumerate() {
            match groups.last_mut() {
                // A group never crosses a word of the bitmap.
                Some(g) if g.op == l.op && i % 64 != 0 => g.leaves.push((l.slot, l.value)),
                _ => groups.push(LeafGroup {
                    op: l.op,
                    first: i,
                    leaves: vec![(l.slot, l.value)],
                }),
            }
        }
        Program {
            rules,
            shared,
            groups,
        }
    }

    /// The bitmap of this event's leaves: group `g`'s leaf `k` is bit `g.first + k`.
    #[inline(always)]
    fn leaf_bits(&self, f: &[f64]) -> [u64; LEAF_WORDS] {
        let mut bits = [0u64; LEAF_WORDS];
        for g in &self.groups {
            let b = &mut bits;
            match g.op {
                CmpOp::Lt => group_bits(f, g, b, |x, v| x < v),
                CmpOp::Le => group_bits(f, g, b, |x, v| x <= v),
                CmpOp::Gt => group_bits(f, g, b, |x, v| x > v),
                CmpOp::Ge => group_bits(f, g, b, |x, v| x >= v),
                CmpOp::Eq => group_bits(f, g, b, |x, v| x == v),
                CmpOp::Ne => group_bits(f, g, b, |x, v| x != v),
            }
        }
        bits
    }

    /// The value of shared subexpression `i` for this event, computed once.
    #[inline(always)]
    fn shared_value(&self, i: u16, f: &[f64], m: &mut Memo) -> f64 {
        let i = usize::from(i);
        if m.done & (1 << i) == 0 {
            let v = self.shared.get(i).map_or(0.0, |x| x.eval(f, self, m));
            m.values[i] = v;
            m.done |= 1 << i;
        }
        m.values[i]
    }

    /// Number of shared subexpressions.
    pub fn shared_len(&self) -> usize {
        self.shared.len()
    }

    /// Evaluates every rule over `features`; calls `fired(i)` for each rule
    /// index whose condition holds, in rule order.
    pub fn evaluate(&self, features: &[f64], mut fired: impl FnMut(usize)) {
        let mut memo = Memo {
            values: [0.0; MAX_SHARED],
            done: 0,
            bits: self.leaf_bits(features),
        };
        for (i, r) in self.rules.iter().enumerate() {
            let bits = &memo.bits;
            let required = r.must.iter().zip(bits).all(|(m, b)| b & m == *m);
            if required && r.rest.eval(features, self, &mut memo) {
                fired(i);
            }
        }
    }

    /// Number of distinct leaves in the table.
    pub fn leaf_len(&self) -> usize {
        self.groups.iter().map(|g| g.leaves.len()).sum()
    }
}

/// Sets the bits of group `g`'s leaves that hold (`holds(feature, constant)`).
#[inline(always)]
fn group_bits(
    f: &[f64],
    g: &LeafGroup,
    bits: &mut [u64; LEAF_WORDS],
    holds: impl Fn(f64, f64) -> bool,
) {
    let mut word = 0u64;
    for (k, &(slot, value)) in g.leaves.iter().enumerate() {
        word |= u64::from(holds(feature(f, slot), value)) << (k % 64);
    }
    if let Some(w) = bits.get_mut(g.first / 64) {
        *w |= word << (g.first % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Catalog;
    use crate::rules::cel::compile_condition;
    use crate::rules::RuleSet;

    fn fired(p: &Program, f: &[f64]) -> Vec<usize> {
        let mut out = Vec::new();
        p.evaluate(f, |i| out.push(i));
        out
    }

    fn tree_fired(conds: &[BoolExpr], f: &[f64]) -> Vec<usize> {
        (0..conds.len()).filter(|i| conds[*i].eval(f)).collect()
    }

    #[test]
    fn repeated_subexpressions_are_shared_and_chains_flattened() {
        let c = Catalog::new(["open_domain_task"]);
        let srcs = [
            "wilson_lb(account.open_domain_task_share, account.scanned_inbound_1h) >= 0.2 && account.users_1h >= 3",
            "account.users_1h >= 3 && (wilson_lb(account.open_domain_task_share, account.scanned_inbound_1h) >= 0.1 || account.topics_1h > 2)",
            "account.topics_1h / account.users_1h > 0.5",
        ];
        let conds: Vec<BoolExpr> = srcs
            .iter()
            .map(|s| compile_condition(s, &c).expect("compiles"))
            .collect();
        let p = Program::compile(conds.iter());
        // The Wilson bound appears twice; the division once.
        assert_eq!(p.shared_len(), 1);
        // Two leaves, grouped by operator (`>` before `>=`):
        // `account.topics_1h > 2` (bit 0), inside an `||`, is a mask test
        // there; `account.users_1h >= 3` (bit 1) is required by the
        // first two rules, and the first rule's chain keeps only its Wilson
        // bound.
        assert_eq!(p.leaf_len(), 2);
        assert_eq!(p.groups[0].op, CmpOp::Gt);
        assert!(matches!(p.groups[0].leaves[..], [(_, value)] if value == 2.0));
        assert_eq!(p.groups[1].op, CmpOp::Ge);
        assert!(matches!(p.groups[1].leaves[..], [(_, value)] if value == 3.0));
        assert_eq!(p.rules[0].must[0], 0b10);
        assert_eq!(p.rules[1].must[0], 0b10);
        assert_eq!(p.rules[2].must[0], 0);
        assert!(matches!(
            p.rules[0].rest,
            Cond::SharedConst(CmpOp::Ge, 0, _)
        ));
        // The second rule's rest is its `||`: bit 0, or else the bound.
        assert!(
            matches!(
                p.rules[1].rest,
                Cond::AnyBits(0, 1, ref rest) if matches!(**rest, Cond::SharedConst(CmpOp::Ge, 0, _))
            ),
            "{:?}",
            p.rules[1].rest
        );
    }

    /// A set with more leaves than one word of the bitmap holds (and more
    /// than the bitmap holds: those stay in their chains) fires what the
    /// trees fire, for every value of the two features it reads.
    #[test]
    fn leaves_past_the_first_word_fire_as_the_trees() {
        let c = Catalog::new(["open_domain_task"]);
        // Five `<=` leaves first, so that no operator's group starts on a
        // word boundary.
        let srcs: Vec<String> = (0..5)
            .map(|k| format!("account.users_1h <= {}", 150 - k))
            .chain((0..150).map(|k| {
                format!(
                    "account.users_1h >= {k} && account.inbound_1h < {} && (account.users_1h > {} || account.inbound_1h > {k})",
                    k + 3,
                    k + 1,
                )
            }))
            .collect();
        let conds: Vec<BoolExpr> = srcs
            .iter()
            .map(|s| compile_condition(s, &c).expect("compiles"))
            .collect();
        let p = Program::compile(conds.iter());
        assert_eq!(
            p.leaf_len(),
            MAX_LEAVES,
            "455 distinct leaves, the table full"
        );
        assert!(p
            .groups
            .iter()
            .all(|g| g.first / 64 == (g.first + g.leaves.len() - 1) / 64));
        let users = usize::from(c.lookup("account.users_1h").expect("a feature").0);
        let inbound = usize::from(c.lookup("account.inbound_1h").expect("a feature").0);
        let mut f = vec![0.0; c.len()];
        let mut fired_any = 0;
        for u in 0..155 {
            for i in 0..155 {
                f[users] = f64::from(u);
                f[inbound] = f64::from(i);
                let want = tree_fired(&conds, &f);
                assert_eq!(fired(&p, &f), want, "users {u}, inbound {i}");
                fired_any += want.len();
            }
        }
        assert!(fired_any > 150, "{fired_any} rules fired");
    }

    /// The default pack's trees and its program, built once.
    fn pack() -> &'static (usize, Vec<BoolExpr>, Program) {
        static PACK: std::sync::OnceLock<(usize, Vec<BoolExpr>, Program)> =
            std::sync::OnceLock::new();
        PACK.get_or_init(|| {
            let rules = RuleSet::default_pack();
            let conds: Vec<BoolExpr> = rules.rules().iter().map(|r| r.condition.clone()).collect();
            let p = Program::compile(conds.iter());
            (rules.catalog().len(), conds, p)
        })
    }

    proptest::proptest! {
        /// The program fires exactly the rules the typed trees fire, for the
        /// default pack, on any feature values (NaN and zero included).
        #[test]
        fn program_equals_the_trees_on_the_default_pack(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    Just(0.0), Just(1.0), Just(f64::NAN), 0.0f64..1.0, 0.0f64..500.0
                ],
                128,
            ),
        ) {
            let (n, conds, p) = pack();
            let f = &values[..(*n).min(values.len())];
            proptest::prop_assert_eq!(fired(p, f), tree_fired(conds, f));
        }
    }

    /// The same on the features of real traffic, where rules do fire.
    #[test]
    fn program_equals_the_trees_on_scenario_traffic() {
        use crate::clock::ManualClock;
        use crate::decide::CountryPolicy;
        use crate::{Engine, EngineConfig, Event, Scratch};
        use satpam_scenario::{Scenario, ScenarioConfig, TextBank};
        use std::sync::Arc;

        let (_, conds, p) = pack();
        let scenario = Scenario::generate(
            &ScenarioConfig {
                accounts: 40,
                hours: 3.0,
                seed: 5,
                ..ScenarioConfig::default()
            },
            Arc::new(TextBank::builtin()),
        );
        let engine = Engine::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::default(),
            Arc::new(ManualClock::new(0)),
            EngineConfig::default(),
        );
        let mut scratch = Scratch::default();
        let mut fired_any = 0;
        for m in scenario.events() {
            let Ok(e) = Event::try_from(m) else { continue };
            engine.process(&e, &mut scratch);
            let f = scratch.features().values();
            let want = tree_fired(conds, f);
            assert_eq!(fired(p, f), want);
            fired_any += usize::from(!want.is_empty());
        }
        assert!(fired_any > 100, "rules fired on {fired_any} events");
    }

    use proptest::prelude::Just;
}
