//! A snapshot of a heap's tracked objects and the references between them, indexed both ways.

use std::collections::HashMap;

use crate::handle::GcAny;
use crate::heap::Heap;

/// The tracked objects of a heap, each held once, with their edges by id.
pub(crate) struct HeapIndex {
    objects: Vec<GcAny>,
    position: HashMap<usize, usize>,
    /// Referent ids of each object, in trace order, one per edge.
    referents: Vec<Vec<usize>>,
    /// Positions of the referrers of each id (tracked or not), one per edge.
    referrers: HashMap<usize, Vec<usize>>,
    /// Strong references to each object from outside the tracked objects.
    outside: Vec<usize>,
}

impl HeapIndex {
    /// Lists every tracked object (the permanent generation included) and traces each.
    pub(crate) fn capture(heap: &Heap) -> HeapIndex {
        // `None` names every generation, which always exists.
        let objects = heap.objects(None).unwrap_or_default();
        let position: HashMap<usize, usize> = objects
            .iter()
            .enumerate()
            .map(|(i, object)| (object.id(), i))
            .collect();
        let referents: Vec<Vec<usize>> = objects
            .iter()
            .map(|object| heap.referents(object).iter().map(GcAny::id).collect())
            .collect();
        let mut referrers: HashMap<usize, Vec<usize>> = HashMap::new();
        for (from, targets) in referents.iter().enumerate() {
            for &target in targets {
                referrers.entry(target).or_default().push(from);
            }
        }
        // Read with the referents' temporary handles gone: the only handle the index adds to
        // each object is its entry in `objects`.
        let outside = objects
            .iter()
            .map(|object| {
                let inside = referrers.get(&object.id()).map_or(0, Vec::len);
                object.ref_count().saturating_sub(1 + inside)
            })
            .collect();
        HeapIndex {
            objects,
            position,
            referents,
            referrers,
            outside,
        }
    }

    /// The tracked objects, in list order.
    pub(crate) fn objects(&self) -> &[GcAny] {
        &self.objects
    }

    /// The object with this id, if it is tracked.
    pub(crate) fn get(&self, id: usize) -> Option<&GcAny> {
        self.position.get(&id).map(|&i| &self.objects[i])
    }

    /// Ids the object refers to, one per edge (none for an untracked object).
    pub(crate) fn referents(&self, id: usize) -> &[usize] {
        self.position
            .get(&id)
            .map_or(&[], |&i| self.referents[i].as_slice())
    }

    /// The tracked objects that refer to `id`, one per edge.
    pub(crate) fn referrers(&self, id: usize) -> impl Iterator<Item = &GcAny> + '_ {
        self.referrers
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&i| &self.objects[i])
    }

    /// References to a tracked object from outside the tracked objects (0 if untracked).
    pub(crate) fn outside_refs(&self, id: usize) -> usize {
        self.position.get(&id).map_or(0, |&i| self.outside[i])
    }
}
