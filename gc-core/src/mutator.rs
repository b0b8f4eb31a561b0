//! `Mutator`: a thread attached to the world for a long stretch (CPython's thread state
//! holding the GIL).
//!
//! While attached, the thread holds its world slot, so clones, cell borrows, upgrades and the
//! free path cost a thread-local read instead of an atomic. In exchange it must reach a
//! [`safepoint`](Mutator::safepoint) now and then, and detach around blocking calls with
//! [`blocking`](Mutator::blocking), or collections wait for it (automatic ones only up to the
//! heap's safepoint timeout, after which the thread is named on stderr and counted in
//! [`stalls`](crate::stalls)).

use core::panic::Location;

use crate::handle::Gc;
use crate::heap::Heap;
use crate::trace::Trace;
use crate::world::{self, Attachment};

/// A thread attached to the world. Made by [`Heap::attach`]; not `Send`.
pub struct Mutator {
    /// Given up before the heap handle goes (fields drop in order).
    _attachment: Attachment,
    heap: Heap,
}

impl Mutator {
    pub(crate) fn new(heap: Heap, location: &'static Location<'static>) -> Mutator {
        Mutator {
            _attachment: Attachment::take(location),
            heap,
        }
    }

    /// The heap this mutator allocates on.
    pub fn heap(&self) -> &Heap {
        &self.heap
    }

    /// Allocates on the mutator's heap (as [`Heap::alloc`]).
    #[inline]
    pub fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        self.heap.alloc(value)
    }

    /// Lets a pending stop of the world happen, then runs this heap's automatic collection if
    /// one is due.
    pub fn safepoint(&self) {
        world::safepoint();
        if self.heap.inner.trigger().pending() {
            self.heap.inner.collect_if_due();
        }
    }

    /// Runs `f` detached, as CPython releases the GIL around blocking calls: collections may run
    /// meanwhile. Cells this thread has borrowed stay borrowed and keep their objects alive.
    /// Guards may move in and out of `f` freely: each hold is owned by the guard that took it.
    pub fn blocking<R>(&self, f: impl FnOnce() -> R) -> R {
        world::detached(f)
    }
}

impl core::fmt::Debug for Mutator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutator").field("heap", &self.heap).finish()
    }
}

/// Runs `f` with this thread detached from the world (see [`Mutator::blocking`]); usable
/// without a `Mutator` at hand.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    world::detached(f)
}
