//! Phase 1, `subtract_refs` (with CPython's `update_refs` folded in): every member adds its own
//! strong count to its slot and takes one from the slot of every member it references. What
//! stays above zero is referenced from outside the region. Each edge to a member is logged on the
//! way (`edge_log`) for `mark`.
//!
//! The slots start at zero, so the order of the additions does not matter and no pass copies
//! the counts first. A member whose cell could not be read (borrowed for writing across a
//! safepoint, DESIGN race 5) gets [`ROOT`]: a root, and since its unread edges were not
//! subtracted, whatever it reaches through them stays referenced too.
//!
//! In parallel, without a read-modify-write on any slot:
//!
//! ```text
//!  1. trace, one worker per chunk:   own count → own slot; edge into the chunk → its slot now;
//!                                    edge out of it → remote[stripe of the target]
//!  2. apply, one worker per stripe:  every chunk's remote[stripe] → slots of the stripe
//! ```
//!
//! In step 1 only the chunk's worker writes the chunk's slots; in step 2 only the stripe's
//! worker writes the stripe's. The sequential path is step 1 with the whole region one's own.
//!
//! Both paths trace the last chunk first and leave the edges of its members with very many
//! (a list of a million objects, allocated after them) to be located piece by piece, each
//! after the chunk it leads into is traced and while that chunk's headers are in cache
//! (`wide`).

use core::ptr::NonNull;

use rayon::prelude::*;

use super::edge_log::{ChunkLog, EdgeLog, NONE};
use super::region::{prefetch, Region, PREFETCH, ROOT};
use super::scratch::{keep_edges, LentEdges};
use super::wide::{Deferred, Plan, Sink, WIDE};
use crate::generation::Object;
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::seeded;
use crate::sync::unmodelled::AtomicBool;
use crate::sync::Ordering;
use crate::trace::{MemberEdges, Tracer};

