//! Phase 7, teardown, with the world running: destroy the garbage (or keep it, with
//! `DebugFlags::SAVEALL`).
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
//! handle. Above the parallel cutoff the work is shared with a collector worker: with the pool
//! (`pool`), the collecting thread and the worker each drop and free one half of the garbage
//! (a free is a list push there, or one compare-and-swap onto a page another thread owns);
//! with the system allocator, whose frees contend across threads, the worker only frees,
//! behind the drops on the collecting thread (`docs/concurrency.md`, "Tear-down safety").

use core::ops::Range;

use super::phase4_relist::hand_back;
use super::structures::garbage::Garbage;
use super::structures::region::{prefetch, PREFETCH};
use crate::alloc::Frees;
use crate::finalize::report_panic;
use crate::handle::GcAny;
use crate::header::flag;
use crate::header::HeaderPtr;
use crate::heap::HeapInner;
use crate::stats::DebugFlags;
use crate::sync::{AtomicUsize, Backoff, Latch, Ordering};
use crate::world;

/// Drops the values of the garbage and frees it; returns how many `Drop`s panicked. The emptied
/// list goes back to the heap's scratch. With `SAVEALL` the garbage is kept instead.
///
/// Halves dropped on two threads are safe for the same reason as freeing behind the drops:
/// every member is flagged first, so no `Drop` reads a sibling, and a member is freed only
/// once no handle of either kind is left to it, whichever half held them.
pub(crate) fn run(heap: &HeapInner, garbage: Garbage, debug: DebugFlags) -> usize {
    if debug.contains(DebugFlags::SAVEALL) {
        save_all(heap, garbage.objects);
        return 0;
    }
    tear_down(heap, garbage.objects, garbage.torn, debug)
}

/// Drops and frees `garbage`; returns how many `Drop`s panicked.
fn tear_down(
    heap: &HeapInner,
    mut garbage: Vec<HeaderPtr>,
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
    let panicked = match heap.parallel_pool(garbage.len()) {
        Some(pool) if heap.config().pool => {
            let mid = garbage.len() / 2;
            let (front, back) = garbage.split_at_mut(mid);
            // The back half on a worker of the heap's pool, as an ordinary mutator (its drops
            // are user code); the front half here.
            let mut back_done = (0, 0);
            let back_ended = Latch::default();
            let (panicked_front, kept_front) = pool.in_place_scope(|scope| {
                scope.spawn(|_| {
                    let _ended = SetOnDrop(&back_ended);
                    back_done = world::as_mutator(|| drop_and_free(back, debug));
                });
                let front = drop_and_free(front, debug);
                // The worker's drops may take holds, which wait while another thread stops
                // the world — and that stop waits for this thread if it is attached. Waiting
                // for the worker detached, neither waits for the other.
                world::detached(|| back_ended.wait());
                front
            });
            let (panicked_back, kept_back) = back_done;
            release_kept(&garbage[..kept_front]);
            release_kept(&garbage[mid..mid + kept_back]);
            panicked_front + panicked_back
        }
        Some(pool) if crate::alloc::FREE_ANYWHERE => {
            let (panicked, kept) = drop_and_free_on_worker(pool, &garbage, debug);
            release_kept(&kept);
            panicked
        }
        _ => {
            let (panicked, kept) = drop_and_free(&mut garbage, debug);
            release_kept(&garbage[..kept]);
            panicked
        }
    };
    let (used, capacity) = (garbage.len(), garbage.capacity());
    garbage.clear();
    heap.scratch().garbage.give_back(garbage, used, capacity);
    panicked
}

/// Sets its latch when dropped, unwinding included.
struct SetOnDrop<'a>(&'a Latch);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Drops the values of `garbage` block by block and frees each member left alone after the
/// next block; returns how many `Drop`s panicked and how many members are kept for
/// [`release_kept`], moved to the front of `garbage`. Nothing is allocated meanwhile: with glibc,
/// a large allocation would consolidate every chunk freed so far.
fn drop_and_free(garbage: &mut [HeaderPtr], debug: DebugFlags) -> (usize, usize) {
    let (mut panicked, mut kept, mut checked) = (0, 0, 0);
    let mut frees = Frees::new();
    for block in blocks(garbage.len()) {
        panicked += drop_values(garbage, block.clone(), debug);
        let upto = freeable(block.end, garbage.len());
        // Below `checked` every member is freed or kept, so the front is free to write.
        for at in checked..upto {
            if !free_if_alone(garbage[at], &mut frees) {
                garbage[kept] = garbage[at];
                kept += 1;
            }
        }
        checked = upto;
    }
    (panicked, kept)
}

