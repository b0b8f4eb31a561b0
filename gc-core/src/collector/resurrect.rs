//! Phases 4–6, with the world running: clear weak references to the garbage and run their
//! callbacks, run finalizers, then — with the world stopped once more — find what the
//! finalizers resurrected.
//!
//! The collector holds one extra strong reference on every unreachable object, so nothing in
//! the set can die while finalizers run. The resurrection check repeats trial deletion over the
//! unreachable set alone (its counts minus the collector's own reference): whatever is
//! referenced from outside it now, and everything that reaches, was resurrected and goes back
//! on the lists intact — not a field cleared. What remains is garbage for good.

use std::time::Duration;

use super::gather::{hand_back, relist, Scan};
use super::mark::{is_root, mark_from};
use super::subtract_refs::subtract_sequential;
use super::Object;
use crate::finalize;
use crate::header::flag;
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::weak;
use crate::world;

/// Runs weak callbacks and finalizers of the unreachable set; returns what is still garbage.
pub(crate) fn finalize(
    heap: &HeapInner,
    scan: Scan,
    timeout: Option<Duration>,
    pause: &mut Duration,
) -> Vec<Object> {
    let Scan {
        gen,
        unreachable,
        garbage_callbacks,
        ..
    } = scan;
    run_weak_callbacks(&unreachable, &garbage_callbacks);
    let mut finalized_any = false;
    for object in &unreachable {
        let header = object.header();
        if header.flags() & (flag::HAS_FINALIZER | flag::FINALIZED) == flag::HAS_FINALIZER {
            // SAFETY: the collector's extra reference stands in for the finalizer's handle,
            // and the object is intact.
            unsafe { finalize::run(object.0) };
            finalized_any = true;
        }
    }
    #[cfg(gc_seeded_bug = "no_resurrection_check")]
    let finalized_any = false;
    if !finalized_any {
        clear_membership(&unreachable);
        return unreachable;
    }
    let dest = (gen + 1).min(heap.generations() - 1);
    let Ok(stopped) = world::stop(timeout) else {
        // A bounded wait ran out: keep everything. Finalizers never run twice, so the next
        // collection tears the garbage down without this check.
        clear_membership(&unreachable);
        hand_back(heap, unreachable.iter().copied(), dest);
        release(&unreachable);
        return Vec::new();
    };
    let (resurrected, garbage) = find_resurrected(&unreachable);
    relist(heap, resurrected.iter().copied(), dest);
    clear_membership(&unreachable);
    *pause += stopped.started().elapsed();
    drop(stopped);
    release(&resurrected);
    garbage
}

/// Trial deletion restricted to the unreachable set. The world is stopped.
fn find_resurrected(unreachable: &[Object]) -> (Vec<Object>, Vec<Object>) {
    for object in unreachable {
        let header = object.header();
        // Minus the collector's own reference.
        let refs = header.strong_count().saturating_sub(1);
        header.index.store(refs, Ordering::Relaxed);
    }
    subtract_sequential(unreachable);
    mark_from(unreachable.iter().copied().filter(|o| is_root(o.header())));
    unreachable
        .iter()
        .partition(|o| o.header().has(flag::REACHABLE))
}

fn clear_membership(objects: &[Object]) {
    for object in objects {
        object
            .header()
            .clear(flag::IN_SET | flag::REACHABLE | flag::PINNED);
    }
}

/// Gives back the collector's extra references.
pub(crate) fn release(objects: &[Object]) {
    for object in objects {
        if object.header().dec_strong() {
            // SAFETY: the count just reached zero.
            unsafe { crate::reclaim::last_reference_gone(object.0) };
        }
    }
}

/// Runs the callbacks of weak references to the garbage — except those registered by weak
/// handles that are garbage themselves — newest first per object.
fn run_weak_callbacks(unreachable: &[Object], garbage_callbacks: &std::collections::HashSet<u64>) {
    for object in unreachable {
        let header = object.header();
        if !header.has(flag::HAS_WEAK_CALLBACKS) {
            continue;
        }
        let (run, skip): (Vec<_>, Vec<_>) = weak::take_callbacks(header)
            .into_iter()
            .partition(|(id, _)| !garbage_callbacks.contains(id));
        drop(skip);
        weak::run(run, header.type_name());
    }
}
