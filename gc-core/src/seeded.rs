//! Seeded bugs: deliberate breaks of gc-core's protocols, each compiled in only with
//! `--cfg gc_seeded_bug="NAME"`, so that the loom models can show they fail without the rule
//! the bug breaks (`gc-loom-tests/run-seeded-bugs.sh`, `docs/loom-models.md`).
//!
//! Each bug is one constant here, read at one hook point in the code it breaks; in an ordinary
//! build every constant is `false` (or the right ordering) and the hook folds away.

use crate::sync::Ordering;

/// Is the seeded bug `$name` compiled in?
macro_rules! seeded {
    ($name:literal) => {
        cfg!(gc_seeded_bug = $name)
    };
}

/// `Release`, or `Relaxed` with the seeded bug `relaxed`.
const fn release_unless(relaxed: bool) -> Ordering {
    if relaxed {
        Ordering::Relaxed
    } else {
        Ordering::Release
    }
}

/// `Acquire`, or `Relaxed` with the seeded bug `relaxed`.
const fn acquire_unless(relaxed: bool) -> Ordering {
    if relaxed {
        Ordering::Relaxed
    } else {
        Ordering::Acquire
    }
}

// The world (`world/`).

/// `slot_relaxed`: a world slot is released and acquired with `Relaxed`, so a mutator's guarded
/// accesses need not happen before the collector's scan.
pub(crate) const SLOT_RELEASE: Ordering = release_unless(seeded!("slot_relaxed"));
/// See [`SLOT_RELEASE`].
pub(crate) const SLOT_ACQUIRE: Ordering = acquire_unless(seeded!("slot_relaxed"));
/// `holds_by_value`: holds ignore the frame they were taken in; `blocking` saves the count and
/// puts it back as it was.
pub(crate) const HOLDS_BY_VALUE: bool = seeded!("holds_by_value");

// What needs a hold.

/// `clone_no_hold`: a clone by a thread that does not hold the world takes no hold.
pub(crate) const CLONE_NO_HOLD: bool = seeded!("clone_no_hold");
/// `drop_no_hold`: on a heap that scans candidates, a drop by a thread that does not hold the
/// world takes no hold, so its decrement can land while a collection has the world stopped.
pub(crate) const DROP_NO_HOLD: bool = seeded!("drop_no_hold");
/// `free_no_hold`: the free path of a tracked object takes no hold.
pub(crate) const FREE_NO_HOLD: bool = seeded!("free_no_hold");
/// `cell_no_hold`: gc-cell and `GcLock` borrows take no hold.
pub(crate) const CELL_NO_HOLD: bool = seeded!("cell_no_hold");
/// `no_handover_on_unwind`: a `Drop` that panics on reference-count death skips the handover
/// of its object to the shard's owner.
pub(crate) const NO_HANDOVER_ON_UNWIND: bool = seeded!("no_handover_on_unwind");

// The collector (`collector/`).

/// `auto_wait_unbounded`: automatic collections wait for safepoints without bound.
pub(crate) const AUTO_WAIT_UNBOUNDED: bool = seeded!("auto_wait_unbounded");
/// `trace_dropped`: a member whose value is being dropped is traced like any other.
pub(crate) const TRACE_DROPPED: bool = seeded!("trace_dropped");
/// `subtract_racy`: step 1 of the parallel `subtract_refs` applies every edge at once, also
/// those into other workers' chunks.
pub(crate) const SUBTRACT_RACY: bool = seeded!("subtract_racy");
/// `stripe_by_source`: edges out of a chunk go to the stripe of their source, so two step-2
/// workers can write one slot.
pub(crate) const STRIPE_BY_SOURCE: bool = seeded!("stripe_by_source");
/// `weak_not_cleared`: unreachable objects are not flagged `WEAK_CLEARED` before the world
/// restarts.
pub(crate) const WEAK_NOT_CLEARED: bool = seeded!("weak_not_cleared");
/// `no_resurrection_check`: the garbage is torn down after finalizers without checking again
/// what they resurrected.
pub(crate) const NO_RESURRECTION_CHECK: bool = seeded!("no_resurrection_check");

// Candidates (`candidates`).

/// `zombie_freed_early`: a recorded candidate that dies frees its allocation at once, though
/// its entry still points at it.
pub(crate) const ZOMBIE_FREED_EARLY: bool = seeded!("zombie_freed_early");
/// `seeds_let_go`: a collection of younger generations lets its surviving seeds go, though
/// what kept them may be garbage in an older generation.
pub(crate) const SEEDS_LET_GO: bool = seeded!("seeds_let_go");

// The only handle (`unique`).

/// `unique_no_weak_lock`: the check that a handle is the only one reads the counts without
/// locking the weak count, so a weak handle can be upgraded between the two reads.
pub(crate) const UNIQUE_NO_WEAK_LOCK: bool = seeded!("unique_no_weak_lock");
/// `get_mut_no_mark`: `Gc::get_mut` does not mark the value borrowed, so a collection reads it
/// while it is being written.
pub(crate) const GET_MUT_NO_MARK: bool = seeded!("get_mut_no_mark");
/// `get_mut_unmark_unheld`: a `GcMut` takes its mark off without a hold, so its writes need
/// not happen before the next collection's reads.
pub(crate) const GET_MUT_UNMARK_UNHELD: bool = seeded!("get_mut_unmark_unheld");

// The pool (`pool/`).

/// `remote_push_relaxed`: a push onto a page's remote stack is `Relaxed`.
pub(crate) const REMOTE_PUSH: Ordering = release_unless(seeded!("remote_push_relaxed"));
/// `take_remote_relaxed`: the owner takes its remote stack with `Relaxed`.
pub(crate) const TAKE_REMOTE: Ordering = acquire_unless(seeded!("take_remote_relaxed"));
/// `first_push_unfiled`: a push onto an empty remote stack does not file the page.
pub(crate) const FIRST_PUSH_UNFILED: bool = seeded!("first_push_unfiled");
/// `exit_frees_busy_page`: an exiting thread frees its pages with blocks out.
pub(crate) const EXIT_FREES_BUSY_PAGE: bool = seeded!("exit_frees_busy_page");
/// `abandon_keeps_owner`: an abandoned page keeps its exited owner's token.
pub(crate) const ABANDON_KEEPS_OWNER: bool = seeded!("abandon_keeps_owner");
