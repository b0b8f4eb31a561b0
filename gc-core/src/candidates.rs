//! Candidates (Bacon and Rajan's *possible roots*): objects whose strong count fell to a value
//! above zero. A garbage cycle always holds one — the last reference from outside it went by a
//! decrement that left its target's count above zero, the cycle's own edges being still there —
//! so a heap of `Scan::Candidates` examines only what is reachable from its candidates.
//!
//! ```text
//!  drop of a handle, count 3 → 2   not BUFFERED: set BUFFERED, then, holding the world, push
//!                                  on this thread's shard's candidate list of the object's
//!                                  generation (a thread without a shard hands it to the
//!                                  object's shard's inbox)
//!  death while BUFFERED            the value goes as ever; the allocation stays for the entry
//!  collection of generation g      lists 0..=g are taken: their entries are its seeds, those
//!                                  of dead objects are freed; seeds are examined, then let go
//!                                  or kept for the generation the survivors move to
//! ```
//!
//! ```text
//!  shard 0 candidates:  gen0 [a b]   gen1 [c]   gen2 [d e ✝]   permanent [ ]
//!                       └─ a gen-0 collection takes only this list; gen 2's entries wait for
//!                          a full one, its dead ones (✝) swept when the list has doubled
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

use crate::generation::Shard;
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
                shard.note_candidate(header.generation());
                // SAFETY: this thread owns the shard and holds the world.
                unsafe { shard.candidates().push(HeaderPtr(object)) };
                // SAFETY: as above.
                unsafe { self.trigger().count_candidate(shard) };
            }
            None => {
                let shard = &self.shards()[header.shard()];
                shard.note_candidate(header.generation());
                shard.post(crate::generation::Handover::Candidate(object));
            }
        }
    }

    /// True when some shard may hold candidates of generations `0..=gen` (a hint, never
    /// short: see [`Shard::may_hold_candidates`]).
    pub(crate) fn has_candidates(&self, gen: usize) -> bool {
        self.shards().iter().any(|s| s.may_hold_candidates(gen))
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
        shard.note_candidate(header.generation());
        if stopped {
            // SAFETY: the world is stopped.
            unsafe { shard.candidates().push(object) };
        } else {
            shard.post(crate::generation::Handover::Candidate(object.0));
        }
    }
}

/// A list of a generation older than the one collected is swept of its dead entries once it
/// is at least this long and twice as long as after its last sweep: the sweeps cost a constant
/// per entry recorded, and a list holds at most about as many dead entries as live ones.
const SWEEP_AT: usize = 64;

/// One shard's candidates: a list per generation, the last for the permanent one.
///
/// An entry goes on the list of its object's generation when recorded. Objects move only to
/// older generations, and when a whole generation moves its list moves with it
/// ([`CandidateLists::merge`]), so an entry is never on a list older than its object's
/// generation; a collection re-files any entry it finds on a younger one.
pub(crate) struct CandidateLists {
    by_generation: Vec<Vec<HeaderPtr>>,
    /// Each list's length after its last sweep or take.
    swept: Vec<usize>,
}

impl CandidateLists {
    /// Empty lists for `generations` generations and the permanent one.
    pub(crate) fn new(generations: usize) -> Self {
        CandidateLists {
            by_generation: (0..=generations).map(|_| Vec::new()).collect(),
            swept: vec![0; generations + 1],
        }
    }

    /// Files `object` on the list of its generation.
    pub(crate) fn push(&mut self, object: HeaderPtr) {
        let gen = object.header().generation();
        self.by_generation[gen].push(object);
    }

    /// Files `object` on list `gen`: the generation it is about to move to.
    pub(crate) fn push_to(&mut self, gen: usize, object: HeaderPtr) {
        self.by_generation[gen].push(object);
    }

