//! Weak handles and weak callbacks (CPython's `weakref.ref(obj, callback)`).
//!
//! A [`Weak`] keeps the allocation, not the object, alive. `upgrade` fails once the object is
//! dead, or once a collection has judged it garbage (`WEAK_CLEARED`, set while the world is
//! stopped, so no upgrade can slip between the judgement and the clearing).
//!
//! [`Weak::new`] makes a handle that names no object: its pointer is a sentinel address no
//! allocation can have, checked before the header would be read, so it allocates nothing.
//! Weak handles compare and hash by the address of their allocation, which a weak handle keeps
//! alive: the key of a `HashMap<Weak<T>, _>` stays unique for as long as it is in the map.
//!
//! Callbacks live in a process-wide registry keyed by object address, sharded to keep
//! registrations on different objects apart. A callback belongs to the `Weak` it was created
//! with: dropping that handle unregisters it, as a dead `weakref` never calls back. When the
//! object dies, its callbacks run newest first, after its finalizer, with its weak references
//! already cleared.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ptr::NonNull;
use std::collections::HashMap;

use crate::finalize::report_panic;
use crate::handle::Gc;
use crate::header::{flag, GcBox, Header};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::trace::{Trace, Tracer};
use crate::world;

/// A handle that does not keep its object alive.
///
/// Equality and hashing are by identity (the address of the allocation, as [`Weak::ptr_eq`]),
/// never by value, so a `Weak` can key a `HashMap` whether its object is alive or not:
///
/// ```
/// use std::collections::HashMap;
/// use gc_core::{Gc, Heap, Weak};
///
/// let heap = Heap::new();
/// let (a, b) = (heap.alloc(1), heap.alloc(1));
/// let mut names: HashMap<Weak<i32>, &str> = HashMap::new();
/// names.insert(Gc::downgrade(&a), "a");
/// names.insert(Gc::downgrade(&b), "b"); // an equal value, another object
/// assert_eq!(names[&Gc::downgrade(&a)], "a");
/// drop(a);
/// assert_eq!(names.len(), 2, "a dead object's handle still names its allocation");
/// ```
pub struct Weak<T: ?Sized> {
    /// The object, or [`DANGLING`] for a handle made by [`Weak::new`].
    ptr: NonNull<GcBox<T>>,
    /// The callback registration this handle owns, if any.
    callback: Option<u64>,
    _owns: PhantomData<GcBox<T>>,
}

/// The address of a handle made by [`Weak::new`]: no allocation ends at the last byte of the
/// address space, let alone starts there (as `std::sync::Weak::new` does).
const DANGLING: usize = usize::MAX;

// SAFETY: a `Weak<T>` can become a `Gc<T>`, so it may move between threads exactly when a
// `Gc<T>` may. Its counts are atomic.
unsafe impl<T: ?Sized + Send + Sync> Send for Weak<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for Weak<T> {}

impl<T> Weak<T> {
    /// A weak handle to nothing: it never upgrades, and it allocates nothing (as
    /// `std::sync::Weak::new`).
    ///
    /// ```
    /// let nothing = gc_core::Weak::<String>::new();
    /// assert!(nothing.upgrade().is_none());
    /// assert_eq!((nothing.strong_count(), nothing.weak_count()), (0, 0));
    /// assert_eq!(nothing, gc_core::Weak::new());
    /// ```
    pub const fn new() -> Weak<T> {
        Weak {
            // SAFETY: `DANGLING` is not zero. The pointer is never dereferenced: every method
            // checks for it first (`Weak::header`).
            ptr: unsafe { NonNull::new_unchecked(core::ptr::without_provenance_mut(DANGLING)) },
            callback: None,
            _owns: PhantomData,
        }
    }
}

