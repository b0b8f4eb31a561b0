//! The world lock: a reader–writer lock sharded per thread, which a collector write-locks to
//! stop the world.
//!
//! ```text
//!   slots (cache-padded)      each: WRITER bit | number of threads holding the slot
//!   +-----------+-----------+-----------+-----+
//!   | W | 1     | W | 0     | W | 2     | ... |      a thread picks its slot once
//!   +-----------+-----------+-----------+-----+
//! ```
//!
//! A thread *holds* the world while it touches anything the collector reads: cloning a tracked
//! handle, the free path of a tracked object, a gc-cell borrow, `Weak::upgrade`, allocation.
//! Holds nest per thread in a plain thread-local counter; only the first one touches the
//! thread's slot (one uncontended atomic on a cache line nobody else writes). A `Mutator` takes
//! one hold for its whole life, so everything inside it costs a thread-local read.
//!
//! The collector (the *stopper*) sets `stop_requested`, sets `WRITER` on every slot and waits
//! until every slot's count is zero (its own thread's hold excepted). A thread that meets
//! `WRITER` when taking its first hold backs off and waits for the world to restart; an attached
//! thread gives its hold up at a safepoint. Invariant: while the stop guard lives, no other
//! thread is between taking and giving up a hold, so nothing the collector reads can change —
//! except plain decrements to non-zero counts, which need no hold (see `docs/concurrency.md`).
//!
//! A stop may be bounded: after the wait runs out, the stopper restarts the world and reports a
//! miss, so a thread blocked while attached can delay a collection but never deadlock one.

use core::cell::Cell;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicBool, AtomicUsize, Condvar, Instant, Mutex, Ordering};

#[cfg(not(loom))]
const SLOTS: usize = 64;
#[cfg(loom)]
const SLOTS: usize = 2;

const WRITER: usize = 1 << (usize::BITS - 1);
const NO_SLOT: usize = usize::MAX;

pub(crate) struct World {
    slots: [CachePadded<AtomicUsize>; SLOTS],
    next_slot: AtomicUsize,
    next_token: AtomicUsize,
    /// A stop is being requested or is in force.
    stop_requested: AtomicBool,
    /// Taken by the one thread allowed to stop the world.
    stopper: AtomicBool,
    lock: Mutex<()>,
    /// Signalled when the world restarts.
    running: Condvar,
    /// Signalled when a thread gives up its slot while a stopper waits.
    drained: Condvar,
}

impl World {
    fn new() -> Self {
        World {
            slots: core::array::from_fn(|_| CachePadded::new(AtomicUsize::new(0))),
            next_slot: AtomicUsize::new(0),
            next_token: AtomicUsize::new(1),
            stop_requested: AtomicBool::new(false),
            stopper: AtomicBool::new(false),
            lock: Mutex::new(()),
            running: Condvar::new(),
            drained: Condvar::new(),
        }
    }
}

#[cfg(not(loom))]
fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(World::new)
}

#[cfg(loom)]
fn world() -> &'static World {
    loom::lazy_static! {
        static ref WORLD: World = World::new();
    }
    &WORLD
}

/// Per-thread hold bookkeeping; plain cells, read on every guarded operation.
struct Holds {
    /// Nested holds this thread has (0: not holding its slot).
    count: Cell<usize>,
    /// How many of them are `Mutator` attachments.
    attached: Cell<usize>,
    /// This thread has the world stopped: taking a hold now is a protocol violation.
    stopping: Cell<bool>,
    /// Holds set aside while this thread has the world stopped or is detached.
    saved: Cell<usize>,
}

impl Holds {
    const fn new() -> Self {
        Holds {
            count: Cell::new(0),
            attached: Cell::new(0),
            stopping: Cell::new(false),
            saved: Cell::new(0),
        }
    }
}

/// The thread's slot; its destructor gives up the slot of a thread that exits while holding.
struct SlotOwner {
    slot: Cell<usize>,
}

