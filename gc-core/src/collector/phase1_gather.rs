//! Phase 1, gather: with the world stopped, lists `0..=gen` of every shard are taken off their
//! shards, each list a segment of one region whose members are numbered by position.
//!
//! ```text
//!  collecting gen 1:   shard 0: gen0 [a b c]  gen1 [d e]  gen2 [f]
//!  region:             gen1 [d e] gen0 [a b c]            (positions 0..5; f not a member)
//! ```
//!
//! Per shard the list that stays in place (the oldest, in a full collection) comes first, so
//! that `relist` can give it back with its survivors untouched. Each shard's inbox is drained
//! first: objects handed over by other threads join their lists, dead ones leave them.
//!
//! With `Scan::Candidates` the region is gathered instead from the candidates of those
//! generations (`candidates`), by tracing out from them:
//!
//! ```text
//!  candidates:   shard 0 [b]  shard 1 [g]          (gens ≤ g; others stay on their lists)
//!  reached:      b → c → b, g → e                  (e in generation 1, collecting gen 1)
//!  region:       b g c e   (flagged IN_SET, index = position; list positions kept aside)
//! ```

use super::structures::region::{Region, Segment};
use crate::candidates;
use crate::header::{flag, Header, HeaderPtr};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::trace::Tracer;
use crate::world::Stopped;

/// Takes lists `0..=gen` off every shard as one region; `dest` is where survivors go.
pub(crate) fn run(heap: &HeapInner, gen: usize, dest: usize, _stopped: &Stopped) -> Region {
    match Region::generations(heap, gen, take(heap, gen, dest)) {
        Ok(region) => region,
        Err(segments) => {
            put_back(heap, segments);
            panic!("gc-core: a collection of 2^32 objects or more at once is not supported");
        }
    }
}

/// Takes lists `0..=gen` off every shard as segments, numbering positions through them: per
/// shard the list that stays in place (`dest`, in a full collection) first. The world is
/// stopped.
fn take(heap: &HeapInner, gen: usize, dest: usize) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut base = 0;
    for (shard_index, shard) in heap.shards().iter().enumerate() {
        // SAFETY: the world is stopped.
        let mut lists = unsafe {
            heap.drain(shard);
            shard.lists()
        };
        let order = (dest <= gen).then_some(dest).into_iter();
        for g in order.chain((0..=gen).filter(|&g| g != dest)) {
            let objects = core::mem::take(&mut lists[g]);
            let len = objects.len();
            segments.push(Segment {
                shard: shard_index,
                gen: g,
                base,
                objects,
            });
            base += len;
        }
    }
    segments
}

/// Undoes [`run`] when a scan is abandoned: the lists were not changed, only taken.
pub(crate) fn put_back(heap: &HeapInner, segments: Vec<Segment>) {
    for segment in segments {
        // SAFETY: the world is stopped.
        let mut lists = unsafe { heap.shards()[segment.shard].lists() };
        lists[segment.gen] = segment.objects;
    }
}

/// A region of candidates and what they reach (`Scan::Candidates`): the seeds — the candidates
/// of generations `0..=gen` — at its first positions, then everything they reach, inside those
/// generations, in the order found. Its members are flagged `IN_SET`, each one's `index` its
/// position; `listed` keeps their list positions, to be put back before the lists change.
pub(crate) struct CandidateRegion {
    pub(crate) region: Region,
    /// Each member's position on its list.
    pub(crate) listed: Vec<u32>,
    /// The shard whose candidate list each seed came from: seed `i` is at position `i`.
    pub(crate) seeds: Vec<usize>,
}

