//! The table behind every weak container, and the weak handles whose callbacks prune it.

use core::hash::Hash;
use std::collections::HashMap;
// `std`'s `Arc` even under loom: the callbacks hold a `Weak` to the table, which loom's `Arc`
// does not have, and no loom model runs the containers.
use std::sync::{Arc, Weak as TableRef};

use crate::handle::Gc;
use crate::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use crate::weak::Weak;
use crate::world;

/// A map behind a lock that a thread waits for detached from the world, shared with the
/// callbacks that remove dead entries (which hold it weakly, so a container's drop frees it).
pub(super) struct Table<K, E> {
    map: RwLock<HashMap<K, E>>,
}

impl<K, E> Table<K, E> {
    pub(super) fn new() -> Arc<Table<K, E>> {
        Arc::new(Table {
            map: RwLock::new(HashMap::new()),
        })
    }

    /// Locks the map for reading, waiting detached while a writer holds it.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, HashMap<K, E>> {
        match self.map.try_read() {
            Some(guard) => guard,
            None => world::detached(|| self.map.read()),
        }
    }

    /// Locks the map for writing, waiting detached while anyone holds it.
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, HashMap<K, E>> {
        match self.map.try_write() {
            Some(guard) => guard,
            None => world::detached(|| self.map.write()),
        }
    }

    /// Takes every entry out, to be dropped by the caller once the lock is released.
    pub(super) fn take_all(&self) -> HashMap<K, E> {
        core::mem::take(&mut *self.write())
    }
}

impl<K: Eq + Hash, E> Table<K, E> {
    /// Puts `entry` under `key`: the entry it replaces, and the key if one was there already
    /// (the map keeps its own), for the caller to drop once the lock is released.
    pub(super) fn put(map: &mut HashMap<K, E>, key: K, entry: E) -> (Option<E>, Option<K>) {
        match map.get_mut(&key) {
            Some(slot) => (Some(core::mem::replace(slot, entry)), Some(key)),
            None => {
                map.insert(key, entry);
                (None, None)
            }
        }
    }
}

/// A weak handle to `target` whose callback removes the entry under `key` from `table` when
/// the object dies — if that entry still names the object (`names` finds the entry's handle),
/// not one put under the same key since.
pub(super) fn watch<T, K, E>(
    table: &Arc<Table<K, E>>,
    key: K,
    target: &Gc<T>,
    names: fn(&E) -> &Weak<T>,
) -> Weak<T>
where
    T: ?Sized + Send + Sync + 'static,
    K: Eq + Hash + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let table: TableRef<Table<K, E>> = Arc::downgrade(table);
    Gc::downgrade_with_callback(target, move |dead| {
        let Some(table) = table.upgrade() else {
            return;
        };
        let removed = {
            let mut map = table.write();
            // The callback's handle names the same allocation, which it keeps: no other
            // object can have its address meanwhile.
            if map.get(&key).is_some_and(|e| Weak::ptr_eq(names(e), dead)) {
                map.remove_entry(&key)
            } else {
                None
            }
        };
        // The entry (and with it user values) goes with the lock released.
        drop(removed);
    })
}
