//! [`WeakSet`]: CPython's `weakref.WeakSet`.

use core::fmt;
use std::sync::Arc;

use super::table::{watch, Table};
use crate::handle::Gc;
use crate::trace::{Trace, Tracer};
use crate::weak::Weak;

/// A set of objects held weakly and compared by identity (CPython's `weakref.WeakSet`): an
/// object leaves it when it dies, by reference count or in a collection. Who is listening,
/// which objects are open — without keeping them so.
///
/// ```
/// use gc_core::{Gc, Heap};
/// use gc_core::weak_collections::WeakSet;
///
/// let heap = Heap::new();
/// let open = WeakSet::new();
/// let (a, b) = (heap.alloc("a"), heap.alloc("b"));
/// assert!(open.insert(&a) && open.insert(&b));
/// assert!(!open.insert(&a), "already there");
/// drop(b);
/// let names: Vec<&str> = open.iter().map(|file| *file).collect();
/// assert_eq!(names, ["a"]);
/// ```
pub struct WeakSet<T: ?Sized> {
    /// Members by address, which each member's weak handle keeps from being reused.
    table: Arc<Table<usize, Weak<T>>>,
}

fn named<T: ?Sized>(entry: &Weak<T>) -> &Weak<T> {
    entry
}

impl<T: ?Sized + Send + Sync + 'static> WeakSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        WeakSet {
            table: Table::new(),
        }
    }

    /// Adds `member`; false if it was there already.
    pub fn insert(&self, member: &Gc<T>) -> bool {
        let id = Gc::id(member);
        if self.table.read().contains_key(&id) {
            return false;
        }
        let weak = watch(&self.table, id, member, named);
        let mut map = self.table.write();
        if map.contains_key(&id) {
            drop(map);
            drop(weak);
            return false;
        }
        map.insert(id, weak);
        true
    }

    /// True when `member` is in the set.
    pub fn contains(&self, member: &Gc<T>) -> bool {
        self.table.read().contains_key(&Gc::id(member))
    }

    /// Takes `member` out; false if it was not there.
    pub fn remove(&self, member: &Gc<T>) -> bool {
        let removed = self.table.write().remove(&Gc::id(member));
        removed.is_some()
    }

    /// The number of members alive (dead ones whose callback has not run yet are not
    /// counted). It looks at every member.
    pub fn len(&self) -> usize {
        self.table
            .read()
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    /// True when no member is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live members, from a snapshot taken now; a member that dies before the iterator
    /// reaches it is skipped.
    pub fn iter(&self) -> Iter<T> {
        let members: Vec<Weak<T>> = self.table.read().values().cloned().collect();
        Iter(members.into_iter())
    }

    /// Takes every member out.
    pub fn clear(&self) {
        drop(self.table.take_all());
    }
}

impl<T: ?Sized + Send + Sync + 'static> Default for WeakSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> fmt::Debug for WeakSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.table.read();
        f.debug_set()
            .entries(map.values().filter(|weak| weak.strong_count() > 0))
            .finish()
    }
}

// SAFETY: reports nothing: the members are weak.
unsafe impl<T: ?Sized> Trace for WeakSet<T> {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

/// The live members of a [`WeakSet`], from a snapshot.
pub struct Iter<T: ?Sized>(std::vec::IntoIter<Weak<T>>);

impl<T: ?Sized> Iterator for Iter<T> {
    type Item = Gc<T>;

    fn next(&mut self) -> Option<Gc<T>> {
        self.0.by_ref().find_map(|weak| weak.upgrade())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.0.size_hint().1)
    }
}
