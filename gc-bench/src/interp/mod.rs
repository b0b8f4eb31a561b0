//! A small Scheme interpreter built only on gc-core's public API: a real runtime's object graph
//! (closures over mutable environments, lists, threads sharing one heap) for the tests and the
//! threshold study's `interp` shape.
//!
//! ```
//! use gc_bench::interp::Interp;
//! use gc_core::Heap;
//!
//! let heap = Heap::new();
//! let scheme = Interp::new(&heap);
//! let m = heap.attach();
//! let v = scheme.eval_str(&m, "(define (fact n) (if (= n 0) 1 (* n (fact (- n 1))))) (fact 10)");
//! assert_eq!(v.unwrap().to_string(), "3628800");
//! ```
//!
//! # The language
//!
//! Integers (`i64`, overflow is an error), booleans, interned symbols, strings, pairs and lists;
//! the special forms `quote` (and `'`), `if`, `define`, `set!`, `lambda`, `let` (and named
//! `let`), `begin`, `cond`, `and`, `or`; proper tail calls; the builtins of [`builtins`],
//! among them `(spawn thunk)`, which runs `thunk` on a new thread and returns a thread object,
//! and `(join t)`, which waits for it and returns its result. Threads share the heap and the
//! global environment. Every Scheme error is an [`Error`], never a panic. Special-form names
//! are reserved: a variable named `if` is a syntax error.
//!
//! # Embedding rules
//!
//! The interpreter follows the rules every gc-core embedding follows:
//!
//! 1. **Every interpreter thread attaches.** The thread that calls [`Interp::run`] passes its
//!    [`Mutator`] (from `heap.attach()`); each `spawn`ed thread attaches at its
//!    start and keeps its `Mutator` for its whole life. The evaluator calls `m.safepoint()` once
//!    per evaluation step, so a collection never waits long for an interpreter thread.
//! 2. **Every blocking call is wrapped in `Mutator::blocking`**: `join`, and writing to the
//!    output (`display`, `newline`). A blocked thread is detached, so collections go on.
//! 3. **What threads share and mutate lives behind [`GcLock`]**, which waits
//!    (detached) on conflict: the global environment, the symbol table, pairs (programs share
//!    lists through globals) and thread objects.
//! 4. **What one thread uses at a time lives in a [`GcCell`](gc_core::GcCell)**: the frames of
//!    procedure calls and `let`s. A frame is made by the thread that calls; it is shared only if a
//!    closure over it reaches another thread (a thunk given to `spawn`), and then reading it from
//!    both threads is fine, but a `set!` racing with another thread's use of the same frame is
//!    reported as an [`Error`] naming gc-core's borrow conflict, never as a panic or a data race.
//!    Share mutable state between threads through globals.
//! 5. **No cell borrow or lock is held across a call into the evaluator**: values are copied out
//!    (a handle clone) before they are evaluated or applied.
//!
//! # Modules
//!
//! [`reader`] turns text into data, [`syntax`] turns data into expressions, [`eval`] runs them
//! over the environments of [`env`](mod@env), [`builtins`] are the primitive procedures, [`threads`]
//! `spawn` and `join`, [`value`] the values and their printed forms.

pub mod builtins;
pub mod env;
pub mod eval;
pub mod reader;
pub mod syntax;
pub mod threads;
pub mod value;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gc_core::{BorrowError, Gc, GcLock, Heap, Mutator, Trace};

pub use self::eval::Machine;
pub use self::value::Value;

use self::env::Globals;
use self::value::Symbol;

/// A Scheme error: what went wrong, for the program's author.
#[derive(Debug, Clone, PartialEq, Eq, Trace)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<BorrowError> for Error {
    fn from(e: BorrowError) -> Error {
        Error(format!("a frame used by two threads at once: {e}"))
    }
}

/// The result of everything that can fail in Scheme.
pub type Result<T> = std::result::Result<T, Error>;

/// Where `display` and `newline` write.
enum Output {
    Stdout,
    Captured(String),
}