/// Takes the candidates of generations `0..=gen` off every shard's candidate list (freeing the
/// entries of candidates that died meanwhile) and gathers what they reach, inside those
/// generations, into a region. The inboxes are drained ([`choose`]). The region comes back
/// with how the gathering ended: if a `Trace` panicked, with the panic, and the region is what
/// was gathered so far, for [`CandidateRegion::put_back`].
pub(crate) fn candidates(
    heap: &HeapInner,
    gen: usize,
    stopped: &Stopped,
) -> (CandidateRegion, std::thread::Result<()>) {
    let taken = take_seeds(heap, gen, stopped);
    let mut gathered = Gathering {
        heap: heap as *const HeapInner,
        gen,
        members: Vec::with_capacity(taken.len()),
        listed: Vec::with_capacity(taken.len()),
    };
    let seeds = taken
        .into_iter()
        .map(|Seed { shard, object }| {
            gathered.add(object);
            shard
        })
        .collect();
    let reached = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| gathered.reach()));
    let Gathering {
        members, listed, ..
    } = gathered;
    let gathered = CandidateRegion {
        region: Region::flagged(heap, members, 0),
        listed,
        seeds,
    };
    (gathered, reached)
}

/// Collections whose candidates are at least this share (1 / `DENSE`) of the objects of the
/// generations collected scan those generations whole instead (`Scan::Candidates`). Gathering
/// a region from candidates traces each member once more than subtracting does, and putting
/// the survivors back touches every member again: measured, a member of a candidate region
/// costs about twice an object of a whole-generation scan, and a region is larger than its
/// seeds.
const DENSE: usize = 4;

/// Below this many objects in the generations collected, a collection keeps to its candidates
/// however many there are: either way is cheap.
const DENSE_FROM: usize = 64;

/// How a collection of `gen` under `Scan::Candidates` examines its generations: whole rather
/// than from their candidates when the candidates are dense ([`DENSE`]), or when the last
/// collection of `gen` says so ([`learn`]: a few candidates may reach most of a generation, as
/// the root of a tree of garbage does).
pub(crate) struct Choice {
    /// Objects on lists `0..=gen` of every shard.
    pub(crate) objects: usize,
    pub(crate) whole: bool,
}

/// Chooses how to examine generations `0..=gen` (see [`Choice`]), once the inboxes are drained:
/// their objects and candidates are all on the lists then.
pub(crate) fn choose(heap: &HeapInner, gen: usize, stopped: &Stopped) -> Choice {
    let objects: usize = heap
        .shards()
        .iter()
        .map(|shard| {
            // SAFETY: the world is stopped.
            let lists = unsafe { shard.lists() };
            lists[..=gen].iter().map(Vec::len).sum::<usize>()
        })
        .sum();
    let whole = objects >= DENSE_FROM
        && (heap.scratch().scan_whole[gen] || DENSE * entries(heap, gen, stopped) >= objects);
    Choice { objects, whole }
}

/// What a collection of `gen` leaves its next one to choose by: scan whole if this one, whole,
/// found a quarter of what it examined garbage (a region from candidates would have held at
/// least that much), or, from candidates, examined half of the `objects` of its generations.
pub(crate) fn learn(
    heap: &HeapInner,
    gen: usize,
    choice: &Choice,
    examined: usize,
    garbage: usize,
) {
    heap.scratch().scan_whole[gen] = if choice.whole {
        DENSE * garbage >= examined
    } else {
        2 * examined >= choice.objects
    };
}

/// Entries on the candidate lists `0..=gen` of every shard.
fn entries(heap: &HeapInner, gen: usize, _stopped: &Stopped) -> usize {
    heap.shards()
        .iter()
        .map(|shard| {
            // SAFETY: the world is stopped.
            unsafe { shard.candidates() }.len_through(gen)
        })
        .sum()
}

/// A candidate taken off its shard's list for a collection.
pub(crate) struct Seed {
    /// The shard whose candidate list held it.
    pub(crate) shard: usize,
    pub(crate) object: HeaderPtr,
}

