//! Phase 3, mark: every member reachable from a root (a slot still above zero) is marked
//! reachable, its slot overwritten with [`MARKED`]; the rest of the region is garbage.
//!
//! Marking reads positions from the edge log `subtract_refs` wrote, never the objects: no
//! header is located and no `Trace` runs a second time. No recursion: an explicit stack of
//! [`Task`]s sequentially, and in parallel one LIFO deque per worker with work stealing
//! (crossbeam-deque). A member is claimed when its slot is overwritten with [`MARKED`] and then
//! expanded: each of its targets not marked yet is claimed, and pushed if it has targets of its
//! own. A member with many targets is expanded in slices, so that workers share it.
//!
//! Workers claim with a plain load and store of the slot, not a read-modify-write. Two workers
//! that race for one member may both claim and expand it: work is repeated, never lost, and
//! the marked set is the same — every write in this phase writes [`MARKED`], and a worker never
//! expands a member twice, since it sees its own store. So the result is the sequential walk's.
//!
//! Termination: a worker goes idle only with the chunks used up and its own deque empty, and
//! idle workers never push. So when all `n` workers are idle at once, every deque is empty and
//! the marking is done.

use crossbeam_deque::{Steal, Stealer, Worker};

use super::structures::edge_log::{EdgeLog, NONE};
use super::structures::region::{Region, MARKED};
use crate::heap::HeapInner;
use crate::sync::unmodelled::AtomicUsize;
use crate::sync::{Backoff, Ordering};

/// A slot below zero that is not a mark: more edges to the member were reported than it has
/// references — some `Trace` reports a handle twice, or one its value does not own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overcounted(pub(crate) usize);

