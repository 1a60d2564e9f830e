//! Typed, compiled rule conditions. A condition is parsed as CEL once and
//! compiled into a tree over feature slots; evaluation reads a slice of
//! f64s and never looks a name up.

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// Arithmetic operators. Division by zero yields 0 (never NaN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl CmpOp {
    /// `a op b`.
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }

    /// The operator `op'` with `a op b` == `b op' a`.
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
        }
    }
}

impl ArithOp {
    /// `a op b`; division by zero yields 0.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => {
                if b == 0.0 {
                    0.0
                } else {
                    a / b
                }
            }
        }
    }
}

/// A numeric expression.
#[derive(Debug, Clone, PartialEq)]
pub enum NumExpr {
    /// A literal.
    Const(f64),
    /// A feature slot.
    Feature(u16),
    /// `-x`
    Neg(Box<NumExpr>),
    /// `a op b`
    Arith(ArithOp, Box<NumExpr>, Box<NumExpr>),
    /// `c ? a : b`
    Cond(Box<BoolExpr>, Box<NumExpr>, Box<NumExpr>),
    /// `min(a, b, ...)`
    Min(Vec<NumExpr>),
    /// `max(a, b, ...)`
    Max(Vec<NumExpr>),
    /// `wilson_lb(share, n)`: the lower bound of the 95% one-sided Wilson
    /// score interval of a share observed over `n` trials (0 when n <= 0).
    WilsonLb(Box<NumExpr>, Box<NumExpr>),
}

/// z for a one-sided 95% bound.
const WILSON_Z: f64 = 1.645;

/// The lower bound of the one-sided 95% Wilson score interval of share `p`
/// observed over `n` trials: small samples are judged cautiously, large
/// ones by what they show.
pub fn wilson_lower_bound(p: f64, n: f64) -> f64 {
    if n <= 0.0 || p.is_nan() {
        return 0.0;
    }
    let p = p.clamp(0.0, 1.0);
    let z2 = WILSON_Z * WILSON_Z;
    let centre = p + z2 / (2.0 * n);
    let margin = WILSON_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum BoolExpr {
    /// A literal.
    Const(bool),
    /// A boolean feature slot (non-zero is true).
    Feature(u16),
    /// `!x`
    Not(Box<BoolExpr>),
    /// `a && b`
    And(Box<BoolExpr>, Box<BoolExpr>),
    /// `a || b`
    Or(Box<BoolExpr>, Box<BoolExpr>),
    /// `a op b` over numbers.
    Cmp(CmpOp, Box<NumExpr>, Box<NumExpr>),
    /// `a == b` (true) or `a != b` (false) over booleans.
    BoolEq(bool, Box<BoolExpr>, Box<BoolExpr>),
    /// `c ? a : b`
    Cond(Box<BoolExpr>, Box<BoolExpr>, Box<BoolExpr>),
    /// `x in [v, ...]`
    In(Box<NumExpr>, Vec<f64>),
}

impl NumExpr {
    /// Evaluates over feature values.
    pub fn eval(&self, f: &[f64]) -> f64 {
        match self {
            NumExpr::Const(v) => *v,
            NumExpr::Feature(s) => f.get(usize::from(*s)).copied().unwrap_or(0.0),
            NumExpr::Neg(x) => -x.eval(f),
            NumExpr::Arith(op, a, b) => op.apply(a.eval(f), b.eval(f)),
            NumExpr::Cond(c, a, b) => {
                if c.eval(f) {
                    a.eval(f)
                } else {
                    b.eval(f)
                }
            }
            NumExpr::Min(xs) => xs.iter().map(|x| x.eval(f)).fold(f64::INFINITY, f64::min),
            NumExpr::Max(xs) => xs
                .iter()
                .map(|x| x.eval(f))
                .fold(f64::NEG_INFINITY, f64::max),
            NumExpr::WilsonLb(p, n) => wilson_lower_bound(p.eval(f), n.eval(f)),
        }
    }

    /// Feature slots read, appended to `out`.
    pub fn slots(&self, out: &mut Vec<u16>) {
        match self {
            NumExpr::Const(_) => {}
            NumExpr::Feature(s) => out.push(*s),
            NumExpr::Neg(x) => x.slots(out),
            NumExpr::Arith(_, a, b) => {
                a.slots(out);
                b.slots(out);
            }
            NumExpr::Cond(c, a, b) => {
                c.slots(out);
                a.slots(out);
                b.slots(out);
            }
            NumExpr::Min(xs) | NumExpr::Max(xs) => xs.iter().for_each(|x| x.slots(out)),
            NumExpr::WilsonLb(p, n) => {
                p.slots(out);
                n.slots(out);
            }
        }
    }
}

impl BoolExpr {
    /// Evaluates over feature values.
    pub fn eval(&self, f: &[f64]) -> bool {
        match self {
            BoolExpr::Const(v) => *v,
            BoolExpr::Feature(s) => f.get(usize::from(*s)).copied().unwrap_or(0.0) != 0.0,
            BoolExpr::Not(x) => !x.eval(f),
            BoolExpr::And(a, b) => a.eval(f) && b.eval(f),
            BoolExpr::Or(a, b) => a.eval(f) || b.eval(f),
            BoolExpr::Cmp(op, a, b) => op.apply(a.eval(f), b.eval(f)),
            BoolExpr::BoolEq(eq, a, b) => (a.eval(f) == b.eval(f)) == *eq,
            BoolExpr::Cond(c, a, b) => {
                if c.eval(f) {
                    a.eval(f)
                } else {
                    b.eval(f)
                }
            }
            BoolExpr::In(x, vs) => {
                let x = x.eval(f);
                vs.contains(&x)
            }
        }
    }

    /// Feature slots read, appended to `out`.
    pub fn slots(&self, out: &mut Vec<u16>) {
        match self {
            BoolExpr::Const(_) => {}
            BoolExpr::Feature(s) => out.push(*s),
            BoolExpr::Not(x) => x.slots(out),
            BoolExpr::And(a, b) | BoolExpr::Or(a, b) | BoolExpr::BoolEq(_, a, b) => {
                a.slots(out);
                b.slots(out);
            }
            BoolExpr::Cmp(_, a, b) => {
                a.slots(out);
                b.slots(out);
            }
            BoolExpr::Cond(c, a, b) => {
                c.slots(out);
                a.slots(out);
                b.slots(out);
            }
            BoolExpr::In(x, _) => x.slots(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wilson_lower_bound as lb;

    #[test]
    fn wilson_lower_bound_table() {
        // (share, n, expected bound to 3 decimals)
        // Expected values computed independently from the textbook formula.
        let cases = [
            (0.5, 10.0, 0.269),
            (0.5, 100.0, 0.419),
            (0.4, 15.0, 0.223),
            (0.0, 50.0, 0.0),
            (1.0, 5.0, 0.649),
        ];
        for (p, n, want) in cases {
            assert!(
                (lb(p, n) - want).abs() < 0.001,
                "lb({p}, {n}) = {}",
                lb(p, n)
            );
        }
        assert_eq!(lb(0.5, 0.0), 0.0);
        assert!(lb(0.3, 1_000.0) > 0.27 && lb(0.3, 1_000.0) < 0.3);
    }
}
