//! The sole handle to an object: taking its value out ([`Gc::try_unwrap`]), mutating it in
//! place ([`Gc::get_mut`], [`Gc::make_mut`]).
//!
//! # Taking the value out
//!
//! `try_unwrap` brings the strong count from 1 to 0 with one compare-and-swap, as
//! `Arc::try_unwrap` does, so a racing `Weak::upgrade` either comes first (and the unwrap
//! fails) or finds the object dead. The object then dies as by reference count (see
//! `reclaim`), except that the finalizer does not run — the value lives on, outside the heap —
//! and the value is moved out instead of dropped: it leaves its generation list (directly if
//! this thread owns its shard, else through the shard's inbox once the value is out), its weak
//! references are cleared and their callbacks run, and the allocation is freed once no weak
//! handle remains. The world is held throughout for a tracked object, as on the free path.
//!
//! # Mutating in place
//!
//! `&mut T` to a heap object is not enough on its own. A tracked object is on a generation
//! list, so a collection on any thread may trace its value while the world is stopped, and
//! [`Heap::objects`](crate::Heap::objects) may hand out new handles to it at any moment. So a
//! [`GcMut`] guard marks the object `DROPPED` for as long as it lives: the collector then never
//! reads the value (a root with no edges: everything it references is kept, as for a cell
//! borrowed for writing), and dereferencing any handle made meanwhile panics instead of
//! aliasing the `&mut T`. The check that the handle is the only one and the mark are made under
//! one hold of the world (no stop, so no `objects()`, can come between them); the mark is taken
//! off under another, which orders every write made through the guard before the next
//! collection's reads. The guard also holds a strong reference while it lives: a guard that is
//! forgotten leaks the object instead of letting it die marked, which the free path would take
//! for a torn-down object's mark. Untracked objects are never listed and need none of this.
//!
//! The check itself is `Arc::is_unique`'s: the weak count is locked at 1 (no weak handle)
//! while the strong count is read, so that no weak handle can be made and upgraded in between.

use core::fmt;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::handle::Gc;
use crate::header::{flag, GcBox, Header};
use crate::heap::Heap;
use crate::seeded;
use crate::sync::Ordering;
use crate::trace::Trace;
use crate::weak;
use crate::world::{self, Hold};

impl<T> Gc<T> {
    /// The value, if this is the only strong handle (as `Arc::try_unwrap`); otherwise the
    /// handle back.
    ///
    /// The object ends as if its last handle were dropped, but its value is moved out instead
    /// of dropped, and its finalizer does not run: it leaves its generation list, its weak
    /// handles stop upgrading and their callbacks run. A handle a collection holds (to an
    /// object it found unreachable and is finalizing or tearing down, or one kept in
    /// [`Heap::garbage`](crate::Heap::garbage)) is not the only one; neither is a handle to a
    /// torn-down object.
    ///
    /// ```
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let x = heap.alloc(String::from("kept"));
    /// let y = x.clone();
    /// let x = Gc::try_unwrap(x).unwrap_err(); // two handles
    /// drop(y);
    /// let weak = Gc::downgrade(&x);
    /// assert_eq!(Gc::try_unwrap(x).unwrap(), "kept");
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        let header = this.header();
        let _hold = header.has(flag::TRACKED).then(Hold::take);
        if header.has(flag::TEARDOWN | flag::DROPPED)
            || header
                .strong
                .compare_exchange(1, 0, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return Err(this);
        }
        let object = Gc::box_ptr(&this);
        core::mem::forget(this);
        // SAFETY: the strong count was this handle's alone and is 0 now, so no strong handle
        // remains and none can be made; the value is intact (not dropped: checked above, under
        // the hold for a tracked object); the world is held if the object is tracked.
        Ok(unsafe { take_value(object) })
    }
}