impl<T> Default for Weak<T> {
    /// [`Weak::new`].
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> Weak<T> {
    /// Wraps a weak reference the caller owns.
    ///
    /// # Safety
    /// `ptr` is [`Weak::new`]'s sentinel, or points to an allocation whose value is a `T` and
    /// whose weak count includes one reference that the new handle now owns; `callback`, if
    /// any, is a registration of that object that the handle now owns.
    pub(crate) unsafe fn from_parts(ptr: NonNull<GcBox<T>>, callback: Option<u64>) -> Self {
        Weak {
            ptr,
            callback,
            _owns: PhantomData,
        }
    }

    /// Gives the handle up without dropping its reference or its callback registration.
    pub(crate) fn into_parts(this: Self) -> (NonNull<GcBox<T>>, Option<u64>) {
        let parts = (this.ptr, this.callback);
        core::mem::forget(this);
        parts
    }

    /// The allocation's address (the sentinel for [`Weak::new`]).
    #[inline]
    fn addr(&self) -> usize {
        self.ptr.cast::<u8>().as_ptr() as usize
    }

    /// The header, unless the handle was made by [`Weak::new`].
    #[inline]
    fn header(&self) -> Option<&Header> {
        if self.addr() == DANGLING {
            return None;
        }
        // SAFETY: not the sentinel, so a weak handle keeps the allocation, which starts with
        // the header, alive.
        Some(unsafe { self.ptr.cast::<Header>().as_ref() })
    }

    /// The number of strong handles still alive (0 once dead or judged garbage, and for
    /// [`Weak::new`]).
    pub fn strong_count(&self) -> usize {
        match self.header() {
            Some(header) if !header.has(flag::WEAK_CLEARED) => header.strong_count() as usize,
            _ => 0,
        }
    }

    /// The number of weak handles to the object, this one included, or 0 once no strong
    /// handle is left (as `std::sync::Weak::weak_count`; 0 for [`Weak::new`]). A handle made
    /// with [`Gc::downgrade_with_callback`] counts twice (the callback holds one, too).
    ///
    /// ```
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let x = heap.alloc(5);
    /// let (w1, w2) = (Gc::downgrade(&x), Gc::downgrade(&x));
    /// assert_eq!(w1.weak_count(), 2);
    /// drop(x);
    /// assert_eq!(w2.weak_count(), 0);
    /// ```
    pub fn weak_count(&self) -> usize {
        if self.strong_count() == 0 {
            return 0;
        }
        self.header().map_or(0, Header::weak_handles)
    }

    /// True when both handles name the same allocation (two [`Weak::new`] handles do). Only
    /// the addresses are compared, not the metadata of wide handles.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.addr() == b.addr()
    }

    /// A strong handle, or `None` if the object is dead or has been judged garbage (or the
    /// handle was made by [`Weak::new`]).
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header()?;
        let take = || {
            if header.has(flag::WEAK_CLEARED) || !header.try_inc_strong() {
                return None;
            }
            // SAFETY: `try_inc_strong` took a strong reference for the new handle, and the
            // pointer keeps the value's metadata.
            Some(unsafe { Gc::from_box(self.ptr) })
        };
        // An immortal object is never cleared and its count never written: no hold needed.
        // The header's flag, set at allocation (and before any weak handle exists).
        if header.has(flag::TRACKED) && !header.is_immortal() {
            world::held(take)
        } else {
            take()
        }
    }
}

impl<T: ?Sized> Gc<T> {
    /// A weak handle to this object.
    pub fn downgrade(this: &Self) -> Weak<T> {
        this.header().downgrade_weak();
        Weak {
            ptr: Gc::box_ptr(this),
            callback: None,
            _owns: PhantomData,
        }
    }

