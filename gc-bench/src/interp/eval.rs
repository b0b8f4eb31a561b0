//! The evaluator: expressions run over environments, with proper tail calls.
//!
//! [`Machine::eval`] runs an expression to its value. What is in tail position — the branch of
//! an `if`, the last expression of a body, a call — is a `Step` that the loop of `run` takes
//! instead of a Rust call, and a call in tail position goes back to [`Machine::apply`]'s loop,
//! which enters the callee in the same Rust frame: a tail-recursive loop runs in constant Rust
//! stack however long it runs. Non-tail recursion uses the Rust stack (about 1.5 KiB a level in
//! a release build, several times that in a debug build); past the machine's budget
//! ([`STACK_BUDGET`] unless made with [`Machine::with_stack_budget`]) it is an [`Error`], as
//! CPython raises `RecursionError`, rather than an overflow.
//!
//! Each thread evaluates with its own `Machine`, which holds the thread's `Mutator`; every step
//! of `run`'s loop is a safepoint.

use std::cell::Cell;

use gc_core::Mutator;

use super::env::{self, Env, Frame};
use super::syntax::{compile, Expr};
use super::value::{Closure, Value};
use super::{Error, Interp, Result};

/// Rust stack a machine may use below the point where it was made, unless told otherwise: what
/// a thread with the smallest stack the standard library gives (2 MiB, test threads) can spare.
pub const STACK_BUDGET: usize = 1 << 20;

/// One thread's evaluator.
pub struct Machine<'a> {
    interp: &'a Interp,
    m: &'a Mutator,
    /// The address of a local of `new`: where the budget of the Rust stack starts.
    stack_base: usize,
    stack_budget: usize,
    /// Procedure calls made, published to the interpreter when the machine is dropped.
    calls: Cell<u64>,
}

