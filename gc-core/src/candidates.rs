//! Candidates (Bacon and Rajan's *possible roots*): objects whose strong count fell to a value
//! above zero. A garbage cycle always holds one — the last reference from outside it went by a
//! decrement that left its target's count above zero, the cycle's own edges being still there —
//! so a heap of `Scan::Candidates` examines only what is reachable from its candidates.
//!
//! ```text
//!  drop of a handle, count 3 → 2   not BUFFERED: set BUFFERED, then, holding the world, push
//!                                  on this thread's shard's candidate list (a thread without
//!                                  a shard hands it to the object's shard's inbox)
//!  death while BUFFERED            the value goes as ever; the allocation stays for the entry
//!  collection of generation g      entries of gens ≤ g are its seeds; entries of dead
//!                                  objects are freed; seeds are examined, then let go
//! ```
//!
//! The record comes *before* the decrement, while the dropping handle still keeps the object
//! alive, so it never touches freed memory; if other handles go meanwhile and the decrement
//! turns out to be the last, the object dies as a recorded candidate, and its entry frees it.
//! Objects being collected are never recorded: their entries would outlive them.
//!
//! # The invariant
//!
//! *Every garbage object is reachable from a recorded candidate.* A collection that examines
//! only candidates finds all garbage only if this holds, so each way of losing a candidate is
//! closed:
//!
//! - An object turns into garbage only when a reference to it goes: the decrement either frees
//!   it (and its own references go the same way) or leaves it above zero, and then it is
//!   recorded, or was already. Two drops racing both see a count above one, or the later one
//!   frees.
//! - A decrement never lands while a collection has the world stopped: on a heap that scans
//!   candidates, a thread that does not hold the world drops handles to tracked objects under
//!   a hold (see `handle`). Otherwise an object the collection counted as referenced could lose
//!   that reference after its entry was taken, or unrecorded because it is in the region.
//! - Garbage members are not recorded while finalizers run (`IN_SET`): the resurrection check
//!   judges them afterwards with the world stopped, and what it keeps is referenced from
//!   outside the garbage, by something live or by garbage that a candidate reaches. What a
//!   collection keeps without judging it (a check that could not run) is recorded again.
//! - A seed that survives a collection of younger generations stays a candidate: what keeps it
//!   may be garbage in an older generation, unexamined. Only a full collection lets surviving
//!   seeds go, since then all they reach was in the region and is referenced from outside the
//!   heap.

use core::ptr::NonNull;

use crate::header::{flag, Header, HeaderPtr, IMMORTAL};
use crate::heap::HeapInner;
use crate::seeded;
use crate::sync::Ordering;
use crate::world;

/// The flags a dropped handle's object must show to be recorded: its heap collects from
/// candidates, and it is neither recorded already nor in a collection's garbage.
const MASK: u32 = flag::CANDIDATES | flag::BUFFERED | flag::TEARDOWN | flag::IN_SET;

/// Whether a handle to `header` about to give up its reference makes its object a candidate:
/// the count stays above zero (and is not immortal), and [`MASK`] shows only `CANDIDATES`.
#[inline]
pub(crate) fn worth_recording(header: &Header) -> bool {
    if header.flags() & MASK != flag::CANDIDATES {
        return false;
    }
    let strong = header.strong_count();
    strong > 1 && strong < IMMORTAL
}

/// Records `object` as a candidate, once.
///
/// # Safety
/// The caller owns a strong reference to `object` for the duration of the call (it has not
/// given it up yet), and `object` is tracked.
#[cold]
#[inline(never)]
pub(crate) unsafe fn record(object: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the object alive.
    let header = unsafe { object.as_ref() };
    if header.flags.fetch_or(flag::BUFFERED, Ordering::Relaxed) & flag::BUFFERED != 0 {
        return;
    }
    // SAFETY: a tracked object alive is listed (`IN_SET` and `TEARDOWN` are excluded), and a
    // listed object keeps its heap alive.
    let heap = unsafe { &*header.heap };
    world::held(|| heap.buffer_candidate(object));
}

impl HeapInner {
    /// Puts a freshly recorded candidate on this thread's shard's list, or hands it to its
    /// own shard's owner. The caller holds the world.
    fn buffer_candidate(&self, object: NonNull<Header>) {
        // SAFETY: the recording handle keeps the object alive.
        let header = unsafe { object.as_ref() };
        if self.is_orphaned() {
            // No collection will look at candidates any more.
            header.clear(flag::BUFFERED);
            return;
        }
        match self.my_shard(world::thread_token()) {
            Some(index) => {
                let shard = &self.shards()[index];
                // SAFETY: this thread owns the shard and holds the world.
                unsafe { shard.candidates().push(HeaderPtr(object)) };
                shard.candidate_hint.fetch_add(1, Ordering::Relaxed);
                // SAFETY: as above.
                unsafe { self.trigger().count_candidate(shard) };
            }
            None => {
                let shard = &self.shards()[header.shard()];
                shard.candidate_hint.fetch_add(1, Ordering::Relaxed);
                shard.post(crate::generation::Handover::Candidate(object));
            }
        }
    }

