//! Phase 2, `mark`: every member reachable from a root (a slot still above zero) is marked
//! reachable, its slot overwritten with [`MARKED`]; the rest of the region is garbage.
//!
//! No recursion: an explicit stack of edges sequentially, and in parallel one LIFO deque of edges
//! per worker with work stealing (crossbeam-deque). An edge is pushed unexamined and its target
//! claimed when it is popped, so locating, claiming and tracing a member is one visit to its
//! header. Workers take the region in chunks, claim the roots they find there and mark from
//! each; an idle worker steals half of another's deque. A slot is claimed by one atomic
//! operation (a compare-exchange from its count for a root, a swap for a member reached through
//! an edge), so each member is traced once whichever worker gets there first, and the result
//! is the sequential walk's.
//!
//! Termination: a worker goes idle only with the chunks used up and its own deque empty, and
//! idle workers never push. So when all `n` workers are idle at once, every deque is empty and
//! the marking is done.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize};

use crossbeam_deque::{Steal, Stealer, Worker};

use super::region::{prefetch, Region, MARKED, PREFETCH};
use super::subtract_refs::trace_onto;
use crate::generation::Object;
use crate::header::Header;
use crate::heap::HeapInner;
use crate::sync::Ordering;

/// Claims the member at `p` if it is a root not yet claimed; true if this call claimed it.
#[inline]
pub(crate) fn claim_root(region: &Region, p: usize) -> bool {
    let slot = region.slot(p);
    let refs = slot.load(Ordering::Relaxed);
    refs > 0
        && slot
            .compare_exchange(refs, MARKED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// Claims the member at `q`, reached through an edge; true if this call claimed it.
#[inline]
fn claim(region: &Region, q: usize) -> bool {
    if cfg!(gc_seeded_bug = "claim_racy") {
        return claim_alone(region, q);
    }
    let slot = region.slot(q);
    slot.load(Ordering::Relaxed) != MARKED && slot.swap(MARKED, Ordering::Relaxed) != MARKED
}

/// Claims without a read-modify-write (only one thread marks).
#[inline]
fn claim_alone(region: &Region, q: usize) -> bool {
    let slot = region.slot(q);
    if slot.load(Ordering::Relaxed) == MARKED {
        return false;
    }
    slot.store(MARKED, Ordering::Relaxed);
    true
}

/// A worker's visit of an edge taken from its deque: the target, if it is a member that no
/// worker has claimed yet, claimed by this call (the caller traces it next).
#[inline]
pub(crate) fn visit(region: &Region, edge: NonNull<Header>) -> Option<Object> {
    // SAFETY: an edge of a live object points at a live object.
    let q = region.locate(unsafe { edge.as_ref() })?;
    claim(region, q).then_some(Object(edge))
}

/// Traces a claimed member onto `stack`, dropping repeats of the same edge in a row (a list
/// holding one object many times pushes it once).
#[inline]
fn trace_claimed(object: &Object, stack: &mut Vec<NonNull<Header>>) {
    let start = stack.len();
    trace_onto(object, stack);
    let mut kept = start;
    for read in start..stack.len() {
        if kept == start || stack[read] != stack[kept - 1] {
            stack[kept] = stack[read];
            kept += 1;
        }
    }
    stack.truncate(kept);
}

/// The sequential path. Edges go on the stack unexamined and are claimed when popped, so a
/// member is located, claimed and traced in one visit, while its header is in cache.
pub(crate) fn sequential(region: &Region) {
    let mut stack: Vec<NonNull<Header>> = Vec::new();
    for segment in &region.segments {
        for (p, object) in (segment.base..).zip(&segment.objects) {
            if region.slot(p).load(Ordering::Relaxed) <= 0 {
                continue;
            }
            region.slot(p).store(MARKED, Ordering::Relaxed);
            trace_claimed(object, &mut stack);
            while let Some(edge) = stack.pop() {
                if let Some(ahead) = stack.len().checked_sub(PREFETCH).map(|k| stack[k]) {
                    prefetch(ahead.as_ptr());
                }
                // SAFETY: an edge of a live object points at a live object.
                if let Some(q) = region.locate(unsafe { edge.as_ref() }) {
                    if claim_alone(region, q) {
                        trace_claimed(&Object(edge), &mut stack);
                    }
                }
            }
        }
    }
}

/// What the workers share.
struct Shared<'a> {
    region: &'a Region,
    chunks: Vec<(usize, core::ops::Range<usize>)>,
    next_chunk: AtomicUsize,
    stealers: Vec<Stealer<Object>>,
    idle: AtomicUsize,
    failed: AtomicBool,
    n: usize,
}

fn parallel(pool: &rayon::ThreadPool, region: &Region) {
    let n = pool.current_num_threads();
    let workers: Vec<Worker<Object>> = (0..n).map(|_| Worker::new_lifo()).collect();
    let shared = Shared {
        region,
        chunks: region.chunks(),
        next_chunk: AtomicUsize::new(0),
        stealers: workers.iter().map(Worker::stealer).collect(),
        idle: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        n,
    };
    let panic = std::sync::Mutex::new(None);
    pool.scope(|scope| {
        for worker in workers {
            let (shared, panic) = (&shared, &panic);
            scope.spawn(move |_| {
                let ran = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                    work(&worker, shared)
                }));
                if let Err(payload) = ran {
                    // A panicking `Trace`: stop every worker, re-raise on the collector.
                    shared.failed.store(true, Ordering::SeqCst);
                    *panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
                }
            });
        }
    });
    if let Some(payload) = panic.into_inner().unwrap_or_else(|p| p.into_inner()) {
        std::panic::resume_unwind(payload);
    }
}