/// [`drop_and_free`] with the freeing done by a worker of `pool` while the collecting thread
/// drops; returns how many `Drop`s panicked and the members kept for [`release_kept`].
fn drop_and_free_on_worker(
    pool: &rayon::ThreadPool,
    garbage: &[HeaderPtr],
    debug: DebugFlags,
) -> (usize, Vec<HeaderPtr>) {
    let progress = Progress(AtomicUsize::new(0));
    let mut kept = Vec::new();
    let panicked = pool.in_place_scope(|scope| {
        scope.spawn(|_| progress.free_behind(garbage, &mut kept));
        let publish = Publish(&progress);
        let mut panicked = 0;
        for block in blocks(garbage.len()) {
            panicked += drop_values(garbage, block.clone(), debug);
            publish.dropped(block.end);
        }
        panicked
    });
    (panicked, kept)
}

/// Members dropped between two rounds of freeing: each member is checked for freeing once the
/// block that follows its own is dropped. By then the neighbours in the garbage that hold most of
/// the references to it (in a ring, a list, a tree built in order) are dropped, and its header
/// is still in cache; freeing in bursts keeps the allocator's work apart from the drops.
const BLOCK: usize = 32;

/// The blocks of `len` members, in order.
fn blocks(len: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(BLOCK)
        .map(move |start| start..(start + BLOCK).min(len))
}

/// Drops the values of `garbage[block]` in order; returns how many `Drop`s panicked.
fn drop_values(garbage: &[HeaderPtr], block: Range<usize>, debug: DebugFlags) -> usize {
    let mut panicked = 0;
    for i in block {
        if let Some(ahead) = garbage.get(i + PREFETCH) {
            prefetch(ahead.0.as_ptr());
        }
        if !drop_value(garbage[i], debug) {
            panicked += 1;
        }
    }
    panicked
}

/// With `dropped` of `len` members' values dropped, how many from the first may be freed: all
/// but the last block dropped, or all once every value is.
fn freeable(dropped: usize, len: usize) -> usize {
    if dropped == len {
        len
    } else {
        dropped.saturating_sub(BLOCK)
    }
}

/// How far the drops on the collecting thread have gone, for a collector worker freeing behind
/// them: the number of members whose values are dropped, [`ABANDONED`] if the drops stopped
/// early (unwinding).
struct Progress(AtomicUsize);

/// Progress of drops that stopped early: the members left are leaked, not freed.
const ABANDONED: usize = usize::MAX;

impl Progress {
    /// Frees, on a collector worker, the members the drops have left behind, keeping those
    /// still referenced (in `kept`), until every member is done or the drops are abandoned.
    fn free_behind(&self, garbage: &[HeaderPtr], kept: &mut Vec<HeaderPtr>) {
        let mut checked = 0;
        let mut backoff = Backoff::default();
        let mut frees = Frees::new();
        while checked < garbage.len() {
            // Acquire: the drops published are done, so a count read below is final unless a
            // handle still holds the member.
            let dropped = self.0.load(Ordering::Acquire);
            if dropped == ABANDONED {
                return;
            }
            let upto = freeable(dropped, garbage.len());
            if upto > checked {
                for at in checked..upto {
                    if let Some(ahead) = garbage.get(at + PREFETCH) {
                        prefetch(ahead.0.as_ptr());
                    }
                    if !free_if_alone(garbage[at], &mut frees) {
                        kept.push(garbage[at]);
                    }
                }
                checked = upto;
                backoff.reset();
            } else {
                backoff.snooze();
            }
        }
    }
}

/// The collecting thread's side of [`Progress`]: publishes each block dropped, and
/// [`ABANDONED`] if the drops unwind (a report of a panicking `Drop` that could not be
/// written), so the worker does not wait for them forever.
struct Publish<'a>(&'a Progress);

impl Publish<'_> {
    fn dropped(&self, dropped: usize) {
        // Release: the block's drops happen before the worker frees any of its members.
        self.0 .0.store(dropped, Ordering::Release);
    }
}

impl Drop for Publish<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0 .0.store(ABANDONED, Ordering::Release);
        }
    }
}

