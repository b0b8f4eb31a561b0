//! Collector and pool internals for the loom models in `gc-loom-tests`; compiled only under
//! `cfg(loom)`.
//!
//! [`pool`] hands a model the pool's own entry points and its state (`pool::hooks`). The rest
//! of this module is for the collector's parallel phases.
//!
//! The parallel phases run on rayon, which loom cannot see into. What makes them correct is
//! which worker writes which slot of the side array, and how `mark` claims slots. [`Set`] hands
//! a model exactly the functions the rayon workers call — [`Set::trace_chunk`] and
//! [`Set::apply_stripe`] of `subtract_refs`, [`Set::claim_root`] and [`Set::mark_from`] of `mark` —
//! over a small region cut in chunks of one member, so loom threads can play the workers, and
//! the sequential phases ([`Set::sequential`]) to compare with. Nothing here re-implements a
//! phase; the set only stands in for `gather`, which would need a stopped world and the heap's
//! lists.

use crate::collector::{
    self, flag_set, unflag_set, ChunkLog, EdgeLog, Region, Route, Stripes, Wide, MARKED,
};
use crate::handle::GcAny;
use crate::header::HeaderPtr;
use crate::heap::Heap;
use crate::world;

pub use crate::pool::hooks as pool;

/// Stripes of the parallel `subtract_refs` in a model: one per worker.
const STRIPES: usize = 2;

/// One chunk's edge log, as a worker's [`Set::trace_chunk`] wrote it.
pub struct Traced {
    chunk: usize,
    log: ChunkLog,
}

/// Objects made a collection region by hand, for driving the collector's per-object steps.
pub struct Set {
    heap: Heap,
    region: Region,
    /// The edge log, once the chunks' logs are in ([`Set::log_chunks`]).
    log: EdgeLog,
    /// Each object's list position, which the region's own numbering overwrites until the set
    /// is dropped.
    positions: Vec<u32>,
}

impl Set {
    /// Makes `objects` a collection region (flagged `IN_SET`, numbered in order, as the
    /// resurrection check's region is) in chunks of one object, giving up the handles passed in.
    ///
    /// # Safety
    /// `objects` are distinct tracked objects of `heap`. Until the set is dropped each must stay
    /// alive without the handles passed here, and no thread may touch them, or allocate on or
    /// collect `heap`, except through the set: it stands for a stopped world.
    pub unsafe fn new(heap: &Heap, objects: Vec<GcAny>) -> Set {
        let objects: Vec<HeaderPtr> = objects
            .into_iter()
            .map(|handle| HeaderPtr(handle.header_ptr()))
            .collect();
        let positions = flag_set(&objects);
        let region = Region::flagged(&heap.inner, objects, 0).with_chunk(1);
        Set {
            log: EdgeLog::new(region.len(), 1),
            region,
            heap: heap.clone(),
            positions,
        }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// True when the set has no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every count and mark (the side array back to zeros, as a collection starts).
    pub fn reset(&self) {
        self.region.reset();
    }

    /// `subtract_refs` then `mark` as the collector runs them below the parallel cutoff; the
    /// `gc_refs` in between.
    pub fn sequential(&mut self) -> Vec<i32> {
        collector::subtract_sequential(&self.heap.inner, &self.region, &mut self.log);
        let refs = self.gc_refs();
        collector::mark_sequential(&self.region, &self.log).expect("no member overcounted");
        refs
    }

    /// The parallel `subtract_refs`, step 1, for the chunk of object `i`: its own count and
    /// the edges inside the chunk go to the slots at once, the others into the returned log.
    pub fn trace_chunk(&self, i: usize) -> Traced {
        let mut log = ChunkLog::default();
        let stripes = Stripes::new(STRIPES, self.region.len());
        let route = Route::Own(&stripes);
        collector::trace_chunk(
            &self.region,
            i,
            &mut log,
            &mut Vec::new(),
            route,
            Wide::Share,
        );
        Traced { chunk: i, log }
    }

    /// Puts the chunks' logs together, as they are once the parallel step 1 has returned.
    pub fn log_chunks(&mut self, traced: Vec<Traced>) {
        for Traced { chunk, log } in traced {
            self.log.chunks_mut()[chunk] = log;
        }
    }

    /// The parallel `subtract_refs`, step 2, for stripe `s` (0 or 1): the remote edges of
    /// every chunk that target the stripe.
    pub fn apply_stripe(&self, s: usize) {
        let stripes = Stripes::new(STRIPES, self.region.len());
        collector::apply_stripe(&self.region, &self.log, s, &stripes);
    }

    /// The parallel mark's root claim for object `i`: true if it is a root not yet marked
    /// and this call claimed it.
    pub fn claim_root(&self, i: usize) -> bool {
        collector::claim_root(&self.region, i, &mut None)
    }

    /// A mark worker's marking from (claimed) object `i`: everything it reaches not marked
    /// yet is claimed, with plain loads and stores.
    pub fn mark_from(&self, i: usize) {
        collector::mark_from(&self.region, &self.log, i);
    }

    /// Each object's `gc_refs` (its slot in the side array).
    pub fn gc_refs(&self) -> Vec<i32> {
        self.region.values()
    }

    /// Whether each object is marked reachable.
    pub fn reachable(&self) -> Vec<bool> {
        self.gc_refs().into_iter().map(|v| v == MARKED).collect()
    }

    /// Marks the calling thread a collector worker, as the worker pool's start handler does:
    /// any world hold it tries to take panics.
    pub fn become_worker() {
        world::become_collector_worker();
    }
}

impl Drop for Set {
    fn drop(&mut self) {
        unflag_set(&self.region.segments[0].objects, &self.positions);
    }
}