/// What one step of an expression leaves to do.
enum Step<'e> {
    Done(Value),
    /// Evaluate this expression in the same environment.
    Eval(&'e Expr),
    /// Evaluate this expression in a new environment.
    EvalIn(&'e Expr, Env),
    Call(Value, Vec<Value>),
}

/// How an expression ended: a value, or a call in tail position still to make.
enum Flow {
    Done(Value),
    Call(Value, Vec<Value>),
}

fn stack_address() -> usize {
    let here = 0u8;
    std::ptr::addr_of!(here) as usize
}

impl<'a> Machine<'a> {
    /// An evaluator for the calling thread, attached as `m`, with a stack budget of
    /// [`STACK_BUDGET`].
    pub fn new(interp: &'a Interp, m: &'a Mutator) -> Machine<'a> {
        Machine::with_stack_budget(interp, m, STACK_BUDGET)
    }

    /// An evaluator that may use `bytes` of the calling thread's stack for non-tail recursion;
    /// the thread needs that much stack to spare, and some.
    pub fn with_stack_budget(interp: &'a Interp, m: &'a Mutator, bytes: usize) -> Machine<'a> {
        Machine {
            interp,
            m,
            stack_base: stack_address(),
            stack_budget: bytes,
            calls: Cell::new(0),
        }
    }

    /// The interpreter.
    pub fn interp(&self) -> &'a Interp {
        self.interp
    }

    /// The thread's mutator.
    pub fn mutator(&self) -> &'a Mutator {
        self.m
    }

    /// Compiles `datum` and evaluates it in the global environment.
    pub fn eval_top(&self, datum: &Value) -> Result<Value> {
        let expr = compile(self.m, datum)?;
        self.eval(&expr, &None)
    }

    /// The value of `expr` in `env`.
    pub fn eval(&self, expr: &Expr, env: &Env) -> Result<Value> {
        if self.stack_base.abs_diff(stack_address()) > self.stack_budget {
            return Err(Error::new("recursion too deep"));
        }
        match self.run(expr, env.clone())? {
            Flow::Done(value) => Ok(value),
            Flow::Call(f, args) => self.apply(f, args),
        }
    }

    /// Calls `f` with `args`.
    pub fn apply(&self, mut f: Value, mut args: Vec<Value>) -> Result<Value> {
        loop {
            self.calls.set(self.calls.get() + 1);
            let closure = match f {
                Value::Closure(closure) => closure,
                Value::Builtin(builtin) => return builtin.call(self, &args),
                other => return Err(Error::new(format!("not a procedure: {}", other.written()))),
            };
            let env = self.bind(&closure, args)?;
            let last = self.body(&closure.code.body, &env)?;
            match self.run(last, env)? {
                Flow::Done(value) => return Ok(value),
                Flow::Call(g, more) => (f, args) = (g, more),
            }
        }
    }

    /// Steps `expr` until it has a value or ends in a call.
    fn run(&self, mut expr: &Expr, mut env: Env) -> Result<Flow> {
        loop {
            self.m.safepoint();
            match self.step(expr, &env)? {
                Step::Done(value) => return Ok(Flow::Done(value)),
                Step::Eval(next) => expr = next,
                Step::EvalIn(next, inner) => (expr, env) = (next, inner),
                Step::Call(f, args) => return Ok(Flow::Call(f, args)),
            }
        }
    }

    fn step<'e>(&self, expr: &'e Expr, env: &Env) -> Result<Step<'e>> {
        let globals = self.interp.globals();
        Ok(match expr {
            Expr::Const(value) => Step::Done(value.clone()),
            Expr::Var(sym) => Step::Done(env::lookup(globals, env, sym)?),
            Expr::If(test, then, otherwise) => Step::Eval(if self.eval(test, env)?.is_true() {
                then
            } else {
                otherwise
            }),
            Expr::Define(sym, value) => {
                let value = self.eval(value, env)?;
                env::define(globals, env, sym, value)?;
                Step::Done(Value::Unspecified)
            }
            Expr::Set(sym, value) => {
                let value = self.eval(value, env)?;
                env::set(globals, env, sym, value)?;
                Step::Done(Value::Unspecified)
            }
            Expr::Lambda(code) => Step::Done(Value::closure(self.m, code.clone(), env.clone())),
            Expr::Begin(body) => Step::Eval(self.body(body, env)?),
            Expr::Let { names, inits, body } => {
                let values = self.eval_all(inits, env)?;
                let vars = names.iter().cloned().zip(values).collect();
                let inner = Some(Frame::new(self.m, vars, env.clone()));
                Step::EvalIn(self.body(body, &inner)?, inner)
            }
            Expr::NamedLet(code, inits) => {
                let args = self.eval_all(inits, env)?;
                let name = code
                    .name
                    .as_ref()
                    .expect("a named let's procedure has its name");
                let frame = Some(Frame::new(self.m, Vec::new(), env.clone()));
                let f = Value::closure(self.m, code.clone(), frame.clone());
                env::define(globals, &frame, name, f.clone())?;
                Step::Call(f, args)
            }
            Expr::And(exprs) => match exprs.split_last() {
                None => Step::Done(Value::Bool(true)),
                Some((last, init)) => {
                    for e in init {
                        if !self.eval(e, env)?.is_true() {
                            return Ok(Step::Done(Value::Bool(false)));
                        }
                    }
                    Step::Eval(last)
                }
            },
            Expr::Or(exprs) => match exprs.split_last() {
                None => Step::Done(Value::Bool(false)),
                Some((last, init)) => {
                    for e in init {
                        let value = self.eval(e, env)?;
                        if value.is_true() {
                            return Ok(Step::Done(value));
                        }
                    }
                    Step::Eval(last)
                }
            },
            Expr::Cond(clauses) => {
                for (test, body) in clauses {
                    let value = self.eval(test, env)?;
                    if value.is_true() {
                        return Ok(if body.is_empty() {
                            Step::Done(value)
                        } else {
                            Step::Eval(self.body(body, env)?)
                        });
                    }
                }
                Step::Done(Value::Unspecified)
            }
            Expr::Call(f, args) => Step::Call(self.eval(f, env)?, self.eval_all(args, env)?),
        })
    }

    fn eval_all(&self, exprs: &[Expr], env: &Env) -> Result<Vec<Value>> {
        exprs.iter().map(|e| self.eval(e, env)).collect()
    }

    /// Evaluates all but the last expression of a non-empty body; returns the last.
    fn body<'e>(&self, body: &'e [Expr], env: &Env) -> Result<&'e Expr> {
        let (last, init) = body.split_last().expect("bodies are not empty");
        for e in init {
            self.eval(e, env)?;
        }
        Ok(last)
    }

    /// The frame of a call of `closure` with `args`.
    fn bind(&self, closure: &Closure, mut args: Vec<Value>) -> Result<Env> {
        let code = &closure.code;
        let wanted = code.params.len();
        if args.len() < wanted || (code.rest.is_none() && args.len() > wanted) {
            let name = code.name.as_ref().map_or("#<procedure>", |s| s.name());
            return Err(Error::new(format!(
                "{name}: expected {wanted}{} argument(s), got {}",
                if code.rest.is_some() { " or more" } else { "" },
                args.len()
            )));
        }
        let extra = args.split_off(wanted);
        let mut vars: Vec<_> = code.params.iter().cloned().zip(args).collect();
        if let Some(rest) = &code.rest {
            vars.push((rest.clone(), Value::list(self.m, extra)));
        }
        Ok(Some(Frame::new(self.m, vars, closure.env.clone())))
    }

    /// Writes `text` to the interpreter's output, detached while it does.
    pub fn write(&self, text: &str) -> Result<()> {
        self.m.blocking(|| self.interp.write_output(text))
    }
}

impl Drop for Machine<'_> {
    fn drop(&mut self) {
        self.interp.add_calls(self.calls.get());
    }
}
