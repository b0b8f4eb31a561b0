//! A thread's holds on the world, each owned by the guard that took it.
//!
//! Holds nest per thread in a plain thread-local count; only the first one touches the
//! thread's slot. `detached` (behind `blocking`) gives the slot up for a while: it suspends the
//! holds alive at that moment in a *frame* and starts a fresh one, so a hold taken inside takes
//! the slot again. Every hold carries the id of the frame it was taken in, and is given back to
//! that frame wherever it is dropped:
//!
//! ```text
//!  frames (ids grow)      frame 1 (suspended: 2 holds)  ◀── outer ── frame 4 (current: 1 hold)
//!  hold of frame 1 dropped inside `blocking`  →  frame 1: 1 hold     (the slot is not touched)
//!  hold of frame 4 returned out of `blocking` →  merged into frame 1 when the frame ends
//! ```
//!
//! A hold belongs to the innermost live frame whose id is at most its own: its frame, or the
//! frame its frame was merged into when it ended (frames end innermost first, and a frame made
//! later has a larger id). The thread holds its slot exactly while the current frame has holds.
//! So a guard moved into a `blocking` closure, or made inside one and returned out of it, keeps
//! the count right, and the slot is never released while a hold of the current frame is alive.
//!
//! The state is a thread-local without a destructor: a handle dropped by another thread-local's
//! destructor at thread exit still finds it.

use core::cell::Cell;
use core::marker::PhantomData;
use core::num::NonZeroU64;
use core::panic::Location;
use core::ptr;

use super::{acquire_slot, my_slot, release_slot, threads};
use crate::seeded;

/// Holds suspended by a `detached` section (on its stack), or at thread exit (in `Holds`).
pub(super) struct Frame {
    id: Cell<u64>,
    count: Cell<usize>,
    attached: Cell<usize>,
    /// The next frame out, null for the outermost.
    outer: *const Frame,
}

/// Per-thread hold bookkeeping; plain cells, read on every guarded operation.
pub(super) struct Holds {
    /// Holds of the current frame still alive. The thread holds its slot iff this is above
    /// zero (or, while it has the world stopped, `saved` is).
    pub(super) count: Cell<usize>,
    /// How many of them are `Mutator` attachments.
    pub(super) attached: Cell<usize>,
    /// The current frame's id.
    frame: Cell<u64>,
    /// The last id given to a frame.
    last_id: Cell<u64>,
    /// Suspended frames, innermost first.
    outer: Cell<*const Frame>,
    /// This thread has the world stopped (or is a collector worker): taking a hold is a
    /// protocol violation.
    pub(super) stopping: Cell<bool>,
    /// The current frame's holds, set aside while this thread has the world stopped.
    pub(super) saved: Cell<usize>,
    /// The holds left when the thread exited, suspended for good.
    at_exit: Frame,
}

impl Holds {
    const fn new() -> Self {
        Holds {
            count: Cell::new(0),
            attached: Cell::new(0),
            frame: Cell::new(1),
            last_id: Cell::new(1),
            outer: Cell::new(ptr::null()),
            stopping: Cell::new(false),
            saved: Cell::new(0),
            at_exit: Frame {
                id: Cell::new(0),
                count: Cell::new(0),
                attached: Cell::new(0),
                outer: ptr::null(),
            },
        }
    }

    /// The innermost suspended frame a hold of frame `id` belongs to.
    fn suspended(&self, id: u64) -> &Frame {
        let mut frame = self.outer.get();
        loop {
            // SAFETY: suspended frames live on the stacks of the `detached` calls still running
            // on this thread (or in this thread's `Holds`), innermost first; a hold of an older
            // frame than the current one exists only while one of them does.
            let f = unsafe { frame.as_ref() }
                .expect("gc-core: a world hold outlived every frame it could belong to");
            if f.id.get() <= id {
                return f;
            }
            frame = f.outer;
        }
    }
}

