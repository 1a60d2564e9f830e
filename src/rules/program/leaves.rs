//! The compile-time passes of the leaf bitmap (see the module above): the
//! table of a set's distinct comparisons of a feature with a constant, the
//! trees rewritten to read their bits, each rule's must-mask, and the
//! chains that start with leaves turned into one mask test.

use super::{Cond, Leaf, Num, Rule, LEAF_WORDS, MAX_LEAVES};
use crate::rules::expr::CmpOp;

/// Whether two leaves are the same comparison (constants compared by bits).
fn same_leaf(a: &Leaf, op: CmpOp, slot: u16, value: f64) -> bool {
    a.op == op && a.slot == slot && a.value.to_bits() == value.to_bits()
}

/// Calls `visit` on every condition node of `c`, conditions nested in
/// numeric expressions included.
fn walk_cond(c: &Cond, visit: &mut impl FnMut(&Cond)) {
    visit(c);
    match c {
        Cond::Not(x) | Cond::AnyBits(_, _, x) | Cond::AllBits(_, _, x) => walk_cond(x, visit),
        Cond::All(xs) | Cond::Any(xs) => xs.iter().for_each(|x| walk_cond(x, visit)),
        Cond::Cmp(_, a, b) => {
            walk_num(a, visit);
            walk_num(b, visit);
        }
        Cond::BoolEq(_, a, b) => {
            walk_cond(a, visit);
            walk_cond(b, visit);
        }
        Cond::If(c, a, b) => {
            walk_cond(c, visit);
            walk_cond(a, visit);
            walk_cond(b, visit);
        }
        Cond::In(x, _) => walk_num(x, visit),
        Cond::Const(_)
        | Cond::Feature(_)
        | Cond::FeatureConst(..)
        | Cond::Leaf(_)
        | Cond::SharedConst(..) => {}
    }
}

/// [`walk_cond`] over the conditions nested in a numeric expression.
fn walk_num(n: &Num, visit: &mut impl FnMut(&Cond)) {
    match n {
        Num::Neg(x) => walk_num(x, visit),
        Num::Arith(_, a, b) | Num::WilsonLb(a, b) => {
            walk_num(a, visit);
            walk_num(b, visit);
        }
        Num::Cond(c, a, b) => {
            walk_cond(c, visit);
            walk_num(a, visit);
            walk_num(b, visit);
        }
        Num::Min(xs) | Num::Max(xs) => xs.iter().for_each(|x| walk_num(x, visit)),
        Num::Const(_) | Num::Feature(_) | Num::Shared(_) => {}
    }
}

/// Every distinct comparison of a feature with a constant in the rules and
/// the shared subexpressions (at most [`MAX_LEAVES`], the most frequent
/// first), ordered by operator.
pub(super) fn leaf_table(conds: &[Cond], shared: &[Num]) -> Vec<Leaf> {
    let mut counted: Vec<(Leaf, u32)> = Vec::new();
    let mut count = |x: &Cond| {
        if let Cond::FeatureConst(op, slot, value) = *x {
            match counted
                .iter_mut()
                .find(|(l, _)| same_leaf(l, op, slot, value))
            {
                Some((_, n)) => *n += 1,
                None => counted.push((Leaf { op, slot, value }, 1)),
            }
        }
    };
    conds.iter().for_each(|c| walk_cond(c, &mut count));
    shared.iter().for_each(|n| walk_num(n, &mut count));
    // Stable: equally frequent leaves keep their first-seen order.
    counted.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut leaves: Vec<Leaf> = counted
        .into_iter()
        .map(|(l, _)| l)
        .take(MAX_LEAVES)
        .collect();
    leaves.sort_by_key(|l| l.op as u8);
    leaves
}

/// `c` with each comparison in `leaves` replaced by its bit, and every
/// chain's operands ordered again cheapest first (a bit test costs nothing).
pub(super) fn to_leaves(c: Cond, leaves: &[Leaf]) -> Cond {
    let chain = |xs: Vec<Cond>| {
        let mut xs: Vec<Cond> = xs.into_iter().map(|x| to_leaves(x, leaves)).collect();
        xs.sort_by_key(Cond::cost);
        xs
    };
    let boxed = |x: Box<Cond>| Box::new(to_leaves(*x, leaves));
    match c {
        Cond::FeatureConst(op, slot, value) => {
            match leaves.iter().position(|l| same_leaf(l, op, slot, value)) {
                Some(i) => Cond::Leaf(i as u16),
                None => c,
            }
        }
        Cond::Not(x) => Cond::Not(boxed(x)),
        Cond::All(xs) => Cond::All(chain(xs)),
        Cond::Any(xs) => Cond::Any(chain(xs)),
        Cond::Cmp(op, a, b) => Cond::Cmp(op, num_to_leaves(*a, leaves), num_to_leaves(*b, leaves)),
        Cond::BoolEq(eq, a, b) => Cond::BoolEq(eq, boxed(a), boxed(b)),
        Cond::If(c, a, b) => Cond::If(boxed(c), boxed(a), boxed(b)),
        Cond::In(x, vs) => Cond::In(num_to_leaves(*x, leaves), vs),
        other @ (Cond::Const(_)
        | Cond::Feature(_)
        | Cond::Leaf(_)
        | Cond::SharedConst(..)
        | Cond::AnyBits(..)
        | Cond::AllBits(..)) => other,
    }
}

