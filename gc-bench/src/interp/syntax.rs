//! Syntax: the data the reader makes turned into expressions the evaluator runs.
//!
//! Every form is checked once, here, so the evaluator never meets a malformed one. A `lambda`
//! becomes a [`Lambda`] on the heap, which every closure made from it shares; its body may hold
//! quoted data (pairs), so it is a tracked object like any other.
//!
//! The parts of `let` and `cond` are fields of [`Expr`]'s variants rather than structs of
//! their own: `#[derive(Trace)]` computes `TRACKED` from the field types, and a struct holding
//! `Expr`s inside `Expr` would make that constant depend on itself.

use gc_core::{Gc, Mutator, Trace};

use super::value::{Symbol, Value};
use super::{Error, Result};

/// An expression.
#[derive(Trace)]
pub enum Expr {
    /// A self-evaluating datum or a `quote`d one.
    Const(Value),
    Var(Gc<Symbol>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Define(Gc<Symbol>, Box<Expr>),
    Set(Gc<Symbol>, Box<Expr>),
    Lambda(Gc<Lambda>),
    /// A non-empty sequence.
    Begin(Vec<Expr>),
    /// `(let ((name init) ...) body ...)`; the body is not empty.
    Let {
        names: Vec<Gc<Symbol>>,
        inits: Vec<Expr>,
        body: Vec<Expr>,
    },
    /// `(let name ((var init) ...) body ...)`: the procedure, and the inits of its first call.
    NamedLet(Gc<Lambda>, Vec<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `cond`'s clauses: a test and a body each; `else` has the test `#t`. An empty body
    /// returns the test's value.
    Cond(Vec<(Expr, Vec<Expr>)>),
    Call(Box<Expr>, Vec<Expr>),
}

/// The code of a procedure.
#[derive(Trace)]
pub struct Lambda {
    /// The name it was defined with, for printing.
    pub name: Option<Gc<Symbol>>,
    pub params: Vec<Gc<Symbol>>,
    /// The parameter that takes the remaining arguments as a list.
    pub rest: Option<Gc<Symbol>>,
    /// Non-empty.
    pub body: Vec<Expr>,
}

/// Names that cannot be variables.
const SPECIAL: [&str; 10] = [
    "quote", "if", "define", "set!", "lambda", "let", "begin", "cond", "and", "or",
];

fn bad(form: &Value) -> Error {
    Error::new(format!("bad syntax: {}", form.written()))
}

/// The expression `datum` stands for.
pub fn compile(m: &Mutator, datum: &Value) -> Result<Expr> {
    match datum {
        Value::Sym(s) if SPECIAL.contains(&s.name()) => Err(bad(datum)),
        Value::Sym(s) => Ok(Expr::Var(s.clone())),
        Value::Pair(_) => compile_form(m, datum),
        Value::Nil => Err(bad(datum)),
        other => Ok(Expr::Const(other.clone())),
    }
}

fn compile_all(m: &Mutator, data: &[Value]) -> Result<Vec<Expr>> {
    data.iter().map(|d| compile(m, d)).collect()
}

/// A non-empty body.
fn body(m: &Mutator, form: &Value, data: &[Value]) -> Result<Vec<Expr>> {
    if data.is_empty() {
        return Err(bad(form));
    }
    compile_all(m, data)
}

fn symbol(form: &Value, datum: &Value) -> Result<Gc<Symbol>> {
    match datum {
        Value::Sym(s) if !SPECIAL.contains(&s.name()) => Ok(s.clone()),
        _ => Err(bad(form)),
    }
}

fn compile_form(m: &Mutator, form: &Value) -> Result<Expr> {
    let items = form.list_items("syntax").map_err(|_| bad(form))?;
    let (head, args) = items.split_first().expect("a pair has a car");
    let keyword = match head {
        Value::Sym(s) if SPECIAL.contains(&s.name()) => s.name(),
        _ => {
            let callee = compile(m, head)?;
            return Ok(Expr::Call(Box::new(callee), compile_all(m, args)?));
        }
    };
    match (keyword, args) {
        ("quote", [datum]) => Ok(Expr::Const(datum.clone())),
        ("if", [test, then]) => Ok(Expr::If(
            Box::new(compile(m, test)?),
            Box::new(compile(m, then)?),
            Box::new(Expr::Const(Value::Unspecified)),
        )),
        ("if", [test, then, otherwise]) => Ok(Expr::If(
            Box::new(compile(m, test)?),
            Box::new(compile(m, then)?),
            Box::new(compile(m, otherwise)?),
        )),
        ("define", [Value::Pair(signature), rest @ ..]) => {
            let (name, params) = signature.parts();
            let name = symbol(form, &name)?;
            let code = lambda(
                m,
                form,
                Some(name.clone()),
                parameters(form, &params)?,
                rest,
            )?;
            Ok(Expr::Define(name, Box::new(Expr::Lambda(code))))
        }
        ("define", [name, value]) => Ok(Expr::Define(
            symbol(form, name)?,
            Box::new(compile(m, value)?),
        )),
        ("set!", [name, value]) => Ok(Expr::Set(symbol(form, name)?, Box::new(compile(m, value)?))),
        ("lambda", [params, rest @ ..]) => Ok(Expr::Lambda(lambda(
            m,
            form,
            None,
            parameters(form, params)?,
            rest,
        )?)),
        ("let", [name @ Value::Sym(_), bindings, rest @ ..]) => {
            let (names, inits) = let_bindings(m, form, bindings)?;
            let code = lambda(m, form, Some(symbol(form, name)?), (names, None), rest)?;
            Ok(Expr::NamedLet(code, inits))
        }
        ("let", [bindings, rest @ ..]) => {
            let (names, inits) = let_bindings(m, form, bindings)?;
            Ok(Expr::Let {
                names,
                inits,
                body: body(m, form, rest)?,
            })
        }
        ("begin", []) => Ok(Expr::Const(Value::Unspecified)),
        ("begin", exprs) => Ok(Expr::Begin(compile_all(m, exprs)?)),
        ("and", exprs) => Ok(Expr::And(compile_all(m, exprs)?)),
        ("or", exprs) => Ok(Expr::Or(compile_all(m, exprs)?)),
        ("cond", clauses) => clauses
            .iter()
            .map(|clause| cond_clause(m, form, clause))
            .collect::<Result<_>>()
            .map(Expr::Cond),
        _ => Err(bad(form)),
    }
}

/// A procedure's parameters: the fixed ones, and the one taking the remaining arguments.
type Params = (Vec<Gc<Symbol>>, Option<Gc<Symbol>>);

/// The parameters of a `lambda`: `(a b)`, `(a . rest)` or `args`.
fn parameters(form: &Value, datum: &Value) -> Result<Params> {
    let mut names = Vec::new();
    let mut rest = datum.clone();
    loop {
        match rest {
            Value::Nil => return Ok((names, None)),
            Value::Sym(_) => return Ok((names, Some(symbol(form, &rest)?))),
            Value::Pair(p) => {
                let (param, tail) = p.parts();
                names.push(symbol(form, &param)?);
                rest = tail;
            }
            _ => return Err(bad(form)),
        }
    }
}

/// The code of a procedure with these parameters and body.
fn lambda(
    m: &Mutator,
    form: &Value,
    name: Option<Gc<Symbol>>,
    (params, rest): Params,
    body_data: &[Value],
) -> Result<Gc<Lambda>> {
    Ok(m.alloc(Lambda {
        name,
        params,
        rest,
        body: body(m, form, body_data)?,
    }))
}

/// The names and inits of `((name init) ...)`.
fn let_bindings(
    m: &Mutator,
    form: &Value,
    bindings: &Value,
) -> Result<(Vec<Gc<Symbol>>, Vec<Expr>)> {
    let mut names = Vec::new();
    let mut inits = Vec::new();
    for binding in bindings.list_items("let").map_err(|_| bad(form))? {
        match binding.list_items("let").map_err(|_| bad(form))?.as_slice() {
            [name, init] => {
                names.push(symbol(form, name)?);
                inits.push(compile(m, init)?);
            }
            _ => return Err(bad(form)),
        }
    }
    Ok((names, inits))
}

fn cond_clause(m: &Mutator, form: &Value, clause: &Value) -> Result<(Expr, Vec<Expr>)> {
    let items = clause.list_items("cond").map_err(|_| bad(form))?;
    match items.as_slice() {
        [Value::Sym(s), rest @ ..] if s.name() == "else" => {
            Ok((Expr::Const(Value::Bool(true)), body(m, form, rest)?))
        }
        [test, rest @ ..] => Ok((compile(m, test)?, compile_all(m, rest)?)),
        [] => Err(bad(form)),
    }
}
