//! [`WeakValueDictionary`]: CPython's `weakref.WeakValueDictionary`.

use core::borrow::Borrow;
use core::fmt;
use core::hash::Hash;
use std::sync::Arc;

use super::table::{watch, Table};
use crate::handle::Gc;
use crate::trace::{Trace, Tracer};
use crate::weak::Weak;

/// A map whose values are held weakly (CPython's `weakref.WeakValueDictionary`): an entry goes
/// when its value dies, by reference count or in a collection. The building block of caches and
/// intern tables: [`get_or_insert_with`](WeakValueDictionary::get_or_insert_with) hands out the
/// live object for a key, or makes one.
///
/// Keys are held strongly and compared by value; they must be `Clone` (the callback that
/// removes an entry keeps a copy of its key). A key's `Hash`, `Eq` and `Clone` run with the
/// table locked: they must not use the dictionary, nor allocate tracked objects (which may run
/// a collection, and its callbacks, on this thread).
///
/// ```
/// use gc_core::{Gc, Heap};
/// use gc_core::weak_collections::WeakValueDictionary;
///
/// let heap = Heap::new();
/// let interned: WeakValueDictionary<String, String> = WeakValueDictionary::new();
/// let intern = |s: &str| interned.get_or_insert_with(s.to_owned(), || heap.alloc(s.to_owned()));
///
/// let a = intern("spam");
/// let b = intern("spam");
/// assert!(Gc::ptr_eq(&a, &b), "one object per string while any is alive");
/// drop((a, b));
/// assert!(interned.is_empty(), "gone with its last handle");
/// ```
pub struct WeakValueDictionary<K, V: ?Sized> {
    table: Arc<Table<K, Weak<V>>>,
}

fn named<V: ?Sized>(entry: &Weak<V>) -> &Weak<V> {
    entry
}

impl<K, V> WeakValueDictionary<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: ?Sized + Send + Sync + 'static,
{
    /// An empty dictionary.
    pub fn new() -> Self {
        WeakValueDictionary {
            table: Table::new(),
        }
    }

    /// Maps `key` to `value` (CPython's `d[key] = value`), returning the value it replaces if
    /// that one is alive.
    pub fn insert(&self, key: K, value: &Gc<V>) -> Option<Gc<V>> {
        let weak = watch(&self.table, key.clone(), value, named);
        let (old, _unused_key) = Table::put(&mut self.table.write(), key, weak);
        old.and_then(|old| old.upgrade())
    }

    /// The live value under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq + Hash,
    {
        self.table.read().get(key).and_then(Weak::upgrade)
    }

    /// The live value under `key`, or the one `make` returns, put under `key` — unless another
    /// thread put a live one there meanwhile, which is returned instead (`make` runs without
    /// the table locked, so it may allocate and collect). CPython's `d.setdefault(key, value)`
    /// with the value made only when needed: the intern-table step.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> Gc<V>) -> Gc<V> {
        if let Some(live) = self.get(&key) {
            return live;
        }
        let made = make();
        let weak = watch(&self.table, key.clone(), &made, named);
        let raced = {
            let mut map = self.table.write();
            match map.get(&key).and_then(Weak::upgrade) {
                Some(live) => Err((live, weak, key)),
                None => Ok(Table::put(&mut map, key, weak)),
            }
        };
        match raced {
            Ok(_replaced) => made,
            // Our handle (and its callback) goes before the object we made.
            Err((live, _weak, _key)) => live,
        }
    }

    /// Takes the entry under `key` out, returning its value if alive.
    pub fn remove<Q>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq + Hash,
    {
        let removed = self.table.write().remove_entry(key);
        removed.and_then(|(_, weak)| weak.upgrade())
    }

    /// True when a live value is under `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq + Hash,
    {
        self.table
            .read()
            .get(key)
            .is_some_and(|weak| weak.strong_count() > 0)
    }

    /// The number of entries whose value is alive (dead ones whose callback has not run yet
    /// are not counted). It looks at every entry.
    pub fn len(&self) -> usize {
        self.table
            .read()
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    /// True when no value is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live entries, from a snapshot taken now; an entry whose value dies before the
    /// iterator reaches it is skipped.
    pub fn iter(&self) -> Iter<K, V> {
        let entries: Vec<(K, Weak<V>)> = self
            .table
            .read()
            .iter()
            .map(|(key, weak)| (key.clone(), weak.clone()))
            .collect();
        Iter(entries.into_iter())
    }

    /// The keys of the live entries ([`iter`](WeakValueDictionary::iter)).
    pub fn keys(&self) -> impl Iterator<Item = K> {
        self.iter().map(|(key, _)| key)
    }

    /// The live values ([`iter`](WeakValueDictionary::iter)).
    pub fn values(&self) -> impl Iterator<Item = Gc<V>> {
        self.iter().map(|(_, value)| value)
    }

    /// Takes every entry out.
    pub fn clear(&self) {
        drop(self.table.take_all());
    }
}

impl<K, V> Default for WeakValueDictionary<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: ?Sized + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: ?Sized> fmt::Debug for WeakValueDictionary<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.table.read();
        f.debug_map()
            .entries(map.iter().filter(|(_, weak)| weak.strong_count() > 0))
            .finish()
    }
}

// SAFETY: reports nothing: the values are weak, and the keys are treated as held from outside
// the heap (too few edges is only a leak).
unsafe impl<K, V: ?Sized> Trace for WeakValueDictionary<K, V> {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

/// The live entries of a [`WeakValueDictionary`], from a snapshot.
pub struct Iter<K, V: ?Sized>(std::vec::IntoIter<(K, Weak<V>)>);

impl<K, V: ?Sized> Iterator for Iter<K, V> {
    type Item = (K, Gc<V>);

    fn next(&mut self) -> Option<(K, Gc<V>)> {
        self.0
            .by_ref()
            .find_map(|(key, weak)| weak.upgrade().map(|value| (key, value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.0.size_hint().1)
    }
}
