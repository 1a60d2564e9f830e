//! Compiles a CEL condition into a typed expression over feature slots.
//!
//! The supported subset: feature names (`account.users_24h`), number and
//! bool literals, `! && ||`, `< <= > >= == !=`, `+ - * /`, unary `-`,
//! `c ? a : b`, `x in [1, 2]`, `min(...)`, `max(...)`, and
//! `wilson_lb(share, n)` (a share's 95% lower confidence bound). Anything else is
//! refused with a reason, before the rule loads.

use cel_parser::ast::{operators as op, Expr, IdedExpr};
use cel_parser::reference::Val;
use cel_parser::Parser;

use super::expr::{ArithOp, BoolExpr, CmpOp, NumExpr};
use crate::features::{Catalog, FeatureKind};

/// Why a condition did not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CelError {
    /// 0-based line inside the condition text.
    pub line_offset: usize,
    /// What is wrong.
    pub message: String,
}

impl CelError {
    fn at0(message: impl Into<String>) -> Self {
        CelError {
            line_offset: 0,
            message: message.into(),
        }
    }
}

enum Typed {
    Num(NumExpr),
    Bool(BoolExpr),
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the CEL parser, containing the panics its ANTLR runtime raises on
/// some syntax errors: a bad rule must be reported, never crash the process.
fn parse_contained(src: &str) -> Result<Result<IdedExpr, cel_parser::ParseErrors>, CelError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET_PANICS.with(|q| q.set(true));
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Parser::new().parse(src)));
    QUIET_PANICS.with(|q| q.set(false));
    result.map_err(|_| CelError::at0("syntax error (the expression is incomplete or malformed)"))
}

/// How deep brackets and `? :` nest in a condition's text, counted before
/// it is parsed (the parser recurses on both). Conservative: every `?` adds one.
fn text_depth(src: &str) -> usize {
    let (mut open, mut ternaries, mut max) = (0usize, 0usize, 0usize);
    for b in src.bytes() {
        match b {
            b'(' | b'[' | b'{' => open += 1,
            b')' | b']' | b'}' => open = open.saturating_sub(1),
            b'?' => ternaries += 1,
            _ => continue,
        }
        max = max.max(open + ternaries);
    }
    max
}

/// Whether the parsed expression nests deeper than `limit` (looks no deeper
/// than that, so it cannot overflow the stack itself).
fn deeper_than(e: &IdedExpr, limit: usize) -> bool {
    let Some(below) = limit.checked_sub(1) else {
        return true;
    };
    match &e.expr {
        Expr::Call(c) => c
            .target
            .iter()
            .map(|t| &**t)
            .chain(c.args.iter())
            .any(|a| deeper_than(a, below)),
        Expr::Select(s) => deeper_than(&s.operand, below),
        Expr::List(l) => l.elements.iter().any(|x| deeper_than(x, below)),
        Expr::Comprehension(_) | Expr::Map(_) | Expr::Struct(_) => false,
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => false,
    }
}

/// Parses and compiles `src`, which must be boolean. A condition longer
/// than [`MAX_CONDITION_BYTES`](super::limits::MAX_CONDITION_BYTES) or
/// nested deeper than [`MAX_CONDITION_DEPTH`](super::limits::MAX_CONDITION_DEPTH)
/// is refused before it can exhaust the stack.
pub fn compile_condition(src: &str, catalog: &Catalog) -> Result<BoolExpr, CelError> {
    use super::limits::{MAX_CONDITION_BYTES, MAX_CONDITION_DEPTH};
    if src.len() > MAX_CONDITION_BYTES {
        return Err(CelError::at0(format!(
            "condition is {} bytes; at most {MAX_CONDITION_BYTES} are accepted",
            src.len()
        )));
    }
    let too_deep = || {
        CelError::at0(format!(
            "condition nests deeper than {MAX_CONDITION_DEPTH} levels"
        ))
    };
    if text_depth(src) > MAX_CONDITION_DEPTH {
        return Err(too_deep());
    }
    let ast = parse_contained(src)?.map_err(|errs| {
        let first = errs.errors.first();
        CelError {
            line_offset: first.map_or(0, |e| usize::try_from(e.pos.0 - 1).unwrap_or(0)),
            message: first.map_or_else(
                || "syntax error".to_string(),
                |e| format!("syntax error at column {}: {}", e.pos.1 + 1, e.msg),
            ),
        }
    })?;
    if deeper_than(&ast, MAX_CONDITION_DEPTH) {
        return Err(too_deep());
    }
    match compile(&ast, catalog)? {
        Typed::Bool(b) => Ok(b),
        Typed::Num(_) => Err(CelError::at0(
            "condition is a number; it must be a boolean (compare it, e.g. `x > 0.5`)",
        )),
    }
}

