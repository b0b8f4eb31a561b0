//! The garbage: the objects a collection found unreachable, from `relist` (phase 4), which
//! takes them off their lists, to the teardown (phase 7), which frees them.
//!
//! ```text
//!  relist:     b c judged unreachable   → hold(b), hold(c): strong count + 1 each
//!  finalize:   finalizers may resurrect, but nothing in the set can die meanwhile
//!  resurrect:  b found resurrected      → b back on a list, release(b)
//!  teardown:   c's value dropped, then c freed, or released if a handle to it escaped
//! ```
//!
//! The collector's extra strong reference on every member (*the hold*) is taken here and given
//! back here: while it is held, no member can die by reference count under the collector, and
//! its allocation stays valid for whatever phase reads it.

use crate::header::HeaderPtr;
use crate::weak;

/// The unreachable objects of a collection and what they still need.
pub(crate) struct Garbage {
    /// Each held ([`hold`]), off its list, flagged `WEAK_CLEARED`; flagged either
    /// `TEARDOWN | DROPPED` (`torn`) or `IN_SET` with `index` its position here.
    pub(crate) objects: Vec<HeaderPtr>,
    /// Flagged for teardown already: none has a finalizer or weak callbacks to run first, and
    /// the garbage is not to be saved (`DebugFlags::SAVEALL`).
    pub(crate) torn: bool,
    /// Some member has weak callbacks registered (by weak handles outside the garbage).
    pub(crate) weak_callbacks: bool,
    /// Some member has a finalizer that has not run.
    pub(crate) finalizers: bool,
    /// The callbacks of weak handles inside the garbage, taken out of the registry unrun, to
    /// drop once the world runs again.
    pub(crate) disarmed: Vec<weak::Callback>,
}

impl Garbage {
    /// No garbage.
    pub(crate) fn none() -> Garbage {
        Garbage {
            objects: Vec::new(),
            torn: true,
            weak_callbacks: false,
            finalizers: false,
            disarmed: Vec::new(),
        }
    }
}

/// Takes the collector's hold on an object judged unreachable, with the world stopped. No
/// other thread can reach its count: nothing outside the region references it, and weak
/// upgrades wait for the world.
#[inline]
pub(crate) fn hold(object: HeaderPtr) {
    let header = object.header();
    let strong = header.strong_count();
    header
        .strong
        .store(strong + 1, crate::sync::Ordering::Relaxed);
}

/// Gives back the collector's hold on each of `objects` (resurrected, or kept by a teardown);
/// an object whose count it was the last of dies now.
pub(crate) fn release(objects: &[HeaderPtr]) {
    for object in objects {
        if object.header().dec_strong() {
            // SAFETY: the count just reached zero.
            unsafe { crate::reclaim::last_reference_gone(object.0) };
        }
    }
}
