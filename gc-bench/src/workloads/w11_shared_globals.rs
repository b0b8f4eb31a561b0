//! W11: shared globals. An interpreter's global functions, looked up by every thread: a table
//! of 64 shared objects, each a name, an arity and a body of constants, built once; every
//! thread then makes `lookups` lookups, each a clone of a pseudo-randomly chosen entry's
//! handle (what storing it in a frame does), a read of its fields through the clone, and the
//! clone's drop. The work is split evenly between `threads` threads, all reading the same
//! table. Nothing is allocated or freed while timed.
//!
//! The variants: gc-core with the table as ordinary objects (every clone and drop writes the
//! entry's count, which the other threads read), gc-core with the table made immortal
//! (`Gc::make_immortal`: clones and drops write nothing), and `Arc` (counted like the first).
//!
//! Checksum: the sum over lookups of the entry's arity plus its first constant, folded per
//! thread in thread order.

use std::sync::Arc;

use gc_core::{Gc, GcCell, Heap, Trace};

use super::{mix, Outcome};

/// Entries in the table.
pub const ENTRIES: usize = 64;

/// Sizes of W11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Lookups in all, dealt evenly to the threads.
    pub lookups: u64,
    /// Threads making lookups.
    pub threads: usize,
}

impl Params {
    /// The default size with `threads` threads.
    pub fn with_threads(threads: usize) -> Self {
        Params {
            lookups: 8_000_000,
            threads,
        }
    }

    /// A size for tests.
    pub fn small(threads: usize) -> Self {
        Params {
            lookups: 20_000,
            threads,
        }
    }

    fn per_thread(&self) -> u64 {
        self.lookups / self.threads.max(1) as u64
    }

    /// Lookups made per run (a multiple of the thread count).
    pub fn ops(&self) -> u64 {
        self.per_thread() * self.threads.max(1) as u64
    }
}

/// A global function as a gc-core object: tracked, as an interpreter's closures are (they hold
/// their defining environment).
#[derive(Trace)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its arity.
    pub arity: u64,
    /// Constants its body uses.
    pub constants: Vec<u64>,
    /// The functions it closes over (none here).
    pub environment: GcCell<Vec<Gc<Function>>>,
}

/// The same as an `Arc` payload.
pub struct ArcFunction {
    /// Its name.
    pub name: String,
    /// Its arity.
    pub arity: u64,
    /// Constants its body uses.
    pub constants: Vec<u64>,
}

fn entry(i: usize) -> (String, u64, Vec<u64>) {
    (format!("f{i}"), (i % 5) as u64, vec![i as u64 * 7, 1, 2])
}

/// The entry the `k`-th lookup of thread `t` reads: a multiplicative hash, the same for every
/// implementation.
#[inline]
fn pick(t: usize, k: u64) -> usize {
    let x = (k ^ ((t as u64) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 58) as usize % ENTRIES
}

/// Runs `lookup(t, k)` for every lookup of every thread, on `threads` scoped threads (each first
/// making its context with `ctx()`), and folds the per-thread sums in thread order.
fn run<C, G, F>(p: &Params, ctx: G, lookup: F) -> Outcome
where
    G: Fn() -> C + Sync,
    F: Fn(&C, usize, u64) -> u64 + Sync,
{
    let per_thread = p.per_thread();
    let sums: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..p.threads.max(1))
            .map(|t| {
                let (ctx, lookup) = (&ctx, &lookup);
                s.spawn(move || {
                    let c = ctx();
                    (0..per_thread).map(|k| lookup(&c, t, k)).sum::<u64>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a W11 worker panicked"))
            .collect()
    });
    Outcome::new(sums.iter().fold(0, |acc, &s| mix(acc, s)), p.ops())
}

/// W11 on gc-core; `immortal` makes the table immortal first. Every thread attaches.
pub fn gc_core(heap: &Heap, p: &Params, immortal: bool) -> Outcome {
    let table: Vec<Gc<Function>> = (0..ENTRIES)
        .map(|i| {
            let (name, arity, constants) = entry(i);
            heap.alloc(Function {
                name,
                arity,
                constants,
                environment: GcCell::new(Vec::new()),
            })
        })
        .collect();
    if immortal {
        table.iter().for_each(Gc::make_immortal);
    }
    run(
        p,
        || heap.attach(),
        |_, t, k| {
            let f = table[pick(t, k)].clone();
            let value = f.arity + f.constants[0] + f.name.len() as u64;
            drop(std::hint::black_box(f));
            value
        },
    )
}

/// W11 with `Arc`.
pub fn arc(p: &Params) -> Outcome {
    let table: Vec<Arc<ArcFunction>> = (0..ENTRIES)
        .map(|i| {
            let (name, arity, constants) = entry(i);
            Arc::new(ArcFunction {
                name,
                arity,
                constants,
            })
        })
        .collect();
    run(
        p,
        || (),
        |_, t, k| {
            let f = table[pick(t, k)].clone();
            let value = f.arity + f.constants[0] + f.name.len() as u64;
            drop(std::hint::black_box(f));
            value
        },
    )
}
