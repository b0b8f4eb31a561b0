//! Phase 2, `mark`: every member reachable from a root (a slot still above zero) is marked
//! reachable, its slot overwritten with [`MARKED`]; the rest of the region is garbage.
//!
//! Marking reads positions from the edge log `subtract_refs` wrote, never the objects: no
//! header is located and no `Trace` runs a second time. No recursion: an explicit stack of
//! positions sequentially, and in parallel one LIFO deque per worker with work stealing
//! (crossbeam-deque). A member is claimed when its slot is overwritten with [`MARKED`] and then
//! expanded: each of its targets not marked yet is claimed and pushed.
//!
//! Workers claim with a plain load and store of the slot, not a read-modify-write. Two workers
//! that race for one member may both claim and expand it: work is repeated, never lost, and
//! the marked set is the same — every write in this phase writes [`MARKED`], and a worker never
//! expands a member twice, since it sees its own store. So the result is the sequential walk's.
//!
//! Termination: a worker goes idle only with the chunks used up and its own deque empty, and
//! idle workers never push. So when all `n` workers are idle at once, every deque is empty and
//! the marking is done.

use core::sync::atomic::AtomicUsize;

use crossbeam_deque::{Steal, Stealer, Worker};

use super::edge_log::EdgeLog;
use super::region::{Region, MARKED};
use crate::heap::HeapInner;
use crate::sync::Ordering;

/// Claims the member at `p` if it is a root not marked yet; true if this call claimed it.
#[inline]
pub(crate) fn claim_root(region: &Region, p: usize) -> bool {
    let slot = region.slot(p);
    if slot.load(Ordering::Relaxed) <= 0 {
        return false;
    }
    slot.store(MARKED, Ordering::Relaxed);
    true
}

/// Claims the member at `q`, reached through an edge; true if it was not marked yet.
#[inline]
fn claim(region: &Region, q: usize) -> bool {
    let slot = region.slot(q);
    if slot.load(Ordering::Relaxed) == MARKED {
        return false;
    }
    slot.store(MARKED, Ordering::Relaxed);
    true
}

/// Expands the claimed member at `p`: claims each of its targets not marked yet and pushes it.
#[inline]
pub(crate) fn expand(region: &Region, log: &EdgeLog, p: usize, push: &mut impl FnMut(u32)) {
    for &q in log.targets_of(p) {
        if claim(region, q as usize) {
            push(q);
        }
    }
}

/// The sequential path.
pub(crate) fn sequential(region: &Region, log: &EdgeLog) {
    let mut stack: Vec<u32> = Vec::new();
    for p in 0..region.len() {
        if !claim_root(region, p) {
            continue;
        }
        stack.push(p as u32);
        while let Some(m) = stack.pop() {
            expand(region, log, m as usize, &mut |q| stack.push(q));
        }
    }
}

/// What the workers share.
struct Shared<'a> {
    region: &'a Region,
    log: &'a EdgeLog,
    next_chunk: AtomicUsize,
    stealers: Vec<Stealer<u32>>,
    idle: AtomicUsize,
    n: usize,
}

fn parallel(pool: &rayon::ThreadPool, region: &Region, log: &EdgeLog) {
    let n = pool.current_num_threads();
    let workers: Vec<Worker<u32>> = (0..n).map(|_| Worker::new_lifo()).collect();
    let shared = Shared {
        region,
        log,
        next_chunk: AtomicUsize::new(0),
        stealers: workers.iter().map(Worker::stealer).collect(),
        idle: AtomicUsize::new(0),
        n,
    };
    pool.scope(|scope| {
        for worker in workers {
            let shared = &shared;
            scope.spawn(move |_| work(&worker, shared));
        }
    });
}

/// Pops from the worker's own deque, or steals half of another's.
fn find(worker: &Worker<u32>, stealers: &[Stealer<u32>]) -> Option<u32> {
    worker.pop().or_else(|| loop {
        let steal: Steal<u32> = stealers
            .iter()
            .map(|s| s.steal_batch_and_pop(worker))
            .collect();
        if !steal.is_retry() {
            return steal.success();
        }
    })
}

/// A worker expands this many members between looks at whether its deque has run dry.
const SHARE_EVERY: usize = 64;
/// At most this many positions move from a worker's own stack to its deque at once.
const SHARE_MAX: usize = 4096;

/// Claims the roots of the next unclaimed chunk onto `stack`; false when none is left.
fn take_chunk(shared: &Shared<'_>, stack: &mut Vec<u32>) -> bool {
    let c = shared.next_chunk.fetch_add(1, Ordering::Relaxed);
    if c >= shared.region.chunks() {
        return false;
    }
    for p in shared.region.chunk_range(c) {
        if claim_root(shared.region, p) {
            stack.push(p as u32);
        }
    }
    true
}

/// Marks from the worker's own stack until it, the worker's deque and the others' are empty.
/// The stack is private (plain pushes and pops); whenever the deque has run dry, part of the
/// stack moves there for idle workers to steal.
fn drain(worker: &Worker<u32>, shared: &Shared<'_>, stack: &mut Vec<u32>) {
    let mut expanded = 0;
    loop {
        let Some(p) = stack.pop().or_else(|| find(worker, &shared.stealers)) else {
            return;
        };
        expand(shared.region, shared.log, p as usize, &mut |q| {
            stack.push(q)
        });
        expanded += 1;
        if expanded % SHARE_EVERY == 0 && worker.is_empty() && stack.len() > 1 {
            let share = (stack.len() / 2).min(SHARE_MAX);
            for p in stack.drain(stack.len() - share..) {
                worker.push(p);
            }
        }
    }
}

fn work(worker: &Worker<u32>, shared: &Shared<'_>) {
    let mut stack = Vec::new();
    loop {
        loop {
            drain(worker, shared, &mut stack);
            if !take_chunk(shared, &mut stack) {
                break;
            }
        }
        shared.idle.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        loop {
            if shared.idle.load(Ordering::SeqCst) == shared.n {
                return;
            }
            if shared.stealers.iter().any(|s| !s.is_empty()) {
                shared.idle.fetch_sub(1, Ordering::SeqCst);
                break;
            }
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

pub(crate) fn run(heap: &HeapInner, region: &Region, log: &EdgeLog) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => parallel(pool, region, log),
        None => sequential(region, log),
    }
}
