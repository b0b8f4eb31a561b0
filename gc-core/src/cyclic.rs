//! [`Gc::new_cyclic`]: an object built around a weak handle to itself, as `Arc::new_cyclic`.
//!
//! The allocation is made first, its header in place with a strong count of 0 and one weak
//! reference, which the closure borrows: upgrading it fails, since no strong handle exists yet,
//! and clones of it may be kept in the value. The object is tracked from the start (the flag
//! is in the header before any weak handle exists, so every upgrade holds the world), but it is
//! listed only once the value is written, so no collection can meet it half made. Then, under
//! one hold of the world, it is listed and its strong count set to 1 with a release store,
//! which publishes the value to any upgrade that succeeds from then on; the first weak
//! reference becomes the strong handles' own. If the closure panics, that weak reference is
//! dropped: the allocation is freed when the last clone of it goes, and no value is dropped.

use core::alloc::Layout;
use core::mem::ManuallyDrop;

use crate::handle::Gc;
use crate::header::{flag, GcBox, Header, VTable};
use crate::heap::{Heap, HeapInner};
use crate::sync::{AtomicU32, Ordering};
use crate::trace::Trace;
use crate::weak::Weak;

impl<T: Trace + Send + 'static> Gc<T> {
    /// Allocates on `heap` the value `data_fn` builds, giving it a weak handle to the object
    /// being made (as `Arc::new_cyclic`), so the value can refer to itself without a strong
    /// cycle. Upgrading that handle inside `data_fn` gives `None`; afterwards it upgrades as
    /// any other.
    ///
    /// ```
    /// use gc_core::{Gc, Heap, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Window {
    ///     title: String,
    ///     me: Weak<Window>,
    /// }
    ///
    /// let heap = Heap::new();
    /// let window = Gc::new_cyclic(&heap, |me| {
    ///     assert!(me.upgrade().is_none(), "not made yet");
    ///     Window { title: "main".into(), me: me.clone() }
    /// });
    /// assert!(Gc::ptr_eq(&window.me.upgrade().unwrap(), &window));
    /// let me = window.me.clone();
    /// drop(window); // no strong cycle: freed by reference count
    /// assert!(me.upgrade().is_none());
    /// ```
    pub fn new_cyclic(heap: &Heap, data_fn: impl FnOnce(&Weak<T>) -> T) -> Gc<T> {
        let inner: &HeapInner = &heap.inner;
        let mut flags = if T::FINALIZER.is_some() {
            flag::HAS_FINALIZER
        } else {
            0
        };
        let owner = if T::TRACKED {
            flags |= flag::TRACKED;
            inner as *const HeapInner
        } else {
            core::ptr::null()
        };
        let mut header = Header::new(VTable::of::<T>(), flags, owner);
        header.strong = AtomicU32::new(0);
        // SAFETY: `GcBox` is never zero-sized (it has a header).
        let (raw, pooled) =
            unsafe { crate::alloc::allocate(Layout::new::<GcBox<T>>(), inner.config().pool) };
        if pooled {
            header.set(flag::POOLED);
        }
        let object = raw.cast::<GcBox<T>>();
        // SAFETY: freshly allocated with `GcBox<T>`'s layout, which starts with the header; the
        // value is left uninitialised until `data_fn` returns.
        unsafe { object.cast::<Header>().as_ptr().write(header) };
        // SAFETY: the allocation's one weak reference, which the handle now owns; no callback.
        let weak = unsafe { Weak::from_parts(object, None) };
        let value = data_fn(&weak);
        // The weak reference stays: it becomes the strong handles' own.
        let (object, _) = Weak::into_parts(weak);
        // SAFETY: the value's place is in the allocation and uninitialised; no one reads it
        // before the strong count, stored below with release, says it is there.
        unsafe { (&raw mut (*object.as_ptr()).value).write(ManuallyDrop::new(value)) };
        // SAFETY: the weak reference kept above keeps the header alive.
        let header = unsafe { object.cast::<Header>().as_ref() };
        if T::TRACKED {
            inner.list_new(core::mem::size_of::<GcBox<T>>(), |listing| {
                header.set(listing);
                header.strong.store(1, Ordering::Release);
                object.cast::<Header>()
            });
        } else {
            header.strong.store(1, Ordering::Release);
        }
        // SAFETY: the strong count is 1, owned by the new handle; the value is a `T`.
        unsafe { Gc::from_box(object) }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use crate::test_support::quiet_heap;
    use crate::{Finalize, Gc, GcCell, Trace, Weak};

    #[derive(Trace)]
    #[gc(finalize)]
    struct Parent {
        me: Weak<Parent>,
        children: GcCell<Vec<Gc<Child>>>,
        #[gc(skip)]
        finalized: Arc<AtomicUsize>,
    }

    impl Finalize for Parent {
        fn finalize(this: &Gc<Self>) {
            this.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Trace)]
    struct Child {
        parent: GcCell<Option<Gc<Parent>>>,
    }

    #[test]
    fn the_weak_handle_upgrades_only_once_the_object_is_made() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let parent = Gc::new_cyclic(&heap, |me| {
            assert!(me.upgrade().is_none());
            assert_eq!(me.strong_count(), 0);
            // Collections and allocations inside the closure never meet the object.
            let child = heap.alloc(Child {
                parent: GcCell::new(None),
            });
            assert_eq!(heap.collect(), 0);
            Parent {
                me: me.clone(),
                children: GcCell::new(vec![child]),
                finalized: finalized.clone(),
            }
        });
        assert!(Gc::ptr_eq(&parent.me.upgrade().unwrap(), &parent));
        assert!(Gc::is_tracked(&parent));
        assert_eq!(heap.objects(None).unwrap().len(), 2);
        assert_eq!(
            heap.count()[0],
            1,
            "counted as an allocation (after the collection)"
        );
        // A strong cycle through the child is collected, the finalizer run.
        let child = parent.children.borrow()[0].clone();
        child.parent.set(Some(parent.clone()));
        drop((parent, child));
        assert_eq!(heap.collect(), 2);
        assert_eq!(finalized.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_closure_frees_the_allocation_without_a_value() {
        let heap = quiet_heap();
        let kept: Arc<Mutex<Option<Weak<Parent>>>> = Arc::default();
        let keep = kept.clone();
        let made = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            Gc::new_cyclic(&heap, |me: &Weak<Parent>| {
                *keep.lock().unwrap() = Some(me.clone());
                panic!("no parent today")
            })
        }));
        assert!(made.is_err());
        let weak = kept.lock().unwrap().take().unwrap();
        assert!(weak.upgrade().is_none());
        assert!(heap.objects(None).unwrap().is_empty());
        // Miri's leak check: the last weak handle frees the allocation.
        drop(weak);
    }

    #[test]
    fn untracked_values_and_other_threads() {
        let heap = quiet_heap();
        let s = Gc::new_cyclic(&heap, |me: &Weak<(u32, Weak<()>)>| {
            assert!(me.upgrade().is_none());
            (7, Weak::new())
        });
        assert!(!Gc::is_tracked(&s));
        assert_eq!(s.0, 7);
        // One shard, the main thread's: another thread's object waits in its inbox.
        let heap = crate::Heap::with_config(crate::Config::default().workers(1).shards(1))
            .expect("a valid configuration");
        heap.disable();
        let parent = |heap: &crate::Heap| {
            Gc::new_cyclic(heap, |me| Parent {
                me: me.clone(),
                children: GcCell::new(Vec::new()),
                finalized: Arc::default(),
            })
        };
        let mine = parent(&heap);
        let heap2 = heap.clone();
        let theirs = std::thread::spawn(move || parent(&heap2)).join().unwrap();
        assert_eq!(heap.objects(None).unwrap().len(), 2);
        assert!(Gc::ptr_eq(&theirs.me.upgrade().unwrap(), &theirs));
        drop((mine, theirs));
        assert!(heap.objects(None).unwrap().is_empty());
    }
}
