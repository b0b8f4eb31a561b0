//! Phase 7, teardown: destroy the garbage.
//!
//! Every member is flagged `TEARDOWN` before any value is dropped, so from then on any access
//! to a member through a handle — a `Drop` impl reaching a sibling in its cycle, say — panics
//! with a clear message instead of seeing a dropped value. Usually the scan set the flag already,
//! with the world stopped (no finalizer or weak callback of the garbage had to run first:
//! nothing else can reach it); otherwise a first pass here sets it.
//!
//! The values are then dropped a block at a time. The collector's extra reference keeps each
//! allocation valid while a handle to it may remain: after each block, the members of the block
//! before it that have no other reference of either kind are freed at once (nothing can reach
//! them any more); the others are released after the last drop, and freed with their last
//! handle.

use super::gather::hand_back;
use super::region::{prefetch, PREFETCH};
use crate::finalize::report_panic;
use crate::generation::Object;
use crate::handle::GcAny;
use crate::header::flag;
use crate::heap::HeapInner;
use crate::stats::DebugFlags;
use crate::sync::Ordering;

/// Drops the values of `garbage` and frees it; returns how many `Drop`s panicked. `torn`:
/// the scan flagged it for teardown already. The emptied list goes back to the heap's scratch.
pub(crate) fn tear_down(
    heap: &HeapInner,
    mut garbage: Vec<Object>,
    torn: bool,
    debug: DebugFlags,
) -> usize {
    if !torn {
        for object in &garbage {
            let header = object.header();
            // No other thread writes a garbage object's flags: it holds no strong handle (weak
            // callbacks are registered through one, and only the collector takes them).
            let flags = (header.flags() & !flag::IN_SET) | flag::TEARDOWN | flag::DROPPED;
            header.flags.store(flags, Ordering::Relaxed);
        }
    }
    let mut panicked = 0;
    // The values are dropped a block at a time, and each block's members freed after the next
    // block is dropped. Those still referenced then are kept at the front of `garbage` (`kept`
    // of them, never past a member not yet checked) for the last pass.
    let (mut kept, mut checked) = (0, 0);
    for start in (0..garbage.len()).step_by(BLOCK) {
        let end = (start + BLOCK).min(garbage.len());
        for i in start..end {
            if let Some(ahead) = garbage.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            if !drop_value(garbage[i], debug) {
                panicked += 1;
            }
        }
        for at in checked..start {
            kept += keep_unless_freed(&mut garbage, at, kept);
        }
        checked = start;
    }
    for at in checked..garbage.len() {
        kept += keep_unless_freed(&mut garbage, at, kept);
    }
    for &object in &garbage[..kept] {
        let header = object.header();
        // Values all dropped: the collector's reference goes, and the allocation with it once
        // no other handle (one that escaped through a `Drop`, or a weak one) remains.
        if header.dec_strong() && header.dec_weak() {
            // SAFETY: no handle of either kind remains and the value is dropped.
            unsafe { (header.vtable.dealloc)(object.0.as_ptr()) };
        }
    }
    let (used, capacity) = (garbage.len(), garbage.capacity());
    garbage.clear();
    heap.scratch
        .lock()
        .garbage
        .give_back(garbage, used, capacity);
    panicked
}

/// Members dropped between two rounds of freeing: each member is checked for freeing after the
/// block that follows its own is dropped. By then the neighbours in the garbage that hold most of
/// the references to it (in a ring, a list, a tree built in order) are dropped, and its header
/// is still in cache; freeing in bursts keeps the allocator's work apart from the drops.
const BLOCK: usize = 32;

/// Drops the value of `object`, a member of the garbage; false if its `Drop` panicked (reported
/// on stderr, and named uncollectable with `debug`).
fn drop_value(object: Object, debug: DebugFlags) -> bool {
    let header = object.header();
    let dropped = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        // SAFETY: the value is intact, and no one else can reach it: members of the garbage
        // are unreachable and every handle access to them panics (TEARDOWN).
        unsafe { (header.vtable.drop_value)(object.0.as_ptr()) }
    }));
    let Err(payload) = dropped else {
        return true;
    };
    report_panic("Drop during collection", header.type_name(), &*payload);
    if debug.contains(DebugFlags::UNCOLLECTABLE) {
        eprintln!(
            "gc: uncollectable <{} {:#x}>",
            header.type_name(),
            object.0.as_ptr() as usize
        );
    }
    false
}

