//! Phase 3, `mark`: everything reachable from a root (a member with `gc_refs > 0`, or pinned)
//! is `REACHABLE`; the rest of the set is garbage.
//!
//! No recursion: an explicit stack sequentially, and in parallel one LIFO deque per worker with
//! work stealing (crossbeam-deque). A worker claims an object by setting `REACHABLE` with a
//! single `fetch_or`, so each object is traced once whichever worker gets there first; the
//! result is the same set as the sequential walk's.
//!
//! Termination: a worker goes idle only with its own deque empty, and idle workers never push.
//! So when all `n` workers are idle at once, every deque is empty and the marking is done.

use core::ptr::NonNull;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use rayon::prelude::*;

use super::subtract_refs::trace_member;
use super::{is_member, Object};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use std::sync::atomic::{AtomicBool, AtomicUsize};

#[inline]
pub(crate) fn is_root(header: &Header) -> bool {
    header.gc_refs() > 0 || header.has(flag::PINNED)
}

/// Sets `REACHABLE`; true if this call set it.
#[inline]
fn claim(header: &Header) -> bool {
    if cfg!(gc_seeded_bug = "claim_racy") {
        return claim_alone(header);
    }
    header.flags.fetch_or(flag::REACHABLE, Ordering::Relaxed) & flag::REACHABLE == 0
}

/// The parallel mark's first pass, per object: claims it if it is a root; true if this call
/// claimed it.
#[inline]
pub(crate) fn claim_root(object: &Object) -> bool {
    let header = object.header();
    is_root(header) && claim(header)
}

/// One worker's step of the parallel mark: traces `object` and claims every member it reaches
/// that no worker has claimed yet, handing each to `push`.
#[inline]
pub(crate) fn mark_step(
    object: &Object,
    edges: &mut Vec<NonNull<Header>>,
    mut push: impl FnMut(Object),
) {
    trace_member(object, edges);
    for edge in edges.iter() {
        // SAFETY: an edge of a live object points at a live object.
        let target = unsafe { edge.as_ref() };
        if is_member(target) && claim(target) {
            push(Object(*edge));
        }
    }
}

/// Sets `REACHABLE` without a read-modify-write (only one thread marks).
#[inline]
fn claim_alone(header: &Header) -> bool {
    let flags = header.flags();
    if flags & flag::REACHABLE != 0 {
        return false;
    }
    header
        .flags
        .store(flags | flag::REACHABLE, Ordering::Relaxed);
    true
}

/// Marks everything reachable from `roots` within the members, claiming alone.
pub(crate) fn mark_from(roots: impl Iterator<Item = Object>) {
    let mut stack: Vec<Object> = Vec::new();
    let mut edges: Vec<NonNull<Header>> = Vec::new();
    for root in roots {
        if !claim_alone(root.header()) {
            continue;
        }
        stack.push(root);
        while let Some(object) = stack.pop() {
            trace_member(&object, &mut edges);
            for edge in &edges {
                // SAFETY: an edge of a live object points at a live object.
                let target = unsafe { edge.as_ref() };
                if is_member(target) && claim_alone(target) {
                    stack.push(Object(*edge));
                }
            }
        }
    }
}

fn parallel(pool: &rayon::ThreadPool, set: &[Object]) {
    let injector = Injector::new();
    pool.install(|| {
        set.par_iter().for_each(|object| {
            if claim_root(object) {
                injector.push(*object);
            }
        })
    });
    let n = pool.current_num_threads();
    let workers: Vec<Worker<Object>> = (0..n).map(|_| Worker::new_lifo()).collect();
    let stealers: Vec<Stealer<Object>> = workers.iter().map(Worker::stealer).collect();
    let idle = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let panic = std::sync::Mutex::new(None);
    pool.scope(|scope| {
        for worker in workers {
            let (injector, stealers, idle, failed, panic) =
                (&injector, &stealers, &idle, &failed, &panic);
            scope.spawn(move |_| {
                let ran = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                    work(&worker, injector, stealers, idle, failed, n)
                }));
                if let Err(payload) = ran {
                    // A panicking `Trace`: stop every worker, re-raise on the collector.
                    failed.store(true, Ordering::SeqCst);
                    *panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
                }
            });
        }
    });
    if let Some(payload) = panic.into_inner().unwrap_or_else(|p| p.into_inner()) {
        std::panic::resume_unwind(payload);
    }
}

fn find(
    worker: &Worker<Object>,
    injector: &Injector<Object>,
    stealers: &[Stealer<Object>],
) -> Option<Object> {
    worker.pop().or_else(|| loop {
        let steal = injector.steal_batch_and_pop(worker).or_else(|| {
            stealers
                .iter()
                .map(Stealer::steal)
                .collect::<Steal<Object>>()
        });
        if !steal.is_retry() {
            return steal.success();
        }
    })
}

fn work(
    worker: &Worker<Object>,
    injector: &Injector<Object>,
    stealers: &[Stealer<Object>],
    idle: &AtomicUsize,
    failed: &AtomicBool,
    n: usize,
) {
    let mut edges = Vec::new();
    loop {
        while let Some(object) = find(worker, injector, stealers) {
            if failed.load(Ordering::Relaxed) {
                return;
            }
            mark_step(&object, &mut edges, |claimed| worker.push(claimed));
        }
        idle.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        loop {
            if idle.load(Ordering::SeqCst) == n || failed.load(Ordering::SeqCst) {
                return;
            }
            if !injector.is_empty() || stealers.iter().any(|s| !s.is_empty()) {
                idle.fetch_sub(1, Ordering::SeqCst);
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

pub(crate) fn run(heap: &HeapInner, set: &[Object]) {
    match heap.parallel_pool(set.len()) {
        Some(pool) => parallel(pool, set),
        None => mark_from(set.iter().copied().filter(|o| is_root(o.header()))),
    }
}
