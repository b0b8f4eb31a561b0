//! Collector internals for the loom models in `gc-loom-tests`; compiled only under `cfg(loom)`.
//!
//! The parallel phases run on rayon, which loom cannot see into. What makes them correct is
//! per object: the atomic updates of each member's slot in the side array by `subtract_refs`,
//! and the claim of a slot by `mark`. [`Set`] hands a model exactly the functions the rayon
//! workers call for one object ([`Set::subtract_step`], [`Set::claim_root`],
//! [`Set::mark_step`]), so loom threads can play the workers over a small region, and the
//! sequential phases ([`Set::sequential`]) to compare with. Nothing here re-implements a phase;
//! the set only stands in for `gather`, which would need a stopped world and the heap's lists.

use crate::collector::{self, Region, MARKED};
use crate::generation::Object;
use crate::handle::GcAny;
use crate::header::flag;
use crate::heap::Heap;
use crate::sync::Ordering;
use crate::world;

/// Objects made a collection region by hand, for driving the collector's per-object steps.
pub struct Set {
    _heap: Heap,
    region: Region,
    /// Each object's list position, which the region's own numbering overwrites until the set
    /// is dropped.
    positions: Vec<u32>,
}

impl Set {
    /// Makes `objects` a collection region (flagged `IN_SET`, numbered in order, as the
    /// resurrection check's region is), giving up the handles passed in.
    ///
    /// # Safety
    /// `objects` are distinct tracked objects of `heap`. Until the set is dropped each must stay
    /// alive without the handles passed here, and no thread may touch them, or allocate on or
    /// collect `heap`, except through the set: it stands for a stopped world.
    pub unsafe fn new(heap: &Heap, objects: Vec<GcAny>) -> Set {
        let objects: Vec<Object> = objects
            .into_iter()
            .map(|handle| Object(handle.header_ptr()))
            .collect();
        let positions = objects
            .iter()
            .map(|o| o.header().index.load(Ordering::Relaxed))
            .collect();
        for (i, object) in objects.iter().enumerate() {
            object.header().set(flag::IN_SET);
            object.header().index.store(i as u32, Ordering::Relaxed);
        }
        Set {
            region: Region::flagged(&heap.inner, objects, 0),
            _heap: heap.clone(),
            positions,
        }
    }

    fn object(&self, i: usize) -> Object {
        self.region.segments[0].objects[i]
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
    pub fn update(&self) {
        self.region.reset();
    }

    /// `subtract_refs` then `mark` as the collector runs them below the parallel cutoff.
    pub fn sequential(&self) {
        collector::subtract_sequential(&self.region);
        collector::mark_sequential(&self.region);
    }

    /// A `subtract_refs` worker's step for object `i`.
    pub fn subtract_step(&self, i: usize) {
        collector::subtract_step(&self.region, i, &self.object(i), &mut Vec::new());
    }

    /// The parallel mark's root claim for object `i`: true if it is a root and this call
    /// claimed it.
    pub fn claim_root(&self, i: usize) -> bool {
        collector::claim_root(&self.region, i)
    }

    /// A mark worker's work for (claimed) object `i`: trace it, then visit each edge as the
    /// worker does when it pops one; the members this call claimed, by index.
    pub fn mark_step(&self, i: usize) -> Vec<usize> {
        let mut edges = Vec::new();
        collector::trace_member(&self.object(i), &mut edges);
        edges
            .into_iter()
            .filter_map(|edge| collector::visit(&self.region, edge))
            .map(|object| object.header().index.load(Ordering::Relaxed) as usize)
            .collect()
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
        for (object, &position) in self.region.segments[0].objects.iter().zip(&self.positions) {
            let header = object.header();
            header.clear(flag::IN_SET);
            header.index.store(position, Ordering::Relaxed);
        }
    }
}
