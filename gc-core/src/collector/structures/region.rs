//! The region: the members of one trial deletion laid out by *position*, and their `gc_refs`
//! in a side array beside them rather than in the objects.
//!
//! ```text
//!  collecting gen 1:   shard 0: gen0 [a b]  gen1 [c]      shard 1: gen0 [d]  gen1 [e f]
//!  segments:                    base 0       base 2                base 3     base 4
//!  positions:                   0 1          2                     3          4 5
//!  refs (i32 each):            [ .  .        .                     .          .  . ]
//! ```
//!
//! A member's position is its segment's base plus its list position (`index`, unchanged until
//! the marking is done), so an edge's target is located from its header alone, and membership
//! is a test of that header (this heap, listed, generation collected) — no pass over the set
//! flags the members first. The side array starts at zero: `subtract_refs` adds each
//! member's own strong count to its slot and takes one from the slot of every member it
//! references, so no `update_refs` pass is needed; `mark` overwrites a slot with [`MARKED`].
//!
//! A full collection's survivors on the oldest list are therefore never written to: neither
//! their header nor their list slot changes.
//!
//! Positions are cut in chunks of [`CHUNK`], the unit of parallel work and of the edge log. The
//! side array is the heap's, kept from one collection to the next (`scratch`).
//!
//! The resurrection check runs the same phases over an explicit set (the unreachable objects,
//! flagged `IN_SET` with `index` their position in it).

use core::ops::Range;

use crate::header::HeaderPtr;
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::{AtomicI32, Ordering};

/// A slot's value once its member is marked reachable.
pub(crate) const MARKED: i32 = i32::MIN;
/// A member's own contribution when it must be a root whatever its edges say: it could not be
/// traced (a cell borrowed for writing: race 5 of `docs/concurrency.md`), its count is
/// immortal or beyond this bound, or it is dying (race 3).
pub(crate) const ROOT: i32 = 1 << 30;
/// Positions per unit of parallel work (a power of two, as the edge log needs).
pub(crate) const CHUNK: usize = 4096;

/// Which headers are members, and where.
enum Members {
    /// Lists `0..=gen` of every shard of one heap. `bases[shard * stride + g]` is where list `g`
    /// of `shard` starts.
    Generations {
        gen: usize,
        stride: usize,
        bases: Vec<usize>,
    },
    /// Objects flagged `IN_SET`, each one's `index` its position.
    Flagged,
}

/// One list's objects, at positions `base..base + objects.len()`.
pub(crate) struct Segment {
    pub(crate) shard: usize,
    pub(crate) gen: usize,
    pub(crate) base: usize,
    pub(crate) objects: Vec<HeaderPtr>,
}

/// The members of a trial deletion and their `gc_refs`.
pub(crate) struct Region {
    pub(crate) segments: Vec<Segment>,
    members: Members,
    /// The owning heap's address: only its objects are members.
    heap: usize,
    /// Strong references the collector itself holds on each member (1 on the unreachable set).
    held: u32,
    refs: Vec<AtomicI32>,
    /// Positions per unit of parallel work: [`CHUNK`], fewer in the loom models.
    chunk: usize,
}

impl Region {
    /// A region of whole lists `0..=gen`, taken off their shards (the caller puts them back).
    /// Its side array is the heap's, kept from the last collection; [`Region::finish`] gives
    /// it back.
    ///
    /// Positions are `u32`, as list positions are (`index`) and as the edge log keeps them:
    /// segments of 2^32 objects or more come back as the error, untouched.
    pub(crate) fn generations(
        heap: &HeapInner,
        gen: usize,
        segments: Vec<Segment>,
    ) -> Result<Region, Vec<Segment>> {
        let len: usize = segments.iter().map(|s| s.objects.len()).sum();
        if u32::try_from(len).is_err() {
            return Err(segments);
        }
        let stride = heap.generations() + 1;
        let mut bases = vec![0; heap.shards().len() * stride];
        for segment in &segments {
            bases[segment.shard * stride + segment.gen] = segment.base;
        }
        let refs = heap.scratch().refs.take();
        Ok(Region::new(
            heap,
            Members::Generations { gen, stride, bases },
            0,
            segments,
            refs,
        ))
    }

    /// A region of objects already flagged `IN_SET` with `index` their position in `objects`
    /// (part of a region of generations, so fewer than 2^32), each carrying `held` strong
    /// references of the collector's.
    pub(crate) fn flagged(heap: &HeapInner, objects: Vec<HeaderPtr>, held: u32) -> Region {
        let segment = Segment {
            shard: 0,
            gen: 0,
            base: 0,
            objects,
        };
        Region::new(heap, Members::Flagged, held, vec![segment], Vec::new())
    }

    fn new(
        heap: &HeapInner,
        members: Members,
        held: u32,
        segments: Vec<Segment>,
        mut refs: Vec<AtomicI32>,
    ) -> Region {
        let len: usize = segments.iter().map(|s| s.objects.len()).sum();
        debug_assert!(u32::try_from(len).is_ok(), "positions fit in u32");
        refs.clear();
        refs.resize_with(len, || AtomicI32::new(0));
        Region {
            segments,
            members,
            heap: heap as *const HeapInner as usize,
            held,
            refs,
            chunk: CHUNK,
        }
    }

    /// The same region, in chunks of `chunk` positions (the loom models use one per member).
    #[cfg(any(loom, test))]
    pub(crate) fn with_chunk(mut self, chunk: usize) -> Region {
        self.chunk = chunk;
        self
    }

    /// Gives the side array back to the heap for its next collection (`scratch`).
    pub(crate) fn finish(self, heap: &HeapInner) {
        let (len, capacity) = (self.refs.len(), self.refs.capacity());
        heap.scratch().refs.give_back(self.refs, len, capacity);
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        self.refs.len()
    }

