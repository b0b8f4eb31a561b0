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

use core::ptr::NonNull;

use rayon::prelude::*;

use super::edge_log::{ChunkLog, EdgeLog, NONE};
use super::region::{prefetch, Region, CHUNK, PREFETCH, ROOT};
use super::scratch::LentEdges;
use crate::generation::Object;
use crate::header::Header;
use crate::heap::HeapInner;
use crate::trace::Tracer;

/// Traces one member with `tracer`, its edges replacing what `tracer.edges` held; false if it
/// could not be read.
#[inline]
fn trace_member(object: &Object, tracer: &mut Tracer<'_>) -> bool {
    tracer.edges.clear();
    tracer.blocked = false;
    // SAFETY: members are alive with intact values, and the world is stopped.
    unsafe { (object.header().vtable.trace)(object.0.as_ptr(), tracer) };
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
pub(crate) fn trace_chunk<const SHARED: bool>(
    region: &Region,
    c: usize,
    log: &mut ChunkLog,
    stripes: &Stripes,
    edges: &mut Vec<NonNull<Header>>,
) {
    let chunk = region.chunk_range(c);
    let local = chunk.clone();
    #[cfg(gc_seeded_bug = "subtract_racy")]
    let local = 0..region.len();
    log.start(stripes.count);
    let mut tracer = Tracer::new(edges, true);
    for (_, base, objects) in region.slices(chunk) {
        for (i, object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            let readable = trace_member(object, &mut tracer);
            region.add_alone(base + i, own(region, object, readable));
            let edges = &tracer.edges[..];
            if SHARED && edges.len() >= WIDE {
                locate_wide(region, log, edges);
                log.end_member();
                continue;
            }
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
                    #[cfg(gc_seeded_bug = "stripe_by_source")]
                    let q_stripe = stripes.of(c * region.chunk_len());
                    #[cfg(not(gc_seeded_bug = "stripe_by_source"))]
                    let q_stripe = stripes.of(q);
                    log.remote[q_stripe].push((q as u32, times));
                }
            }
            log.end_member();
        }
    }
}

/// A member with at least this many edges has them located by several workers.
const WIDE: usize = 4 * CHUNK;

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

/// The sequential path: the chunks in turn, each target's slot updated at once.
pub(crate) fn sequential(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    let mut lent = LentEdges::new(heap);
    let none = Stripes::new(0, region.len());
    for (c, chunk) in log.chunks_mut().iter_mut().enumerate() {
        trace_chunk::<false>(region, c, chunk, &none, &mut lent.edges);
    }
}

pub(crate) fn run(heap: &HeapInner, region: &Region, log: &mut EdgeLog) {
    match heap.parallel_pool(region.len()) {
        Some(pool) => pool.install(|| {
            let stripes = Stripes::new(pool.current_num_threads(), region.len());
            // Last chunk first: a container is usually allocated after what it holds, so the
            // members with the most edges sit late in the lists, and a worker that starts on
            // them leaves the rest to be shared rather than finishing alone (C1's root, a
            // million edges: step 1 about 10 % shorter with two workers).
            log.chunks_mut()
                .par_iter_mut()
                .enumerate()
                .rev()
                .for_each_init(
                    || LentEdges::new(heap),
                    |lent, (c, chunk)| {
                        trace_chunk::<true>(region, c, chunk, &stripes, &mut lent.edges);
                    },
                );
            (0..stripes.count)
                .into_par_iter()
                .for_each(|s| apply_stripe(region, log, s, &stripes));
        }),
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
