//! Generations: the per-shard object lists and CPython's counting rules.
//!
//! ```text
//!  shard 0:  gen0 [a b c]   gen1 [d]      gen2 [e f]   permanent [ ]
//!  shard 1:  gen0 [g]       gen1 [ ]      gen2 [h]     permanent [i]
//!            ^ allocations of the threads mapped to the shard land here
//! ```
//!
//! Each list is a vector of headers; an object's `index` is its position, so removal is a
//! swap-remove that rewrites one other object's index.
//!
//! A shard is *owned* by one thread (it claims a free one on its first tracked allocation), and
//! only its owner touches the lists — always while holding the world — or a collector with the
//! world stopped. The world lock is therefore the shard's lock, and the owner's allocations and
//! frees cost no atomic read-modify-write at all. Another thread that frees an object of a
//! shard it does not own drops the value at once but hands the header over through the shard's
//! *inbox*; the owner (at its next allocation) or the collector (before every scan) takes it
//! off the list and frees it.
//!
//! Counting follows CPython 3.12: `count[0]` is tracked allocations minus deallocations since
//! the last collection (published from the shards in small batches); `count[g]` for `g > 0` is
//! the number of collections of generation `g - 1` since the last collection of `g`.

use core::cell::UnsafeCell;
use core::ptr::NonNull;

use crate::header::{flag, Header};
use crate::sync::{AtomicBool, AtomicIsize, AtomicUsize, Mutex, Ordering};

/// A tracked object on a list (or in a collection's sets): a pointer to its header. Lists are
/// only read with the world stopped or by their owner, so an `Object` may cross to collector
/// workers.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Object(pub(crate) NonNull<Header>);

// SAFETY: objects are shared between the collecting thread and its workers only while the
// collector owns the lists (world stopped) or the set; every field they touch is atomic.
unsafe impl Send for Object {}
// SAFETY: as for `Send`.
unsafe impl Sync for Object {}

impl Object {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: listed objects are alive (they cannot be freed while the world is stopped,
        // and only their shard's owner frees them otherwise), and a collection holds its
        // garbage until torn down.
        unsafe { self.0.as_ref() }
    }

    /// Edges as recorded by a `Tracer`, seen as objects (to share them among workers).
    #[inline]
    pub(crate) fn from_edges(edges: &[NonNull<Header>]) -> &[Object] {
        // SAFETY: `Object` is `repr(transparent)` over `NonNull<Header>`: same layout, and the
        // slice keeps its lifetime.
        unsafe { core::slice::from_raw_parts(edges.as_ptr().cast::<Object>(), edges.len()) }
    }
}

/// What another thread hands over to a shard's owner.
pub(crate) enum Handover {
    /// Put the object on list `gen` (allocations of threads without a shard, survivors
    /// re-listed with the world running).
    List(NonNull<Header>, usize),
    /// The object is dead and its value dropped: unlist it and give up the strong handles'
    /// implicit weak reference.
    Dead(NonNull<Header>),
}

/// One shard's generation lists; the last list is the permanent (frozen) generation.
pub(crate) struct Shard {
    /// The owning thread's token, 0 when free.
    pub(crate) owner: AtomicUsize,
    /// Only the owner holding the world, or a collector with the world stopped, touches these.
    lists: UnsafeCell<Vec<Vec<Object>>>,
    /// Allocations minus deallocations not yet added to the heap's gen-0 count. Written by
    /// whoever may touch the lists (plain load and store), read by anyone.
    pub(crate) unpublished: AtomicIsize,
    inbox: Mutex<Vec<Handover>>,
    mail: AtomicBool,
}

// SAFETY: the lists are only touched under the exclusion described on the field (the owner
// while holding the world, or a collector with the world stopped); everything else is atomic
// or behind a mutex.
unsafe impl Send for Shard {}
// SAFETY: as for `Send`.
unsafe impl Sync for Shard {}

impl Shard {
    pub(crate) fn new(generations: usize) -> Self {
        Shard {
            owner: AtomicUsize::new(0),
            lists: UnsafeCell::new((0..=generations).map(|_| Vec::new()).collect()),
            unpublished: AtomicIsize::new(0),
            inbox: Mutex::new(Vec::new()),
            mail: AtomicBool::new(false),
        }
    }

    /// The lists.
    ///
    /// # Safety
    /// The caller is the shard's owner and holds the world, or has the world stopped; and no
    /// other reference from this function is alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn lists(&self) -> &mut Vec<Vec<Object>> {
        // SAFETY: per the contract, the access is exclusive.
        unsafe { &mut *self.lists.get() }
    }

    /// Adds `delta` to the unpublished count; returns the new value.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    pub(crate) unsafe fn count(&self, delta: isize) -> isize {
        let n = self.unpublished.load(Ordering::Relaxed) + delta;
        self.unpublished.store(n, Ordering::Relaxed);
        n
    }

    /// Hands an object over to whoever owns the lists.
    pub(crate) fn post(&self, handover: Handover) {
        self.inbox.lock().push(handover);
        self.mail.store(true, Ordering::Release);
    }

    /// Locks the inbox; for an orphaned heap this lock also guards the lists.
    pub(crate) fn lock_inbox(&self) -> crate::sync::MutexGuard<'_, Vec<Handover>> {
        self.inbox.lock()
    }

    pub(crate) fn has_mail(&self) -> bool {
        self.mail.load(Ordering::Relaxed)
    }

    /// Takes the handed-over objects, in the order they came.
    pub(crate) fn take_mail(&self) -> Vec<Handover> {
        let mut inbox = self.inbox.lock();
        self.mail.store(false, Ordering::Relaxed);
        core::mem::take(&mut *inbox)
    }
}

