//! Type statistics: how many tracked objects of each type a heap holds.

use std::collections::HashMap;
use std::io;

use super::labels::short_type_name;
use crate::handle::GcAny;
use crate::heap::Heap;

/// A type and how many of its objects are alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    /// `std::any::type_name` of the type.
    pub type_name: &'static str,
    /// Live tracked objects of the type.
    pub count: usize,
}

impl TypeCount {
    /// The type's [`short_type_name`].
    pub fn short_name(&self) -> String {
        short_type_name(self.type_name)
    }
}

/// Live tracked objects per type (objgraph's `typestats`), every generation included.
pub fn type_stats(heap: &Heap) -> HashMap<&'static str, usize> {
    let mut stats = HashMap::new();
    for object in heap.objects(None).unwrap_or_default() {
        *stats.entry(object.type_name()).or_insert(0) += 1;
    }
    stats
}

/// The `limit` types with the most live tracked objects, most first (ties by name).
pub fn most_common_types(heap: &Heap, limit: usize) -> Vec<TypeCount> {
    let mut counts = ranked(type_stats(heap));
    counts.truncate(limit);
    counts
}

/// Counts of objects per type, most first (ties by name).
pub(crate) fn ranked(stats: HashMap<&'static str, usize>) -> Vec<TypeCount> {
    let mut counts: Vec<TypeCount> = stats
        .into_iter()
        .map(|(type_name, count)| TypeCount { type_name, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.type_name.cmp(b.type_name)));
    counts
}

/// Prints [`most_common_types`] as objgraph does: one `name count` line per type, names in a
/// column as wide as the longest.
pub fn show_most_common_types(
    heap: &Heap,
    limit: usize,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let rows: Vec<(String, usize)> = most_common_types(heap, limit)
        .iter()
        .map(|t| (t.short_name(), t.count))
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, count) in rows {
        writeln!(out, "{name:<width$} {count}")?;
    }
    Ok(())
}

/// The live tracked objects whose type is `T` (objgraph's `by_type`).
pub fn by_type<T: 'static>(heap: &Heap) -> Vec<GcAny> {
    let mut objects = heap.objects(None).unwrap_or_default();
    objects.retain(GcAny::is::<T>);
    objects
}
