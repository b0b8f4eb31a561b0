//! [`WeakKeyDictionary`]: CPython's `weakref.WeakKeyDictionary`.

use core::fmt;
use std::sync::Arc;

use super::table::{watch, Table};
use crate::handle::Gc;
use crate::trace::{Trace, Tracer};
use crate::weak::Weak;

/// An entry: the key's weak handle (its callback removes the entry), and the value.
type Entry<K, V> = (Weak<K>, V);

/// A map whose keys are objects held weakly and compared by identity (CPython's
/// `weakref.WeakKeyDictionary` over objects that hash by `id`): an entry goes when its key
/// dies, by reference count or in a collection. It attaches data to objects without keeping
/// them alive — a side table of annotations, a per-object cache.
///
/// The values are held strongly. A value that holds its own key keeps it alive for as long as
/// the entry exists (as in CPython), and since the dictionary is not traced, such a cycle is
/// never collected: remove the entry to let the key go.
///
/// [`get`](WeakKeyDictionary::get) and [`iter`](WeakKeyDictionary::iter) copy values with the
/// table locked: their `Clone` must not use the dictionary, nor allocate tracked objects.
///
/// ```
/// use gc_core::{Gc, Heap};
/// use gc_core::weak_collections::WeakKeyDictionary;
///
/// let heap = Heap::new();
/// let sizes: WeakKeyDictionary<Vec<u8>, usize> = WeakKeyDictionary::new();
/// let blob = heap.alloc(vec![0u8; 64]);
/// sizes.insert(&blob, blob.len());
/// assert_eq!(sizes.get(&blob), Some(64));
/// drop(blob);
/// assert!(sizes.is_empty());
/// ```
pub struct WeakKeyDictionary<K: ?Sized, V> {
    /// Entries by the key's address, which the entry's weak handle keeps from being reused.
    table: Arc<Table<usize, Entry<K, V>>>,
}

fn named<K: ?Sized, V>(entry: &Entry<K, V>) -> &Weak<K> {
    &entry.0
}

impl<K, V> WeakKeyDictionary<K, V>
where
    K: ?Sized + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// An empty dictionary.
    pub fn new() -> Self {
        WeakKeyDictionary {
            table: Table::new(),
        }
    }

    /// Maps the object `key` to `value` (CPython's `d[key] = value`), returning the value it
    /// replaces.
    pub fn insert(&self, key: &Gc<K>, value: V) -> Option<V> {
        let id = Gc::id(key);
        // Made before the lock is taken; unused (and dropped after it) if the key is there.
        let weak = watch(&self.table, id, key, named);
        let mut map = self.table.write();
        match map.get_mut(&id) {
            Some(entry) => {
                let old = core::mem::replace(&mut entry.1, value);
                drop(map);
                drop(weak);
                Some(old)
            }
            None => {
                map.insert(id, (weak, value));
                None
            }
        }
    }

    /// A copy of the value attached to `key`.
    pub fn get(&self, key: &Gc<K>) -> Option<V>
    where
        V: Clone,
    {
        self.table
            .read()
            .get(&Gc::id(key))
            .map(|(_, value)| value.clone())
    }

    /// Takes the value attached to `key` out.
    pub fn remove(&self, key: &Gc<K>) -> Option<V> {
        let removed = self.table.write().remove(&Gc::id(key));
        removed.map(|(_, value)| value)
    }

    /// True when a value is attached to `key`.
    pub fn contains_key(&self, key: &Gc<K>) -> bool {
        self.table.read().contains_key(&Gc::id(key))
    }

    /// The number of entries whose key is alive (dead ones whose callback has not run yet are
    /// not counted). It looks at every entry.
    pub fn len(&self) -> usize {
        self.table
            .read()
            .values()
            .filter(|(weak, _)| weak.strong_count() > 0)
            .count()
    }

    /// True when no key is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live keys, from a snapshot taken now; a key that dies before the iterator reaches
    /// it is skipped.
    pub fn keys(&self) -> Keys<K> {
        let keys: Vec<Weak<K>> = self
            .table
            .read()
            .values()
            .map(|(weak, _)| weak.clone())
            .collect();
        Keys(keys.into_iter())
    }

    /// The entries whose key is alive, with copies of their values, from a snapshot taken now;
    /// an entry whose key dies before the iterator reaches it is skipped.
    pub fn iter(&self) -> Iter<K, V>
    where
        V: Clone,
    {
        let entries: Vec<(Weak<K>, V)> = self
            .table
            .read()
            .values()
            .map(|(weak, value)| (weak.clone(), value.clone()))
            .collect();
        Iter(entries.into_iter())
    }

    /// Takes every entry out.
    pub fn clear(&self) {
        drop(self.table.take_all());
    }
}

impl<K, V> Default for WeakKeyDictionary<K, V>
where
    K: ?Sized + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized, V: fmt::Debug> fmt::Debug for WeakKeyDictionary<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.table.read();
        f.debug_map()
            .entries(
                map.values()
                    .filter(|(weak, _)| weak.strong_count() > 0)
                    .map(|(weak, value)| (weak, value)),
            )
            .finish()
    }
}

// SAFETY: reports nothing: the keys are weak, and the values are treated as held from outside
// the heap (too few edges is only a leak).
unsafe impl<K: ?Sized, V> Trace for WeakKeyDictionary<K, V> {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

/// The live keys of a [`WeakKeyDictionary`], from a snapshot.
pub struct Keys<K: ?Sized>(std::vec::IntoIter<Weak<K>>);

impl<K: ?Sized> Iterator for Keys<K> {
    type Item = Gc<K>;

    fn next(&mut self) -> Option<Gc<K>> {
        self.0.by_ref().find_map(|weak| weak.upgrade())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.0.size_hint().1)
    }
}

/// The entries of a [`WeakKeyDictionary`] whose key is alive, from a snapshot.
pub struct Iter<K: ?Sized, V>(std::vec::IntoIter<(Weak<K>, V)>);

impl<K: ?Sized, V> Iterator for Iter<K, V> {
    type Item = (Gc<K>, V);

    fn next(&mut self) -> Option<(Gc<K>, V)> {
        self.0
            .by_ref()
            .find_map(|(weak, value)| weak.upgrade().map(|key| (key, value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.0.size_hint().1)
    }
}