/// Frees `garbage[at]`, whose value is dropped, if the collector's reference is the only
/// reference of either kind left; otherwise moves it to `garbage[kept]` (`kept <= at`) for
/// the last pass and returns 1.
///
/// Freeing before the other values are dropped is safe here: with no strong handle and no weak
/// one left, nothing can reach the object any more — a handle is made only from another handle
/// (a weak one cannot upgrade: its references are cleared). Both counts are read with plain
/// loads: with no other reference, no other thread can change them.
fn keep_unless_freed(garbage: &mut [Object], at: usize, kept: usize) -> usize {
    let object = garbage[at];
    let header = object.header();
    if header.strong.load(Ordering::Acquire) == 1 && header.weak.load(Ordering::Acquire) == 1 {
        // SAFETY: its value is dropped, and no handle of either kind remains: see above.
        unsafe { (header.vtable.dealloc)(object.0.as_ptr()) };
        0
    } else {
        garbage[kept] = object;
        1
    }
}

/// `DebugFlags::SAVEALL`: keep the garbage alive in `Heap::garbage`, on the oldest list.
pub(crate) fn save_all(heap: &HeapInner, garbage: Vec<Object>) {
    hand_back(heap, garbage.iter().copied(), heap.generations() - 1);
    // SAFETY: each member carries the collector's extra reference, handed over here.
    let handles = garbage
        .into_iter()
        .map(|o| unsafe { GcAny::from_owned(o.0) });
    heap.state.lock().garbage.extend(handles);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    use std::sync::{Arc, Mutex};

    use super::BLOCK;
    use crate::test_support::quiet_heap as heap;
    use crate::{Gc, GcCell, Trace, Weak};

    /// A member of a garbage ring whose `Drop` moves, escapes and drops a handle to a member
    /// dropped long before it (`back`, several blocks earlier), and tries a weak one.
    #[derive(Trace)]
    struct Link {
        next: GcCell<Option<Gc<Link>>>,
        back: GcCell<Option<Gc<Link>>>,
        #[gc(skip)]
        weak_back: Option<Weak<Link>>,
        #[gc(skip)]
        escaped: Option<Arc<Mutex<Vec<Gc<Link>>>>>,
        #[gc(skip)]
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Link {
        fn drop(&mut self) {
            let back = self.back.get_mut().take();
            if let (Some(escaped), Some(back)) = (&self.escaped, &back) {
                escaped.lock().unwrap().push(back.clone());
            }
            drop(back);
            if let Some(weak) = &self.weak_back {
                assert!(
                    weak.upgrade().is_none(),
                    "a judged member cannot be upgraded"
                );
            }
            self.drops.fetch_add(1, StdOrdering::SeqCst);
        }
    }

    #[test]
    fn members_freed_during_the_drops_are_never_reached_by_a_later_drop() {
        let heap = heap();
        let drops = Arc::new(AtomicUsize::new(0));
        let escaped = Arc::new(Mutex::new(Vec::new()));
        let (n, far) = (5 * BLOCK, 2 * BLOCK + 3);
        let links: Vec<Gc<Link>> = (0..n)
            .map(|i| {
                heap.alloc(Link {
                    next: GcCell::new(None),
                    back: GcCell::new(None),
                    weak_back: None,
                    escaped: (i % 7 == 0).then(|| escaped.clone()),
                    drops: drops.clone(),
                })
            })
            .collect();
        for (i, link) in links.iter().enumerate() {
            *link.next.borrow_mut() = Some(links[(i + 1) % n].clone());
            if i >= far {
                *link.back.borrow_mut() = Some(links[i - far].clone());
            }
        }
        // Weak references made through the values are dropped with them: build them into
        // fresh members that point far back.
        let weak_holders: Vec<Gc<Link>> = (0..BLOCK)
            .map(|i| {
                heap.alloc(Link {
                    next: GcCell::new(Some(links[i].clone())),
                    back: GcCell::new(None),
                    weak_back: Some(Gc::downgrade(&links[n - 1 - i])),
                    escaped: None,
                    drops: drops.clone(),
                })
            })
            .collect();
        *links[n - 1].back.borrow_mut() = Some(weak_holders[BLOCK - 1].clone());
        for pair in weak_holders.windows(2) {
            *pair[1].back.borrow_mut() = Some(pair[0].clone());
        }
        let total = n + BLOCK;
        drop((links, weak_holders));
        assert_eq!(heap.collect(), total);
        assert_eq!(
            drops.load(StdOrdering::SeqCst),
            total,
            "every value dropped"
        );
        let escaped = std::mem::take(&mut *escaped.lock().unwrap());
        assert!(!escaped.is_empty());
        for link in &escaped {
            assert_eq!(Gc::ref_count(link), 1, "only the escaped handle is left");
        }
        // The escaped members are freed with their last handle (Miri reports a leak or a use
        // after free otherwise).
        drop(escaped);
        assert_eq!(heap.collect(), 0);
    }
}