/// Appends an object to list `gen`, recording its generation and position.
pub(crate) fn push(lists: &mut [Vec<Object>], gen: usize, object: NonNull<Header>) {
    let list = &mut lists[gen];
    let object = Object(object);
    let header = object.header();
    header.set_generation(gen);
    header.set(flag::LISTED);
    header.index.store(list.len() as u32, Ordering::Relaxed);
    list.push(object);
}

/// Appends a freshly allocated object to gen 0. Its header already says gen 0 and `LISTED`,
/// and no other thread can see it yet, so only the position is written.
#[inline]
pub(crate) fn push_new(lists: &mut [Vec<Object>], object: NonNull<Header>) {
    let list = &mut lists[0];
    let object = Object(object);
    object
        .header()
        .index
        .store(list.len() as u32, Ordering::Relaxed);
    list.push(object);
}

/// Removes a dead object from its list. Nobody else can reach a dead object's flags, so they
/// are written without a read-modify-write.
#[inline]
pub(crate) fn remove(lists: &mut [Vec<Object>], header: &Header) {
    let list = &mut lists[header.generation()];
    let index = header.index.load(Ordering::Relaxed) as usize;
    debug_assert!(core::ptr::eq(list[index].0.as_ptr(), header));
    list.swap_remove(index);
    if let Some(moved) = list.get(index) {
        moved.header().index.store(index as u32, Ordering::Relaxed);
    }
    header
        .flags
        .store(header.flags() & !flag::LISTED, Ordering::Relaxed);
}

/// Moves every object of list `from` to the end of list `to`.
pub(crate) fn merge(lists: &mut [Vec<Object>], from: usize, to: usize) {
    let moved = core::mem::take(&mut lists[from]);
    for object in moved {
        push(lists, to, object.0);
    }
}

/// CPython's generation counters and thresholds for one heap.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) thresholds: Vec<usize>,
    /// `counts[g]` for `g > 0`; `counts[0]` is kept in the heap's atomic and the shards.
    pub(crate) counts: Vec<usize>,
    /// Objects that survived the last full collection.
    pub(crate) long_lived_total: usize,
    /// Objects promoted to the oldest generation since then.
    pub(crate) long_lived_pending: usize,
}

impl Counters {
    pub(crate) fn new(thresholds: Vec<usize>) -> Self {
        let n = thresholds.len();
        Counters {
            thresholds,
            counts: vec![0; n],
            long_lived_total: 0,
            long_lived_pending: 0,
        }
    }

    pub(crate) fn generations(&self) -> usize {
        self.thresholds.len()
    }

    /// The generation an automatic collection should take, given gen 0's count: the oldest
    /// whose count exceeds its threshold, with the 25 % rule guarding the oldest.
    pub(crate) fn select(&self, young: usize, long_lived_rule: bool) -> Option<usize> {
        let oldest = self.generations() - 1;
        (0..self.generations()).rev().find(|&g| {
            let count = if g == 0 { young } else { self.counts[g] };
            if count <= self.thresholds[g] {
                return false;
            }
            !(g == oldest
                && g > 0
                && long_lived_rule
                && self.long_lived_pending < self.long_lived_total / 4)
        })
    }

    /// Books a finished collection of `gen` whose survivors were promoted.
    pub(crate) fn collected(&mut self, gen: usize, survivors: usize) {
        let oldest = self.generations() - 1;
        if gen < oldest {
            self.counts[gen + 1] += 1;
        }
        for count in &mut self.counts[1..=gen] {
            *count = 0;
        }
        if gen == oldest {
            self.long_lived_pending = 0;
            self.long_lived_total = survivors;
        } else if gen + 1 == oldest {
            self.long_lived_pending += survivors;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_oldest_generation_over_threshold() {
        let mut c = Counters::new(vec![700, 10, 10]);
        assert_eq!(c.select(700, true), None);
        assert_eq!(c.select(701, true), Some(0));
        c.counts[1] = 11;
        assert_eq!(c.select(701, true), Some(1));
        c.counts[2] = 11;
        assert_eq!(c.select(701, true), Some(2));
    }

    #[test]
    fn the_long_lived_rule_defers_full_collections() {
        let mut c = Counters::new(vec![700, 10, 10]);
        c.counts[2] = 11;
        c.long_lived_total = 1000;
        c.long_lived_pending = 100;
        assert_eq!(c.select(0, true), None);
        assert_eq!(c.select(0, false), Some(2));
        c.long_lived_pending = 251;
        assert_eq!(c.select(0, true), Some(2));
    }

    #[test]
    fn collecting_counts_as_cpython_does() {
        let mut c = Counters::new(vec![700, 10, 10]);
        c.collected(0, 5);
        assert_eq!(c.counts, vec![0, 1, 0]);
        c.collected(1, 7);
        assert_eq!(c.counts, vec![0, 0, 1]);
        assert_eq!(c.long_lived_pending, 7);
        c.collected(2, 30);
        assert_eq!(c.counts, vec![0, 0, 0]);
        assert_eq!((c.long_lived_total, c.long_lived_pending), (30, 0));
    }
}
