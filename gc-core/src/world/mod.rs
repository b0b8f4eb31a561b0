//! The world lock: a reader–writer lock sharded per thread, which a collector write-locks to
//! stop the world.
//!
//! ```text
//!   slots (cache-padded)      each: release epoch | WRITER bit | number of threads holding it
//!   +-----------+-----------+-----------+-----+
//!   | e W 1     | e W 0     | e W 2     | ... |      a thread picks its slot once
//!   +-----------+-----------+-----------+-----+
//! ```
//!
//! A thread *holds* the world while it touches anything the collector reads: cloning a tracked
//! handle, the free path of a tracked object, a gc-cell borrow, `Weak::upgrade`, allocation.
//! Holds are owned by the guards that take them (`holds`); only a thread's first hold touches
//! its slot (one uncontended atomic on a cache line nobody else writes). A `Mutator` takes one
//! hold for its whole life, so everything inside it costs a thread-local read.
//!
//! The collector (the *stopper*) sets `stop_requested`, sets `WRITER` on every slot and waits
//! until every slot's count is zero (its own thread's hold excepted). A thread that meets
//! `WRITER` when taking its first hold backs off and waits for the world to restart; an attached
//! thread gives its hold up at a safepoint. Invariant W: while the stop guard lives, no other
//! thread is between taking and giving up a hold, so nothing the collector reads can change —
//! except plain decrements to non-zero counts, which need no hold (`docs/concurrency.md`).
//!
//! A stop may be bounded: after the wait runs out, the stopper restarts the world and reports
//! which threads kept it waiting (`threads`), so a thread blocked while attached can delay a
//! collection but never deadlock one. Every release of a slot advances the slot's epoch, so a
//! later automatic collection can tell that a thread which held one up has not moved since, and
//! not wait for it in vain.

mod holds;
mod threads;

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::seeded;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Instant, Mutex, Ordering};

pub(crate) use self::holds::{
    as_mutator, become_collector_worker, detached, held, is_holding, stopping_here, Attachment,
    Hold,
};
pub use self::threads::{stalls, Stall};

#[cfg(not(loom))]
const SLOTS: usize = 64;
#[cfg(loom)]
const SLOTS: usize = 2;

/// A slot word: the number of threads holding the slot in the low bits, `WRITER` above them,
/// and the slot's release epoch in the high half (advanced by every release, wrapping).
const COUNT: u64 = (1 << 31) - 1;
const WRITER: u64 = 1 << 31;
const EPOCH: u64 = 1 << 32;
const NO_SLOT: usize = usize::MAX;

pub(crate) struct World {
    slots: [CachePadded<AtomicU64>; SLOTS],
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
    /// The slots (and their words) that held up the last bounded stop, until they move.
    stuck: Mutex<Vec<(usize, u64)>>,
}