    /// Moves list `from` to the end of list `to`, beside the objects' own move.
    pub(crate) fn merge(&mut self, from: usize, to: usize) {
        let mut moved = core::mem::take(&mut self.by_generation[from]);
        self.by_generation[to].append(&mut moved);
        // Empty, with its room kept for the entries to come.
        self.by_generation[from] = moved;
    }

    /// Takes list `gen`, leaving it empty with room for as many entries: the list fills again
    /// at about the rate it did, and growing it from nothing would copy it a dozen times.
    pub(crate) fn take(&mut self, gen: usize) -> Vec<HeaderPtr> {
        self.swept[gen] = 0;
        let list = &mut self.by_generation[gen];
        core::mem::replace(list, Vec::with_capacity(list.len()))
    }

    /// Entries on lists `0..=gen`.
    pub(crate) fn len_through(&self, gen: usize) -> usize {
        self.by_generation[..=gen].iter().map(Vec::len).sum()
    }

    /// How many entries list `gen` holds.
    pub(crate) fn len(&self, gen: usize) -> usize {
        self.by_generation[gen].len()
    }

    /// Frees the dead entries of the lists older than `gen` that have grown enough since their
    /// last sweep ([`SWEEP_AT`]). The world is stopped.
    ///
    /// # Safety
    /// The world is stopped.
    pub(crate) unsafe fn sweep_older(&mut self, gen: usize) {
        for older in gen + 1..self.by_generation.len() {
            let list = &mut self.by_generation[older];
            if list.len() < SWEEP_AT.max(2 * self.swept[older]) {
                continue;
            }
            list.retain(|&object| {
                if !object.header().has(flag::DROPPED) {
                    return true;
                }
                // SAFETY: the entry is being taken out of its list, and the world is stopped.
                unsafe { let_go(object) };
                false
            });
            self.swept[older] = list.len();
        }
    }

    /// Lets every entry go (the heap's collections are over). The world is stopped.
    ///
    /// # Safety
    /// The world is stopped.
    pub(crate) unsafe fn let_all_go(&mut self) {
        for gen in 0..self.by_generation.len() {
            for object in self.take(gen) {
                // SAFETY: just taken out of its list; the world is stopped.
                unsafe { let_go(object) };
            }
        }
    }
}