/// Takes the candidates of generations `0..=gen` off every shard's candidate list: the
/// entries of candidates that died meanwhile are let go (freeing what they kept), those whose
/// objects moved on to an older generation re-filed (and taken too if that generation is
/// collected), the rest returned. The inboxes are drained.
pub(crate) fn take_seeds(heap: &HeapInner, gen: usize, stopped: &Stopped) -> Vec<Seed> {
    let mut seeds = Vec::with_capacity(entries(heap, gen, stopped));
    for (s, shard) in heap.shards().iter().enumerate() {
        // SAFETY: the world is stopped.
        let mut lists = unsafe { shard.candidates() };
        for young in 0..=gen {
            for object in lists.take(young) {
                let header = object.header();
                if header.has(flag::DROPPED) {
                    // Dead, or dying on a thread that let this collection in: nothing to
                    // examine.
                    // SAFETY: its entry was just taken out of its list; the world is stopped.
                    unsafe { candidates::let_go(object) };
                } else if header.generation() > young {
                    // Its object moved on (frozen, or promoted while the entry was posted):
                    // re-filed, and taken again as a seed if its list's turn comes.
                    lists.push(object);
                } else {
                    seeds.push(Seed { shard: s, object });
                }
            }
        }
        // SAFETY: the world is stopped, and the inboxes were drained.
        unsafe {
            lists.sweep_older(gen);
            shard.recount_candidates(&lists);
        }
    }
    seeds
}

/// Puts seeds taken by [`take_seeds`] back on their shards' candidate lists, when a scan is
/// abandoned. The world is stopped.
pub(crate) fn put_back_seeds(heap: &HeapInner, seeds: impl IntoIterator<Item = Seed>) {
    for Seed { shard, object } in seeds {
        let shard = &heap.shards()[shard];
        shard.note_candidate(object.header().generation());
        // SAFETY: the world is stopped.
        unsafe { shard.candidates().push(object) };
    }
}

/// Members found so far, and the test of what else may join them.
struct Gathering {
    heap: *const HeapInner,
    gen: usize,
    members: Vec<HeaderPtr>,
    listed: Vec<u32>,
}

impl Gathering {
    /// Makes `object` the next member.
    fn add(&mut self, object: HeaderPtr) {
        let header = object.header();
        self.listed.push(header.index.load(Ordering::Relaxed));
        header
            .index
            .store(self.members.len() as u32, Ordering::Relaxed);
        header.set(flag::IN_SET);
        self.members.push(object);
    }

    /// Whether `target` may join: on this heap's lists, of a generation collected, and not a
    /// member yet.
    fn may_join(&self, target: &Header) -> bool {
        let flags = target.flags();
        target.heap == self.heap
            && flags & (flag::LISTED | flag::IN_SET) == flag::LISTED
            && flag::generation(flags) <= self.gen
    }

    /// Adds everything the members reach, inside the generations collected. A member whose
    /// value is being dropped, or holds a cell borrowed for writing, is not looked into: what
    /// only it reaches stays outside, referenced from outside.
    fn reach(&mut self) {
        let mut edges = Vec::new();
        let mut next = 0;
        while let Some(&object) = self.members.get(next) {
            next += 1;
            let header = object.header();
            if header.has(flag::DROPPED) {
                continue;
            }
            // SAFETY: the world is stopped while the edges are used.
            let mut tracer = unsafe { Tracer::collecting(&mut edges) };
            tracer.clear();
            // SAFETY: a member not `DROPPED` is alive with its value intact; the world is
            // stopped.
            unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
            if tracer.blocked() {
                continue;
            }
            for &edge in tracer.traced() {
                // SAFETY: an edge of a live object points at a live object.
                if self.may_join(unsafe { edge.as_ref() }) {
                    self.add(HeaderPtr(edge));
                }
            }
        }
    }
}

impl CandidateRegion {
    /// The members back at their list positions, no longer flagged: before anything changes
    /// the lists.
    pub(crate) fn unflag(&self) {
        for ((_, object), &position) in self.region.members().zip(&self.listed) {
            let header = object.header();
            header.clear(flag::IN_SET);
            header.index.store(position, Ordering::Relaxed);
        }
    }

    /// Undoes [`candidates`] when a scan is abandoned: the members unflagged, the seeds back
    /// on their shards' candidate lists.
    pub(crate) fn put_back(self, heap: &HeapInner) {
        self.unflag();
        let seeds = self.seeds.iter().zip(self.region.members());
        put_back_seeds(
            heap,
            seeds.map(|(&shard, (_, object))| Seed { shard, object }),
        );
        self.region.finish(heap);
    }
}