/// `c` with each chain that starts with leaves (ordered cheapest first, so
/// leaves lead) turned into one mask test over the bitmap word of its first
/// leaf, and then the rest of the chain. Chains inside numeric expressions
/// (a `cond ? a : b`) are left as they are: their leaves are tested one bit
/// at a time.
pub(super) fn to_bits(c: Cond) -> Cond {
    let boxed = |x: Box<Cond>| Box::new(to_bits(*x));
    match c {
        Cond::All(xs) => chain_bits(xs, true),
        Cond::Any(xs) => chain_bits(xs, false),
        Cond::Not(x) => Cond::Not(boxed(x)),
        Cond::BoolEq(eq, a, b) => Cond::BoolEq(eq, boxed(a), boxed(b)),
        Cond::If(c, a, b) => Cond::If(boxed(c), boxed(a), boxed(b)),
        other => other,
    }
}

/// The operands `xs` as one `&&` (`all`) or `||` chain: the empty chain's
/// value (an empty `&&` holds, an empty `||` does not), the one operand
/// itself, or the chain.
fn chain_of(mut xs: Vec<Cond>, all: bool) -> Cond {
    match xs.len() {
        0 => Cond::Const(all),
        1 => xs.pop().unwrap_or(Cond::Const(all)),
        _ if all => Cond::All(xs),
        _ => Cond::Any(xs),
    }
}

/// One `&&` (`all`) or `||` chain, for [`to_bits`].
fn chain_bits(xs: Vec<Cond>, all: bool) -> Cond {
    let xs: Vec<Cond> = xs.into_iter().map(to_bits).collect();
    let word = match xs.first() {
        Some(Cond::Leaf(i)) => usize::from(*i) / 64,
        _ => return if all { Cond::All(xs) } else { Cond::Any(xs) },
    };
    let mut mask = 0u64;
    let mut rest = Vec::new();
    for x in xs {
        match x {
            Cond::Leaf(i) if usize::from(i) / 64 == word => mask |= 1 << (usize::from(i) % 64),
            other => rest.push(other),
        }
    }
    let rest = chain_of(rest, all);
    let word = word as u8;
    if all {
        Cond::AllBits(word, mask, Box::new(rest))
    } else {
        Cond::AnyBits(word, mask, Box::new(rest))
    }
}

/// [`to_leaves`] over the conditions nested in a numeric expression.
fn num_to_leaves(n: Num, leaves: &[Leaf]) -> Box<Num> {
    Box::new(num_leaves(n, leaves))
}

pub(super) fn num_leaves(n: Num, leaves: &[Leaf]) -> Num {
    let each = |xs: Vec<Num>| xs.into_iter().map(|x| num_leaves(x, leaves)).collect();
    match n {
        Num::Neg(x) => Num::Neg(num_to_leaves(*x, leaves)),
        Num::Arith(op, a, b) => {
            Num::Arith(op, num_to_leaves(*a, leaves), num_to_leaves(*b, leaves))
        }
        Num::WilsonLb(a, b) => Num::WilsonLb(num_to_leaves(*a, leaves), num_to_leaves(*b, leaves)),
        Num::Cond(c, a, b) => Num::Cond(
            Box::new(to_leaves(*c, leaves)),
            num_to_leaves(*a, leaves),
            num_to_leaves(*b, leaves),
        ),
        Num::Min(xs) => Num::Min(each(xs)),
        Num::Max(xs) => Num::Max(each(xs)),
        other @ (Num::Const(_) | Num::Feature(_) | Num::Shared(_)) => other,
    }
}

/// A rule's condition (its comparisons already leaves) as the mask of the
/// leaves its top-level chain requires and the rest of that chain.
pub(super) fn split_leaves(c: Cond) -> Rule {
    let mut must = [0u64; LEAF_WORDS];
    let mut take = |x: &Cond| -> bool {
        let Cond::Leaf(i) = *x else {
            return false;
        };
        let i = usize::from(i);
        match must.get_mut(i / 64) {
            Some(w) => {
                *w |= 1 << (i % 64);
                true
            }
            None => false,
        }
    };
    let rest = match c {
        Cond::All(xs) => chain_of(xs.into_iter().filter(|x| !take(x)).collect(), true),
        one @ Cond::Leaf(_) if take(&one) => Cond::Const(true),
        other => other,
    };
    Rule { must, rest }
}