impl Shard {
    /// Notes a candidate about to be filed, or handed over to be filed, on list `gen`.
    pub(crate) fn note_candidate(&self, gen: usize) {
        self.candidate_hints[gen].fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the candidate lists of generations `0..=gen` (or the inbox) may hold entries.
    ///
    /// A hint, but never short: for every `gen`, the hints of lists `0..=gen` add up to at
    /// least the entries those lists and the inbox hold. Every entry is noted before it is
    /// filed or posted; entries move only to older lists, except by `unfreeze`, which notes
    /// what it moves; and only a collection, with the world stopped and the inboxes drained,
    /// sets the hints to the lists' lengths ([`Shard::recount_candidates`]).
    pub(crate) fn may_hold_candidates(&self, gen: usize) -> bool {
        self.candidate_hints[..=gen]
            .iter()
            .any(|hint| hint.load(Ordering::Relaxed) != 0)
    }

    /// Sets the hints to the lists' lengths.
    ///
    /// # Safety
    /// The world is stopped and the shard's inbox drained.
    pub(crate) unsafe fn recount_candidates(&self, lists: &CandidateLists) {
        for (gen, hint) in self.candidate_hints.iter().enumerate() {
            hint.store(lists.len(gen), Ordering::Relaxed);
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

    /// The same cycle beside a young generation full of garbage candidates: the young
    /// collection scans its generation whole (its candidates are dense), finds the garbage,
    /// and must still keep the surviving seed a candidate for the full collection.
    #[test]
    fn a_dense_young_collection_scans_whole_and_keeps_its_surviving_seeds() {
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
        drop(young);
        let live: Vec<_> = (0..50).map(|_| node(&heap, &drops)).collect();
        for _ in 0..100 {
            let cycle = node(&heap, &drops);
            cycle.next.set(Some(cycle.clone()));
        }
        let examined = examined(&heap);
        assert_eq!(heap.collect_generation(0), Ok(100), "the self-cycles");
        assert_eq!(
            examined.load(Ordering::SeqCst),
            151,
            "the whole young generation, the live nodes that are no candidates included"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 100);
        assert_eq!(heap.collect(), 2, "the full collection finds the cycle");
        assert_eq!(drops.load(Ordering::SeqCst), 102);
        drop(live);
        assert_eq!(drops.load(Ordering::SeqCst), 152);
        assert!(heap.objects(None).unwrap().is_empty());
    }

    /// A ring of garbage with one candidate fills its region with most of the generation: the
    /// next collection of that generation scans it whole, the live objects no candidate reaches
    /// included; one that then finds little garbage goes back to the candidates.
    #[test]
    fn a_region_that_held_most_of_its_generation_makes_the_next_scan_whole() {
        let heap = heap(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let examined = examined(&heap);
        // Built by moving each handle into the next node, so that only the drop of `tail`, at
        // the end, makes a candidate.
        let ring = |n: usize| {
            let tail = node(&heap, &drops);
            let mut head = tail.clone();
            for _ in 1..n {
                head = heap.alloc(Node {
                    next: GcCell::new(Some(head)),
                    drops: drops.clone(),
                });
            }
            tail.next.set(Some(head));
        };
        let live: Vec<_> = (0..40).map(|_| node(&heap, &drops)).collect();
        ring(100);
        assert_eq!(heap.collect_generation(0), Ok(100));
        assert_eq!(
            examined.load(Ordering::SeqCst),
            100,
            "the ring alone, from its candidate"
        );
        let more: Vec<_> = (0..40).map(|_| node(&heap, &drops)).collect();
        ring(100);
        assert_eq!(heap.collect_generation(0), Ok(100));
        assert_eq!(
            examined.load(Ordering::SeqCst),
            140,
            "the young generation whole: the ring and the nodes allocated since"
        );
        let candidate = node(&heap, &drops);
        drop(candidate.clone());
        let young: Vec<_> = (0..100).map(|_| node(&heap, &drops)).collect();
        assert_eq!(heap.collect_generation(0), Ok(0));
        assert_eq!(
            examined.load(Ordering::SeqCst),
            101,
            "whole once more, finding nothing"
        );
        drop(candidate.clone());
        assert_eq!(heap.collect_generation(1), Ok(0));
        assert_eq!(examined.load(Ordering::SeqCst), 1, "back to the candidates");
        drop((live, more, young, candidate));
        assert_eq!(drops.load(Ordering::SeqCst), 200 + 40 + 40 + 100 + 1);
    }

    /// How many objects the last collection examined.
    fn examined(heap: &Heap) -> Arc<AtomicUsize> {
        let examined = Arc::new(AtomicUsize::new(0));
        let sink = examined.clone();
        heap.add_callback(move |phase, info| {
            if phase == crate::Phase::Stop {
                sink.store(info.examined, Ordering::SeqCst);
            }
        });
        examined
    }

    /// The pause of every collection, in order.
    fn pauses(heap: &Heap) -> Arc<std::sync::Mutex<Vec<std::time::Duration>>> {
        let pauses = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = pauses.clone();
        heap.add_callback(move |phase, info| {
            if phase == crate::Phase::Stop {
                sink.lock().unwrap().push(info.pause);
            }
        });
        pauses
    }

    /// Candidates are kept by generation: a young collection with no young candidate stops no
    /// thread however many old ones there are, and the full collection still finds the old
    /// garbage they lead to.
    #[test]
    fn old_candidates_leave_young_collections_with_nothing_to_examine() {
        let heap = heap(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &drops);
        let b = node(&heap, &drops);
        a.next.set(Some(b.clone()));
        b.next.set(Some(a.clone()));
        // A young candidate, so that this collection stops the world and promotes a and b at
        // once (one with nothing to examine leaves the promotion to the shards' owners).
        let c = node(&heap, &drops);
        drop(c.clone());
        assert_eq!(heap.collect_generation(0), Ok(0));
        drop(c);
        let pauses = pauses(&heap);
        drop((a, b));
        assert_eq!(heap.collect_generation(0), Ok(0), "only old candidates");
        assert_eq!(heap.collect(), 2, "the old cycle");
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        let pauses = pauses.lock().unwrap().clone();
        assert_eq!(pauses.len(), 2);
        assert_eq!(
            pauses[0],
            std::time::Duration::ZERO,
            "the young one stopped nothing"
        );
        assert!(
            pauses[1] > std::time::Duration::ZERO,
            "the full one stopped the world"
        );
    }

    /// Old candidates that die wait on their generation's list; young collections sweep them
    /// out once the list has doubled, so their allocations do not wait for a full collection.
    #[test]
    fn dead_old_candidates_are_swept_by_young_collections() {
        let heap = heap(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let old: Vec<_> = (0..2 * super::SWEEP_AT)
            .map(|_| node(&heap, &drops))
            .collect();
        heap.collect_generation(0).unwrap();
        for object in &old {
            drop(object.clone());
        }
        let weak: Vec<_> = old.iter().map(Gc::downgrade).collect();
        drop(old);
        assert_eq!(drops.load(Ordering::SeqCst), 2 * super::SWEEP_AT);
        let young = node(&heap, &drops);
        drop(young.clone());
        assert_eq!(heap.collect_generation(0), Ok(0));
        let entries: usize = heap
            .inner
            .shards()
            .iter()
            .map(|shard| {
                // SAFETY: no other thread uses this heap and no collection runs, so nothing
                // else reads or changes the lists while they are counted.
                let lists = unsafe { shard.candidates() };
                (0..=2).map(|g| lists.len(g)).sum::<usize>()
            })
            .sum();
        assert_eq!(
            entries, 1,
            "the dead old entries were swept, the young seed kept"
        );
        assert!(weak.iter().all(|w| w.upgrade().is_none()));
        drop(young);
    }

    /// Frozen candidates go to the permanent generation's list and come back with `unfreeze`:
    /// the full collection after it finds the cycle they lead to.
    #[test]
    fn unfrozen_candidates_are_examined_again() {
        let heap = heap(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &drops);
        let b = node(&heap, &drops);
        a.next.set(Some(b.clone()));
        b.next.set(Some(a.clone()));
        drop(b);
        heap.freeze();
        drop(a);
        assert_eq!(heap.collect(), 0, "frozen objects are never collected");
        heap.unfreeze();
        assert_eq!(heap.collect(), 2, "the unfrozen cycle");
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    /// Self-cycles with a few survivors among them, in a young and an old list: the lists are
    /// rebuilt (mostly garbage) or swap-removed from (mostly alive), and either way the
    /// survivors stay listed where they belong.
    #[test]
    fn garbage_leaves_lists_rebuilt_or_swap_removed() {
        for garbage_share in [1, 3, 5] {
            let heap = heap(2);
            let drops = Arc::new(AtomicUsize::new(0));
            let mut kept = Vec::new();
            let mut collected = 0;
            for i in 0..60 {
                let n = node(&heap, &drops);
                n.next.set(Some(n.clone()));
                if i % garbage_share == 0 {
                    kept.push(n);
                }
                if i == 30 {
                    collected += heap.collect_generation(0).unwrap();
                }
            }
            collected += heap.collect();
            assert_eq!(collected, 60 - kept.len(), "every cycle but the kept ones");
            assert_eq!(heap.objects(None).unwrap().len(), kept.len());
            for n in &kept {
                n.next.set(None);
            }
            drop(kept);
            assert_eq!(drops.load(Ordering::SeqCst), 60);
            assert!(heap.objects(None).unwrap().is_empty());
        }
    }
}