    /// Gives the segments back, keeping the side array for the heap's next collection.
    pub(crate) fn into_segments(mut self, heap: &HeapInner) -> Vec<Segment> {
        let segments = core::mem::take(&mut self.segments);
        self.finish(heap);
        segments
    }

    /// Forgets every count and mark.
    #[cfg(loom)]
    pub(crate) fn reset(&self) {
        for slot in &self.refs {
            slot.store(0, Ordering::Relaxed);
        }
    }

    /// Every member with its position, in position order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (usize, HeaderPtr)> + '_ {
        self.segments
            .iter()
            .flat_map(|segment| (segment.base..).zip(segment.objects.iter().copied()))
    }

    /// Positions per unit of parallel work (and per chunk of the edge log).
    #[inline]
    pub(crate) fn chunk_len(&self) -> usize {
        self.chunk
    }

    /// Number of chunks: chunk `c` is positions `c * chunk_len()..` up to the next chunk.
    pub(crate) fn chunks(&self) -> usize {
        self.len().div_ceil(self.chunk)
    }

    /// The positions of chunk `c`.
    pub(crate) fn chunk_range(&self, c: usize) -> Range<usize> {
        c * self.chunk..((c + 1) * self.chunk).min(self.len())
    }

    /// The members at `positions`, as runs within one segment each: `(segment, first position,
    /// objects)`.
    pub(crate) fn slices(
        &self,
        positions: Range<usize>,
    ) -> impl Iterator<Item = (usize, usize, &[HeaderPtr])> + '_ {
        let first = self
            .segments
            .partition_point(|s| s.base + s.objects.len() <= positions.start);
        (first..)
            .zip(&self.segments[first..])
            .take_while(move |(_, s)| s.base < positions.end)
            .map(move |(k, s)| {
                let start = positions.start.max(s.base);
                let end = positions.end.min(s.base + s.objects.len());
                (k, start, &s.objects[start - s.base..end - s.base])
            })
    }

    /// The position of `target` if it is a member.
    #[inline]
    pub(crate) fn locate(&self, target: &Header) -> Option<usize> {
        if target.heap as usize != self.heap {
            return None;
        }
        let flags = target.flags();
        let index = || target.index.load(Ordering::Relaxed) as usize;
        match &self.members {
            Members::Generations { gen, stride, bases } => {
                let g = flag::generation(flags);
                if flags & flag::LISTED == 0 || g > *gen {
                    return None;
                }
                Some(bases[flag::shard(flags) * stride + g] + index())
            }
            Members::Flagged => (flags & flag::IN_SET != 0).then(index),
        }
    }

    /// What a member's own strong count adds to its slot: the references not the collector's,
    /// or [`ROOT`] for a dying or immortal object.
    #[inline]
    pub(crate) fn own_refs(&self, header: &Header) -> i32 {
        let strong = header.strong_count();
        if strong == 0 || strong >= ROOT as u32 {
            ROOT
        } else {
            strong.saturating_sub(self.held) as i32
        }
    }

    /// The slot of position `p`.
    #[inline]
    pub(crate) fn slot(&self, p: usize) -> &AtomicI32 {
        &self.refs[p]
    }

    /// Adds `delta` to slot `p` where only this thread writes the slots.
    #[inline]
    pub(crate) fn add_alone(&self, p: usize, delta: i32) {
        let slot = &self.refs[p];
        slot.store(
            slot.load(Ordering::Relaxed).wrapping_add(delta),
            Ordering::Relaxed,
        );
    }

    /// Whether position `p` is marked reachable.
    #[inline]
    pub(crate) fn is_marked(&self, p: usize) -> bool {
        self.refs[p].load(Ordering::Relaxed) == MARKED
    }

    /// The slots' values, in position order.
    #[cfg(loom)]
    pub(crate) fn values(&self) -> Vec<i32> {
        self.refs
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .collect()
    }
}

/// Flags `objects` `IN_SET`, each one's `index` its position here, as the resurrection check's
/// region is made; returns their list positions, for [`unflag_set`]. For tests and the loom
/// models, which stand in for a stopped world.
#[cfg(any(loom, test))]
pub(crate) fn flag_set(objects: &[HeaderPtr]) -> Vec<u32> {
    let listed = objects
        .iter()
        .map(|o| o.header().index.load(Ordering::Relaxed))
        .collect();
    for (i, object) in objects.iter().enumerate() {
        object.header().set(flag::IN_SET);
        object.header().index.store(i as u32, Ordering::Relaxed);
    }
    listed
}

/// Undoes [`flag_set`]: the objects back at their list positions `listed`.
#[cfg(any(loom, test))]
pub(crate) fn unflag_set(objects: &[HeaderPtr], listed: &[u32]) {
    for (object, &position) in objects.iter().zip(listed) {
        object.header().clear(flag::IN_SET);
        object.header().index.store(position, Ordering::Relaxed);
    }
}

/// How far ahead of a walk over objects or edges the next headers are fetched into cache: far
/// enough to cover a miss to memory while the objects between are handled (measured at 10^6
/// objects, one worker: 8 → 32 made `subtract_refs` about 20 % faster and the relist of garbage
/// 15 %; 64 gave no more).
pub(crate) const PREFETCH: usize = 32;

/// Asks the processor to start loading the cache line of `header` (a hint: no memory is
/// accessed, so any address is allowed).
#[inline(always)]
pub(crate) fn prefetch(header: *const Header) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetch` is a hint that never faults, whatever the address; SSE is part of the
    // x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(header.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = header;
}
