//! Phase 2, subtract_refs (with CPython's `update_refs` folded in): every member adds its own
//! strong count to its slot and takes one from the slot of every member it references. What
//! stays above zero is referenced from outside the region. Each edge to a member is logged on
//! the way (`edge_log`) for `mark`.
//!
//! The slots start at zero, so the order of the additions does not matter and no pass copies
//! the counts first. A member that cannot be read — a cell borrowed for writing across a
//! safepoint (race 5 of `docs/concurrency.md`), or a value being dropped by a thread that let
//! this collection in (race 3) — gets [`ROOT`]: a root, and since its unread edges were not
//! subtracted, whatever it reaches through them stays referenced too.
//!
//! ```text
//!  sequential:  trace chunk by chunk (`chunk`): own count → own slot; each edge → its target's
//!               slot, at once
//!  parallel:    1. trace, one worker per chunk (`parallel`): own count → own slot; edge into
//!                  the chunk → its slot now; edge out of it → remote[stripe of the target]
//!               2. apply, one worker per stripe (`stripes`): every chunk's remote[stripe] →
//!                  the slots of the stripe
//! ```
//!
//! In step 1 only the chunk's worker writes the chunk's slots; in step 2 only the stripe's
//! worker writes the stripe's: no slot is updated by a read-modify-write.
//!
//! Both paths trace the last chunk first and leave the edges of its members with very many
//! (a list of a million objects, allocated after them) to be located piece by piece, each
//! after the chunk it leads into is traced and while that chunk's headers are in cache
//! (`wide`). `reference` (in `collector`) is the same phase written plainly, which the tests
//! hold these paths to.

mod chunk;
mod parallel;
mod stripes;
mod wide;

pub(crate) use self::chunk::{trace_chunk, Route, Wide};
#[cfg(loom)]
pub(crate) use self::parallel::apply_stripe;
#[cfg(loom)]
pub(crate) use self::stripes::Stripes;

use self::wide::{Deferred, Plan, Sink};
use super::structures::edge_log::EdgeLog;
use super::structures::region::Region;
use super::structures::scratch::{keep_edges, LentEdges};
use crate::heap::HeapInner;
use crate::trace::MemberEdges;

/// Runs the phase: in parallel above the heap's cutoff, else sequentially.
pub(crate) fn run(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => pool.install(|| parallel::run(heap, pool, region, log)),
        None => sequential(heap, region, log),
    }
}

/// The sequential path: the last chunk first, deferring its members with very many edges
/// (`wide`), then the others in order, each followed by the deferred edges guessed to lead into
/// it; every target's slot updated as it is located.
pub(crate) fn sequential(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    let mut lent = LentEdges::new(heap);
    let Some((last, rest)) = log.chunks_mut().split_last_mut() else {
        return;
    };
    let mut deferred = Vec::new();
    let defer = Wide::Defer(&mut deferred);
    trace_chunk(
        region,
        rest.len(),
        last,
        &mut lent.edges,
        Route::Apply,
        defer,
    );
    let (targets, _) = last.deferred_mut();
    let plan = Plan::new(region, &deferred, targets, 0..rest.len());
    for (c, (chunk, pieces)) in rest.iter_mut().zip(plan.per_chunk).enumerate() {
        trace_chunk(
            region,
            c,
            chunk,
            &mut lent.edges,
            Route::Apply,
            Wide::Inline,
        );
        for piece in pieces {
            piece.locate(region, &mut Sink::Apply);
        }
    }
    for piece in plan.leftover {
        piece.locate(region, &mut Sink::Apply);
    }
    keep_deferred(heap, deferred);
}

/// Gives the buffers of deferred members' copied edges back to the heap's scratch.
fn keep_deferred(heap: &HeapInner, deferred: Vec<Deferred>) {
    for Deferred(edges) in deferred {
        if let MemberEdges::Buffer(edges) = edges {
            keep_edges(heap, edges);
        }
    }
}