/// Ends an object whose last strong reference the caller has just taken back, moving its value
/// out: `reclaim::destroy_held` without the finalizer, and without dropping the value.
///
/// # Safety
/// The strong count is 0, its last reference gone into this call; the value is intact; the
/// caller holds the world if the object is tracked.
unsafe fn take_value<T>(object: NonNull<GcBox<T>>) -> T {
    let ptr = object.cast::<Header>();
    // SAFETY: the allocation lives until the strong handles' weak reference is given up below.
    let header = unsafe { ptr.as_ref() };
    // A listed object keeps its heap alive; holding the world, the collector is not moving it
    // between lists. Off the list now if its shard is this thread's.
    let handed_over = header.has(flag::LISTED)
        // SAFETY: listed on its heap, and dead: no strong handle left.
        && !unsafe { (*header.heap).unlist_if_mine(ptr) };
    if header.has(flag::HAS_WEAK_CALLBACKS) {
        weak::run_callbacks(header);
    }
    // From here on a collection that meets the object on its list (handed over, waiting for
    // the owner) never reads the value: it is moved out.
    header.set(flag::DROPPED);
    // SAFETY: the value is intact and nothing else can reach it (no strong handle); it is read
    // once, and never dropped in place (`DROPPED`, and the free below only frees memory).
    let value =
        unsafe { core::mem::ManuallyDrop::into_inner(core::ptr::read(&(*object.as_ptr()).value)) };
    if handed_over {
        // SAFETY: still listed, so its heap is alive; the owner unlists and frees it.
        unsafe { (*header.heap).hand_over_dead(ptr) };
    } else if !crate::candidates::dead(header) && header.dec_weak() {
        // SAFETY: no handle of either kind remains, and the value is gone. (A recorded
        // candidate's allocation is its entry's to free.)
        unsafe { (header.vtable.dealloc)(ptr.as_ptr()) };
    }
    value
}

impl<T: ?Sized> Gc<T> {
    /// A mutable borrow of the value, if this is the only handle to the object — no other
    /// strong handle and no [`Weak`](crate::Weak) (as `Arc::get_mut`) — and it is not being
    /// torn down.
    ///
    /// It returns a guard rather than `&mut T`: while it lives, collections do not read the
    /// value (the object is kept, with everything it references, as for a [`GcCell`]
    /// borrowed for writing), and a handle made to the object meanwhile (by
    /// [`Heap::objects`](crate::Heap::objects) on another thread, say) panics if dereferenced.
    /// While another thread is between the steps of `Heap::objects` or the objgraph tools, the
    /// handle they hold makes this `None`.
    ///
    /// [`GcCell`]: crate::GcCell
    ///
    /// ```
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut x = heap.alloc(vec![1, 2]);
    /// Gc::get_mut(&mut x).unwrap().push(3);
    /// assert_eq!(*x, [1, 2, 3]);
    /// let weak = Gc::downgrade(&x);
    /// assert!(Gc::get_mut(&mut x).is_none());
    /// drop(weak);
    /// let y = x.clone();
    /// assert!(Gc::get_mut(&mut x).is_none());
    /// ```
    pub fn get_mut(this: &mut Self) -> Option<GcMut<'_, T>> {
        let marked = acquire(this)?;
        Some(GcMut { gc: this, marked })
    }
}

impl<T: Trace + Clone + Send + 'static> Gc<T> {
    /// A mutable borrow of the value, cloned first into a new object on `heap` if this is not
    /// the only handle: clone-on-write, as `Arc::make_mut`. This handle then names the new
    /// object; the others keep the old one.
    ///
    /// Unlike `Arc::make_mut`, a value whose other handles are all weak is cloned too, not
    /// moved: the old object dies as any other (its finalizer and weak callbacks run when this
    /// handle lets it go). The guard is [`Gc::get_mut`]'s.
    ///
    /// ```
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut a = heap.alloc(vec![1]);
    /// let b = a.clone();
    /// Gc::make_mut(&mut a, &heap).push(2); // a is cloned: b is shared
    /// Gc::make_mut(&mut a, &heap).push(3); // a is unique now: no clone
    /// assert_eq!((&a[..], &b[..]), (&[1, 2, 3][..], &[1][..]));
    /// ```
    pub fn make_mut<'a>(this: &'a mut Self, heap: &Heap) -> GcMut<'a, T> {
        loop {
            if let Some(marked) = acquire(this) {
                return GcMut { gc: this, marked };
            }
            // A fresh object can fail too, if `Heap::objects` made a handle to it meanwhile.
            *this = heap.alloc(T::clone(this));
        }
    }
}

