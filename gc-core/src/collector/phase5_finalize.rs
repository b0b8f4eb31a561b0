//! Phase 5, finalize, with the world running: the callbacks of weak references to the garbage
//! (cleared in phase 4), newest first per object, then the finalizers of the garbage that have
//! not run (CPython's PEP 442 order), on the collecting thread as an ordinary mutator.
//!
//! The collector holds one extra strong reference on every member of the garbage, so nothing
//! in it can die meanwhile, and a finalizer sees every member intact. A finalizer that stores a
//! handle where it can be reached resurrects the object: phase 6 finds out.

use super::structures::garbage::Garbage;
use crate::finalize;
use crate::header::flag;
use crate::weak;

/// Runs the garbage's weak callbacks and finalizers.
pub(crate) fn run(garbage: Garbage) -> Garbage {
    // The disarmed callbacks of weak handles inside the garbage: dropping them runs user code.
    let Garbage {
        objects,
        torn,
        weak_callbacks,
        finalizers,
        disarmed,
    } = garbage;
    drop(disarmed);
    if weak_callbacks {
        for object in &objects {
            let header = object.header();
            if header.has(flag::HAS_WEAK_CALLBACKS) {
                weak::run(weak::take_callbacks(header), header.type_name());
            }
        }
    }
    if finalizers {
        for object in &objects {
            let header = object.header();
            if header.flags() & (flag::HAS_FINALIZER | flag::FINALIZED) == flag::HAS_FINALIZER {
                // SAFETY: the collector's hold stands in for the finalizer's handle, and the
                // object is intact.
                unsafe { finalize::run(object.0) };
            }
        }
    }
    Garbage {
        objects,
        torn,
        weak_callbacks,
        finalizers,
        disarmed: Vec::new(),
    }
}