fn path(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(s) => path(&s.operand).map(|p| format!("{p}.{}", s.field)),
        _ => None,
    }
}

fn num(t: Typed, what: &str) -> Result<NumExpr, CelError> {
    match t {
        Typed::Num(n) => Ok(n),
        Typed::Bool(_) => Err(CelError::at0(format!(
            "{what} needs a number, found a boolean"
        ))),
    }
}

fn boolean(t: Typed, what: &str) -> Result<BoolExpr, CelError> {
    match t {
        Typed::Bool(b) => Ok(b),
        Typed::Num(_) => Err(CelError::at0(format!(
            "{what} needs a boolean, found a number"
        ))),
    }
}

fn literal_number(e: &IdedExpr) -> Option<f64> {
    match &e.expr {
        Expr::Literal(Val::Int(i)) => Some(*i as f64),
        Expr::Literal(Val::UInt(u)) => Some(*u as f64),
        Expr::Literal(Val::Double(d)) => Some(*d),
        Expr::Call(c) if c.func_name == op::NEGATE && c.args.len() == 1 => {
            literal_number(&c.args[0]).map(|v| -v)
        }
        _ => None,
    }
}

// Long because it is one match with an arm per CEL node the subset accepts
// (literals, fields, operators, `has`, the functions): the grammar in one place.
fn compile(e: &IdedExpr, catalog: &Catalog) -> Result<Typed, CelError> {
    match &e.expr {
        Expr::Literal(Val::Boolean(b)) => Ok(Typed::Bool(BoolExpr::Const(*b))),
        Expr::Literal(Val::Int(_) | Val::UInt(_) | Val::Double(_)) => {
            Ok(Typed::Num(NumExpr::Const(literal_number(e).unwrap_or(0.0))))
        }
        Expr::Literal(_) => Err(CelError::at0(
            "only number and boolean literals are supported (no strings, bytes or null)",
        )),
        Expr::Ident(_) | Expr::Select(_) => {
            let name = path(e).ok_or_else(|| CelError::at0("unsupported field selection"))?;
            match catalog.lookup(&name) {
                Some((slot, FeatureKind::Number)) => Ok(Typed::Num(NumExpr::Feature(slot))),
                Some((slot, FeatureKind::Bool)) => Ok(Typed::Bool(BoolExpr::Feature(slot))),
                None => Err(CelError::at0(format!(
                    "unknown feature `{name}` (run `satpam rules features` for the list)"
                ))),
            }
        }
        Expr::Call(call) => {
            let args = &call.args;
            let arg = |i: usize| compile(&args[i], catalog);
            let f = call.func_name.as_str();
            if call.target.is_some() {
                return Err(CelError::at0(format!(
                    "method calls are not supported (`.{f}()`)"
                )));
            }
            let arity = |n: usize| -> Result<(), CelError> {
                if args.len() == n {
                    Ok(())
                } else {
                    Err(CelError::at0(format!(
                        "`{f}` takes {n} arguments, got {}",
                        args.len()
                    )))
                }
            };
            match f {
                op::LOGICAL_AND | op::LOGICAL_OR => {
                    if args.len() < 2 {
                        return Err(CelError::at0("`&&`/`||` need two operands"));
                    }
                    let mut acc = boolean(arg(0)?, "`&&`/`||`")?;
                    for i in 1..args.len() {
                        let next = Box::new(boolean(arg(i)?, "`&&`/`||`")?);
                        acc = if f == op::LOGICAL_AND {
                            BoolExpr::And(Box::new(acc), next)
                        } else {
                            BoolExpr::Or(Box::new(acc), next)
                        };
                    }
                    Ok(Typed::Bool(acc))
                }
                op::LOGICAL_NOT => {
                    arity(1)?;
                    Ok(Typed::Bool(BoolExpr::Not(Box::new(boolean(
                        arg(0)?,
                        "`!`",
                    )?))))
                }
                op::NEGATE => {
                    arity(1)?;
                    Ok(Typed::Num(NumExpr::Neg(Box::new(num(
                        arg(0)?,
                        "unary `-`",
                    )?))))
                }
                op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS => {
                    arity(2)?;
                    let cmp = match f {
                        op::LESS => CmpOp::Lt,
                        op::LESS_EQUALS => CmpOp::Le,
                        op::GREATER => CmpOp::Gt,
                        _ => CmpOp::Ge,
                    };
                    let a = num(arg(0)?, "a comparison")?;
                    let b = num(arg(1)?, "a comparison")?;
                    Ok(Typed::Bool(BoolExpr::Cmp(cmp, Box::new(a), Box::new(b))))
                }
                op::EQUALS | op::NOT_EQUALS => {
                    arity(2)?;
                    let eq = f == op::EQUALS;
                    match (arg(0)?, arg(1)?) {
                        (Typed::Num(a), Typed::Num(b)) => Ok(Typed::Bool(BoolExpr::Cmp(
                            if eq { CmpOp::Eq } else { CmpOp::Ne },
                            Box::new(a),
                            Box::new(b),
                        ))),
                        (Typed::Bool(a), Typed::Bool(b)) => {
                            Ok(Typed::Bool(BoolExpr::BoolEq(eq, Box::new(a), Box::new(b))))
                        }
                        _ => Err(CelError::at0("`==`/`!=` compare a number with a boolean")),
                    }
                }
                op::ADD | op::SUBSTRACT | op::MULTIPLY | op::DIVIDE => {
                    arity(2)?;
                    let aop = match f {
                        op::ADD => ArithOp::Add,
                        op::SUBSTRACT => ArithOp::Sub,
                        op::MULTIPLY => ArithOp::Mul,
                        _ => ArithOp::Div,
                    };
                    let a = num(arg(0)?, "arithmetic")?;
                    let b = num(arg(1)?, "arithmetic")?;
                    Ok(Typed::Num(NumExpr::Arith(aop, Box::new(a), Box::new(b))))
                }
                op::CONDITIONAL => {
                    arity(3)?;
                    let c = Box::new(boolean(arg(0)?, "the condition of `?:`")?);
                    match (arg(1)?, arg(2)?) {
                        (Typed::Num(a), Typed::Num(b)) => {
                            Ok(Typed::Num(NumExpr::Cond(c, Box::new(a), Box::new(b))))
                        }
                        (Typed::Bool(a), Typed::Bool(b)) => {
                            Ok(Typed::Bool(BoolExpr::Cond(c, Box::new(a), Box::new(b))))
                        }
                        _ => Err(CelError::at0(
                            "both branches of `?:` must have the same type",
                        )),
                    }
                }
                op::IN => {
                    arity(2)?;
                    let x = num(arg(0)?, "`in`")?;
                    let Expr::List(list) = &args[1].expr else {
                        return Err(CelError::at0("`in` needs a list literal of numbers"));
                    };
                    let values = list
                        .elements
                        .iter()
                        .map(|v| {
                            literal_number(v).ok_or_else(|| {
                                CelError::at0("`in` lists hold number literals only")
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Typed::Bool(BoolExpr::In(Box::new(x), values)))
                }
                "wilson_lb" => {
                    arity(2)?;
                    let p = num(arg(0)?, "wilson_lb")?;
                    let n = num(arg(1)?, "wilson_lb")?;
                    Ok(Typed::Num(NumExpr::WilsonLb(Box::new(p), Box::new(n))))
                }
                "min" | "max" => {
                    if args.is_empty() {
                        return Err(CelError::at0(format!("`{f}` needs at least one argument")));
                    }
                    let xs = (0..args.len())
                        .map(|i| num(arg(i)?, f))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Typed::Num(if f == "min" {
                        NumExpr::Min(xs)
                    } else {
                        NumExpr::Max(xs)
                    }))
                }
                other => Err(CelError::at0(format!(
                    "unsupported function or operator `{other}`"
                ))),
            }
        }
        Expr::List(_) => Err(CelError::at0("a list is only allowed after `in`")),
        _ => Err(CelError::at0(
            "unsupported expression (maps, structs and macros are not supported)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::catalog::{F, FIXED};

    fn vec_with(pairs: &[(F, f64)]) -> Vec<f64> {
        let mut v = vec![0.0; FIXED.len()];
        for (f, x) in pairs {
            v[*f as usize] = *x;
        }
        v
    }

    #[test]
    fn conditions_evaluate_as_written() {
        let c = Catalog::new([]);
        let f = vec_with(&[
            (F::AccUsers24h, 12.0),
            (F::AccBotShare, 0.9),
            (F::MsgInbound, 1.0),
        ]);
        let cases: &[(&str, bool)] = &[
            ("account.users_24h >= 10", true),
            ("account.users_24h >= 10 && account.bot_share > 0.95", false),
            ("account.users_24h > 100 || msg.inbound", true),
            ("!msg.inbound", false),
            ("account.bot_share * 10.0 == 9.0", true),
            ("account.users_24h / 0 == 0", true),
            ("min(account.users_24h, 5) == 5", true),
            ("max(account.users_24h, 5, 30) == 30", true),
            (
                "wilson_lb(account.bot_share, account.users_24h) > 0.6",
                true,
            ),
            (
                "wilson_lb(account.bot_share, account.users_24h) > 0.7",
                false,
            ),
            ("(msg.inbound ? account.users_24h : 0) > 11", true),
            ("account.users_24h in [1, 12, 20]", true),
            ("-account.users_24h < -11.5", true),
            ("msg.inbound == true", true),
            ("msg.outbound != false", false),
        ];
        for (src, want) in cases {
            let e = compile_condition(src, &c).unwrap_or_else(|err| panic!("{src}: {err:?}"));
            assert_eq!(e.eval(&f), *want, "{src}");
        }
    }

    #[test]
    fn bad_conditions_are_refused_with_reasons() {
        let c = Catalog::new([]);
        let cases: &[(&str, &str)] = &[
            ("account.nope > 1", "unknown feature `account.nope`"),
            ("account.users_24h", "condition is a number"),
            ("msg.inbound > 1", "needs a number, found a boolean"),
            (
                "account.users_24h && msg.inbound",
                "needs a boolean, found a number",
            ),
            (
                "account.users_24h == msg.inbound",
                "compare a number with a boolean",
            ),
            ("'x' == 'y'", "only number and boolean literals"),
            ("size(account.users_24h) > 1", "unsupported function"),
            ("account.users_24h >", "syntax error"),
            ("account.users_24h in [msg.inbound]", "number literals only"),
        ];
        for (src, want) in cases {
            let err = compile_condition(src, &c).expect_err(src);
            assert!(err.message.contains(want), "{src}: {}", err.message);
        }
    }

    #[test]
    fn syntax_errors_report_their_line() {
        let err = compile_condition(
            "msg.inbound &&\n  account.users_24h >= = 3",
            &Catalog::new([]),
        )
        .expect_err("malformed");
        assert!(err.message.contains("syntax error"), "{}", err.message);
        assert_eq!(err.line_offset, 1, "{}", err.message);
    }

    #[test]
    fn parser_panics_are_contained() {
        // The ANTLR runtime panics on this input; it must come back as an error.
        let err =
            compile_condition("account.users_24h >", &Catalog::new([])).expect_err("incomplete");
        assert!(err.message.contains("syntax error"));
    }
}
