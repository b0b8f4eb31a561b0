//! Environments: the global one, which every thread shares, behind a `GcLock`; and the frames
//! of procedure calls and `let`s, each in a `GcCell`, chained to the frame it was made in.
//!
//! A closure holds the frame it was made in, and a frame holds the closures defined in it, so
//! a procedure with an internal `define` (or a named `let`) makes a cycle each time it runs:
//! garbage that only the cycle collector frees.

use std::collections::HashMap;

use gc_core::{Gc, GcCell, GcLock, Mutator, Trace};

use super::value::{Symbol, Value};
use super::{Error, Result};
use crate::study::live::Live;

/// The global environment. Keys are the symbols' identities (`Gc::id`): symbols are interned
/// and live as long as the interpreter.
#[derive(Default, Trace)]
pub struct Globals {
    vars: GcLock<HashMap<usize, Value>>,
}

impl Globals {
    /// Binds `sym` to `value`, replacing any binding.
    pub fn define(&self, sym: &Gc<Symbol>, value: Value) {
        let old = self.vars.write().insert(Gc::id(sym), value);
        drop(old);
    }

    fn get(&self, sym: &Gc<Symbol>) -> Option<Value> {
        self.vars.read().get(&Gc::id(sym)).cloned()
    }

    fn set(&self, sym: &Gc<Symbol>, value: Value) -> Result<()> {
        let old = match self.vars.write().get_mut(&Gc::id(sym)) {
            Some(slot) => std::mem::replace(slot, value),
            None => return Err(unbound(sym)),
        };
        drop(old);
        Ok(())
    }
}

/// The frame of one call or `let`: its variables, newest last, and the frame it was made in.
#[derive(Trace)]
pub struct Frame {
    vars: GcCell<Vec<(Gc<Symbol>, Value)>>,
    parent: Env,
    #[gc(skip)]
    _live: Live,
}

/// Where an expression runs: a frame, or `None` for the global environment alone.
pub type Env = Option<Gc<Frame>>;

impl Frame {
    /// A frame binding `vars`, inside `parent`.
    pub fn new(m: &Mutator, vars: Vec<(Gc<Symbol>, Value)>, parent: Env) -> Gc<Frame> {
        m.alloc(Frame {
            vars: GcCell::new(vars),
            parent,
            _live: Live::new(),
        })
    }
}

fn unbound(sym: &Gc<Symbol>) -> Error {
    Error::new(format!("unbound variable: {}", sym.name()))
}

/// The innermost frames first, then nothing: each frame of `env`'s chain.
fn frames(env: &Env) -> impl Iterator<Item = &Gc<Frame>> {
    std::iter::successors(env.as_ref(), |frame| frame.parent.as_ref())
}

/// The value of `sym` in `env`, else in `globals`.
pub fn lookup(globals: &Globals, env: &Env, sym: &Gc<Symbol>) -> Result<Value> {
    for frame in frames(env) {
        let vars = frame.vars.try_borrow()?;
        if let Some((_, value)) = vars.iter().rev().find(|(s, _)| Gc::ptr_eq(s, sym)) {
            return Ok(value.clone());
        }
    }
    globals.get(sym).ok_or_else(|| unbound(sym))
}

/// `define`: binds `sym` in the innermost frame of `env`, or globally.
pub fn define(globals: &Globals, env: &Env, sym: &Gc<Symbol>, value: Value) -> Result<()> {
    let Some(frame) = env else {
        globals.define(sym, value);
        return Ok(());
    };
    let mut vars = frame.vars.try_borrow_mut()?;
    let old = match vars.iter_mut().find(|(s, _)| Gc::ptr_eq(s, sym)) {
        Some((_, slot)) => Some(std::mem::replace(slot, value)),
        None => {
            vars.push((sym.clone(), value));
            None
        }
    };
    drop(vars);
    drop(old);
    Ok(())
}

/// `set!`: changes the innermost binding of `sym`; an error if there is none. Frames are
/// searched under read borrows; only the frame that binds `sym` is borrowed for writing.
pub fn set(globals: &Globals, env: &Env, sym: &Gc<Symbol>, value: Value) -> Result<()> {
    for frame in frames(env) {
        let found = frame
            .vars
            .try_borrow()?
            .iter()
            .rposition(|(s, _)| Gc::ptr_eq(s, sym));
        if let Some(i) = found {
            // Bindings are only ever appended, so `i` still names this one.
            let old = std::mem::replace(&mut frame.vars.try_borrow_mut()?[i].1, value);
            drop(old);
            return Ok(());
        }
    }
    globals.set(sym, value)
}
