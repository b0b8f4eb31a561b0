//! Leak reports: what survives a full collection that was not there at a baseline, grouped by
//! type, with the outside-held object that keeps each survivor alive.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use super::index::HeapIndex;
use super::labels::short_type_name;
use super::types::{ranked, TypeCount};
use crate::handle::GcAny;
use crate::heap::Heap;

/// The tracked objects alive after a full collection, to compare a later state against.
///
/// ```
/// use gc_core::objgraph::Baseline;
/// use gc_core::{Gc, GcCell, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let heap = Heap::new();
/// let baseline = Baseline::take(&heap);
/// let cycle = heap.alloc(Node(GcCell::new(None)));
/// *cycle.0.borrow_mut() = Some(cycle.clone());
/// drop(cycle);                                   // collected: not a leak
/// let _kept = heap.alloc(Node(GcCell::new(None))); // still held: reported
/// let report = baseline.leak_report(&heap);
/// assert_eq!(report.collected, 1);
/// assert_eq!(report.new_objects.len(), 1);
/// assert!(!report.is_clean());
/// ```
#[derive(Debug, Clone)]
pub struct Baseline {
    ids: HashSet<usize>,
    uncollectable: u64,
}

/// A tracked object that survived since the [`Baseline`].
#[derive(Debug, Clone)]
pub struct Survivor {
    /// The object (the report keeps it alive while it exists).
    pub object: GcAny,
    /// Strong references to it from outside the heap's tracked objects (not counting the
    /// report's own handle).
    pub outside_refs: usize,
    /// The nearest object held from outside the heap from which this one is reachable — itself
    /// if it is held from outside. `None` when no such object reaches it: kept by a cell
    /// borrowed across the collection, an immortal count, or a change made by another thread
    /// meanwhile.
    pub kept_by: Option<GcAny>,
}

/// What [`Baseline::leak_report`] found.
#[derive(Debug, Clone)]
pub struct LeakReport {
    /// Unreachable objects the report's own full collection found.
    pub collected: usize,
    /// Objects counted uncollectable (their `Drop` panicked in a collection) since the
    /// baseline, over all generations.
    pub uncollectable: u64,
    /// Tracked objects alive now that were not at the baseline, [`garbage`](Self::garbage)
    /// excluded, in list order.
    pub new_objects: Vec<Survivor>,
    /// Objects kept by [`DebugFlags::SAVEALL`](crate::DebugFlags::SAVEALL) in
    /// [`Heap::garbage`].
    pub garbage: Vec<GcAny>,
}

fn uncollectable(heap: &Heap) -> u64 {
    heap.stats().iter().map(|s| s.uncollectable).sum()
}

impl Baseline {
    /// Runs a full collection and records which tracked objects are alive.
    pub fn take(heap: &Heap) -> Baseline {
        heap.collect();
        let ids = heap
            .objects(None)
            .unwrap_or_default()
            .iter()
            .map(GcAny::id)
            .collect();
        Baseline {
            ids,
            uncollectable: uncollectable(heap),
        }
    }

    /// Runs a full collection and reports the tracked objects alive that were not at the
    /// baseline, with what keeps each alive, and the garbage kept by `SAVEALL`.
    ///
    /// Objects are told apart by id: one allocated where a baseline object was freed counts
    /// as old.
    pub fn leak_report(&self, heap: &Heap) -> LeakReport {
        let collected = heap.collect();
        let index = HeapIndex::capture(heap);
        let garbage = heap.garbage();
        let saved: HashSet<usize> = garbage.iter().map(GcAny::id).collect();
        let keepers = keepers(&index);
        let new_objects = index
            .objects()
            .iter()
            .filter(|o| !self.ids.contains(&o.id()) && !saved.contains(&o.id()))
            .map(|object| Survivor {
                object: object.clone(),
                outside_refs: index.outside_refs(object.id()),
                kept_by: keepers
                    .get(&object.id())
                    .and_then(|&id| index.get(id))
                    .cloned(),
            })
            .collect();
        LeakReport {
            collected,
            uncollectable: uncollectable(heap).saturating_sub(self.uncollectable),
            new_objects,
            garbage,
        }
    }
}

