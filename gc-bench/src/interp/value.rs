//! Values: one enum for every Scheme value, heap objects behind `Gc` handles, and their printed
//! forms.
//!
//! gc-core has no `Gc<dyn Trait>`, so the value type is an enum whose variants hold the
//! handles. Immediates (integers, booleans, the empty list) live in the enum itself. Symbols
//! and strings are untracked objects (they hold no handles, so the collector never sees them);
//! pairs, closures, frames and threads are tracked. Every tracked object of the interpreter
//! carries a [`Live`] token, so the threshold study can report its peak live objects.

use std::fmt;

use gc_core::{Gc, GcLock, Mutator, Trace};

use super::builtins::Builtin;
use super::env::Frame;
use super::syntax::Lambda;
use super::threads::Thread;
use super::{Error, Result};
use crate::study::live::Live;

/// A Scheme value. Cloning one clones at most one handle.
#[derive(Clone, Trace)]
pub enum Value {
    /// The empty list `()`.
    Nil,
    /// What `define`, `set!` and `display` return; not printed by the runner.
    Unspecified,
    Bool(bool),
    Int(i64),
    Sym(Gc<Symbol>),
    Str(Gc<String>),
    Pair(Gc<Pair>),
    Closure(Gc<Closure>),
    Builtin(#[gc(skip)] &'static Builtin),
    Thread(Gc<Thread>),
}

/// An interned symbol: one object per name ([`Interp::intern`](super::Interp::intern)), so
/// symbols compare by identity.
#[derive(Debug, Trace)]
pub struct Symbol {
    name: Box<str>,
}

impl Symbol {
    /// A symbol object; use `Interp::intern` to get the one for a name.
    pub(super) fn new(name: &str) -> Symbol {
        Symbol { name: name.into() }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A pair. Its two fields sit behind one lock: threads share lists through globals.
#[derive(Trace)]
pub struct Pair {
    cons: GcLock<(Value, Value)>,
    #[gc(skip)]
    _live: Live,
}

impl Pair {
    /// The car.
    pub fn car(&self) -> Value {
        self.cons.read().0.clone()
    }

    /// The cdr.
    pub fn cdr(&self) -> Value {
        self.cons.read().1.clone()
    }

    /// Both halves.
    pub fn parts(&self) -> (Value, Value) {
        let cons = self.cons.read();
        (cons.0.clone(), cons.1.clone())
    }

    /// Replaces the car; the old value is dropped after the lock is released.
    pub fn set_car(&self, value: Value) {
        let old = std::mem::replace(&mut self.cons.write().0, value);
        drop(old);
    }

    /// Replaces the cdr; the old value is dropped after the lock is released.
    pub fn set_cdr(&self, value: Value) {
        let old = std::mem::replace(&mut self.cons.write().1, value);
        drop(old);
    }
}

/// A procedure made by `lambda`: its code and the environment it closes over.
#[derive(Trace)]
pub struct Closure {
    pub code: Gc<Lambda>,
    pub env: Option<Gc<Frame>>,
    #[gc(skip)]
    _live: Live,
}

impl Value {
    /// A new pair.
    pub fn cons(m: &Mutator, car: Value, cdr: Value) -> Value {
        Value::Pair(m.alloc(Pair {
            cons: GcLock::new((car, cdr)),
            _live: Live::new(),
        }))
    }

    /// A proper list of `items`.
    pub fn list(m: &Mutator, items: Vec<Value>) -> Value {
        items
            .into_iter()
            .rev()
            .fold(Value::Nil, |tail, item| Value::cons(m, item, tail))
    }

    /// A closure of `code` over `env`.
    pub fn closure(m: &Mutator, code: Gc<Lambda>, env: Option<Gc<Frame>>) -> Value {
        Value::Closure(m.alloc(Closure {
            code,
            env,
            _live: Live::new(),
        }))
    }

    /// Everything but `#f` is true.
    pub fn is_true(&self) -> bool {
        !matches!(self, Value::Bool(false))
    }

    /// Scheme's `eq?`: the same object, or equal immediates.
    pub fn is_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) | (Value::Unspecified, Value::Unspecified) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Sym(a), Value::Sym(b)) => Gc::ptr_eq(a, b),
            (Value::Str(a), Value::Str(b)) => Gc::ptr_eq(a, b),
            (Value::Pair(a), Value::Pair(b)) => Gc::ptr_eq(a, b),
            (Value::Closure(a), Value::Closure(b)) => Gc::ptr_eq(a, b),
            (Value::Builtin(a), Value::Builtin(b)) => std::ptr::eq(*a, *b),
            (Value::Thread(a), Value::Thread(b)) => Gc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "the empty list",
            Value::Unspecified => "an unspecified value",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Sym(_) => "a symbol",
            Value::Str(_) => "a string",
            Value::Pair(_) => "a pair",
            Value::Closure(_) | Value::Builtin(_) => "a procedure",
            Value::Thread(_) => "a thread",
        }
    }

    /// The integer, or an error naming `who`.
    pub fn as_int(&self, who: &str) -> Result<i64> {
        match self {
            Value::Int(n) => Ok(*n),
            other => Err(Error::new(format!(
                "{who}: expected an integer, got {}",
                other.type_name()
            ))),
        }
    }

    /// The pair, or an error naming `who`.
    pub fn as_pair(&self, who: &str) -> Result<&Gc<Pair>> {
        match self {
            Value::Pair(p) => Ok(p),
            other => Err(Error::new(format!(
                "{who}: expected a pair, got {}",
                other.type_name()
            ))),
        }
    }

    /// The items of a proper list, or an error naming `who`. A circular list is found by a
    /// second walk at half the speed, which the first catches up with.
    pub fn list_items(&self, who: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut rest = self.clone();
        let mut slow = self.clone();
        loop {
            let next = match &rest {
                Value::Nil => return Ok(items),
                Value::Pair(p) => p.parts(),
                _ => return Err(Error::new(format!("{who}: not a proper list"))),
            };
            items.push(next.0);
            rest = next.1;
            if items.len() % 2 == 0 {
                if let Value::Pair(s) = &slow {
                    slow = s.cdr();
                }
                if matches!(rest, Value::Pair(_)) && rest.is_eq(&slow) {
                    return Err(Error::new(format!("{who}: the list is circular")));
                }
            }
        }
    }

    /// The `write` form: strings quoted. `Display` gives the `display` form.
    pub fn written(&self) -> String {
        let mut out = String::new();
        let mut budget = PRINT_BUDGET;
        print(&mut out, self, true, &mut budget);
        out
    }
}