/// Checks that `this` is the only handle to its object and, for a tracked object, marks the
/// value as mutably borrowed (`DROPPED`) and takes a strong reference for the guard.
/// `Some(marked)` if it is the only handle.
fn acquire<T: ?Sized>(this: &Gc<T>) -> Option<bool> {
    let header = this.header();
    let unique = || {
        if header.has(flag::TEARDOWN | flag::DROPPED) {
            return false;
        }
        if seeded::UNIQUE_NO_WEAK_LOCK {
            return header.weak.load(Ordering::Acquire) == 1
                && header.strong.load(Ordering::Acquire) == 1;
        }
        if !header.lock_weak() {
            return false;
        }
        // Acquire: every other handle's last use happens before (their drops are releases).
        let unique = header.strong.load(Ordering::Acquire) == 1;
        header.unlock_weak();
        unique
    };
    if !header.has(flag::TRACKED) {
        // Never listed: no collection reads it and `Heap::objects` never hands it out.
        return unique().then_some(false);
    }
    world::held(|| {
        if !unique() {
            return None;
        }
        if !seeded::GET_MUT_NO_MARK {
            header.set(flag::DROPPED);
        }
        // The guard's own reference: if the guard is forgotten, the object is leaked with its
        // mark (kept, unread, never freed) instead of dying with a mark the free path would
        // take for a teardown's (`reclaim` frees a `DROPPED` object without unlisting it).
        header.inc_strong();
        Some(true)
    })
}

/// A mutable borrow of an object's value through its only handle, from [`Gc::get_mut`] or
/// [`Gc::make_mut`]. While it lives, collections keep the object without reading it, and a
/// handle made to the object meanwhile panics if dereferenced.
///
/// A tracked object's guard holds a strong reference of its own while it lives, so a guard
/// forgotten with `mem::forget` leaks the object (never freed, its value unreadable) rather
/// than leave it marked where its death could not tell.
pub struct GcMut<'a, T: ?Sized> {
    gc: &'a mut Gc<T>,
    /// The object is tracked: `DROPPED` was set and a strong reference taken, both given back
    /// on drop.
    marked: bool,
}

impl<T: ?Sized> Deref for GcMut<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the only handle, borrowed mutably by this guard; the value is intact (checked
        // when the guard was made) and nothing else reads it (see `GcMut`).
        unsafe { &(*Gc::box_ptr(self.gc).as_ptr()).value }
    }
}

impl<T: ?Sized> DerefMut for GcMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; the guard is borrowed mutably, so this borrow is unique.
        unsafe { &mut (*Gc::box_ptr(self.gc).as_ptr()).value }
    }
}

