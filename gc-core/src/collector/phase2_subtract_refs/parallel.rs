//! The parallel path of `subtract_refs`: step 1 traces the chunks on the heap's workers, each
//! writing its own chunk's slots alone and logging edges out of it by the stripe of their
//! target; step 2 applies those, one worker per stripe.

use rayon::prelude::*;

use super::chunk::{trace_chunk, Route, Wide};
use super::keep_deferred;
use super::stripes::Stripes;
use super::wide::{Plan, Sink};
use crate::collector::structures::edge_log::{EdgeLog, NONE};
use crate::collector::structures::region::Region;
use crate::collector::structures::scratch::LentEdges;
use crate::heap::HeapInner;
use crate::sync::unmodelled::AtomicBool;
use crate::sync::Ordering;

/// Step 1 as the sequential path: the last chunk first — while a second worker traces the
/// first chunks, until it is done — then the others shared among the workers. Then step 2.
pub(super) fn run(heap: &HeapInner, pool: &rayon::ThreadPool, region: &Region, log: &mut EdgeLog) {
    let stripes = Stripes::new(pool.current_num_threads(), region.len());
    let Some((last, rest)) = log.chunks_mut().split_last_mut() else {
        return;
    };
    let (mut deferred, last_chunk) = (Vec::new(), rest.len());
    let traced = AtomicBool::new(false);
    let ((), early) = rayon::join(
        || {
            let mut lent = LentEdges::new(heap);
            let route = Route::Own(&stripes);
            let defer = Wide::Defer(&mut deferred);
            trace_chunk(region, last_chunk, last, &mut lent.edges, route, defer);
            traced.store(true, Ordering::Relaxed);
        },
        || {
            let mut lent = LentEdges::new(heap);
            rest.iter_mut()
                .enumerate()
                .take_while(|_| !traced.load(Ordering::Relaxed))
                .map(|(c, chunk)| {
                    let route = Route::Own(&stripes);
                    trace_chunk(region, c, chunk, &mut lent.edges, route, Wide::Share);
                })
                .count()
        },
    );
    let (targets, last_remote) = last.deferred_mut();
    let plan = Plan::new(region, &deferred, targets, early..rest.len());
    rest[early..]
        .par_iter_mut()
        .zip(plan.per_chunk)
        .enumerate()
        .for_each_init(
            || LentEdges::new(heap),
            |lent, (i, (chunk, pieces))| {
                let c = early + i;
                let route = Route::Own(&stripes);
                trace_chunk(region, c, chunk, &mut lent.edges, route, Wide::Share);
                let mut sink = Sink::Owner {
                    own: region.chunk_range(c),
                    remote: &mut chunk.remote,
                    stripes: &stripes,
                };
                for piece in pieces {
                    piece.locate(region, &mut sink);
                }
            },
        );
    // With no chunk left to trace, the pieces are located as the last chunk's, whose slots no
    // worker writes until step 2.
    let mut sink = Sink::Owner {
        own: region.chunk_range(last_chunk),
        remote: last_remote,
        stripes: &stripes,
    };
    for piece in plan.leftover {
        piece.locate(region, &mut sink);
    }
    keep_deferred(heap, deferred);
    (0..stripes.count)
        .into_par_iter()
        .for_each(|s| apply_stripe(region, log, s, &stripes));
}

/// Step 2 for stripe `s`: applies the remote edges of every chunk that target the stripe. Only
/// this call writes the slots of the stripe until it returns.
pub(crate) fn apply_stripe(region: &Region, log: &EdgeLog, s: usize, stripes: &Stripes) {
    for chunk in log.chunks() {
        for &(q, times) in &chunk.remote[s] {
            region.add_alone(q as usize, -times);
        }
        for targets in chunk.wide_targets() {
            for &q in targets {
                if q != NONE && stripes.of(q as usize) == s {
                    region.add_alone(q as usize, -1);
                }
            }
        }
    }
}