/// Claims the member at `p` if it is a root not marked yet; true if this call claimed it.
/// `overcounted` is set to `p` if its slot is below zero and not a mark.
#[inline]
pub(crate) fn claim_root(region: &Region, p: usize, overcounted: &mut Option<Overcounted>) -> bool {
    let slot = region.slot(p);
    let refs = slot.load(Ordering::Relaxed);
    if refs <= 0 {
        if refs < 0 && refs != MARKED {
            *overcounted = Some(Overcounted(p));
        }
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

/// Part of the expansion of a claimed member: its targets, entries `from..to` of chunk
/// `chunk`'s log.
#[derive(Clone, Copy)]
pub(crate) struct Task {
    chunk: u32,
    from: u32,
    to: u32,
}

/// A member's targets beyond this many are split off as separate tasks.
const SLICE: u32 = 1024;

impl Task {
    /// The whole expansion of member `p`, or `None` if it has no targets.
    #[inline]
    fn of(log: &EdgeLog, p: u32) -> Option<Task> {
        let (chunk, from, to) = log.span(p as usize);
        (to > from).then_some(Task { chunk, from, to })
    }
}

/// Runs `task`: splits off halves beyond [`SLICE`] targets onto `push`, then claims each
/// remaining target not marked yet and pushes the expansion of those that have targets.
#[inline]
pub(crate) fn expand(region: &Region, log: &EdgeLog, mut task: Task, push: &mut impl FnMut(Task)) {
    while task.to - task.from > SLICE {
        let mid = task.from + (task.to - task.from) / 2;
        push(Task { from: mid, ..task });
        task.to = mid;
    }
    for &q in log.entries(task.chunk, task.from, task.to) {
        if q != NONE && claim(region, q as usize) {
            if let Some(next) = Task::of(log, q) {
                push(next);
            }
        }
    }
}

/// Marks everything reachable from the claimed member `p` that is not marked yet (the loom
/// models' step of a worker).
#[cfg(loom)]
pub(crate) fn mark_from(region: &Region, log: &EdgeLog, p: usize) {
    let mut stack: Vec<Task> = Task::of(log, p as u32).into_iter().collect();
    while let Some(task) = stack.pop() {
        expand(region, log, task, &mut |next| stack.push(next));
    }
}

/// Claims the root at `p` and pushes its expansion; false if it is not a root not yet marked.
#[inline]
fn start(
    region: &Region,
    log: &EdgeLog,
    p: usize,
    overcounted: &mut Option<Overcounted>,
    push: &mut impl FnMut(Task),
) -> bool {
    if !claim_root(region, p, overcounted) {
        return false;
    }
    if let Some(task) = Task::of(log, p as u32) {
        push(task);
    }
    true
}

/// The sequential path.
pub(crate) fn sequential(region: &Region, log: &EdgeLog) -> Result<(), Overcounted> {
    let mut stack: Vec<Task> = Vec::new();
    let mut overcounted = None;
    for p in 0..region.len() {
        if !start(region, log, p, &mut overcounted, &mut |task| {
            stack.push(task)
        }) {
            continue;
        }
        while let Some(task) = stack.pop() {
            expand(region, log, task, &mut |task| stack.push(task));
        }
    }
    overcounted.map_or(Ok(()), Err)
}

/// What the workers share.
struct Shared<'a> {
    region: &'a Region,
    log: &'a EdgeLog,
    next_chunk: AtomicUsize,
    stealers: Vec<Stealer<Task>>,
    idle: AtomicUsize,
    n: usize,
    /// A position plus one whose slot was found overcounted, 0 for none.
    overcounted: AtomicUsize,
}

fn parallel(pool: &rayon::ThreadPool, region: &Region, log: &EdgeLog) -> Result<(), Overcounted> {
    let n = pool.current_num_threads();
    let workers: Vec<Worker<Task>> = (0..n).map(|_| Worker::new_lifo()).collect();
    let shared = Shared {
        region,
        log,
        next_chunk: AtomicUsize::new(0),
        stealers: workers.iter().map(Worker::stealer).collect(),
        idle: AtomicUsize::new(0),
        n,
        overcounted: AtomicUsize::new(0),
    };
    pool.scope(|scope| {
        for worker in workers {
            let shared = &shared;
            scope.spawn(move |_| work(&worker, shared));
        }
    });
    match shared.overcounted.into_inner() {
        0 => Ok(()),
        p => Err(Overcounted(p - 1)),
    }
}

/// Pops from the worker's own deque, or steals half of another's.
fn find(worker: &Worker<Task>, stealers: &[Stealer<Task>]) -> Option<Task> {
    worker.pop().or_else(|| loop {
        let steal: Steal<Task> = stealers
            .iter()
            .map(|s| s.steal_batch_and_pop(worker))
            .collect();
        if !steal.is_retry() {
            return steal.success();
        }
    })
}

/// A worker runs this many tasks between looks at whether its deque has run dry.
const SHARE_EVERY: usize = 64;
/// At most this many tasks move from a worker's own stack to its deque at once.
const SHARE_MAX: usize = 4096;

/// Claims the roots of the next unclaimed chunk onto `stack`; false when none is left.
fn take_chunk(shared: &Shared<'_>, stack: &mut Vec<Task>) -> bool {
    let c = shared.next_chunk.fetch_add(1, Ordering::Relaxed);
    if c >= shared.region.chunks() {
        return false;
    }
    let mut overcounted = None;
    for p in shared.region.chunk_range(c) {
        start(
            shared.region,
            shared.log,
            p,
            &mut overcounted,
            &mut |task| stack.push(task),
        );
    }
    if let Some(Overcounted(p)) = overcounted {
        shared.overcounted.store(p + 1, Ordering::Relaxed);
    }
    true
}

/// Marks from the worker's own stack until it, the worker's deque and the others' are empty.
/// The stack is private (plain pushes and pops); whenever the deque has run dry, part of the
/// stack moves there for idle workers to steal.
fn drain(worker: &Worker<Task>, shared: &Shared<'_>, stack: &mut Vec<Task>) {
    let mut ran = 0;
    loop {
        let Some(task) = stack.pop().or_else(|| find(worker, &shared.stealers)) else {
            return;
        };
        expand(shared.region, shared.log, task, &mut |task| {
            stack.push(task)
        });
        ran += 1;
        if ran % SHARE_EVERY == 0 && worker.is_empty() && stack.len() > 1 {
            let share = (stack.len() / 2).min(SHARE_MAX);
            for task in stack.drain(stack.len() - share..) {
                worker.push(task);
            }
        }
    }
}

fn work(worker: &Worker<Task>, shared: &Shared<'_>) {
    let mut stack = Vec::new();
    loop {
        loop {
            drain(worker, shared, &mut stack);
            if !take_chunk(shared, &mut stack) {
                break;
            }
        }
        shared.idle.fetch_add(1, Ordering::SeqCst);
        let mut backoff = Backoff::default();
        loop {
            if shared.idle.load(Ordering::SeqCst) == shared.n {
                return;
            }
            if shared.stealers.iter().any(|s| !s.is_empty()) {
                shared.idle.fetch_sub(1, Ordering::SeqCst);
                break;
            }
            backoff.snooze();
        }
    }
}

/// Marks the region; the error names a member found overcounted (the marking is finished
/// anyway, and the collection must be abandoned).
pub(crate) fn run(heap: &HeapInner, region: &Region, log: &EdgeLog) -> Result<(), Overcounted> {
    match heap.parallel_pool(region.len()) {
        Some(pool) => parallel(pool, region, log),
        None => sequential(region, log),
    }
}

/// What a collection that found member `p` overcounted says: its type, and the types of the
/// members whose `Trace` reported edges to it (one of them reports too many).
pub(crate) fn overcounted_message(
    region: &Region,
    log: &EdgeLog,
    Overcounted(p): Overcounted,
) -> String {
    let type_at = |position: usize| {
        region
            .members()
            .find(|&(at, _)| at == position)
            .map_or("?", |(_, object)| object.header().type_name())
    };
    let mut referrers: Vec<&str> = (0..region.len())
        .filter(|&r| {
            let (chunk, from, to) = log.span(r);
            log.entries(chunk, from, to).contains(&(p as u32))
        })
        .map(type_at)
        .collect();
    referrers.sort_unstable();
    referrers.dedup();
    format!(
        "gc-core: a Trace implementation reported more edges to an object of type {} than it \
         has references (a handle reported twice, or one the value does not own); the objects \
         reporting edges to it are of type {}. The collection was abandoned and nothing was \
         freed",
        type_at(p),
        referrers.join(", ")
    )
}