    /// True when some shard may hold candidates (a hint; see the shard's `candidate_hint`).
    pub(crate) fn has_candidates(&self) -> bool {
        self.shards()
            .iter()
            .any(|s| s.candidate_hint.load(Ordering::Relaxed) != 0)
    }
}

/// Records again objects a collection puts back on the lists without knowing whether they are
/// garbage (a resurrection check it could not finish): each becomes a candidate once more, on
/// its own shard's list if the world is stopped, else through that shard's inbox, so that a
/// later collection examines it. Objects of a heap that scans generations are left as they are.
pub(crate) fn record_again(heap: &HeapInner, objects: &[HeaderPtr], stopped: bool) {
    if heap.is_orphaned() {
        return;
    }
    for &object in objects {
        let header = object.header();
        if !header.has(flag::CANDIDATES)
            || header.flags.fetch_or(flag::BUFFERED, Ordering::Relaxed) & flag::BUFFERED != 0
        {
            continue;
        }
        let shard = &heap.shards()[header.shard()];
        shard.candidate_hint.fetch_add(1, Ordering::Relaxed);
        if stopped {
            // SAFETY: the world is stopped.
            unsafe { shard.candidates().push(object) };
        } else {
            shard.post(crate::generation::Handover::Candidate(object.0));
        }
    }
}

/// Lets go of the entry of candidate `object`: if its death is over (`DEAD`), its allocation,
/// which the entry kept, is freed; otherwise it is no longer recorded (`BUFFERED` off), and a
/// death under way — its value being dropped by a thread that let a collection in — frees it
/// itself when it ends. The world is stopped.
///
/// # Safety
/// `object` is a candidate whose entry the caller has just taken out of a list.
pub(crate) unsafe fn let_go(object: HeaderPtr) {
    let header = object.header();
    if header.has(flag::DEAD) {
        // The entry held the strong handles' weak reference.
        if header.dec_weak() {
            // SAFETY: no handle of either kind remains.
            unsafe { (header.vtable.dealloc)(object.0.as_ptr()) };
        }
        return;
    }
    header.clear(flag::BUFFERED);
}

/// The death of `header`'s object is over (its value dropped, off its list): true if it is a
/// recorded candidate, whose entry now frees it (`DEAD`); false if the caller frees it. The
/// caller holds the world (or has it stopped).
pub(crate) fn dead(header: &Header) -> bool {
    if !header.has(flag::BUFFERED) || seeded::ZOMBIE_FREED_EARLY {
        return false;
    }
    header.set(flag::DEAD);
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::{Config, Gc, GcCell, Heap, Scan, Trace};

    #[derive(Trace)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
        #[gc(skip)]
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn heap(generations: usize) -> Heap {
        let config = Config::default()
            .scan(Scan::Candidates)
            .thresholds(&vec![0; generations])
            .workers(1)
            .shards(2);
        Heap::with_config(config).expect("a valid configuration")
    }

    fn node(heap: &Heap, drops: &Arc<AtomicUsize>) -> Gc<Node> {
        heap.alloc(Node {
            next: GcCell::new(None),
            drops: drops.clone(),
        })
    }

    /// A recorded candidate that dies by reference count keeps its allocation for its entry,
    /// which the next collection frees: here (under Miri) a free by the death itself would be
    /// a use after free, and a free by neither a leak.
    #[test]
    fn a_candidate_that_dies_is_freed_by_its_entry() {
        let heap = heap(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &drops);
        let weak = Gc::downgrade(&a);
        drop(a.clone());
        drop(a);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dead at once");
        assert!(weak.upgrade().is_none());
        drop(weak);
        // Died on another thread, whose free is handed to the owner of the object's shard.
        let b = node(&heap, &drops);
        drop(b.clone());
        std::thread::scope(|s| {
            s.spawn(move || drop(b));
        });
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        // Unwrapped: the value moves out, the allocation stays for the entry.
        let c = node(&heap, &drops);
        drop(c.clone());
        let value = Gc::try_unwrap(c).ok().expect("the only handle");
        drop(value);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        assert_eq!(heap.collect(), 0, "nothing was garbage");
        assert!(heap.objects(None).unwrap().is_empty());
    }

    /// A cycle whose older half is in generation 1 and whose only candidate is in generation 0:
    /// the young collection finds the candidate alive (referenced from generation 1) and must
    /// keep it a candidate, for the full collection to find the cycle.
    #[test]
    fn a_seed_kept_by_an_older_generation_stays_a_candidate() {
        let heap = heap(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let old = node(&heap, &drops);
        heap.collect_generation(0).unwrap();
        let young = heap.alloc(Node {
            next: GcCell::new(Some(old)),
            drops: drops.clone(),
        });
        if let Some(old) = &*young.next.borrow() {
            old.next.set(Some(young.clone()));
        }
        // The last handle from outside goes: `young` is the cycle's one candidate.
        drop(young);
        assert_eq!(heap.collect_generation(0), Ok(0), "kept by generation 1");
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        assert_eq!(heap.collect(), 2, "the full collection finds the cycle");
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }
}