/// For every tracked object, the nearest object held from outside that reaches it: a
/// breadth-first search from all of those at once.
fn keepers(index: &HeapIndex) -> HashMap<usize, usize> {
    let mut keeper = HashMap::new();
    let mut queue = VecDeque::new();
    for object in index.objects() {
        if index.outside_refs(object.id()) > 0 {
            keeper.insert(object.id(), object.id());
            queue.push_back(object.id());
        }
    }
    while let Some(id) = queue.pop_front() {
        let root = keeper[&id];
        for &next in index.referents(id) {
            if index.get(next).is_some() && !keeper.contains_key(&next) {
                keeper.insert(next, root);
                queue.push_back(next);
            }
        }
    }
    keeper
}

impl LeakReport {
    /// Nothing new survived, nothing is kept as garbage, nothing was uncollectable.
    pub fn is_clean(&self) -> bool {
        self.new_objects.is_empty() && self.garbage.is_empty() && self.uncollectable == 0
    }

    /// The new objects counted by type, most first.
    pub fn by_type(&self) -> Vec<TypeCount> {
        count(self.new_objects.iter().map(|s| &s.object))
    }
}

fn count<'a>(objects: impl Iterator<Item = &'a GcAny>) -> Vec<TypeCount> {
    let mut stats = HashMap::new();
    for object in objects {
        *stats.entry(object.type_name()).or_insert(0) += 1;
    }
    ranked(stats)
}

fn write_counts(f: &mut fmt::Formatter<'_>, counts: &[TypeCount]) -> fmt::Result {
    let names: Vec<String> = counts.iter().map(TypeCount::short_name).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (name, c) in names.iter().zip(counts) {
        writeln!(f, "    {name:<width$} {}", c.count)?;
    }
    Ok(())
}

impl fmt::Display for LeakReport {
    /// A summary: new objects by type, what keeps them alive, garbage by type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return writeln!(
                f,
                "leak report: clean (the final collection found {} unreachable; nothing new \
                 survived, no garbage, nothing uncollectable)",
                self.collected
            );
        }
        writeln!(
            f,
            "leak report: {} new objects survived a full collection (which found {} \
             unreachable); {} uncollectable since the baseline",
            self.new_objects.len(),
            self.collected,
            self.uncollectable
        )?;
        if !self.new_objects.is_empty() {
            writeln!(f, "  new objects by type:")?;
            write_counts(f, &self.by_type())?;
            writeln!(
                f,
                "  kept alive by (held from outside the heap: a variable, a global, an \
                 untraced field):"
            )?;
            // Keepers in order of first appearance, with how many new objects each keeps.
            let mut keepers: Vec<(Option<&GcAny>, usize)> = Vec::new();
            let mut position: HashMap<Option<usize>, usize> = HashMap::new();
            for survivor in &self.new_objects {
                let keeper = survivor.kept_by.as_ref();
                let at = *position.entry(keeper.map(GcAny::id)).or_insert_with(|| {
                    keepers.push((keeper, 0));
                    keepers.len() - 1
                });
                keepers[at].1 += 1;
            }
            for (keeper, n) in keepers {
                match keeper {
                    Some(k) => writeln!(
                        f,
                        "    {} {:#x}: {n} new objects",
                        short_type_name(k.type_name()),
                        k.id()
                    )?,
                    None => writeln!(
                        f,
                        "    (nothing held from outside reaches them): {n} new objects"
                    )?,
                }
            }
        }
        if self.garbage.is_empty() {
            writeln!(f, "  garbage kept by DebugFlags::SAVEALL: none")?;
        } else {
            writeln!(
                f,
                "  garbage kept by DebugFlags::SAVEALL: {} objects",
                self.garbage.len()
            )?;
            write_counts(f, &count(self.garbage.iter()))?;
        }
        Ok(())
    }
}
