//! Reference-count death: what happens when the last strong handle goes.
//!
//! In CPython's order: the finalizer (weak references still alive inside it; it may
//! resurrect), then the object leaves its generation list, its weak references are cleared and
//! their callbacks run newest first, then the value is dropped and — once no weak handle
//! remains — the allocation freed.
//!
//! Dropping a value drops its handles, which may free their objects, and so on down a chain.
//! The *trashcan* (CPython's `Py_TRASHCAN_BEGIN`) bounds that recursion: past a fixed depth,
//! dead objects are queued on a thread-local list and destroyed by the outermost frame, so a
//! chain of any length is freed in constant stack and linear time.

use core::cell::{Cell, RefCell};
use core::ptr::NonNull;

use crate::finalize;
use crate::header::{flag, Header};
use crate::weak;
use crate::world;

/// Nesting depth at which destruction is deferred to the outermost frame.
const TRASHCAN_DEPTH: usize = 64;

/// The trashcan of one thread: how deep destruction is nested, and what waits for the
/// outermost frame.
struct Trashcan {
    depth: Cell<usize>,
    deferred: RefCell<Vec<NonNull<Header>>>,
    /// `deferred` is non-empty (checked without borrowing it).
    pending: Cell<bool>,
}

crate::sync::thread_local_facade! {
    static TRASHCAN: Trashcan = Trashcan {
        depth: Cell::new(0),
        deferred: RefCell::new(Vec::new()),
        pending: Cell::new(false),
    };
}

/// Destroys an object whose strong count just reached zero.
///
/// # Safety
/// `ptr` is a live object whose strong count the caller has just brought to zero.
pub(crate) unsafe fn last_reference_gone(ptr: NonNull<Header>) {
    TRASHCAN.with(|can| {
        let depth = can.depth.get();
        if depth >= TRASHCAN_DEPTH {
            can.deferred.borrow_mut().push(ptr);
            can.pending.set(true);
            return;
        }
        struct Depth<'a>(&'a Cell<usize>, usize);
        impl Drop for Depth<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        can.depth.set(depth + 1);
        let _depth = Depth(&can.depth, depth);
        // SAFETY: forwarded from the caller.
        unsafe { destroy(ptr) };
        if depth == 0 && can.pending.get() {
            loop {
                let next = can.deferred.borrow_mut().pop();
                let Some(next) = next else { break };
                // SAFETY: only objects whose count reached zero are queued, each once.
                unsafe { destroy(next) };
            }
            can.pending.set(false);
        }
    })
}

/// Destroys one dead object, holding the world when the collector could be looking at it.
///
/// # Safety
/// As for [`last_reference_gone`].
unsafe fn destroy(ptr: NonNull<Header>) {
    // SAFETY: the allocation lives until `dec_weak` below says otherwise.
    let header = unsafe { ptr.as_ref() };
    if header.has(flag::TRACKED) && !cfg!(gc_seeded_bug = "free_no_hold") {
        // SAFETY: forwarded.
        world::held(|| unsafe { destroy_held(ptr) });
    } else {
        // SAFETY: forwarded; no collector reads an untracked object.
        unsafe { destroy_held(ptr) };
    }
}

/// Takes the pointer alone (no `&Header` argument): the allocation may be freed before this
/// returns, which a reference argument would forbid.
///
/// # Safety
/// As for [`last_reference_gone`]; a tracked object's world hold is taken.
unsafe fn destroy_held(ptr: NonNull<Header>) {
    // SAFETY: the allocation lives until `dec_weak` below says otherwise.
    let header = unsafe { ptr.as_ref() };
    if !header.has(flag::DROPPED) {
        if header.flags() & (flag::HAS_FINALIZER | flag::FINALIZED) == flag::HAS_FINALIZER {
            // The finalizer gets a temporary strong reference (CPython's temporary
            // resurrection); if it is not the last one afterwards, the object was resurrected.
            header.strong.store(1, crate::sync::Ordering::Relaxed);
            // SAFETY: the object is intact and we own the temporary reference.
            unsafe { finalize::run(ptr) };
            if !header.dec_strong() {
                return;
            }
        }
        // A listed object keeps its heap alive; holding the world, the collector is not
        // moving it between lists. Off the list now if its shard is this thread's.
        let handed_over = header.has(flag::LISTED)
            // SAFETY: listed on its heap, and dying.
            && !unsafe { (*header.heap).unlist_if_mine(ptr) };
        if header.has(flag::HAS_WEAK_CALLBACKS) {
            weak::run_callbacks(header);
        }
        // Dead: no other thread writes these flags any more.
        header.flags.store(
            header.flags() | flag::DROPPED,
            crate::sync::Ordering::Relaxed,
        );
        // SAFETY: no strong handle remains and the value has not been dropped.
        unsafe { (header.vtable.drop_value)(ptr.as_ptr()) };
        if handed_over {
            // The shard's owner unlists the object and frees the allocation.
            // SAFETY: still listed, so its heap is alive.
            unsafe { (*header.heap).hand_over_dead(ptr) };
            return;
        }
    }
    if header.dec_weak() {
        // SAFETY: no handle of either kind remains.
        unsafe { (header.vtable.dealloc)(ptr.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_support::quiet_heap as heap;
    use crate::{Finalize, Gc, GcCell, Trace};

    #[derive(Trace)]
    #[gc(finalize)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
        #[gc(skip)]
        deaths: Arc<AtomicUsize>,
    }

    impl Finalize for Node {
        fn finalize(this: &Gc<Self>) {
            this.deaths.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn refcount_death_runs_finalizer_clears_weak_and_frees() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        let a = heap.alloc(Node {
            next: GcCell::new(None),
            deaths: deaths.clone(),
        });
        let b = a.clone();
        let weak = Gc::downgrade(&a);
        drop(a);
        assert_eq!(deaths.load(Ordering::SeqCst), 0);
        drop(b);
        assert_eq!(deaths.load(Ordering::SeqCst), 1);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn chains_past_the_trashcan_depth_are_freed_iteratively() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        let mut head: Option<Gc<Node>> = None;
        for _ in 0..300 {
            head = Some(heap.alloc(Node {
                next: GcCell::new(head.take()),
                deaths: deaths.clone(),
            }));
        }
        drop(head);
        assert_eq!(deaths.load(Ordering::SeqCst), 300);
    }

    #[test]
    fn untracked_values_are_plain_counted_boxes() {
        let heap = heap();
        let s = heap.alloc(String::from("hello"));
        let t = s.clone();
        let w = Gc::downgrade(&s);
        drop(s);
        assert_eq!(t.as_str(), "hello");
        drop(t);
        assert!(w.upgrade().is_none());
    }
}
