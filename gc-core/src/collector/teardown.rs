//! Phase 7, teardown: destroy the garbage.
//!
//! Every member is flagged `TEARDOWN` before any value is dropped, so from then on any access
//! to a member through a handle — a `Drop` impl reaching a sibling in its cycle, say — panics
//! with a clear message instead of seeing a dropped value. Usually the scan set the flag already,
//! with the world stopped (no finalizer or weak callback of the garbage had to run first:
//! nothing else can reach it); otherwise a first pass here sets it. The collector's extra reference
//! keeps every allocation valid until all values are dropped; then the references go, and each
//! allocation is freed once its last handle (or weak handle) is gone.

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
    for (i, object) in garbage.iter().enumerate() {
        if let Some(ahead) = garbage.get(i + PREFETCH) {
            prefetch(ahead.0.as_ptr());
        }
        let header = object.header();
        let dropped = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            // SAFETY: the value is intact, and no one else can reach it: members of the
            // garbage are unreachable and every handle access to them panics (TEARDOWN).
            unsafe { (header.vtable.drop_value)(object.0.as_ptr()) }
        }));
        if let Err(payload) = dropped {
            panicked += 1;
            report_panic("Drop during collection", header.type_name(), &*payload);
            if debug.contains(DebugFlags::UNCOLLECTABLE) {
                eprintln!(
                    "gc: uncollectable <{} {:#x}>",
                    header.type_name(),
                    object.0.as_ptr() as usize
                );
            }
        }
    }
    for (i, object) in garbage.iter().enumerate() {
        if let Some(ahead) = garbage.get(i + PREFETCH) {
            prefetch(ahead.0.as_ptr());
        }
        let header = object.header();
        // The collector's reference is usually the last: free directly (value dropped, off
        // every list, weak references cleared). When it is the only reference of either kind,
        // no other thread can make or drop one, so plain loads tell; an escaped handle or a
        // weak one frees it later instead.
        let alone =
            header.strong.load(Ordering::Acquire) == 1 && header.weak.load(Ordering::Acquire) == 1;
        if alone || (header.dec_strong() && header.dec_weak()) {
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

/// `DebugFlags::SAVEALL`: keep the garbage alive in `Heap::garbage`, on the oldest list.
pub(crate) fn save_all(heap: &HeapInner, garbage: Vec<Object>) {
    hand_back(heap, garbage.iter().copied(), heap.generations() - 1);
    // SAFETY: each member carries the collector's extra reference, handed over here.
    let handles = garbage
        .into_iter()
        .map(|o| unsafe { GcAny::from_owned(o.0) });
    heap.state.lock().garbage.extend(handles);
}
