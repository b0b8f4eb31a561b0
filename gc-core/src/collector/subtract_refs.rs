//! Phase 1, `subtract_refs` (with CPython's `update_refs` folded in): every member adds its own
//! strong count to its slot and takes one from the slot of every member it references. What
//! stays above zero is referenced from outside the region.
//!
//! The slots start at zero, so the order of the additions does not matter and no pass copies
//! the counts first. Workers update slots with atomic read-modify-writes; the sequential path
//! uses plain loads and stores of the same atomics. A member whose cell could not be read
//! (borrowed for writing across a safepoint, DESIGN race 5) gets [`ROOT`]: a root, and since
//! its unread edges were not subtracted, whatever it reaches through them stays referenced too.

use core::ptr::NonNull;

use rayon::prelude::*;

use super::region::{prefetch, Region, PREFETCH, ROOT};
use crate::generation::Object;
use crate::header::Header;
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::trace::Tracer;

/// Traces one member into `edges`, replacing what it held; false if it could not be read.
#[inline]
pub(crate) fn trace_member(object: &Object, edges: &mut Vec<NonNull<Header>>) -> bool {
    edges.clear();
    trace_onto(object, edges)
}

/// Traces one member, appending its edges to `edges`; false if it could not be read.
#[inline]
pub(crate) fn trace_onto(object: &Object, edges: &mut Vec<NonNull<Header>>) -> bool {
    let header = object.header();
    let mut tracer = Tracer::new(edges, true);
    // SAFETY: members are alive with intact values, and the world is stopped.
    unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
    !tracer.blocked
}

/// What member `object` adds to its own slot once traced.
#[inline]
fn own(region: &Region, object: &Object, readable: bool) -> i32 {
    if readable {
        region.own_refs(object.header())
    } else {
        ROOT
    }
}

/// The sequential path.
pub(crate) fn sequential(region: &Region) {
    let mut edges = Vec::new();
    for segment in &region.segments {
        let objects = &segment.objects;
        for (i, object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            let readable = trace_member(object, &mut edges);
            region.add_alone(segment.base + i, own(region, object, readable));
            // `at`: where the run starts in `edges`, to fetch the headers ahead of it.
            let mut at = 0;
            for (edge, times) in runs(&edges) {
                if let Some(ahead) = edges.get(at + PREFETCH) {
                    prefetch(ahead.as_ptr());
                }
                at += times as usize;
                // SAFETY: an edge of a live object points at a live object.
                if let Some(q) = region.locate(unsafe { edge.as_ref() }) {
                    region.add_alone(q, -times);
                }
            }
        }
    }
}

/// The edges with repeats in a row counted once: `(edge, times)`. A list holding one object
/// many times locates it once.
#[inline]
fn runs(edges: &[NonNull<Header>]) -> impl Iterator<Item = (NonNull<Header>, i32)> + '_ {
    let mut rest = edges;
    core::iter::from_fn(move || {
        let (&first, _) = rest.split_first()?;
        let len = rest.iter().take_while(|&&e| e == first).count();
        rest = &rest[len..];
        Some((first, len as i32))
    })
}

/// One worker's step of the parallel path for the member at position `p`. Workers may hit the
/// same slot at once, hence the atomic read-modify-writes.
#[inline]
pub(crate) fn step(region: &Region, p: usize, object: &Object, edges: &mut Vec<NonNull<Header>>) {
    let readable = trace_member(object, edges);
    region
        .slot(p)
        .fetch_add(own(region, object, readable), Ordering::Relaxed);
    for (edge, times) in runs(edges) {
        // SAFETY: an edge of a live object points at a live object.
        if let Some(q) = region.locate(unsafe { edge.as_ref() }) {
            #[cfg(gc_seeded_bug = "subtract_racy")]
            {
                region.add_alone(q, -times);
                continue;
            }
            region.slot(q).fetch_sub(times, Ordering::Relaxed);
        }
    }
}

pub(crate) fn run(heap: &HeapInner, region: &Region) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => pool.install(|| {
            region
                .chunks()
                .par_iter()
                .for_each_init(Vec::new, |edges, chunk| {
                    for (p, object) in region.chunk(chunk) {
                        step(region, p, &object, edges);
                    }
                })
        }),
        None => sequential(region),
    }
}