crate::sync::thread_local_facade! {
    static HOLDS: Holds = Holds::new();
}

/// Runs `f` on this thread's hold bookkeeping.
#[inline]
pub(super) fn with<R>(f: impl FnOnce(&Holds) -> R) -> R {
    HOLDS.with(f)
}

#[cold]
pub(super) fn violation() -> ! {
    panic!(
        "gc-core: a handle was cloned, dropped, allocated or borrowed, or the heap was called, \
         while this thread had the world stopped; Trace implementations must only report edges"
    )
}

/// One hold on the world, given back on drop to the frame it was taken in. Not `Send`: a hold
/// belongs to its thread.
#[must_use]
pub(crate) struct Hold {
    frame: NonZeroU64,
    _not_send: PhantomData<*const ()>,
}

impl Hold {
    /// Takes one hold (a thread-local increment when the thread holds the world already).
    #[inline]
    pub(crate) fn take() -> Hold {
        Hold {
            frame: take_hold(),
            _not_send: PhantomData,
        }
    }
}

/// Takes one hold; returns the id of the frame it belongs to.
#[inline]
fn take_hold() -> NonZeroU64 {
    let frame = HOLDS.with(|h| {
        let n = h.count.get();
        if n > 0 {
            h.count.set(n + 1);
        } else {
            first_hold(h);
        }
        h.frame.get()
    });
    NonZeroU64::new(frame).expect("frame ids start at 1")
}

#[cold]
fn first_hold(h: &Holds) {
    if h.stopping.get() {
        violation();
    }
    acquire_slot(my_slot());
    h.count.set(1);
}

impl Drop for Hold {
    #[inline]
    fn drop(&mut self) {
        give_back(self.frame.get(), false);
    }
}

/// Gives back a hold of frame `id`; `attachment`: it is a `Mutator`'s.
#[inline]
fn give_back(id: u64, attachment: bool) {
    HOLDS.with(|h| {
        if id < h.frame.get() && !seeded::HOLDS_BY_VALUE {
            return give_back_suspended(h, id, attachment);
        }
        if attachment && h.attached.replace(h.attached.get() - 1) == 1 {
            threads::detached_from();
        }
        let n = h.count.get();
        if n == 0 && h.stopping.get() {
            // Given back while this thread has the world stopped: one of the set-aside holds.
            h.saved.set(h.saved.get() - 1);
            return;
        }
        h.count.set(n - 1);
        if n == 1 {
            release_slot(my_slot());
        }
    })
}

#[cold]
fn give_back_suspended(h: &Holds, id: u64, attachment: bool) {
    let frame = h.suspended(id);
    frame.count.set(frame.count.get() - 1);
    if attachment {
        frame.attached.set(frame.attached.get() - 1);
    }
}

/// A `Mutator`'s hold: the thread is attached while it lives. Not `Send`.
pub(crate) struct Attachment {
    frame: NonZeroU64,
    _not_send: PhantomData<*const ()>,
}