/// What every thread of one interpreter shares.
struct Shared {
    heap: Heap,
    globals: Gc<Globals>,
    symbols: GcLock<HashMap<Box<str>, Gc<Symbol>>>,
    output: Mutex<Output>,
    next_thread: AtomicU64,
    calls: AtomicU64,
}

/// An interpreter: a global environment on a heap, shared by the threads that run it. Cloning
/// gives another handle to the same interpreter.
#[derive(Clone)]
pub struct Interp(Arc<Shared>);

impl Interp {
    /// An interpreter on `heap` whose output goes to standard output.
    pub fn new(heap: &Heap) -> Interp {
        Interp::with_output(heap, Output::Stdout)
    }

    /// An interpreter on `heap` that keeps its output for [`take_output`](Interp::take_output).
    pub fn capturing(heap: &Heap) -> Interp {
        Interp::with_output(heap, Output::Captured(String::new()))
    }

    fn with_output(heap: &Heap, output: Output) -> Interp {
        let interp = Interp(Arc::new(Shared {
            heap: heap.clone(),
            globals: heap.alloc(Globals::default()),
            symbols: GcLock::new(HashMap::new()),
            output: Mutex::new(output),
            next_thread: AtomicU64::new(1),
            calls: AtomicU64::new(0),
        }));
        for builtin in builtins::BUILTINS {
            interp
                .0
                .globals
                .define(&interp.intern(builtin.name), Value::Builtin(builtin));
        }
        interp
    }

    /// The heap the interpreter allocates on.
    pub fn heap(&self) -> &Heap {
        &self.0.heap
    }

    /// Reads every form of `src` and evaluates it on the calling thread, attached as `m`;
    /// returns each form's value. Stops at the first error.
    pub fn run(&self, m: &Mutator, src: &str) -> Result<Vec<Value>> {
        let machine = Machine::new(self, m);
        reader::read_all(self, m, src)?
            .iter()
            .map(|datum| machine.eval_top(datum))
            .collect()
    }

    /// As [`run`](Interp::run), returning the last form's value (unspecified if none).
    pub fn eval_str(&self, m: &Mutator, src: &str) -> Result<Value> {
        Ok(self.run(m, src)?.pop().unwrap_or(Value::Unspecified))
    }

    /// The symbol named `name`, the same object every time.
    pub fn intern(&self, name: &str) -> Gc<Symbol> {
        if let Some(sym) = self.0.symbols.read().get(name) {
            return sym.clone();
        }
        self.0
            .symbols
            .write()
            .entry(name.into())
            .or_insert_with(|| self.0.heap.alloc(Symbol::new(name)))
            .clone()
    }

    /// Procedure calls made so far by the threads of this interpreter (each published when its
    /// evaluator finishes: at the end of `run`, or of a spawned thread).
    pub fn calls(&self) -> u64 {
        self.0.calls.load(Ordering::Relaxed)
    }

    /// What `display` and `newline` wrote since the last call (empty unless made with
    /// [`capturing`](Interp::capturing)).
    pub fn take_output(&self) -> String {
        match &mut *self.output() {
            Output::Stdout => String::new(),
            Output::Captured(text) => std::mem::take(text),
        }
    }

    fn globals(&self) -> &Gc<Globals> {
        &self.0.globals
    }

    fn output(&self) -> std::sync::MutexGuard<'_, Output> {
        self.0.output.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `text` to the output; the caller is detached (`Mutator::blocking`).
    fn write_output(&self, text: &str) -> Result<()> {
        use std::io::Write as _;
        match &mut *self.output() {
            Output::Stdout => std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Error::new(format!("display: {e}"))),
            Output::Captured(buffer) => {
                buffer.push_str(text);
                Ok(())
            }
        }
    }

    fn next_thread_id(&self) -> u64 {
        self.0.next_thread.fetch_add(1, Ordering::Relaxed)
    }

    fn add_calls(&self, calls: u64) {
        self.0.calls.fetch_add(calls, Ordering::Relaxed);
    }
}

impl fmt::Debug for Interp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interp")
            .field("heap", &self.0.heap)
            .field("calls", &self.calls())
            .finish()
    }
}
