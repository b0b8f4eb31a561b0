//! Reference-count death: what happens when the last strong handle goes.
//!
//! In CPython's order: the finalizer (weak references still alive inside it; it may
//! resurrect), then the object leaves its generation list, its weak references are cleared and
//! their callbacks run newest first, then the value is dropped and — once no weak handle
//! remains — the allocation freed. A `Drop` that panics does not stop the rest: the panic
//! reaches the dropper, as with `Box`, after the allocation is freed (or handed to its shard's
//! owner).
//!
//! Dropping a value drops its handles, which may free their objects, and so on down a chain.
//! The *trashcan* (CPython's `Py_TRASHCAN_BEGIN`) bounds that recursion: past a fixed depth,
//! dead objects are queued for the outermost frame, so a chain of any length is freed in
//! constant stack and linear time. The queue lives on the outermost frame's stack and the
//! thread-local only points at it: with no destructor of its own, the trashcan works in other
//! thread-locals' destructors at thread exit too.

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::finalize;
use crate::header::{flag, Header};
use crate::seeded;
use crate::weak;
use crate::world;

/// Nesting depth at which destruction is deferred to the outermost frame.
const TRASHCAN_DEPTH: usize = 64;

/// The trashcan of one thread: how deep destruction is nested, and the outermost frame's
/// queue of objects waiting for it (null outside any destruction).
struct Trashcan {
    depth: Cell<usize>,
    queue: Cell<*mut Vec<NonNull<Header>>>,
}

crate::sync::thread_local_facade! {
    static TRASHCAN: Trashcan = Trashcan {
        depth: Cell::new(0),
        queue: Cell::new(ptr::null_mut()),
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
            // SAFETY: past depth 0 the queue is the outermost frame's, alive on this thread's
            // stack below this call; no reference to it is held across this push.
            unsafe { (*can.queue.get()).push(ptr) };
            return;
        }
        if depth > 0 {
            let _depth = Depth(can, depth);
            can.depth.set(depth + 1);
            // SAFETY: forwarded from the caller.
            return unsafe { destroy(ptr) };
        }
        let mut queue = Vec::new();
        let queue: *mut Vec<NonNull<Header>> = &mut queue;
        can.queue.set(queue);
        can.depth.set(1);
        let outermost = Outermost { can, queue };
        // SAFETY: forwarded from the caller.
        unsafe { destroy(ptr) };
        // SAFETY: the queue is this frame's; nested frames only push while they run.
        while let Some(next) = unsafe { (*queue).pop() } {
            // SAFETY: only objects whose count reached zero are queued, each once.
            unsafe { destroy(next) };
        }
        drop(outermost);
    })
}

/// Restores the nesting depth of a frame, on unwind too.
struct Depth<'a>(&'a Trashcan, usize);

impl Drop for Depth<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.1);
    }
}

/// The outermost frame's end. If a `Drop` unwinds through it, the objects still queued are
/// destroyed here (each behind `catch_unwind`: a second panic is reported, not raised while the
/// first unwinds) before the panic goes on.
struct Outermost<'a> {
    can: &'a Trashcan,
    queue: *mut Vec<NonNull<Header>>,
}

impl Drop for Outermost<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // SAFETY: the queue is this frame's; the nested frames have unwound.
            while let Some(next) = unsafe { (*self.queue).pop() } {
                let destroyed = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                    // SAFETY: a queued object's count reached zero; it is destroyed once.
                    unsafe { destroy(next) }
                }));
                if let Err(payload) = destroyed {
                    finalize::report_panic("Drop", "a queued object", &*payload);
                }
            }
        }
        self.can.queue.set(ptr::null_mut());
        self.can.depth.set(0);
    }
}