impl Drop for SlotOwner {
    fn drop(&mut self) {
        let held = HOLDS.try_with(|h| h.count.replace(0)).unwrap_or(0);
        if held > 0 && self.slot.get() != NO_SLOT {
            eprintln!(
                "gc-core: a thread exited while attached (or holding a gc borrow); \
                 its hold on the world is released"
            );
            release_slot(self.slot.get());
        }
    }
}

crate::sync::thread_local_facade! {
    static TOKEN: Cell<usize> = Cell::new(0);
    static HOLDS: Holds = Holds::new();
    static SLOT: SlotOwner = SlotOwner { slot: Cell::new(NO_SLOT) };
}

fn my_slot() -> usize {
    SLOT.with(|s| {
        if s.slot.get() == NO_SLOT {
            let w = world();
            s.slot
                .set(w.next_slot.fetch_add(1, Ordering::Relaxed) % SLOTS);
        }
        s.slot.get()
    })
}

/// A number unique to this thread for the life of the process (never 0, never reused).
#[inline]
pub(crate) fn thread_token() -> usize {
    TOKEN.with(|t| {
        let token = t.get();
        if token != 0 {
            return token;
        }
        let token = world().next_token.fetch_add(1, Ordering::Relaxed);
        t.set(token);
        token
    })
}

fn release_slot(slot: usize) {
    let w = world();
    #[cfg(not(gc_seeded_bug = "slot_relaxed"))]
    let prev = w.slots[slot].fetch_sub(1, Ordering::Release);
    #[cfg(gc_seeded_bug = "slot_relaxed")]
    let prev = w.slots[slot].fetch_sub(1, Ordering::Relaxed);
    if prev & WRITER != 0 {
        let _l = w.lock.lock();
        w.drained.notify_all();
    }
}

/// Takes this thread's slot, waiting while the world is stopped.
fn acquire_slot(slot: usize) {
    let w = world();
    loop {
        #[cfg(not(gc_seeded_bug = "slot_relaxed"))]
        let prev = w.slots[slot].fetch_add(1, Ordering::Acquire);
        #[cfg(gc_seeded_bug = "slot_relaxed")]
        let prev = w.slots[slot].fetch_add(1, Ordering::Relaxed);
        if prev & WRITER == 0 {
            return;
        }
        release_slot(slot);
        wait_running(w);
    }
}

fn wait_running(w: &World) {
    let mut l = w.lock.lock();
    while w.stop_requested.load(Ordering::Acquire) {
        l = w.running.wait(l);
    }
}

/// Waits for the world to run again, at most until `timeout` after `started`; false if it
/// is still stopped then.
#[cfg(not(loom))]
fn wait_running_bounded(w: &World, started: Instant, timeout: Duration) -> bool {
    let mut l = w.lock.lock();
    while w.stop_requested.load(Ordering::Acquire) {
        let spent = started.elapsed();
        if spent >= timeout {
            return false;
        }
        l = w.running.wait_timeout(l, timeout - spent).0;
    }
    true
}

/// Loom has no clock: a bounded wait gives up at once if the world is still stopped.
#[cfg(loom)]
fn wait_running_bounded(w: &World, _started: Instant, _timeout: Duration) -> bool {
    !w.stop_requested.load(Ordering::Acquire)
}

#[cold]
fn violation() -> ! {
    panic!(
        "gc-core: a handle was cloned, dropped, allocated or borrowed while this thread had the \
         world stopped; Trace implementations must only report edges"
    )
}

/// True when this thread holds the world (attached, or inside a guarded operation).
#[inline]
pub(crate) fn is_holding() -> bool {
    HOLDS.with(|h| h.count.get() > 0)
}

/// Takes one hold (nested holds are a thread-local increment).
#[inline]
pub(crate) fn hold() {
    HOLDS.with(|h| {
        let n = h.count.get();
        if n > 0 {
            h.count.set(n + 1);
        } else {
            hold_slow(h);
        }
    })
}

#[cold]
fn hold_slow(h: &Holds) {
    if h.stopping.get() {
        violation();
    }
    acquire_slot(my_slot());
    h.count.set(1);
}

/// Gives up one hold taken with [`hold`].
#[inline]
pub(crate) fn unhold() {
    HOLDS.with(|h| {
        let n = h.count.get() - 1;
        h.count.set(n);
        if n == 0 {
            release_slot(my_slot());
        }
    })
}