impl<T: ?Sized> Drop for GcMut<'_, T> {
    fn drop(&mut self) {
        if !self.marked {
            return;
        }
        let header = self.gc.header();
        if seeded::GET_MUT_UNMARK_UNHELD {
            header.clear(flag::DROPPED);
        } else {
            // Under a hold: the writes made through the guard happen before any collection
            // that reads the value again.
            world::held(|| header.clear(flag::DROPPED));
        }
        // Never the last reference: the handle the guard borrows holds one.
        let last = header.dec_strong();
        debug_assert!(!last, "a GcMut outlived its handle");
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_support::quiet_heap;
    use crate::{Finalize, Gc, GcAny, GcCell, Trace};

    #[derive(Trace)]
    #[gc(finalize)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
        #[gc(skip)]
        finalized: Arc<AtomicUsize>,
    }

    impl Finalize for Node {
        fn finalize(this: &Gc<Self>) {
            this.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn node(heap: &crate::Heap, finalized: &Arc<AtomicUsize>) -> Gc<Node> {
        heap.alloc(Node {
            next: GcCell::new(None),
            finalized: finalized.clone(),
        })
    }

    #[test]
    fn try_unwrap_takes_the_value_unlisted_unfinalized_with_weak_callbacks_run() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let called = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &finalized);
        let b = node(&heap, &finalized);
        a.next.set(Some(b.clone()));
        let seen = called.clone();
        let weak = Gc::downgrade_with_callback(&a, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let a = Gc::try_unwrap(a).ok().expect("the only strong handle");
        assert_eq!(called.load(Ordering::SeqCst), 1);
        assert!(weak.upgrade().is_none());
        assert_eq!(heap.objects(None).unwrap().len(), 1, "only b is listed");
        assert_eq!(finalized.load(Ordering::SeqCst), 0);
        // The value owns its edge still.
        assert!(Gc::ptr_eq(a.next.borrow().as_ref().unwrap(), &b));
        drop(a);
        assert_eq!(Gc::ref_count(&b), 1);
        drop((b, weak));
        assert_eq!(finalized.load(Ordering::SeqCst), 1, "b died by count");
    }

    #[test]
    fn try_unwrap_from_another_thread_hands_the_object_back_to_its_shard() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &finalized);
        let weak = Gc::downgrade(&a);
        let value = std::thread::spawn(move || Gc::try_unwrap(a).ok().unwrap())
            .join()
            .unwrap();
        assert!(weak.upgrade().is_none());
        assert!(
            heap.objects(None).unwrap().is_empty(),
            "unlisted by its owner"
        );
        drop((value, weak));
        assert_eq!(finalized.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn try_unwrap_refuses_a_shared_or_collected_object() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &finalized);
        let any = GcAny::from(&a);
        let a = Gc::try_unwrap(a).err().expect("shared with a GcAny");
        drop(any);
        // A handle that escaped a torn-down cycle.
        #[derive(Trace)]
        struct Escape {
            me: GcCell<Option<Gc<Escape>>>,
            #[gc(skip)]
            out: Arc<std::sync::Mutex<Option<Gc<Escape>>>>,
        }
        impl Drop for Escape {
            fn drop(&mut self) {
                *self.out.lock().unwrap() = self.me.get_mut().take();
            }
        }
        let out = Arc::new(std::sync::Mutex::new(None));
        let e = heap.alloc(Escape {
            me: GcCell::new(None),
            out: out.clone(),
        });
        e.me.set(Some(e.clone()));
        drop(e);
        assert_eq!(heap.collect(), 1);
        let escaped = out.lock().unwrap().take().unwrap();
        assert!(Gc::try_unwrap(escaped).is_err(), "its value is dropped");
        drop(a);
    }

    #[test]
    fn get_mut_needs_the_only_handle_and_hides_the_value_from_collections() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let mut a = node(&heap, &finalized);
        let b = node(&heap, &finalized);
        {
            let mut guard = Gc::get_mut(&mut a).expect("the only handle");
            *guard.next.get_mut() = Some(b.clone());
            // A collection meanwhile keeps a and what it references, without reading it.
            assert_eq!(heap.collect(), 0);
            // A handle made meanwhile cannot read the value.
            let minted = heap
                .objects(None)
                .unwrap()
                .into_iter()
                .find_map(|o| o.downcast::<Node>().filter(|n| !Gc::ptr_eq(n, &b)))
                .unwrap();
            let read = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                minted.next.borrow().is_some()
            }));
            assert!(read.is_err());
            drop(minted);
            guard.next.get_mut().as_ref().unwrap();
        }
        assert!(a.next.borrow().is_some(), "readable again");
        let weak = Gc::downgrade(&a);
        assert!(Gc::get_mut(&mut a).is_none());
        drop(weak);
        // A cycle made through the guard is collected once the guard is gone.
        b.next.set(Some(a.clone()));
        drop((a, b));
        assert_eq!(heap.collect(), 2);
        assert_eq!(finalized.load(Ordering::SeqCst), 2);
    }

    /// Leaks on purpose, which Miri's leak check would report.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_forgotten_guard_leaks_its_object_instead_of_freeing_it_listed() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let mut a = node(&heap, &finalized);
        core::mem::forget(Gc::get_mut(&mut a).unwrap());
        drop(a);
        assert_eq!(heap.collect(), 0, "kept, unread");
        let kept = heap.objects(None).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept[0].ref_count(),
            2,
            "the guard's reference, and this one"
        );
        assert_eq!(finalized.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn get_mut_and_make_mut_of_untracked_values() {
        let heap = quiet_heap();
        let mut s = heap.alloc(String::from("a"));
        Gc::get_mut(&mut s).unwrap().push('b');
        let t = s.clone();
        Gc::make_mut(&mut s, &heap).push('c');
        assert_eq!((s.as_str(), t.as_str()), ("abc", "ab"));
        assert_eq!(Gc::ref_count(&t), 1);
        let weak = Gc::downgrade(&s);
        Gc::make_mut(&mut s, &heap).push('d');
        assert!(weak.upgrade().is_none(), "the old object died");
        assert_eq!(s.as_str(), "abcd");
    }

    #[test]
    fn make_mut_of_a_shared_tracked_value_clones_it_onto_the_heap() {
        #[derive(Trace, Clone)]
        struct Edges(Vec<Gc<Edges>>);
        let heap = quiet_heap();
        let leaf = heap.alloc(Edges(Vec::new()));
        let mut a = heap.alloc(Edges(vec![leaf.clone()]));
        let b = a.clone();
        Gc::make_mut(&mut a, &heap).0.push(leaf.clone());
        assert_eq!((a.0.len(), b.0.len()), (2, 1));
        assert_eq!(Gc::ref_count(&leaf), 4);
        assert_eq!(heap.objects(None).unwrap().len(), 3);
        drop((a, b, leaf));
        assert!(heap.objects(None).unwrap().is_empty());
    }
}