/// Pops from the worker's own deque, or steals half of another's.
fn find(worker: &Worker<Object>, stealers: &[Stealer<Object>]) -> Option<Object> {
    worker.pop().or_else(|| loop {
        let steal: Steal<Object> = stealers
            .iter()
            .map(|s| s.steal_batch_and_pop(worker))
            .collect();
        if !steal.is_retry() {
            return steal.success();
        }
    })
}

/// A worker visits this many edges between looks at whether its deque has run dry.
const SHARE_EVERY: usize = 64;
/// At most this many edges move from a worker's own stack to its deque at once.
const SHARE_MAX: usize = 4096;

/// Claims and traces the roots of the next unclaimed chunk onto `stack`; false when none is
/// left.
fn take_chunk(shared: &Shared<'_>, stack: &mut Vec<NonNull<Header>>) -> bool {
    let i = shared.next_chunk.fetch_add(1, Ordering::Relaxed);
    let Some(chunk) = shared.chunks.get(i) else {
        return false;
    };
    for (p, object) in shared.region.chunk(chunk) {
        if claim_root(shared.region, p) {
            trace_claimed(&object, stack);
        }
    }
    true
}

/// Marks from the worker's own stack until it, the worker's deque and the others' are empty.
/// The stack is private (plain pushes and pops); whenever the deque has run dry, part of the
/// stack moves there for idle workers to steal. False if another worker failed.
fn drain(worker: &Worker<Object>, shared: &Shared<'_>, stack: &mut Vec<NonNull<Header>>) -> bool {
    let mut visits = 0;
    loop {
        let edge = match stack.pop() {
            Some(edge) => edge,
            None => match find(worker, &shared.stealers) {
                Some(edge) => edge.0,
                None => return true,
            },
        };
        if let Some(object) = visit(shared.region, edge) {
            trace_claimed(&object, stack);
        }
        visits += 1;
        if visits % SHARE_EVERY == 0 {
            if shared.failed.load(Ordering::Relaxed) {
                return false;
            }
            if worker.is_empty() && stack.len() > 1 {
                let share = (stack.len() / 2).min(SHARE_MAX);
                for edge in stack.drain(stack.len() - share..) {
                    worker.push(Object(edge));
                }
            }
        }
    }
}

fn work(worker: &Worker<Object>, shared: &Shared<'_>) {
    let mut stack = Vec::new();
    loop {
        loop {
            if !drain(worker, shared, &mut stack) {
                return;
            }
            if !take_chunk(shared, &mut stack) {
                break;
            }
        }
        shared.idle.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        loop {
            if shared.idle.load(Ordering::SeqCst) == shared.n
                || shared.failed.load(Ordering::SeqCst)
            {
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

pub(crate) fn run(heap: &HeapInner, region: &Region) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => parallel(pool, region),
        None => sequential(region),
    }
}
