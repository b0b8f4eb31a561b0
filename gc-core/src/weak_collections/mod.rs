//! CPython's weak containers, the building blocks of caches and intern tables:
//! [`WeakValueDictionary`], [`WeakKeyDictionary`], [`WeakSet`], and `weakref.finalize` as
//! [`WeakFinalizer`].
//!
//! Each container holds its entries' objects through [`Weak`](crate::Weak) handles made with a
//! callback ([`Gc::downgrade_with_callback`](crate::Gc::downgrade_with_callback)) that removes
//! the entry when the object dies — by reference count, on the thread that dropped the last
//! handle, or in a collection, on the collecting thread once the world has restarted. Between a
//! collection's verdict and its callbacks an entry is still in the table, but its weak handle
//! no longer upgrades, so no lookup, count or iteration returns it: an object judged garbage is
//! never handed out again, even before its callback has run.
//!
//! The containers are `Send + Sync` when their contents are, and every method takes `&self`,
//! so one can be shared through an `Arc` or kept in a `static`. Their table is behind a lock
//! that a thread waits for detached from the world (as a [`GcLock`](crate::GcLock)), so a
//! collection never waits for a thread blocked on it; nothing that can end an object (and so
//! run a callback that takes the lock) is dropped while the lock is held. Iteration walks a
//! snapshot of the entries taken under the lock, upgrading each handle as it goes, so it skips
//! entries that die meanwhile and never blocks the callbacks.
//!
//! The containers are untracked: what they hold strongly (a [`WeakKeyDictionary`]'s values, a
//! [`WeakValueDictionary`]'s keys) counts as referenced from outside the heap, as through an
//! `Arc`, so a cycle through them is kept, never broken.

mod finalizer;
mod key_dict;
mod set;
mod table;
#[cfg(test)]
mod tests;
mod value_dict;

pub use self::finalizer::{FinalizerCallback, WeakFinalizer};
pub use self::key_dict::WeakKeyDictionary;
pub use self::set::WeakSet;
pub use self::value_dict::WeakValueDictionary;

/// Iterators over a snapshot of a container's entries, skipping the ones that died.
pub mod iter {
    pub use super::key_dict::{Iter as WeakKeyIter, Keys as WeakKeyKeys};
    pub use super::set::Iter as WeakSetIter;
    pub use super::value_dict::Iter as WeakValueIter;
}