/// Destroys one dead object, holding the world when the collector could be looking at it.
///
/// # Safety
/// As for [`last_reference_gone`].
unsafe fn destroy(ptr: NonNull<Header>) {
    // SAFETY: the allocation lives until `dec_weak` below says otherwise.
    let header = unsafe { ptr.as_ref() };
    if header.has(flag::TRACKED) && !seeded::FREE_NO_HOLD {
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
    if header.has(flag::DROPPED) {
        // A collection's teardown dropped the value already; its reference was the last.
        // SAFETY: no handle of either kind remains once `dec_weak` says so.
        return unsafe { free_if_last(ptr) };
    }
    if header.flags() & (flag::HAS_FINALIZER | flag::FINALIZED) == flag::HAS_FINALIZER {
        // The finalizer gets a temporary strong reference (CPython's temporary resurrection);
        // if it is not the last one afterwards, the object was resurrected.
        header.strong.store(1, crate::sync::Ordering::Relaxed);
        // SAFETY: the object is intact and we own the temporary reference.
        unsafe { finalize::run(ptr) };
        if !header.dec_strong() {
            return;
        }
    }
    // A listed object keeps its heap alive; holding the world, the collector is not moving it
    // between lists. Off the list now if its shard is this thread's.
    let handed_over = header.has(flag::LISTED)
        // SAFETY: listed on its heap, and dying.
        && !unsafe { (*header.heap).unlist_if_mine(ptr) };
    if header.has(flag::HAS_WEAK_CALLBACKS) {
        weak::run_callbacks(header);
    }
    // Dead: no other thread writes these flags any more. From here on a collection that meets
    // the object on its list (handed over, waiting for the owner) never traces it: its value
    // is being dropped.
    header.flags.store(
        header.flags() | flag::DROPPED,
        crate::sync::Ordering::Relaxed,
    );
    let _finish = Finish { ptr, handed_over };
    // SAFETY: no strong handle remains and the value has not been dropped.
    unsafe { (header.vtable.drop_value)(ptr.as_ptr()) };
}

/// What follows the drop of a dying object's value, on unwind too: the shard's owner is handed
/// the object to unlist and free, or the allocation is freed here once no weak handle remains.
struct Finish {
    ptr: NonNull<Header>,
    handed_over: bool,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if seeded::NO_HANDOVER_ON_UNWIND && std::thread::panicking() {
            return;
        }
        // SAFETY: the allocation lives until freed below (or by the owner, or the entry).
        let header = unsafe { self.ptr.as_ref() };
        if self.handed_over {
            // SAFETY: still listed, so its heap is alive; the owner unlists and frees it.
            unsafe { (*header.heap).hand_over_dead(self.ptr) };
        } else if !crate::candidates::dead(header) {
            // SAFETY: the value is dropped and no strong handle remains. (A recorded
            // candidate's allocation is its entry's to free: `candidates::let_go`.)
            unsafe { free_if_last(self.ptr) };
        }
    }
}

/// Gives up the strong handles' weak reference, freeing the allocation if it was the last.
///
/// # Safety
/// The value is dropped and no strong handle remains.
unsafe fn free_if_last(ptr: NonNull<Header>) {
    // SAFETY: alive until this says otherwise.
    if unsafe { ptr.as_ref() }.dec_weak() {
        // SAFETY: no handle of either kind remains.
        unsafe { (ptr.as_ref().vtable.dealloc)(ptr.as_ptr()) };
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

    /// A node whose `Drop` panics.
    #[derive(Trace)]
    struct Brittle {
        next: GcCell<Option<Gc<Brittle>>>,
    }

    impl Drop for Brittle {
        fn drop(&mut self) {
            panic!("Brittle refuses to drop");
        }
    }

    #[test]
    fn a_drop_that_panics_still_frees_the_allocation() {
        let heap = heap();
        let tracked = heap.alloc(Brittle {
            next: GcCell::new(None),
        });
        let weak = Gc::downgrade(&tracked);
        let dropped = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| drop(tracked)));
        assert!(dropped.is_err(), "the panic reaches the dropper");
        assert!(weak.upgrade().is_none());
        assert!(heap.objects(None).unwrap().is_empty(), "unlisted");
        // Miri's leak check: the allocation is freed once the weak handle goes.
        drop(weak);
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
