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
//! CPython's counting rules, which these lists feed, are the trigger's (`trigger`).

use core::ptr::NonNull;

use crate::candidates::CandidateLists;
use crate::header::{flag, Header, HeaderPtr};
use crate::sync::{
    AtomicBool, AtomicIsize, AtomicUsize, ExclusiveCell, ExclusiveMut, Mutex, Ordering,
};

/// What another thread hands over to a shard's owner.
pub(crate) enum Handover {
    /// Put the object on list `gen` (allocations of threads without a shard, survivors
    /// re-listed with the world running).
    List(NonNull<Header>, usize),
    /// The object is dead and its value dropped: unlist it and give up the strong handles'
    /// implicit weak reference (unless it is a candidate: its entry frees it).
    Dead(NonNull<Header>),
    /// A candidate recorded by a thread without a shard of the heap: into the candidate list.
    Candidate(NonNull<Header>),
    /// A collection of generation `g` examined nothing and stopped no thread: lists `0..=g`
    /// are to join list `g + 1`, as if its survivors were promoted then.
    Promote(usize),
}

/// One shard's generation lists; the last list is the permanent (frozen) generation.
pub(crate) struct Shard {
    /// The owning thread's token, 0 when free.
    pub(crate) owner: AtomicUsize,
    /// Only the owner holding the world, or a collector with the world stopped, touches these.
    lists: ExclusiveCell<Vec<Vec<HeaderPtr>>>,
    /// Allocations minus deallocations not yet added to the heap's gen-0 count. Written by
    /// whoever may touch the lists (plain load and store), read by anyone.
    pub(crate) unpublished: AtomicIsize,
    /// The trigger's measure not yet published, for `Trigger::Candidates` and `Trigger::Bytes`
    /// (the same exclusion as `unpublished`).
    pub(crate) unpublished_due: AtomicIsize,
    /// Candidates recorded by this shard's owner, or handed to it (`candidates`), one list per
    /// generation, under the same exclusion as the lists.
    candidates: ExclusiveCell<CandidateLists>,
    /// Per candidate list, about how many entries it and the inbox hold: added to by whoever
    /// files or posts one, read by a collection deciding whether it has anything to examine
    /// (`Shard::may_hold_candidates` says how far the hints can be trusted).
    pub(crate) candidate_hints: Box<[AtomicUsize]>,
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
            lists: ExclusiveCell::new((0..=generations).map(|_| Vec::new()).collect()),
            unpublished: AtomicIsize::new(0),
            unpublished_due: AtomicIsize::new(0),
            candidates: ExclusiveCell::new(CandidateLists::new(generations)),
            candidate_hints: (0..=generations).map(|_| AtomicUsize::new(0)).collect(),
            inbox: Mutex::new(Vec::new()),
            mail: AtomicBool::new(false),
        }
    }

    /// The lists.
    ///
    /// # Safety
    /// The caller is the shard's owner and holds the world, or has the world stopped; and no
    /// other guard from this function is alive.
    #[inline]
    pub(crate) unsafe fn lists(&self) -> ExclusiveMut<'_, Vec<Vec<HeaderPtr>>> {
        // SAFETY: per the contract, the access is exclusive.
        unsafe { self.lists.get_mut() }
    }

    /// The candidate lists.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    #[inline]
    pub(crate) unsafe fn candidates(&self) -> ExclusiveMut<'_, CandidateLists> {
        // SAFETY: per the contract, the access is exclusive.
        unsafe { self.candidates.get_mut() }
    }

    /// Moves every object of generation `from` to generation `to`, and their candidate list
    /// with them. Moving to a younger generation (`unfreeze`) notes the moved entries there.
    ///
    /// # Safety
    /// As for [`Shard::lists`], and no guard of the lists or candidate lists is alive.
    pub(crate) unsafe fn merge(&self, from: usize, to: usize) {
        // SAFETY: forwarded from the caller.
        merge(&mut unsafe { self.lists() }, from, to);
        // SAFETY: as above.
        let mut candidates = unsafe { self.candidates() };
        if to < from {
            self.candidate_hints[to].fetch_add(candidates.len(from), Ordering::Relaxed);
        }
        candidates.merge(from, to);
    }

    /// Adds `delta` to the unpublished count; returns the new value.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    #[inline]
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

    /// Hands the owner a promotion of generations `0..=gen`. Promotions in a row make one: the
    /// later of the two, or the older, does what both would.
    pub(crate) fn post_promote(&self, gen: usize) {
        let mut inbox = self.inbox.lock();
        match inbox.last_mut() {
            Some(Handover::Promote(last)) => *last = (*last).max(gen),
            _ => inbox.push(Handover::Promote(gen)),
        }
        self.mail.store(true, Ordering::Release);
    }

    /// Locks the inbox; for an orphaned heap this lock also guards the lists.
    pub(crate) fn lock_inbox(&self) -> crate::sync::MutexGuard<'_, Vec<Handover>> {
        self.inbox.lock()
    }

    #[inline]
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
pub(crate) fn push(lists: &mut [Vec<HeaderPtr>], gen: usize, object: NonNull<Header>) {
    let list = &mut lists[gen];
    let object = HeaderPtr(object);
    let header = object.header();
    header.set_generation(gen);
    header.set(flag::LISTED);
    header.index.store(list.len() as u32, Ordering::Relaxed);
    list.push(object);
}

/// Appends a freshly allocated object to gen 0. Its header already says gen 0 and `LISTED`,
/// and no other thread can see it yet, so only the position is written.
#[inline]
pub(crate) fn push_new(lists: &mut [Vec<HeaderPtr>], object: NonNull<Header>) {
    let list = &mut lists[0];
    let object = HeaderPtr(object);
    object
        .header()
        .index
        .store(list.len() as u32, Ordering::Relaxed);
    list.push(object);
}

/// Removes a dead object from its list. Nobody else can reach a dead object's flags, so they
/// are written without a read-modify-write.
#[inline]
pub(crate) fn remove(lists: &mut [Vec<HeaderPtr>], header: &Header) {
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
pub(crate) fn merge(lists: &mut [Vec<HeaderPtr>], from: usize, to: usize) {
    let mut moved = core::mem::take(&mut lists[from]);
    for object in moved.drain(..) {
        push(lists, to, object.0);
    }
    // Empty, with its room kept for the objects to come.
    lists[from] = moved;
}
