//! Phase 2, `subtract_refs`: for every edge between two members of the set, take one from the
//! target's `gc_refs`. What stays above zero is referenced from outside the set.
//!
//! Workers decrement with atomic read-modify-writes; the sequential path uses plain loads and
//! stores of the same atomics. An object whose cell could not be read (borrowed for writing
//! across a safepoint, DESIGN race 5) is `PINNED`: a root, and since its unread edges were not
//! subtracted, whatever it reaches through them stays referenced too.

use core::ptr::NonNull;

use rayon::prelude::*;

use super::{is_member, Object};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::trace::Tracer;

/// Traces one member into `edges`, pinning it if it could not be read.
#[inline]
pub(crate) fn trace_member(object: &Object, edges: &mut Vec<NonNull<Header>>) {
    edges.clear();
    let header = object.header();
    let mut tracer = Tracer::new(edges, true);
    // SAFETY: members of the set are alive with intact values, and the world is stopped.
    unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
    if tracer.blocked {
        header.set(flag::PINNED);
    }
}

/// The sequential path, also the resurrection check's (on the unreachable set alone).
pub(crate) fn subtract_sequential(set: &[Object]) {
    let mut edges = Vec::new();
    for object in set {
        trace_member(object, &mut edges);
        for edge in &edges {
            // SAFETY: an edge of a live object points at a live object.
            let target = unsafe { edge.as_ref() };
            if is_member(target) {
                let refs = target.index.load(Ordering::Relaxed);
                target
                    .index
                    .store(refs.saturating_sub(1), Ordering::Relaxed);
            }
        }
    }
}

/// One worker's step of the parallel path: traces `object` and takes one from the `gc_refs` of
/// every member it reaches. Workers may hit the same target at once, hence the atomic RMW.
#[inline]
pub(crate) fn subtract_step(object: &Object, edges: &mut Vec<NonNull<Header>>) {
    trace_member(object, edges);
    for edge in edges.iter() {
        // SAFETY: an edge of a live object points at a live object.
        let target = unsafe { edge.as_ref() };
        if is_member(target) {
            #[cfg(gc_seeded_bug = "subtract_racy")]
            {
                let refs = target.index.load(Ordering::Relaxed);
                target
                    .index
                    .store(refs.saturating_sub(1), Ordering::Relaxed);
                continue;
            }
            // A correct `Trace` never takes a count below zero; undo it if one does.
            if target.index.fetch_sub(1, Ordering::Relaxed) == 0 {
                target.index.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn subtract_parallel(set: &[Object]) {
    set.par_iter()
        .for_each_init(Vec::new, |edges, object| subtract_step(object, edges));
}

pub(crate) fn run(heap: &HeapInner, set: &[Object]) {
    match heap.parallel_pool(set.len()) {
        Some(pool) => pool.install(|| subtract_parallel(set)),
        None => subtract_sequential(set),
    }
}
