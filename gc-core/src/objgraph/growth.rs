//! Growth between snapshots: which types gained objects since the last look (objgraph's
//! `growth` and `show_growth`).

use std::collections::HashMap;
use std::io;

use super::labels::short_type_name;
use super::types::type_stats;
use crate::heap::Heap;

/// A type whose object count rose above its previous peak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    /// `std::any::type_name` of the type.
    pub type_name: &'static str,
    /// Live tracked objects of the type now.
    pub count: usize,
    /// How far `count` is above the previous peak.
    pub delta: usize,
}

impl Growth {
    /// The type's [`short_type_name`].
    pub fn short_name(&self) -> String {
        short_type_name(self.type_name)
    }
}

/// The peak object count of every type seen so far (objgraph's `peak_stats`).
///
/// ```
/// use gc_core::objgraph::GrowthTracker;
/// use gc_core::{Gc, GcCell, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let heap = Heap::new();
/// let mut tracker = GrowthTracker::new();
/// let _kept: Vec<_> = (0..3).map(|_| heap.alloc(Node(GcCell::new(None)))).collect();
/// let growth = tracker.growth(&heap, 10);
/// assert_eq!((growth[0].count, growth[0].delta), (3, 3));
/// assert!(tracker.growth(&heap, 10).is_empty(), "no new peak");
/// ```
#[derive(Debug, Clone, Default)]
pub struct GrowthTracker {
    peak: HashMap<&'static str, usize>,
}

impl GrowthTracker {
    /// A tracker that has seen nothing: the first call reports every type.
    pub fn new() -> GrowthTracker {
        GrowthTracker::default()
    }

    /// Runs a full collection, then returns the (at most `limit`) types whose count exceeds
    /// their peak, largest increase first (ties by name), and raises those peaks.
    pub fn growth(&mut self, heap: &Heap, limit: usize) -> Vec<Growth> {
        heap.collect();
        let mut grown: Vec<Growth> = type_stats(heap)
            .into_iter()
            .filter_map(|(type_name, count)| {
                let peak = self.peak.entry(type_name).or_insert(0);
                (count > *peak).then(|| {
                    let delta = count - *peak;
                    *peak = count;
                    Growth {
                        type_name,
                        count,
                        delta,
                    }
                })
            })
            .collect();
        grown.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.type_name.cmp(b.type_name)));
        grown.truncate(limit);
        grown
    }

    /// Prints [`growth`](GrowthTracker::growth) as objgraph does: name, count and `+delta`
    /// per line; nothing when nothing grew.
    pub fn show_growth(
        &mut self,
        heap: &Heap,
        limit: usize,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        let rows: Vec<(String, usize, usize)> = self
            .growth(heap, limit)
            .iter()
            .map(|g| (g.short_name(), g.count, g.delta))
            .collect();
        let width = rows
            .iter()
            .map(|(name, _, _)| name.len())
            .max()
            .unwrap_or(0);
        for (name, count, delta) in rows {
            writeln!(out, "{name:<width$}{count:>9} {:>+9}", delta as i64)?;
        }
        Ok(())
    }
}
