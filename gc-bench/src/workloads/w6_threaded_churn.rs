//! W6: W5 split across threads, as in dumpster's multi-threaded benchmark. `10 × threads`
//! mutex-protected root vectors of 50 nodes each; every thread does `ops / threads` operations,
//! each on randomly chosen vectors (an edge between two vectors locks the lower index first).
//! Only the threaded phase is timed: building the roots and the final collection are not.
//!
//! Each thread draws from its own generator (`seed + thread`). With one thread the checksum is
//! the same for every implementation; with more it depends on the interleaving.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gc_core::Heap;

use super::w5_churn::{ArcImpl, GcCore, Multiref};
use super::{below, collections, gc_core_outcome, mix, rng, Outcome, SEED};

/// Sizes of W6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Operations in total, split evenly over the threads.
    pub ops: usize,
    /// Mutator threads.
    pub threads: usize,
    /// Root vectors per thread.
    pub vectors_per_thread: usize,
    /// Nodes per root vector at the start.
    pub roots_per_vector: usize,
    /// Seed of thread 0 (thread `t` uses `seed + t`).
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            ops: 1_000_000,
            threads: 1,
            vectors_per_thread: 10,
            roots_per_vector: 50,
            seed: SEED,
        }
    }
}

impl Params {
    /// The default size with `threads` threads.
    pub fn with_threads(threads: usize) -> Self {
        Params {
            threads,
            ..Params::default()
        }
    }

    /// A size for tests.
    pub fn small(threads: usize) -> Self {
        Params {
            ops: 20_000,
            threads,
            ..Params::default()
        }
    }

    /// Operations actually performed (`ops` rounded down to a multiple of `threads`).
    pub fn total_ops(&self) -> u64 {
        (self.ops / self.threads * self.threads) as u64
    }
}

/// The result of a W6 run: the outcome and the time of the threaded phase alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// What the run computed.
    pub outcome: Outcome,
    /// Wall time from starting the threads to joining them.
    pub elapsed: Duration,
}

/// The shared root vectors.
pub type Roots<H> = Vec<Mutex<Vec<H>>>;

/// Builds the `vectors_per_thread × threads` root vectors.
pub fn make_roots<M: Multiref>(ctx: &M::Ctx, p: &Params) -> Roots<M::Handle> {
    let mut id = 0u64;
    (0..p.vectors_per_thread * p.threads)
        .map(|_| {
            Mutex::new(
                (0..p.roots_per_vector)
                    .map(|_| {
                        id += 1;
                        M::alloc(ctx, id)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Runs the threaded phase: `threads` scoped threads, each making its context with
/// `ctx(thread)` and doing its share of the operations. Returns the checksums' wrapping sum and
/// the phase's wall time.
pub fn run<M, F>(roots: &Roots<M::Handle>, p: &Params, ctx: F) -> (u64, Duration)
where
    M: Multiref,
    M::Handle: Send,
    F: Fn(usize) -> M::Ctx + Sync,
{
    let per_thread = p.ops / p.threads;
    let started = Instant::now();
    let checksum = std::thread::scope(|s| {
        let workers: Vec<_> = (0..p.threads)
            .map(|t| {
                let ctx = &ctx;
                s.spawn(move || {
                    let ctx = ctx(t);
                    worker::<M>(&ctx, roots, per_thread, p.seed + t as u64, t as u64)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a W6 worker panicked"))
            .fold(0u64, u64::wrapping_add)
    });
    (checksum, started.elapsed())
}

fn worker<M: Multiref>(
    ctx: &M::Ctx,
    vecs: &Roots<M::Handle>,
    ops: usize,
    seed: u64,
    thread: u64,
) -> u64 {
    let mut rng = rng(seed);
    let mut checksum = 0;
    // Ids of nodes made here: the thread in the high bits, so ids stay unique across threads.
    let mut next_id = (thread + 1) << 40;
    for _ in 0..ops {
        M::safepoint(ctx);
        let v1 = below(&mut rng, vecs.len());
        match below(&mut rng, 4) {
            0 => {
                next_id += 1;
                let node = M::alloc(ctx, next_id);
                M::lock(ctx, &vecs[v1]).push(node);
                checksum = mix(checksum, next_id);
            }
            1 => {
                let v2 = below(&mut rng, vecs.len());
                if v1 == v2 {
                    let g = M::lock(ctx, &vecs[v1]);
                    if g.len() < 2 {
                        continue;
                    }
                    let i1 = below(&mut rng, g.len());
                    let i2 = below(&mut rng, g.len());
                    let target = g[i2].clone();
                    checksum = mix(checksum, M::id(&target));
                    M::edit(ctx, &g[i1], |edges| edges.push(target));
                } else {
                    // Lock the lower index first, so two threads never wait on each other.
                    let (g1, g2) = if v1 < v2 {
                        let g1 = M::lock(ctx, &vecs[v1]);
                        (g1, M::lock(ctx, &vecs[v2]))
                    } else {
                        let g2 = M::lock(ctx, &vecs[v2]);
                        (M::lock(ctx, &vecs[v1]), g2)
                    };
                    if g1.is_empty() || g2.is_empty() {
                        continue;
                    }
                    let i1 = below(&mut rng, g1.len());
                    let i2 = below(&mut rng, g2.len());
                    let target = g2[i2].clone();
                    checksum = mix(checksum, M::id(&target));
                    M::edit(ctx, &g1[i1], |edges| edges.push(target));
                }
            }
            2 => {
                let gone = {
                    let mut g = M::lock(ctx, &vecs[v1]);
                    if g.is_empty() {
                        continue;
                    }
                    let at = below(&mut rng, g.len());
                    g.swap_remove(at)
                };
                checksum = mix(checksum, M::id(&gone));
            }
            _ => {
                let g = M::lock(ctx, &vecs[v1]);
                if g.is_empty() {
                    continue;
                }
                let at = below(&mut rng, g.len());
                let removed = M::edit(ctx, &g[at], |edges| {
                    (!edges.is_empty()).then(|| {
                        let i = below(&mut rng, edges.len());
                        edges.swap_remove(i)
                    })
                });
                drop(g);
                if let Some(gone) = removed {
                    checksum = mix(checksum, M::id(&gone));
                }
            }
        }
    }
    checksum
}

/// W6 on gc-core: every thread attaches to `heap`. The final collection runs after the timed
/// phase and is counted in `collections`/`collected` but not in `elapsed`.
pub fn gc_core(heap: &Heap, p: &Params) -> Timed {
    let before = collections(heap);
    let roots = {
        let m = heap.attach();
        make_roots::<GcCore>(&m, p)
    };
    let (checksum, elapsed) = run::<GcCore, _>(&roots, p, |_| heap.attach());
    drop(roots);
    Timed {
        outcome: gc_core_outcome(heap, before, (), checksum, p.total_ops()),
        elapsed,
    }
}

/// W6 with `Arc` and `Mutex` edges (leaks its cycles).
pub fn arc(p: &Params) -> Timed {
    let roots = make_roots::<ArcImpl>(&(), p);
    let (checksum, elapsed) = run::<ArcImpl, _>(&roots, p, |_| ());
    drop(roots);
    Timed {
        outcome: Outcome::new(checksum, p.total_ops()),
        elapsed,
    }
}
