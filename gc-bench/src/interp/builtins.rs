//! The primitive procedures, bound in the global environment of every interpreter.
//!
//! | builtins | |
//! |---|---|
//! | `+ - * quotient remainder modulo` | integer arithmetic; overflow and division by zero are errors |
//! | `= < > <= >=` | comparisons of one or more integers |
//! | `not eq?` | `#f` is the only false value; `eq?` is identity |
//! | `cons car cdr set-car! set-cdr! list length null? pair?` | pairs and lists |
//! | `display newline` | output (detached while writing) |
//! | `spawn join` | threads ([`threads`]) |

use super::eval::Machine;
use super::threads;
use super::value::Value;
use super::{Error, Result};

/// A primitive procedure.
pub struct Builtin {
    pub name: &'static str,
    min_args: usize,
    /// `None`: any number from `min_args` on.
    max_args: Option<usize>,
    f: fn(&Machine<'_>, &[Value]) -> Result<Value>,
}

impl Builtin {
    const fn new(
        name: &'static str,
        min_args: usize,
        max_args: Option<usize>,
        f: fn(&Machine<'_>, &[Value]) -> Result<Value>,
    ) -> Builtin {
        Builtin {
            name,
            min_args,
            max_args,
            f,
        }
    }

    /// Calls the builtin after checking the number of arguments.
    pub fn call(&self, machine: &Machine<'_>, args: &[Value]) -> Result<Value> {
        let n = args.len();
        if n < self.min_args || self.max_args.is_some_and(|max| n > max) {
            let wanted = match self.max_args {
                Some(max) if max == self.min_args => max.to_string(),
                Some(max) => format!("{} to {max}", self.min_args),
                None => format!("at least {}", self.min_args),
            };
            return Err(Error::new(format!(
                "{}: expected {wanted} argument(s), got {n}",
                self.name
            )));
        }
        (self.f)(machine, args)
    }
}

const ONE: Option<usize> = Some(1);
const TWO: Option<usize> = Some(2);
const ANY: Option<usize> = None;

/// Every builtin.
pub static BUILTINS: &[Builtin] = &[
    Builtin::new("+", 0, ANY, |_, a| fold("+", a, 0, i64::checked_add)),
    Builtin::new("*", 0, ANY, |_, a| fold("*", a, 1, i64::checked_mul)),
    Builtin::new("-", 1, ANY, |_, a| {
        let first = a[0].as_int("-")?;
        match &a[1..] {
            [] => checked("-", 0i64.checked_sub(first)),
            rest => fold("-", rest, first, i64::checked_sub),
        }
    }),
    Builtin::new("quotient", 2, TWO, |_, a| {
        divide("quotient", a, i64::checked_div)
    }),
    Builtin::new("remainder", 2, TWO, |_, a| {
        divide("remainder", a, i64::checked_rem)
    }),
    Builtin::new("modulo", 2, TWO, |_, a| {
        divide("modulo", a, |x, y| {
            x.checked_rem(y).map(|r| {
                if r != 0 && (r < 0) != (y < 0) {
                    r + y
                } else {
                    r
                }
            })
        })
    }),
    Builtin::new("=", 1, ANY, |_, a| compare("=", a, |x, y| x == y)),
    Builtin::new("<", 1, ANY, |_, a| compare("<", a, |x, y| x < y)),
    Builtin::new(">", 1, ANY, |_, a| compare(">", a, |x, y| x > y)),
    Builtin::new("<=", 1, ANY, |_, a| compare("<=", a, |x, y| x <= y)),
    Builtin::new(">=", 1, ANY, |_, a| compare(">=", a, |x, y| x >= y)),
    Builtin::new("not", 1, ONE, |_, a| Ok(Value::Bool(!a[0].is_true()))),
    Builtin::new("eq?", 2, TWO, |_, a| Ok(Value::Bool(a[0].is_eq(&a[1])))),
    Builtin::new("cons", 2, TWO, |m, a| {
        Ok(Value::cons(m.mutator(), a[0].clone(), a[1].clone()))
    }),
    Builtin::new("car", 1, ONE, |_, a| Ok(a[0].as_pair("car")?.car())),
    Builtin::new("cdr", 1, ONE, |_, a| Ok(a[0].as_pair("cdr")?.cdr())),
    Builtin::new("set-car!", 2, TWO, |_, a| {
        a[0].as_pair("set-car!")?.set_car(a[1].clone());
        Ok(Value::Unspecified)
    }),
    Builtin::new("set-cdr!", 2, TWO, |_, a| {
        a[0].as_pair("set-cdr!")?.set_cdr(a[1].clone());
        Ok(Value::Unspecified)
    }),
    Builtin::new("list", 0, ANY, |m, a| {
        Ok(Value::list(m.mutator(), a.to_vec()))
    }),
    Builtin::new("length", 1, ONE, |_, a| {
        let n = a[0].list_items("length")?.len();
        Ok(Value::Int(
            i64::try_from(n).expect("a list shorter than 2^63"),
        ))
    }),
    Builtin::new("null?", 1, ONE, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Nil)))
    }),
    Builtin::new("pair?", 1, ONE, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Pair(_))))
    }),
    Builtin::new("display", 1, ONE, |m, a| {
        m.write(&a[0].to_string())?;
        Ok(Value::Unspecified)
    }),
    Builtin::new("newline", 0, Some(0), |m, _| {
        m.write("\n")?;
        Ok(Value::Unspecified)
    }),
    Builtin::new("spawn", 1, ONE, threads::spawn),
    Builtin::new("join", 1, ONE, threads::join),
];

fn overflow(who: &str) -> Error {
    Error::new(format!("{who}: integer overflow"))
}

fn checked(who: &str, result: Option<i64>) -> Result<Value> {
    result.map(Value::Int).ok_or_else(|| overflow(who))
}

fn fold(who: &str, args: &[Value], init: i64, op: fn(i64, i64) -> Option<i64>) -> Result<Value> {
    let mut acc = init;
    for arg in args {
        acc = op(acc, arg.as_int(who)?).ok_or_else(|| overflow(who))?;
    }
    Ok(Value::Int(acc))
}

fn divide(who: &str, args: &[Value], op: impl Fn(i64, i64) -> Option<i64>) -> Result<Value> {
    let (x, y) = (args[0].as_int(who)?, args[1].as_int(who)?);
    if y == 0 {
        return Err(Error::new(format!("{who}: division by zero")));
    }
    checked(who, op(x, y))
}

/// Whether `op` holds between each integer and the next.
fn compare(who: &str, args: &[Value], op: fn(i64, i64) -> bool) -> Result<Value> {
    let mut prev = args[0].as_int(who)?;
    let mut holds = true;
    for arg in &args[1..] {
        let next = arg.as_int(who)?;
        holds &= op(prev, next);
        prev = next;
    }
    Ok(Value::Bool(holds))
}