impl World {
    #[cfg(not(loom))]
    const fn new() -> Self {
        World {
            slots: [const { CachePadded::new(AtomicU64::new(0)) }; SLOTS],
            next_slot: AtomicUsize::new(0),
            next_token: AtomicUsize::new(1),
            stop_requested: AtomicBool::new(false),
            stopper: AtomicBool::new(false),
            lock: Mutex::new(()),
            running: Condvar::new(),
            drained: Condvar::new(),
            stuck: Mutex::new(Vec::new()),
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        World {
            slots: core::array::from_fn(|_| CachePadded::new(AtomicU64::new(0))),
            next_slot: AtomicUsize::new(0),
            next_token: AtomicUsize::new(1),
            stop_requested: AtomicBool::new(false),
            stopper: AtomicBool::new(false),
            lock: Mutex::new(()),
            running: Condvar::new(),
            drained: Condvar::new(),
            stuck: Mutex::new(Vec::new()),
        }
    }
}

crate::sync::global! {
    fn world() -> &'static World = World::new();
}

crate::sync::thread_local_facade! {
    static TOKEN: core::cell::Cell<usize> = core::cell::Cell::new(0);
    static SLOT: core::cell::Cell<usize> = core::cell::Cell::new(NO_SLOT);
}

/// This thread's slot, picked on first use.
fn my_slot() -> usize {
    let slot = SLOT.with(|s| s.get());
    if slot != NO_SLOT {
        return slot;
    }
    pick_slot()
}

#[cold]
fn pick_slot() -> usize {
    let slot = world().next_slot.fetch_add(1, Ordering::Relaxed) % SLOTS;
    SLOT.with(|s| s.set(slot));
    threads::register(slot);
    slot
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
    // One holder fewer, one epoch on: `EPOCH - 1` added at once.
    let prev = w.slots[slot].fetch_add(EPOCH - 1, seeded::SLOT_RELEASE);
    if prev & WRITER != 0 {
        let _l = w.lock.lock();
        w.drained.notify_all();
    }
}

/// Takes this thread's slot, waiting while the world is stopped.
fn acquire_slot(slot: usize) {
    let w = world();
    loop {
        let prev = w.slots[slot].fetch_add(1, seeded::SLOT_ACQUIRE);
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
    if !is_holding() || stopping_here() {
        return;
    }
    let slot = my_slot();
    release_slot(slot);
    wait_running(world());
    acquire_slot(slot);
}

/// Why a stop of the world did not happen: the threads that kept it waiting past its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stalled {
    /// How long the stop waited.
    pub(crate) waited: Duration,
    /// Each thread that held the world and did not give it up, described for a person.
    pub(crate) threads: Vec<String>,
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

/// True when a thread that held up the last bounded stop has not given its slot up since: a
/// bounded stop now would wait for it in vain.
pub(crate) fn still_stalled() -> Option<Stalled> {
    let w = world();
    let mut stuck = w.stuck.lock();
    let still: Vec<usize> = stuck
        .iter()
        .filter(|&&(slot, word)| w.slots[slot].load(Ordering::Relaxed) & !WRITER == word)
        .map(|&(slot, _)| slot)
        .collect();
    if still.is_empty() {
        stuck.clear();
        return None;
    }
    Some(Stalled {
        waited: Duration::ZERO,
        threads: threads::describe(&still),
    })
}

/// Stops the world; waits at most `timeout` for the other threads (forever when `None`).
pub(crate) fn stop(timeout: Option<Duration>) -> Result<Stopped, Stalled> {
    let w = world();
    if stopping_here() {
        holds::violation();
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
                if !detached(|| wait_running_bounded(w, started, t)) {
                    return Err(Stalled {
                        waited: started.elapsed(),
                        threads: vec!["another thread stopping the world".into()],
                    });
                }
            }
        }
    }
    w.stop_requested.store(true, Ordering::SeqCst);
    for slot in &w.slots {
        slot.fetch_or(WRITER, Ordering::AcqRel);
    }
    let own = is_holding().then(my_slot);
    let undrained = || -> Vec<usize> {
        (0..SLOTS)
            .filter(|&i| {
                let expected = u64::from(own == Some(i));
                w.slots[i].load(Ordering::Acquire) & COUNT != expected
            })
            .collect()
    };
    if let Err(stuck) = wait_drained(w, timeout, started, undrained) {
        let words = stuck
            .iter()
            .map(|&i| (i, w.slots[i].load(Ordering::Relaxed) & !WRITER))
            .collect();
        *w.stuck.lock() = words;
        let stalled = Stalled {
            waited: started.elapsed(),
            threads: threads::stalled(&stuck, started.elapsed(), true),
        };
        restart(w);
        return Err(stalled);
    }
    w.stuck.lock().clear();
    holds::with(|h| {
        h.saved.set(h.count.replace(0));
        h.stopping.set(true);
    });
    Ok(Stopped {
        started,
        time_to_safepoint: started.elapsed(),
    })
}

/// Waits until no slot is `undrained()`; the slots still held if `timeout` ran out first.
fn wait_drained(
    w: &World,
    timeout: Option<Duration>,
    started: Instant,
    undrained: impl Fn() -> Vec<usize>,
) -> Result<(), Vec<usize>> {
    for _ in 0..64 {
        if undrained().is_empty() {
            return Ok(());
        }
        crate::sync::spin_loop();
    }
    #[cfg(loom)]
    if timeout.is_some() {
        // Loom has no clock: a bounded wait gives up after the spins above.
        let _ = started;
        let left = undrained();
        return if left.is_empty() { Ok(()) } else { Err(left) };
    }
    let mut l = w.lock.lock();
    let mut warned = false;
    loop {
        let left = undrained();
        if left.is_empty() {
            return Ok(());
        }
        match timeout {
            None if !warned && started.elapsed() > Duration::from_secs(1) => {
                warned = true;
                drop(l);
                threads::stalled(&left, started.elapsed(), false);
                l = w.lock.lock();
            }
            None => l = w.drained.wait_timeout(l, Duration::from_millis(250)).0,
            Some(t) => {
                let spent = started.elapsed();
                if spent >= t {
                    return Err(left);
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
        holds::with(|h| {
            h.stopping.set(false);
            h.count.set(h.saved.replace(0));
        });
        restart(world());
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
