//! Collector internals for the loom models in `gc-loom-tests`; compiled only under `cfg(loom)`.
//!
//! The parallel phases run on rayon, which loom cannot see into. What makes them correct is
//! per object: the atomic `gc_refs` decrement of `subtract_refs` and the `REACHABLE` claim of
//! `mark`. [`Set`] hands a model exactly the functions the rayon workers call for one object
//! ([`Set::subtract_step`], [`Set::claim_root`], [`Set::mark_step`]), so loom threads can play
//! the workers over a small set, and the sequential phases ([`Set::sequential`]) to compare
//! with. Nothing here re-implements a phase; the set only stands in for `gather`, which would
//! need a stopped world and the heap's lists.

use crate::collector::{self, Object};
use crate::handle::GcAny;
use crate::header::flag;
use crate::heap::Heap;
use crate::sync::Ordering;
use crate::world;

/// Objects made a collection set by hand, for driving the collector's per-object steps.
pub struct Set {
    heap: Heap,
    objects: Vec<Object>,
    /// Each object's list position, which `gc_refs` overwrites until the set is dropped.
    positions: Vec<u32>,
}

impl Set {
    /// Makes `objects` a collection set (flags them `IN_SET`, as `gather` does), giving up the
    /// handles passed in.
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
        for object in &objects {
            object.header().set(flag::IN_SET);
        }
        Set {
            heap: heap.clone(),
            objects,
            positions,
        }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when the set has no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Forgets any previous marking and runs `update_refs` (counts into `gc_refs`). Its parallel
    /// form is one independent store per object, with nothing to model.
    pub fn update(&self) {
        for object in &self.objects {
            object.header().clear(flag::REACHABLE | flag::PINNED);
        }
        collector::update_refs_run(&self.heap.inner, &self.objects);
    }

    /// `subtract_refs` then `mark` as the collector runs them below the parallel cutoff.
    pub fn sequential(&self) {
        collector::subtract_refs_run(&self.heap.inner, &self.objects);
        collector::mark_run(&self.heap.inner, &self.objects);
    }

    /// A `subtract_refs` worker's step for object `i`.
    pub fn subtract_step(&self, i: usize) {
        collector::subtract_step(&self.objects[i], &mut Vec::new());
    }

    /// The parallel mark's first pass for object `i`: true if it is a root and this call
    /// claimed it.
    pub fn claim_root(&self, i: usize) -> bool {
        collector::claim_root(&self.objects[i])
    }

    /// A mark worker's step for (claimed) object `i`: the members this call claimed, by index.
    pub fn mark_step(&self, i: usize) -> Vec<usize> {
        let mut claimed = Vec::new();
        collector::mark_step(&self.objects[i], &mut Vec::new(), |object| {
            claimed.push(self.position(object));
        });
        claimed
    }

    /// Each object's `gc_refs`.
    pub fn gc_refs(&self) -> Vec<u32> {
        self.objects.iter().map(|o| o.header().gc_refs()).collect()
    }

    /// Whether each object is marked `REACHABLE`.
    pub fn reachable(&self) -> Vec<bool> {
        self.objects
            .iter()
            .map(|o| o.header().has(flag::REACHABLE))
            .collect()
    }

    /// Marks the calling thread a collector worker, as the worker pool's start handler does:
    /// any world hold it tries to take panics.
    pub fn become_worker() {
        world::become_collector_worker();
    }

    fn position(&self, object: Object) -> usize {
        self.objects
            .iter()
            .position(|o| *o == object)
            .expect("a member of the set")
    }
}

impl Drop for Set {
    fn drop(&mut self) {
        for (object, &position) in self.objects.iter().zip(&self.positions) {
            let header = object.header();
            header.clear(flag::IN_SET | flag::REACHABLE | flag::PINNED);
            header.index.store(position, Ordering::Relaxed);
        }
    }
}