/// One hold on the world, given up on drop. Not `Send`: a hold belongs to its thread.
pub(crate) struct Hold(core::marker::PhantomData<*const ()>);

impl Hold {
    #[inline]
    pub(crate) fn take() -> Hold {
        hold();
        Hold(core::marker::PhantomData)
    }
}

impl Drop for Hold {
    #[inline]
    fn drop(&mut self) {
        unhold();
    }
}

/// Runs `f` holding the world. Cheap when the thread already holds it (attached).
#[inline]
pub(crate) fn held<R>(f: impl FnOnce() -> R) -> R {
    let _hold = Hold::take();
    f()
}

/// True when the thread holds the world only through `Mutator` attachments (no cell borrows,
/// no free path in progress): the place where a collection with user code may run.
pub(crate) fn at_rest() -> bool {
    HOLDS.with(|h| h.count.get() == h.attached.get() && !h.stopping.get())
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

/// True when this thread currently has the world stopped.
pub(crate) fn stopping_here() -> bool {
    HOLDS.with(|h| h.stopping.get())
}

pub(crate) fn attach() {
    hold();
    HOLDS.with(|h| h.attached.set(h.attached.get() + 1));
}

pub(crate) fn detach() {
    HOLDS.with(|h| h.attached.set(h.attached.get() - 1));
    unhold();
}

/// Lets a pending stop of the world happen. Cheap (one relaxed load) when none is pending.
#[inline]
pub(crate) fn safepoint() {
    if world().stop_requested.load(Ordering::Relaxed) {
        park();
    }
}

/// Gives up this thread's slot until the world restarts.
#[cold]
fn park() {
    HOLDS.with(|h| {
        if h.count.get() == 0 || h.stopping.get() {
            return;
        }
        let slot = my_slot();
        release_slot(slot);
        wait_running(world());
        acquire_slot(slot);
    })
}

/// Runs `f` fully detached (CPython's `Py_BEGIN_ALLOW_THREADS`): a collection may run meanwhile.
/// Cells this thread has borrowed stay borrowed and are treated as reachable.
pub(crate) fn detached<R>(f: impl FnOnce() -> R) -> R {
    struct Reattach(usize);
    impl Drop for Reattach {
        fn drop(&mut self) {
            if self.0 > 0 {
                acquire_slot(my_slot());
                HOLDS.with(|h| h.count.set(self.0));
            }
        }
    }
    let saved = HOLDS.with(|h| {
        if h.stopping.get() {
            violation();
        }
        h.count.replace(0)
    });
    if saved > 0 {
        release_slot(my_slot());
    }
    let _reattach = Reattach(saved);
    f()
}

/// Why a stop of the world did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopError {
    /// Some thread kept its hold past the deadline.
    TimedOut,
}

/// The world is stopped while this lives.
pub(crate) struct Stopped {
    started: Instant,
    /// How long the threads took to reach safepoints.
    pub(crate) time_to_safepoint: Duration,
}

impl Stopped {
    pub(crate) fn started(&self) -> Instant {
        self.started
    }
}

/// Stops the world; waits at most `timeout` for the other threads (forever when `None`).
pub(crate) fn stop(timeout: Option<Duration>) -> Result<Stopped, StopError> {
    let w = world();
    if stopping_here() {
        violation();
    }
    let started = Instant::now();
    while w
        .stopper
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        // Another thread is stopping the world: let it (giving up this thread's slot while
        // waiting), then try again — within the deadline, if there is one.
        match timeout {
            None => {
                detached(|| wait_running(w));
                // The winner may not have requested the stop yet: let it get there.
                crate::sync::yield_now();
            }
            Some(t) => {
                let ran = detached(|| wait_running_bounded(w, started, t));
                if !ran {
                    return Err(StopError::TimedOut);
                }
            }
        }
    }
    w.stop_requested.store(true, Ordering::SeqCst);
    for slot in &w.slots {
        slot.fetch_or(WRITER, Ordering::AcqRel);
    }
    let own = HOLDS.with(|h| h.count.get() > 0).then(my_slot);
    let drained = || {
        w.slots.iter().enumerate().all(|(i, s)| {
            let expected = usize::from(own == Some(i));
            s.load(Ordering::Acquire) & !WRITER == expected
        })
    };
    if !wait_drained(w, timeout, started, drained) {
        restart(w);
        return Err(StopError::TimedOut);
    }
    HOLDS.with(|h| {
        h.saved.set(h.count.replace(0));
        h.stopping.set(true);
    });
    Ok(Stopped {
        started,
        time_to_safepoint: started.elapsed(),
    })
}

