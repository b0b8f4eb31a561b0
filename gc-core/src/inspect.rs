//! Looking at a heap's objects: CPython's `gc.get_objects`, `get_referrers`, `get_referents`,
//! `is_tracked` and `is_finalized`.
//!
//! `objects` and `referrers` stop the world briefly, to read every shard's lists while nothing
//! moves them (and take in what other threads handed over to them); `referents` holds the world
//! while it traces the one object. All three return strong handles ([`GcAny`]), taken before the
//! world runs again, so what they return stays valid; an object dying concurrently is simply not
//! returned.

use crate::error::GcError;
use crate::handle::{Gc, GcAny};
use crate::heap::{Heap, HeapInner};
use crate::trace::{Trace, Tracer};
use crate::world;

impl HeapInner {
    /// Strong handles to the objects on lists `gens` of every shard (a brief stop of the world).
    pub(crate) fn snapshot(&self, gens: core::ops::Range<usize>) -> Vec<GcAny> {
        let mut out = Vec::new();
        let stopped = world::stop(None).expect("an unbounded wait never runs out");
        for shard in self.shards().iter() {
            // SAFETY: the world is stopped, so the lists hold only live objects and are still.
            unsafe {
                self.drain(shard);
                for list in &shard.lists()[gens.clone()] {
                    out.extend(list.iter().filter_map(|o| GcAny::try_new(o.0)));
                }
            }
        }
        drop(stopped);
        out
    }
}

impl Heap {
    /// Tracked objects of `generation`, or of all generations (the permanent one included)
    /// with `None` (CPython `gc.get_objects`).
    pub fn objects(&self, generation: Option<usize>) -> Result<Vec<GcAny>, GcError> {
        match generation {
            Some(g) => {
                self.check_generation(g)?;
                Ok(self.inner.snapshot(g..g + 1))
            }
            None => Ok(self.inner.snapshot(0..self.generations() + 1)),
        }
    }

    /// The objects whose edges reach any of `targets` (CPython `gc.get_referrers`), found by
    /// tracing every tracked object.
    pub fn referrers(&self, targets: &[GcAny]) -> Vec<GcAny> {
        let wanted: std::collections::HashSet<usize> = targets.iter().map(GcAny::id).collect();
        self.inner
            .snapshot(0..self.generations() + 1)
            .into_iter()
            .filter(|object| {
                referents_of(object)
                    .iter()
                    .any(|r| wanted.contains(&r.id()))
            })
            .collect()
    }

    /// The objects `object` holds edges to, in trace order (CPython `gc.get_referents`).
    pub fn referents(&self, object: &GcAny) -> Vec<GcAny> {
        referents_of(object)
    }

    /// True when the object is tracked (CPython `gc.is_tracked`): its type can hold handles.
    pub fn is_tracked<T: Trace>(&self, object: &Gc<T>) -> bool {
        Gc::is_tracked(object)
    }

    /// True when the object's finalizer has run (CPython `gc.is_finalized`).
    pub fn is_finalized<T: Trace>(&self, object: &Gc<T>) -> bool {
        Gc::is_finalized(object)
    }
}

fn referents_of(object: &GcAny) -> Vec<GcAny> {
    let mut edges = Vec::new();
    let header = object.header();
    world::held(|| {
        let mut tracer = Tracer::referents(&mut edges);
        if header.flags() & (crate::header::flag::TEARDOWN | crate::header::flag::DROPPED) == 0 {
            // SAFETY: `object` keeps the value alive, and a live handle's value is intact
            // unless it is being torn down, which the flag check excludes.
            unsafe { (header.vtable.trace)(object.header_ptr().as_ptr(), &mut tracer) };
        }
        // SAFETY: the traced object is alive and holds these edges, so their targets are.
        edges
            .iter()
            .filter_map(|&p| unsafe { GcAny::try_new(p) })
            .collect()
    })
}