/// Traces one member with `tracer`, its edges ([`Tracer::traced`]) replacing what the tracer
/// held; false if it could not be read: a cell was borrowed for writing, or the member is
/// dying and its value being dropped (by a thread that let this collection in from a `Drop`,
/// race 3) — a root with no edges, which keeps too much, never too little.
#[inline]
fn trace_member(object: &Object, tracer: &mut Tracer<'_>) -> bool {
    tracer.clear();
    let header = object.header();
    if header.has(flag::DROPPED) && !seeded::TRACE_DROPPED {
        return false;
    }
    // SAFETY: the world is stopped, and a member not `DROPPED` is alive with its value
    // intact (a dying one's value is dropped only after `DROPPED` is set, by a thread holding
    // the world).
    unsafe { (header.vtable.trace)(object.0.as_ptr(), tracer) };
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

/// Traces the members of chunk `c` into its `log`. Each adds its own count to its slot; each
/// edge to a member is logged, and its target's slot decremented at once — unless `SHARED`
/// (step 1 of the parallel path) and the target is outside the chunk: then it is kept in the
/// log's remote edges (split in `stripes`) for [`apply_stripe`]. Only this call writes the
/// slots it updates until it returns: with `SHARED`, the chunk's.
///
/// With `defer`, members with at least [`WIDE`] edges are not located but kept there, their
/// targets reserved in the log (`wide`); without it, in the parallel path they are located at
/// once by all workers.
pub(crate) fn trace_chunk<const SHARED: bool>(
    region: &Region,
    c: usize,
    log: &mut ChunkLog,
    stripes: &Stripes,
    edges: &mut Vec<NonNull<Header>>,
    mut defer: Option<&mut Vec<Deferred>>,
) {
    let chunk = region.chunk_range(c);
    let local = if seeded::SUBTRACT_RACY {
        0..region.len()
    } else {
        chunk.clone()
    };
    log.start(stripes.count);
    // SAFETY: the world is stopped until the collection's scan is over, after every member's
    // edges, deferred ones included, are located.
    let mut tracer = unsafe { Tracer::in_place(edges) };
    for (_, base, objects) in region.slices(chunk) {
        for (i, object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            let readable = trace_member(object, &mut tracer);
            region.add_alone(base + i, own(region, object, readable));
            let count = tracer.traced().len();
            if count >= WIDE {
                if let Some(deferred) = defer.as_deref_mut() {
                    log.defer(count);
                    deferred.push(Deferred(tracer.take_traced()));
                    log.end_member();
                    continue;
                }
                if SHARED {
                    locate_wide(region, log, tracer.traced());
                    log.end_member();
                    continue;
                }
            }
            let edges = tracer.traced();
            // A run of one edge repeated in a row is located once.
            let mut rest = edges;
            while let Some((&edge, tail)) = rest.split_first() {
                let repeats = match tail.first() {
                    Some(&next) if next == edge => {
                        tail.iter().take_while(|&&next| next == edge).count()
                    }
                    _ => 0,
                };
                if let Some(ahead) = rest.get(PREFETCH) {
                    prefetch(ahead.as_ptr());
                }
                rest = &tail[repeats..];
                let times = 1 + repeats as i32;
                // SAFETY: an edge of a live object points at a live object.
                let Some(q) = region.locate(unsafe { edge.as_ref() }) else {
                    continue;
                };
                log.target(q);
                if !SHARED || local.contains(&q) {
                    region.add_alone(q, -times);
                } else {
                    let q_stripe = if seeded::STRIPE_BY_SOURCE {
                        stripes.of(c * region.chunk_len())
                    } else {
                        stripes.of(q)
                    };
                    log.remote[q_stripe].push((q as u32, times));
                }
            }
            log.end_member();
        }
    }
}

/// Locates the edges of one member with very many, workers sharing `edges`, each writing its
/// targets in place in the log: all are remote edges — a target's slot may be in the chunk,
/// but the workers here share the chunk, so every decrement waits for step 2.
fn locate_wide(region: &Region, log: &mut ChunkLog, edges: &[NonNull<Header>]) {
    let edges = Object::from_edges(edges);
    log.wide(|targets| {
        targets.par_extend(edges.par_iter().enumerate().map(|(i, edge)| {
            if let Some(ahead) = edges.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            // An edge of a live object points at a live object.
            region.locate(edge.header()).map_or(NONE, |q| q as u32)
        }));
    });
}

/// The region's positions split in `count` runs of about equal length, one per worker of step 2.
pub(crate) struct Stripes {
    pub(crate) count: usize,
    /// `count * 2^32 / len`: the stripe of `q` is `q * scale / 2^32`, a multiplication where
    /// `q * count / len` would cost a division per edge.
    scale: u64,
}

impl Stripes {
    /// `len` positions in `count` stripes.
    pub(crate) fn new(count: usize, len: usize) -> Stripes {
        Stripes {
            count,
            scale: ((count as u64) << 32) / len.max(1) as u64,
        }
    }

    /// The stripe of position `q` (below `count`, as `q` is below `len < 2^32`).
    #[inline]
    pub(crate) fn of(&self, q: usize) -> usize {
        ((q as u64 * self.scale) >> 32) as usize
    }
}

/// Applies the remote edges of every chunk that target stripe `s`. Only this call writes the
/// slots of the stripe until it returns.
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

/// The sequential path: the last chunk first, deferring its members with very many edges
/// (`wide`), then the others in order, each followed by the deferred edges guessed to lead into
/// it; every target's slot updated as it is located.
pub(crate) fn sequential(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    let mut lent = LentEdges::new(heap);
    let none = Stripes::new(0, region.len());
    let Some((last, rest)) = log.chunks_mut().split_last_mut() else {
        return;
    };
    let mut deferred = Vec::new();
    trace_chunk::<false>(
        region,
        rest.len(),
        last,
        &none,
        &mut lent.edges,
        Some(&mut deferred),
    );
    let (targets, _) = last.deferred_mut();
    let plan = Plan::new(region, &deferred, targets, 0..rest.len());
    for (c, (chunk, pieces)) in rest.iter_mut().zip(plan.per_chunk).enumerate() {
        trace_chunk::<false>(region, c, chunk, &none, &mut lent.edges, None);
        for piece in pieces {
            piece.locate(region, &mut Sink::Apply);
        }
    }
    for piece in plan.leftover {
        piece.locate(region, &mut Sink::Apply);
    }
    keep_deferred(heap, deferred);
}

/// The parallel path. Step 1 as the sequential path: the last chunk first — while a second
/// worker traces the first chunks, until it is done — then the others shared among the
/// workers. Then step 2.
fn parallel(heap: &HeapInner, pool: &rayon::ThreadPool, region: &Region, log: &mut EdgeLog) {
    let stripes = Stripes::new(pool.current_num_threads(), region.len());
    let Some((last, rest)) = log.chunks_mut().split_last_mut() else {
        return;
    };
    let (mut deferred, last_chunk) = (Vec::new(), rest.len());
    let traced = AtomicBool::new(false);
    let ((), early) = rayon::join(
        || {
            let mut lent = LentEdges::new(heap);
            let defer = Some(&mut deferred);
            trace_chunk::<true>(region, last_chunk, last, &stripes, &mut lent.edges, defer);
            traced.store(true, Ordering::Relaxed);
        },
        || {
            let mut lent = LentEdges::new(heap);
            rest.iter_mut()
                .enumerate()
                .take_while(|_| !traced.load(Ordering::Relaxed))
                .map(|(c, chunk)| {
                    trace_chunk::<true>(region, c, chunk, &stripes, &mut lent.edges, None);
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
                trace_chunk::<true>(region, c, chunk, &stripes, &mut lent.edges, None);
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

/// Gives the buffers of deferred members' copied edges back to the heap's scratch.
fn keep_deferred(heap: &HeapInner, deferred: Vec<Deferred>) {
    for Deferred(edges) in deferred {
        if let MemberEdges::Buffer(edges) = edges {
            keep_edges(heap, edges);
        }
    }
}

pub(crate) fn run(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => pool.install(|| parallel(heap, pool, region, log)),
        None => sequential(heap, region, log),
    }
}

#[cfg(test)]
mod tests {
    use super::Stripes;

    #[test]
    fn stripes_cut_the_positions_in_equal_runs_in_order() {
        let small = [(1, 1), (2, 7), (3, 10), (4, 3), (5, 4097)];
        let large = [(2, 1 << 20), (7, 1_000_003)];
        // Under Miri the small cases only: the large ones would take minutes.
        let large = if cfg!(miri) { &large[..0] } else { &large[..] };
        for &(count, len) in small.iter().chain(large) {
            let stripes = Stripes::new(count, len);
            let mut sizes = vec![0usize; count];
            let mut last = 0;
            for q in 0..len {
                let s = stripes.of(q);
                assert!(
                    s < count,
                    "{count} stripes of {len}: position {q} in stripe {s}"
                );
                assert!(s >= last, "stripes in position order");
                last = s;
                sizes[s] += 1;
            }
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            // Equal to within one position and the rounding of the scale (0.01 %).
            assert!(
                max - min <= 1 + len / 10_000,
                "{count} stripes of {len}: {sizes:?}"
            );
        }
    }
}