/// Pairs printed at most: a circular structure prints as a prefix ending in `...`.
const PRINT_BUDGET: usize = 100_000;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let mut budget = PRINT_BUDGET;
        print(&mut out, self, false, &mut budget);
        f.write_str(&out)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written())
    }
}

/// Appends the printed form of `value` to `out`; `write` quotes strings. Lists are walked along
/// their cdrs; each pair printed spends one unit of `budget`.
fn print(out: &mut String, value: &Value, write: bool, budget: &mut usize) {
    use std::fmt::Write as _;
    match value {
        Value::Nil => out.push_str("()"),
        Value::Unspecified => out.push_str("#<unspecified>"),
        Value::Bool(b) => out.push_str(if *b { "#t" } else { "#f" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Sym(s) => out.push_str(s.name()),
        Value::Str(s) if write => {
            let _ = write!(out, "{:?}", s.as_str());
        }
        Value::Str(s) => out.push_str(s),
        Value::Closure(c) => match &c.code.name {
            Some(name) => {
                let _ = write!(out, "#<procedure {}>", name.name());
            }
            None => out.push_str("#<procedure>"),
        },
        Value::Builtin(b) => {
            let _ = write!(out, "#<builtin {}>", b.name);
        }
        Value::Thread(t) => {
            let _ = write!(out, "#<thread {}>", t.id());
        }
        Value::Pair(p) => {
            out.push('(');
            let (mut car, mut cdr) = p.parts();
            loop {
                if *budget == 0 {
                    out.push_str("...)");
                    return;
                }
                *budget -= 1;
                print(out, &car, write, budget);
                match cdr {
                    Value::Nil => break,
                    Value::Pair(next) => {
                        out.push(' ');
                        (car, cdr) = next.parts();
                    }
                    tail => {
                        out.push_str(" . ");
                        print(out, &tail, write, budget);
                        break;
                    }
                }
            }
            out.push(')');
        }
    }
}
