//! Tracing one chunk of positions: each member's own count to its slot, each of its edges
//! located, logged and applied where the path says ([`Route`]), a member with very many edges
//! handled apart ([`Wide`]).

use core::ops::Range;
use core::ptr::NonNull;

use rayon::prelude::*;

use super::stripes::Stripes;
use super::wide::{Deferred, WIDE};
use crate::collector::structures::edge_log::{ChunkLog, NONE};
use crate::collector::structures::region::{prefetch, Region, PREFETCH, ROOT};
use crate::header::{flag, Header, HeaderPtr};
use crate::seeded;
use crate::trace::Tracer;

/// Where the tracing of a chunk applies an edge to member `q`.
pub(crate) enum Route<'a> {
    /// To `q`'s slot at once: the sequential path, whose one thread writes every slot.
    Apply,
    /// Step 1 of the parallel path: to `q`'s slot at once if `q` is in the chunk (its worker
    /// alone writes the chunk's slots), else logged as a remote edge in the stripe of `q`, for
    /// step 2.
    Own(&'a Stripes),
}

/// What the tracing of a chunk does with a member with at least [`WIDE`] edges.
pub(crate) enum Wide<'a> {
    /// As with any other member.
    Inline,
    /// Its edges are kept here, their targets reserved in the log, to be located piece by
    /// piece later (`wide`).
    Defer(&'a mut Vec<Deferred>),
    /// Located at once by all the workers, each target a remote edge (the parallel path).
    Share,
}

/// Traces the members of chunk `c` into its `log`, edges into `edges` (a buffer lent for it).
/// Until it returns, only this call writes the slots it updates: with [`Route::Own`], the
/// chunk's.
pub(crate) fn trace_chunk(
    region: &Region,
    c: usize,
    log: &mut ChunkLog,
    edges: &mut Vec<NonNull<Header>>,
    route: Route<'_>,
    mut wide: Wide<'_>,
) {
    let chunk = region.chunk_range(c);
    log.start(match route {
        Route::Apply => 0,
        Route::Own(stripes) => stripes.count,
    });
    let own = if seeded::SUBTRACT_RACY {
        0..region.len()
    } else {
        chunk.clone()
    };
    // SAFETY: the world is stopped until the collection's scan is over, after every member's
    // edges, deferred ones included, are located.
    let mut tracer = unsafe { Tracer::collecting(edges) };
    for (_, base, objects) in region.slices(chunk) {
        for (i, object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            let readable = trace_member(object, &mut tracer);
            let own_refs = if readable {
                region.own_refs(object.header())
            } else {
                ROOT
            };
            region.add_alone(base + i, own_refs);
            let count = tracer.traced().len();
            match &mut wide {
                Wide::Defer(deferred) if count >= WIDE => {
                    log.defer(count);
                    deferred.push(Deferred(tracer.take_traced()));
                }
                Wide::Share if count >= WIDE => locate_shared(region, log, tracer.traced()),
                _ => log_edges(region, c, log, tracer.traced(), &own, &route),
            }
            log.end_member();
        }
    }
}

/// Traces one member with `tracer`, its edges ([`Tracer::traced`]) replacing what the tracer
/// held; false if it could not be read: a cell was borrowed for writing, or the member is
/// dying and its value being dropped (by a thread that let this collection in from a `Drop`,
/// race 3) — a root with no edges, which keeps too much, never too little.
#[inline]
fn trace_member(object: &HeaderPtr, tracer: &mut Tracer<'_>) -> bool {
    tracer.clear();
    let header = object.header();
    if header.has(flag::DROPPED) && !seeded::TRACE_DROPPED {
        return false;
    }
    // SAFETY: the world is stopped, and a member not `DROPPED` is alive with its value
    // intact (a dying one's value is dropped only after `DROPPED` is set, by a thread holding
    // the world).
    unsafe { (header.vtable.trace)(object.0.as_ptr(), tracer) };
    !tracer.blocked()
}

/// Locates the edges of the member being traced in chunk `c`, logs those to members and
/// applies them by `route`; a target outside `own` goes to step 2. A run of one edge repeated
/// in a row is located once and applied as many times.
#[inline]
fn log_edges(
    region: &Region,
    c: usize,
    log: &mut ChunkLog,
    edges: &[NonNull<Header>],
    own: &Range<usize>,
    route: &Route<'_>,
) {
    let mut rest = edges;
    while let Some((&edge, tail)) = rest.split_first() {
        let repeats = match tail.first() {
            Some(&next) if next == edge => tail.iter().take_while(|&&next| next == edge).count(),
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
        match route {
            Route::Own(stripes) if !own.contains(&q) => {
                let stripe = if seeded::STRIPE_BY_SOURCE {
                    stripes.of(c * region.chunk_len())
                } else {
                    stripes.of(q)
                };
                log.remote[stripe].push((q as u32, times));
            }
            _ => region.add_alone(q, -times),
        }
    }
}

/// Locates the edges of one member with very many, workers sharing `edges`, each writing its
/// targets in place in the log: all are remote edges — a target's slot may be in the chunk,
/// but the workers here share the chunk, so every decrement waits for step 2.
fn locate_shared(region: &Region, log: &mut ChunkLog, edges: &[NonNull<Header>]) {
    let edges = HeaderPtr::from_edges(edges);
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