    /// A weak handle whose `callback` runs once when the object dies (by reference count or
    /// in a collection), unless this handle has been dropped first. The callback receives the
    /// (already cleared) weak handle.
    pub fn downgrade_with_callback(
        this: &Self,
        callback: impl FnOnce(&Weak<T>) + Send + 'static,
    ) -> Weak<T>
    where
        T: Send + Sync + 'static,
    {
        let mut weak = Gc::downgrade(this);
        let for_callback = Gc::downgrade(this);
        let id = register(this.header(), Box::new(move || callback(&for_callback)));
        weak.callback = Some(id);
        weak
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    /// A plain weak handle to the same object; callbacks are not copied.
    fn clone(&self) -> Self {
        if let Some(header) = self.header() {
            header.inc_weak();
        }
        Weak {
            ptr: self.ptr,
            callback: None,
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        let Some(header) = self.header() else {
            return;
        };
        if let Some(id) = self.callback {
            unregister(header, id);
        }
        if header.dec_weak() {
            // SAFETY: this was the last reference of any kind; the value was dropped when the
            // strong count reached zero (or never written: `Gc::new_cyclic` unwound).
            unsafe { (header.vtable.dealloc)(self.ptr.cast::<Header>().as_ptr()) };
        }
    }
}

impl<T: ?Sized> PartialEq for Weak<T> {
    /// Identity: [`Weak::ptr_eq`].
    fn eq(&self, other: &Self) -> bool {
        Weak::ptr_eq(self, other)
    }
}

impl<T: ?Sized> Eq for Weak<T> {}

impl<T: ?Sized> Hash for Weak<T> {
    /// The allocation's address, consistent with `Eq`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr().hash(state);
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(Weak {:p})", self.ptr)
    }
}

// SAFETY: a weak handle owns no strong edge; it reports its callback registration so the
// collector can tell a weak reference that is itself garbage.
unsafe impl<T: ?Sized> Trace for Weak<T> {
    const TRACKED: bool = false;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(id) = self.callback {
            tracer.weak_callback(self.ptr.cast(), id);
        }
    }
}

/// A weak callback, bound to its weak handle.
pub(crate) type Callback = Box<dyn FnOnce() + Send>;

const SHARDS: usize = 16;

/// Callbacks by object address, each with its registration id, oldest first.
type Callbacks = HashMap<usize, Vec<(u64, Callback)>>;

struct Registry {
    shards: [Mutex<Callbacks>; SHARDS],
    next_id: AtomicUsize,
    /// Registrations alive, in every shard.
    live: AtomicUsize,
}

crate::sync::global! {
    fn registry() -> &'static Registry = lazy Registry::new();
}

impl Registry {
    fn new() -> Self {
        Registry {
            shards: core::array::from_fn(|_| Mutex::new(HashMap::new())),
            next_id: AtomicUsize::new(1),
            live: AtomicUsize::new(0),
        }
    }

    fn shard(&self, header: &Header) -> &Mutex<Callbacks> {
        let addr = header as *const Header as usize;
        &self.shards[(addr >> 5) % SHARDS]
    }
}

fn register(header: &Header, callback: Callback) -> u64 {
    // The collector reads the flag set below with the world stopped.
    let _hold = header.has(flag::TRACKED).then(world::Hold::take);
    let reg = registry();
    let id = reg.next_id.fetch_add(1, Ordering::Relaxed) as u64;
    let mut shard = reg.shard(header).lock();
    shard
        .entry(header as *const Header as usize)
        .or_default()
        .push((id, callback));
    reg.live.fetch_add(1, Ordering::Relaxed);
    header.set(flag::HAS_WEAK_CALLBACKS);
    id
}

/// True when some weak callback is registered anywhere. Read with the world stopped, it cannot
/// miss a registration on a tracked object (registering holds the world).
pub(crate) fn any_registered() -> bool {
    registry().live.load(Ordering::Relaxed) != 0
}

/// Disarms the callback `id` of a weak handle to `target` that is garbage itself: it will
/// never be called (CPython clears weak references inside the unreachable set, bpo-38006).
/// Returns the callback unrun: dropping it runs user code (what the closure captured), so it
/// must be dropped with the world running.
pub(crate) fn disarm(target: NonNull<Header>, id: u64) -> Option<Callback> {
    // SAFETY: the weak handle holding the registration is alive (inside the garbage, which
    // the collector holds), and it keeps its target's allocation alive.
    take_registration(unsafe { target.as_ref() }, id)
}