/// Waits until `drained()`; false if `timeout` ran out first.
fn wait_drained(
    w: &World,
    timeout: Option<Duration>,
    started: Instant,
    drained: impl Fn() -> bool,
) -> bool {
    for _ in 0..64 {
        if drained() {
            return true;
        }
        crate::sync::spin_loop();
    }
    #[cfg(loom)]
    if timeout.is_some() {
        // Loom has no clock: a bounded wait gives up after the spins above.
        let _ = started;
        return drained();
    }
    let mut l = w.lock.lock();
    let mut warned = false;
    loop {
        if drained() {
            return true;
        }
        match timeout {
            None if !warned && started.elapsed() > Duration::from_secs(1) => {
                warned = true;
                eprintln!(
                    "gc-core: a collection has waited over 1s for a thread that is attached but \
                     not reaching a safepoint; detach around blocking calls with \
                     Mutator::blocking (it keeps waiting)"
                );
            }
            None => l = w.drained.wait_timeout(l, Duration::from_millis(250)).0,
            Some(t) => {
                let spent = started.elapsed();
                if spent >= t {
                    return false;
                }
                l = w.drained.wait_timeout(l, t - spent).0;
            }
        }
    }
}

fn restart(w: &World) {
    for slot in &w.slots {
        slot.fetch_and(!WRITER, Ordering::Release);
    }
    let l = w.lock.lock();
    w.stop_requested.store(false, Ordering::Release);
    w.stopper.store(false, Ordering::Release);
    w.running.notify_all();
    drop(l);
}

impl Drop for Stopped {
    fn drop(&mut self) {
        HOLDS.with(|h| {
            h.stopping.set(false);
            h.count.set(h.saved.replace(0));
        });
        restart(world());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdUsize;
    use std::sync::Arc as StdArc;

    #[test]
    fn nested_holds_touch_the_slot_once() {
        held(|| {
            held(|| assert!(HOLDS.with(|h| h.count.get()) == 2));
        });
        assert_eq!(HOLDS.with(|h| h.count.get()), 0);
    }

    #[test]
    fn stop_waits_for_a_holder_and_excludes_it() {
        let inside = StdArc::new(StdUsize::new(0));
        let started = StdArc::new(std::sync::Barrier::new(2));
        let t = {
            let inside = inside.clone();
            let started = started.clone();
            std::thread::spawn(move || {
                attach();
                started.wait();
                for _ in 0..200 {
                    inside.fetch_add(1, Ordering::SeqCst);
                    safepoint();
                    std::thread::yield_now();
                }
                detach();
            })
        };
        started.wait();
        for _ in 0..20 {
            let stopped = stop(None).expect("unbounded stop cannot time out");
            let before = inside.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(200));
            assert_eq!(
                before,
                inside.load(Ordering::SeqCst),
                "a thread ran while stopped"
            );
            drop(stopped);
        }
        t.join().unwrap();
    }

    #[test]
    fn bounded_stop_times_out_against_a_blocked_holder() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            attach();
            ready_tx.send(()).unwrap();
            rx.recv().unwrap();
            detach();
        });
        ready_rx.recv().unwrap();
        let err = stop(Some(Duration::from_millis(20))).err();
        assert_eq!(err, Some(StopError::TimedOut));
        tx.send(()).unwrap();
        t.join().unwrap();
        assert!(stop(Some(Duration::from_secs(10))).is_ok());
    }

    #[test]
    #[should_panic(expected = "world stopped")]
    fn taking_a_hold_while_stopping_panics() {
        let _stopped = stop(None).unwrap();
        hold();
    }
}