impl Attachment {
    /// Attaches the thread; `location` is where (for a thread that holds up a stop).
    pub(crate) fn take(location: &'static Location<'static>) -> Attachment {
        let frame = take_hold();
        let first = HOLDS.with(|h| h.attached.replace(h.attached.get() + 1) == 0);
        if first {
            threads::attached_at(location);
        }
        Attachment {
            frame,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        give_back(self.frame.get(), true);
    }
}

/// True when this thread holds the world (attached, or inside a guarded operation).
#[inline]
pub(crate) fn is_holding() -> bool {
    HOLDS.with(|h| h.count.get() > 0)
}

/// Runs `f` with this thread's holds suspended and its slot given up (CPython's
/// `Py_BEGIN_ALLOW_THREADS`). Holds taken inside belong to a fresh frame; those still alive
/// when `f` returns (or unwinds) join the suspended ones, and the slot is taken again if any
/// hold is left — waiting, if the world is stopped then.
pub(crate) fn detached<R>(f: impl FnOnce() -> R) -> R {
    let frame = HOLDS.with(|h| {
        if h.stopping.get() {
            violation();
        }
        let frame = Frame {
            id: Cell::new(h.frame.get()),
            count: Cell::new(h.count.replace(0)),
            attached: Cell::new(h.attached.replace(0)),
            outer: h.outer.get(),
        };
        if frame.count.get() > 0 {
            release_slot(my_slot());
        }
        let id = h.last_id.get() + 1;
        h.last_id.set(id);
        h.frame.set(id);
        frame
    });
    let reattach = Reattach(frame);
    HOLDS.with(|h| h.outer.set(&reattach.0));
    f()
}

/// Ends a `detached` section, normally or on unwind.
struct Reattach(Frame);

impl Drop for Reattach {
    fn drop(&mut self) {
        let frame = &self.0;
        HOLDS.with(|h| {
            let inner = h.count.get();
            let total = frame.count.get() + inner;
            h.frame.set(frame.id.get());
            h.outer.set(frame.outer);
            h.attached.set(frame.attached.get() + h.attached.get());
            if seeded::HOLDS_BY_VALUE {
                // The count saved at the start, put back as it was.
                if frame.count.get() > 0 {
                    acquire_slot(my_slot());
                }
                return h.count.set(frame.count.get());
            }
            if inner == 0 && total > 0 {
                acquire_slot(my_slot());
            }
            h.count.set(total);
        });
    }
}

/// At thread exit, with holds still alive (a `Mutator` kept in a thread-local whose destructor
/// has not run yet, or one leaked with `mem::forget`): gives the slot up for good, as if the
/// rest of the thread's life were one `detached` section, so no collection waits for a thread
/// that is gone. Holds given back later go to the frame kept for them; guarded operations take
/// their own holds from then on. Returns the holds alive, and how many were attachments.
pub(super) fn abandon() -> (usize, usize) {
    // Under loom the thread-locals go in no set order: with the holds gone, so is the thread.
    let abandoned = HOLDS.try_with(|h| {
        let alive = (h.count.get(), h.attached.get());
        if alive.0 == 0 {
            return alive;
        }
        let frame = &h.at_exit;
        frame.id.set(h.frame.get());
        frame.count.set(h.count.replace(0));
        frame.attached.set(h.attached.replace(0));
        release_slot(my_slot());
        h.outer.set(frame);
        let id = h.last_id.get() + 1;
        h.last_id.set(id);
        h.frame.set(id);
        alive
    });
    abandoned.unwrap_or((0, 0))
}

/// Marks a collector worker thread: it only ever runs collector phases with the world
/// stopped, so any attempt to take a hold on it is a protocol violation.
pub(crate) fn become_collector_worker() {
    HOLDS.with(|h| h.stopping.set(true));
}

/// Runs `f` on a collector worker as an ordinary thread, with the world running: the
/// teardown's drops, user code that may clone, drop and allocate handles (taking holds as any
/// unattached thread does). The worker is marked again afterwards, unwinding included.
pub(crate) fn as_mutator<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            HOLDS.with(|h| h.stopping.set(self.0));
        }
    }
    let _restore = Restore(HOLDS.with(|h| h.stopping.replace(false)));
    f()
}

/// True when this thread currently has the world stopped (or is a collector worker).
pub(crate) fn stopping_here() -> bool {
    HOLDS.with(|h| h.stopping.get())
}

/// Runs `f` holding the world. A thread that already holds it (attached, or inside another
/// guarded operation) runs `f` as it is: the holds it has outlive `f` (they belong to guards
/// further down this thread's stack, which `f` cannot reach), and a `blocking` call inside `f`
/// suspends and restores them exactly as it would a hold of `f`'s own.
#[inline]
pub(crate) fn held<R>(f: impl FnOnce() -> R) -> R {
    if is_holding() {
        return f();
    }
    let _hold = Hold::take();
    f()
}