fn unregister(header: &Header, id: u64) {
    // The callback (and the weak handle it captured) drops outside the registry lock.
    drop(take_registration(header, id));
}

/// Takes registration `id` of `header` out of the registry, if it is there.
fn take_registration(header: &Header, id: u64) -> Option<Callback> {
    let reg = registry();
    let mut shard = reg.shard(header).lock();
    let key = header as *const Header as usize;
    let list = shard.get_mut(&key)?;
    let pos = list.iter().position(|(i, _)| *i == id)?;
    let (_, callback) = list.remove(pos);
    if list.is_empty() {
        shard.remove(&key);
    }
    reg.live.fetch_sub(1, Ordering::Relaxed);
    Some(callback)
}

/// Takes the object's callbacks out of the registry, newest first.
pub(crate) fn take_callbacks(header: &Header) -> Vec<(u64, Callback)> {
    header.clear(flag::HAS_WEAK_CALLBACKS);
    let reg = registry();
    let mut list = reg
        .shard(header)
        .lock()
        .remove(&(header as *const Header as usize))
        .unwrap_or_default();
    reg.live.fetch_sub(list.len(), Ordering::Relaxed);
    list.reverse();
    list
}

/// Runs callbacks taken with [`take_callbacks`], reporting panics.
pub(crate) fn run(callbacks: Vec<(u64, Callback)>, type_name: &str) {
    for (_, callback) in callbacks {
        if let Err(payload) = std::panic::catch_unwind(core::panic::AssertUnwindSafe(callback)) {
            report_panic("weak callback", type_name, &*payload);
        }
    }
}

/// Clears an object dying by reference count and runs its callbacks, newest first.
pub(crate) fn run_callbacks(header: &Header) {
    let callbacks = take_callbacks(header);
    run(callbacks, header.type_name());
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::Weak;
    use crate::test_support::quiet_heap;
    use crate::{Gc, GcCell, Trace};

    #[derive(Trace)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
    }

    /// Over-aligned: `Weak::new`'s sentinel address is not aligned for it.
    #[repr(align(4096))]
    struct Page;

    #[test]
    fn a_dangling_handle_reads_no_memory_and_never_upgrades() {
        let nothing: Weak<Page> = Weak::new();
        let copy = nothing.clone();
        assert!(copy.upgrade().is_none());
        assert_eq!((copy.strong_count(), copy.weak_count()), (0, 0));
        assert_eq!(nothing, copy);
        assert_eq!(format!("{nothing:?}"), format!("{copy:?}"));
        let tracked: Weak<Node> = Weak::default();
        assert!(tracked.upgrade().is_none());
        assert!(crate::trace::edges(&tracked).is_empty());
    }

    #[test]
    fn weak_handles_key_maps_by_identity_dead_or_alive() {
        let heap = quiet_heap();
        let a = heap.alloc(Node {
            next: GcCell::new(None),
        });
        let b = heap.alloc(Node {
            next: GcCell::new(None),
        });
        let mut seen: HashMap<Weak<Node>, &str> = HashMap::new();
        seen.insert(Gc::downgrade(&a), "a");
        seen.insert(Gc::downgrade(&b), "b");
        seen.insert(Gc::downgrade(&a), "a again");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[&Gc::downgrade(&a)], "a again");
        assert_ne!(Gc::downgrade(&a), Gc::downgrade(&b));
        let a_weak = Gc::downgrade(&a);
        assert_eq!(a_weak.weak_count(), 2);
        assert_eq!(Gc::weak_count(&a), 2);
        drop(a);
        assert_eq!(a_weak.weak_count(), 0, "no strong handle left");
        assert_eq!(seen[&a_weak], "a again", "the allocation is kept: same key");
        let set: HashSet<Weak<Node>> = seen.into_keys().collect();
        assert!(set.contains(&a_weak) && set.contains(&Gc::downgrade(&b)));
        assert!(!set.contains(&Weak::new()));
    }
}
