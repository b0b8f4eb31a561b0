//! Threads: `(spawn thunk)` runs `thunk` on a new thread of the same interpreter (same heap,
//! same global environment) and returns a thread object; `(join t)` waits for it and returns
//! what `thunk` returned, or raises the error it raised.
//!
//! A spawned thread attaches to the heap when it starts and stays attached until `thunk`
//! returns. `join` waits detached (`Mutator::blocking`), holding the thread object's lock, so a
//! second joiner waits for the first and then gets the same result. Until it is joined, a
//! finished thread's result sits in the standard library's join handle, where the collector
//! does not see it: it is kept alive as if referenced from outside the heap.

use std::thread::{JoinHandle, ThreadId};

use gc_core::{GcLock, Trace};

use super::eval::Machine;
use super::value::Value;
use super::{Error, Result};
use crate::study::live::Live;

/// Rust stack of a spawned interpreter thread.
const THREAD_STACK: usize = 16 << 20;

/// What its evaluator may use of it (about 10,000 levels of non-tail recursion in a release
/// build).
const THREAD_STACK_BUDGET: usize = 15 << 20;

/// A thread object.
#[derive(Trace)]
pub struct Thread {
    id: u64,
    /// The standard library's name of the thread, to refuse a `join` of itself.
    #[gc(skip)]
    std_id: ThreadId,
    state: GcLock<State>,
    #[gc(skip)]
    _live: Live,
}

#[derive(Trace)]
struct State {
    /// Until the first `join`.
    #[gc(skip)]
    running: Option<JoinHandle<Result<Value>>>,
    /// From the first `join` on.
    result: Option<Result<Value>>,
}

impl Thread {
    /// Its number, unique in its interpreter.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// `(spawn thunk)`.
pub fn spawn(machine: &Machine<'_>, args: &[Value]) -> Result<Value> {
    let thunk = args[0].clone();
    if !matches!(thunk, Value::Closure(_) | Value::Builtin(_)) {
        return Err(Error::new(format!(
            "spawn: expected a procedure, got {}",
            thunk.type_name()
        )));
    }
    let interp = machine.interp().clone();
    let id = interp.next_thread_id();
    let handle = std::thread::Builder::new()
        .name(format!("scheme-{id}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let m = interp.heap().attach();
            let machine = Machine::with_stack_budget(&interp, &m, THREAD_STACK_BUDGET);
            machine.apply(thunk, Vec::new())
        })
        .map_err(|e| Error::new(format!("spawn: {e}")))?;
    Ok(Value::Thread(machine.mutator().alloc(Thread {
        id,
        std_id: handle.thread().id(),
        state: GcLock::new(State {
            running: Some(handle),
            result: None,
        }),
        _live: Live::new(),
    })))
}

/// `(join t)`.
pub fn join(machine: &Machine<'_>, args: &[Value]) -> Result<Value> {
    let Value::Thread(thread) = &args[0] else {
        return Err(Error::new(format!(
            "join: expected a thread, got {}",
            args[0].type_name()
        )));
    };
    if thread.std_id == std::thread::current().id() {
        return Err(Error::new("join: a thread cannot join itself"));
    }
    let mut state = thread.state.write();
    if let Some(handle) = state.running.take() {
        let joined = machine.mutator().blocking(|| handle.join());
        state.result = Some(joined.unwrap_or_else(|_| Err(Error::new("the thread panicked"))));
    }
    match &state.result {
        Some(Ok(value)) => Ok(value.clone()),
        Some(Err(e)) => Err(Error::new(format!("thread {}: {e}", thread.id))),
        None => unreachable!("a joined thread has its result"),
    }
}