/// Drops the value of `object`, a member of the garbage; false if its `Drop` panicked (reported
/// on stderr, and named uncollectable with `debug`).
fn drop_value(object: HeaderPtr, debug: DebugFlags) -> bool {
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

/// Once all values are dropped: the collector's hold on each of `kept` is given back (as
/// `garbage::release` does, freeing in a row), and the allocation goes with it once no other
/// handle (one that escaped through a `Drop`, or a weak one) remains.
fn release_kept(kept: &[HeaderPtr]) {
    let mut frees = Frees::new();
    for (i, &object) in kept.iter().enumerate() {
        if let Some(ahead) = kept.get(i + PREFETCH) {
            prefetch(ahead.0.as_ptr());
        }
        let header = object.header();
        if !free_if_alone(object, &mut frees) && header.dec_strong() && header.dec_weak() {
            // SAFETY: no handle of either kind remains and the value is dropped.
            unsafe { frees.free(object.0) };
        }
    }
}

/// Frees `object`, a member whose value is dropped, with `frees`, if the collector's reference
/// is the only reference of either kind left to it; true if it did.
///
/// Freeing before the other values are dropped, on any thread, is safe then: with no strong
/// handle and no weak one left, nothing can reach the object any more — a handle is made only
/// from another handle (a weak one cannot upgrade: its references are cleared). A handle
/// dropped meanwhile on another thread is done with the header once its decrement (a release)
/// is seen by the acquire loads here; with no other reference, no other thread can change the
/// counts, so plain loads tell.
fn free_if_alone(object: HeaderPtr, frees: &mut Frees) -> bool {
    let header = object.header();
    let alone =
        header.strong.load(Ordering::Acquire) == 1 && header.weak.load(Ordering::Acquire) == 1;
    if alone {
        // SAFETY: its value is dropped, and no handle of either kind remains: see above.
        unsafe { frees.free(object.0) };
    }
    alone
}

/// `DebugFlags::SAVEALL`: keep the garbage alive in `Heap::garbage`, on the oldest list.
fn save_all(heap: &HeapInner, garbage: Vec<HeaderPtr>) {
    hand_back(heap, garbage.iter().copied(), heap.generations() - 1);
    // SAFETY: each member carries the collector's extra reference, handed over here.
    let handles = garbage
        .into_iter()
        .map(|o| unsafe { GcAny::from_owned(o.0) });
    heap.state().garbage.extend(handles);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    use std::sync::{Arc, Mutex};

    use super::BLOCK;
    use crate::test_support::quiet_heap as heap;
    use crate::{Config, Gc, GcCell, Heap, Trace, Weak};

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
        freed_during_the_drops(heap());
    }

    #[test]
    fn members_freed_on_workers_dropping_halves_are_never_reached_by_a_later_drop() {
        let config = Config::default().workers(2).shards(2).parallel_cutoff(1);
        let heap = Heap::with_config(config).expect("a valid configuration");
        heap.disable();
        freed_during_the_drops(heap);
    }

    #[test]
    fn members_freed_on_workers_behind_the_drops_are_never_reached_by_a_later_drop() {
        let config = Config::default()
            .workers(2)
            .shards(2)
            .parallel_cutoff(1)
            .pool(false);
        let heap = Heap::with_config(config).expect("a valid configuration");
        heap.disable();
        freed_during_the_drops(heap);
    }

    /// A garbage ring member that records the thread its value is dropped on.
    #[derive(Trace)]
    struct Seen {
        next: GcCell<Option<Gc<Seen>>>,
        #[gc(skip)]
        threads: Arc<Mutex<Vec<Option<String>>>>,
    }

    impl Drop for Seen {
        fn drop(&mut self) {
            let name = std::thread::current().name().map(str::to_owned);
            self.threads.lock().unwrap().push(name);
        }
    }

    #[test]
    fn with_the_pool_on_workers_the_heaps_own_worker_drops_half_the_garbage() {
        let config = Config::default()
            .pool(true)
            .workers(2)
            .shards(2)
            .parallel_cutoff(1);
        let heap = Heap::with_config(config).expect("a valid configuration");
        heap.disable();
        let threads = Arc::new(Mutex::new(Vec::new()));
        let n = 4 * BLOCK;
        let ring: Vec<Gc<Seen>> = (0..n)
            .map(|_| {
                heap.alloc(Seen {
                    next: GcCell::new(None),
                    threads: threads.clone(),
                })
            })
            .collect();
        for (i, member) in ring.iter().enumerate() {
            *member.next.borrow_mut() = Some(ring[(i + 1) % n].clone());
        }
        drop(ring);
        assert_eq!(heap.collect(), n);
        let threads = threads.lock().unwrap();
        let here = std::thread::current().name().map(str::to_owned);
        let on_worker = threads
            .iter()
            .filter(|name| name.as_deref().is_some_and(|n| n.starts_with("gc-worker-")))
            .count();
        let on_here = threads.iter().filter(|&name| *name == here).count();
        assert_eq!(
            (on_here, on_worker),
            (n / 2, n / 2),
            "the front half here, the back half on one of the heap's workers (not rayon's global pool): {threads:?}"
        );
    }

    fn freed_during_the_drops(heap: Heap) {
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
