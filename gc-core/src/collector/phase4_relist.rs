//! Phase 4, relist: with the marks made, the region goes back onto the lists and the rest of it
//! becomes the garbage, held by the collector. The world is still stopped.
//!
//! ```text
//!  region:   gen0 [a b c] gen1 [d e]          marked {a d e}          (collecting gen 1)
//!  judge:    b c → garbage [b c]              WEAK_CLEARED, held (+1), off the lists
//!  promote:  a d e → gen2 of their shard      gen bits and list position rewritten, in order
//!  disarm:   weak handles inside b c          their callbacks taken out unrun
//! ```
//!
//! The garbage is judged chunk by chunk, counting each segment's survivors on the way; then, on
//! the collecting thread, the lists are written: survivors promoted, holes filled, each skipped
//! for a list with nothing to do. Above the parallel cutoff the workers judge: each chunk's
//! garbage is counted, the counts give each chunk its place in `unreachable`, and each chunk is
//! judged into its place — the garbage in position order, as on the sequential path. A garbage
//! header is written by the one worker of its chunk.
//!
//! In a full collection the oldest list stays where it is: its survivors are not written to at
//! all (only their slots are read), and each hole its garbage leaves is filled with the list's
//! last survivor.
//!
//! The garbage is flagged for teardown at once (`tear`) — nothing can reach it once the
//! world restarts unless a finalizer or weak callback of it is to run; then [`keep_intact`]
//! takes the flag off again and numbers the set for the resurrection check.
//!
//! Weak handles inside the garbage are garbage too: their callbacks must never run, even when
//! their target outlives this collection (CPython's bpo-38006), so they are taken out of the
//! registry while the world is stopped, and dropped once it runs again.
//!
//! Objects go back on lists by this file's functions elsewhere too: the resurrection check's
//! survivors ([`relist_objects`], world stopped), and the garbage kept by
//! `DebugFlags::SAVEALL` or by a resurrection check that timed out ([`hand_back`], world
//! running).

use core::mem::MaybeUninit;
use core::ops::Range;

use rayon::prelude::*;

use super::phase1_gather::{CandidateRegion, Seed};
use super::structures::garbage::{self, Garbage};
use super::structures::region::{prefetch, Region, PREFETCH};
use crate::generation::{self, Handover};
use crate::header::{flag, Header, HeaderPtr};
use crate::heap::HeapInner;
use crate::seeded;
use crate::sync::unmodelled::{AtomicU32, AtomicUsize};
use crate::sync::Ordering;
use crate::trace::Tracer;
use crate::weak;

/// Sorts the region after marking and gives its lists back; returns the garbage: unreachable
/// members flagged and held, in position order — flagged for teardown with `tear`, unless some
/// finalizer or weak callback must run first. Survivors of younger lists go to list `dest` of
/// their shard; survivors of a list already `dest` stay untouched, the holes left by its
/// garbage filled.
pub(crate) fn run(heap: &HeapInner, mut region: Region, dest: usize, tear: bool) -> Garbage {
    let mut objects = heap.scratch().garbage.take();
    let (finalizers, weak_callbacks) = relist(heap, &mut region, dest, tear, &mut objects);
    region.finish(heap);
    finish(objects, tear, finalizers, weak_callbacks)
}

/// Phase 4 for a region of candidates (`Scan::Candidates`): the garbage leaves its lists,
/// judged and held, in position order; then lists `0..=gen` of every shard join list `dest` —
/// survivors are promoted whether examined or not, as in CPython. In a collection of a
/// generation younger than the oldest, a seed that survived stays a candidate, back on its
/// shard's candidate list: what kept it may be garbage of an older generation, never examined
/// here. A full collection lets its surviving seeds go: the region held everything they reach,
/// so what kept them is referenced from outside the heap, and so is all they reach. Returns the
/// garbage, and how many objects the generations collected kept.
pub(crate) fn run_candidates(
    heap: &HeapInner,
    candidates: CandidateRegion,
    gen: usize,
    dest: usize,
    tear: bool,
) -> (Garbage, usize) {
    let region = &candidates.region;
    let judged = if tear {
        flag::TEARDOWN | flag::DROPPED
    } else {
        0
    };
    let shards = heap.shards();
    let list_of = |header: &Header| header.shard() * (gen + 1) + header.generation();
    // Survivors back at their list positions; the garbage counted by list.
    let mut garbage_in = vec![0usize; shards.len() * (gen + 1)];
    for (p, object) in region.members() {
        let header = object.header();
        if region.is_marked(p) {
            header.clear(flag::IN_SET);
            header.index.store(candidates.listed[p], Ordering::Relaxed);
        } else {
            garbage_in[list_of(header)] += 1;
        }
    }
    // A list that is mostly garbage is rebuilt from its survivors in one pass; from any other,
    // each garbage object is swap-removed, which moves one survivor.
    let rebuilt = |s: usize, g: usize, lists: &[Vec<HeaderPtr>]| {
        let n = garbage_in[s * (gen + 1) + g];
        n > 0 && 2 * n >= lists[g].len()
    };
    let mut dead_at: Vec<Vec<bool>> = vec![Vec::new(); garbage_in.len()];
    for (p, object) in region.members().filter(|&(p, _)| !region.is_marked(p)) {
        let header = object.header();
        let (s, g) = (header.shard(), header.generation());
        // SAFETY: the world is stopped.
        let lists = unsafe { shards[s].lists() };
        let position = candidates.listed[p];
        if rebuilt(s, g, &lists) {
            let dead = &mut dead_at[list_of(header)];
            dead.resize(lists[g].len(), false);
            dead[position as usize] = true;
        } else {
            header.index.store(position, Ordering::Relaxed);
        }
    }
    for (s, shard) in shards.iter().enumerate() {
        // SAFETY: the world is stopped.
        let mut lists = unsafe { shard.lists() };
        for g in 0..=gen {
            let dead = &dead_at[s * (gen + 1) + g];
            if dead.is_empty() {
                continue;
            }
            let list = &mut lists[g];
            let mut position = 0;
            list.retain(|_| {
                position += 1;
                !dead[position - 1]
            });
            if g == dest {
                // Staying where it is: the survivors' positions rewritten. (A list joining
                // `dest` has them rewritten as it joins.)
                for (i, object) in list.iter().enumerate() {
                    object.header().index.store(i as u32, Ordering::Relaxed);
                }
            }
        }
    }
    let mut objects = heap.scratch().garbage.take();
    objects.clear();
    let mut needs = 0;
    for (p, object) in region.members() {
        if region.is_marked(p) {
            continue;
        }
        let header = object.header();
        if dead_at[list_of(header)].is_empty() {
            // SAFETY: the world is stopped.
            unsafe { generation::remove(&mut shards[header.shard()].lists(), header) };
        }
        header.clear(flag::IN_SET | flag::BUFFERED);
        needs |= judge(object, judged);
        objects.push(object);
    }
    let full = lets_seeds_go(heap, gen);
    for (&s, (p, object)) in candidates.seeds.iter().zip(region.members()) {
        if region.is_marked(p) {
            keep_or_let_go(heap, s, object, full, dest);
        }
    }
    let mut survivors = 0;
    for shard in heap.shards() {
        // SAFETY: the world is stopped.
        survivors += unsafe { shard.lists() }[..=gen]
            .iter()
            .map(Vec::len)
            .sum::<usize>();
        for g in (0..=gen).filter(|&g| g != dest) {
            // SAFETY: the world is stopped, and no guard of the shard's lists is alive.
            unsafe { shard.merge(g, dest) };
        }
    }
    candidates.region.finish(heap);
    let (finalizers, weak_callbacks) = (
        needs & flag::HAS_FINALIZER != 0,
        needs & flag::HAS_WEAK_CALLBACKS != 0,
    );
    (finish(objects, tear, finalizers, weak_callbacks), survivors)
}

/// Whether a collection of `gen` lets its surviving seeds go: only a full one, whose region
/// held everything they reach.
fn lets_seeds_go(heap: &HeapInner, gen: usize) -> bool {
    gen == heap.generations() - 1 || seeded::SEEDS_LET_GO
}

/// A surviving seed, taken off candidate list `shard`: a candidate again on list `dest` (the
/// generation it is promoted to), or let go after a full collection (`full`). The world is
/// stopped.
fn keep_or_let_go(heap: &HeapInner, shard: usize, object: HeaderPtr, full: bool, dest: usize) {
    if full {
        object.header().clear(flag::BUFFERED);
    } else {
        let shard = &heap.shards()[shard];
        shard.note_candidate(dest);
        // SAFETY: the world is stopped.
        unsafe { shard.candidates().push_to(dest, object) };
    }
}

/// The seeds of a collection that scanned its generations whole under `Scan::Candidates`
/// (`phase1_gather::choose`), once marked and before the region goes back on the lists: a seed
/// judged garbage is no longer recorded once judged (its entry is gone; the teardown frees
/// it), a survivor is kept or let go as after a scan of candidates. A seed that is no member
/// (it cannot be: a live candidate of a collected generation is listed there) is put back on
/// its list, recorded still. The world is stopped.
pub(crate) fn settle_seeds(
    heap: &HeapInner,
    region: &Region,
    seeds: Vec<Seed>,
    gen: usize,
    dest: usize,
) {
    let full = lets_seeds_go(heap, gen);
    for Seed { shard, object } in seeds {
        match region.locate(object.header()) {
            Some(p) if region.is_marked(p) => keep_or_let_go(heap, shard, object, full, dest),
            // Garbage: `judge` takes `BUFFERED` off with the rest of its flags.
            Some(_) => {}
            None => super::phase1_gather::put_back_seeds(heap, [Seed { shard, object }]),
        }
    }
}

/// The garbage as phase 4 hands it on: numbered for the resurrection check unless torn, the
/// weak callbacks inside it disarmed.
fn finish(objects: Vec<HeaderPtr>, tear: bool, finalizers: bool, weak_callbacks: bool) -> Garbage {
    let torn = tear && !finalizers && !weak_callbacks;
    if !torn {
        keep_intact(&objects);
    }
    let disarmed = if weak::any_registered() {
        disarm_weak_callbacks(&objects)
    } else {
        Vec::new()
    };
    Garbage {
        objects,
        torn,
        weak_callbacks,
        finalizers,
        disarmed,
    }
}

/// Judges the garbage into `unreachable` and gives the lists back; returns whether some of it
/// has a finalizer to run, and whether some has weak callbacks.
fn relist(
    heap: &HeapInner,
    region: &mut Region,
    dest: usize,
    tear: bool,
    unreachable: &mut Vec<HeaderPtr>,
) -> (bool, bool) {
    let judging = Judging {
        region,
        dest,
        judged: if tear {
            flag::TEARDOWN | flag::DROPPED
        } else {
            0
        },
        needs: AtomicU32::new(0),
        survivors: region
            .segments
            .iter()
            .map(|_| AtomicUsize::new(0))
            .collect(),
    };
    match heap.parallel_pool(region.len()) {
        Some(pool) => {
            let mut counts = heap.scratch().counts.take();
            pool.install(|| judging.in_parallel(&mut counts, unreachable));
            let (used, capacity) = (counts.len(), counts.capacity());
            heap.scratch().counts.give_back(counts, used, capacity);
        }
        None => {
            unreachable.clear();
            for c in 0..region.chunks() {
                judging.chunk(c, false, &mut |object| unreachable.push(object));
            }
        }
    }
    let Judging {
        needs, survivors, ..
    } = judging;
    for (s, survivors) in survivors.into_iter().enumerate() {
        let survivors = survivors.into_inner();
        let (shard, gen, base) = {
            let segment = &region.segments[s];
            (segment.shard, segment.gen, segment.base)
        };
        let mut objects = core::mem::take(&mut region.segments[s].objects);
        let marked = |i: usize| region.is_marked(base + i);
        // SAFETY: the world is stopped. The segments of a shard come with the list that stays
        // in place first, so `dest` holds it (or the list not collected) before others append.
        let mut lists = unsafe { heap.shards()[shard].lists() };
        if gen == dest {
            if survivors < objects.len() {
                fill_holes(&mut objects, marked);
            }
            lists[dest] = objects;
        } else {
            if survivors > 0 {
                promote(&objects, marked, &mut lists[dest], dest);
            }
            objects.clear();
            lists[gen] = objects;
        }
    }
    let needs = needs.into_inner();
    (
        needs & flag::HAS_FINALIZER != 0,
        needs & flag::HAS_WEAK_CALLBACKS != 0,
    )
}

/// Moves the marked of a younger list's `objects` onto `list` (generation `dest`), in order.
fn promote(
    objects: &[HeaderPtr],
    marked: impl Fn(usize) -> bool,
    list: &mut Vec<HeaderPtr>,
    dest: usize,
) {
    for (i, &object) in objects.iter().enumerate() {
        if !marked(i) {
            continue;
        }
        if let Some(ahead) = objects.get(i + PREFETCH) {
            prefetch(ahead.0.as_ptr());
        }
        // The world is stopped: this thread alone writes flags.
        let header = object.header();
        let flags = flag::with_generation(header.flags(), dest);
        header.flags.store(flags, Ordering::Relaxed);
        header.index.store(list.len() as u32, Ordering::Relaxed);
        list.push(object);
    }
}

/// The judging of the region's unreachable members, chunk by chunk.
struct Judging<'a> {
    region: &'a Region,
    /// The generation survivors go to: a segment of it stays in place.
    dest: usize,
    /// Flags every unreachable member gets.
    judged: u32,
    /// `HAS_FINALIZER` if some member judged has a finalizer that has not run,
    /// `HAS_WEAK_CALLBACKS` if some has weak callbacks.
    needs: AtomicU32,
    /// Marked members per segment.
    survivors: Vec<AtomicUsize>,
}

impl Judging<'_> {
    /// Judges chunk `c`, handing its unreachable members to `put` in position order; `clean`:
    /// it is known to hold no garbage.
    fn chunk(&self, c: usize, clean: bool, put: &mut impl FnMut(HeaderPtr)) {
        let (region, mut needs) = (self.region, 0);
        for (s, base, objects) in region.slices(region.chunk_range(c)) {
            // A slice without garbage (most of an old generation) is told by its slots alone,
            // without reading its objects; the first unmarked slot ends the look.
            let clean = clean || (base..base + objects.len()).all(|p| region.is_marked(p));
            if clean {
                self.survivors[s].fetch_add(objects.len(), Ordering::Relaxed);
                continue;
            }
            // Survivors in place are not touched, only their slots read: headers are fetched
            // ahead only in younger lists, mostly garbage or promoted.
            let fetch = region.segments[s].gen != self.dest;
            let mut survivors = 0;
            for (i, &object) in objects.iter().enumerate() {
                if let Some(ahead) = objects.get(i + PREFETCH).filter(|_| fetch) {
                    prefetch(ahead.0.as_ptr());
                }
                if region.is_marked(base + i) {
                    survivors += 1;
                } else {
                    needs |= judge(object, self.judged);
                    put(object);
                }
            }
            self.survivors[s].fetch_add(survivors, Ordering::Relaxed);
        }
        self.needs.fetch_or(needs, Ordering::Relaxed);
    }

    /// The parallel path, on the heap's pool: the garbage of each chunk counted (into
    /// `counts`), then each chunk judged into its own place in `unreachable`, so the garbage
    /// comes out in position order as on the sequential path.
    fn in_parallel(&self, counts: &mut Vec<u32>, unreachable: &mut Vec<HeaderPtr>) {
        let region = self.region;
        counts.clear();
        counts.par_extend((0..region.chunks()).into_par_iter().map(|c| {
            region
                .chunk_range(c)
                .filter(|&p| !region.is_marked(p))
                .count() as u32
        }));
        let total: usize = counts.iter().map(|&n| n as usize).sum();
        unreachable.clear();
        unreachable.reserve(total);
        self.chunks(
            counts,
            0..region.chunks(),
            &mut unreachable.spare_capacity_mut()[..total],
        );
        // SAFETY: `chunks` wrote every one of the first `total` elements (each chunk exactly
        // its count, checked there).
        unsafe { unreachable.set_len(total) };
    }

    /// Judges `chunks` into `out`, which has room for exactly their garbage (`counts` per
    /// chunk), writing all of it: halves in parallel down to one chunk.
    fn chunks(&self, counts: &[u32], chunks: Range<usize>, out: &mut [MaybeUninit<HeaderPtr>]) {
        if chunks.len() > 1 {
            let mid = chunks.start + chunks.len() / 2;
            let left: u32 = counts[chunks.start..mid].iter().sum();
            let (left_out, right_out) = out.split_at_mut(left as usize);
            rayon::join(
                || self.chunks(counts, chunks.start..mid, left_out),
                || self.chunks(counts, mid..chunks.end, right_out),
            );
        } else if let Some(c) = chunks.clone().next() {
            let mut n = 0;
            self.chunk(c, counts[c] == 0, &mut |object| {
                out[n].write(object);
                n += 1;
            });
            // The count and the judging read the same marks; were they ever to differ, the
            // garbage list must not be left with elements never written.
            assert_eq!(n, out.len(), "chunk {c}: garbage counted and judged differ");
        }
    }
}

// `judge` finds a finalizer not run yet by shifting `FINALIZED` onto `HAS_FINALIZER`.
const _: () = assert!(flag::FINALIZED == flag::HAS_FINALIZER << 1);

/// Flags an unreachable member (`judged` added) and takes the collector's hold on it; returns
/// what it needs: `HAS_FINALIZER` if its finalizer has not run, `HAS_WEAK_CALLBACKS` if it has
/// weak callbacks. The world is stopped and no other thread judges the same member.
#[inline]
fn judge(object: HeaderPtr, judged: u32) -> u32 {
    let header = object.header();
    let flags = header.flags();
    // `FINALIZED` sits one bit above `HAS_FINALIZER`: shifted down, it masks it out.
    let needs = flags & ((flag::HAS_FINALIZER & !(flags >> 1)) | flag::HAS_WEAK_CALLBACKS);
    let cleared = if seeded::WEAK_NOT_CLEARED {
        0
    } else {
        flag::WEAK_CLEARED
    };
    // Off its list, and no longer a recorded candidate: its entry, if it had one, was taken by
    // this collection.
    let flags = (flags & !(flag::LISTED | flag::BUFFERED)) | cleared | judged;
    header.flags.store(flags, Ordering::Relaxed);
    garbage::hold(object);
    needs
}

/// Makes the garbage the resurrection check's set, intact: the teardown flags off (if the scan
/// set them), flagged `IN_SET`, `index` its position in `unreachable`. For a garbage with
/// finalizers or weak callbacks to run first, or that is to be saved.
fn keep_intact(unreachable: &[HeaderPtr]) {
    for (i, object) in unreachable.iter().enumerate() {
        let header = object.header();
        let flags = (header.flags() & !(flag::TEARDOWN | flag::DROPPED)) | flag::IN_SET;
        header.flags.store(flags, Ordering::Relaxed);
        header.index.store(i as u32, Ordering::Relaxed);
    }
}

/// Closes the holes of a list that stays in place (positions `i` where `survives(i)` is false)
/// by moving the last survivors into them.
fn fill_holes(list: &mut Vec<HeaderPtr>, survives: impl Fn(usize) -> bool) {
    let mut end = list.len();
    let mut i = 0;
    // Positions below `i` hold survivors for good; positions from `end` on are done with.
    while i < end {
        if survives(i) {
            i += 1;
            continue;
        }
        while end > i + 1 && !survives(end - 1) {
            end -= 1;
        }
        if end == i + 1 {
            end = i;
            break;
        }
        let moved = list[end - 1];
        moved.header().index.store(i as u32, Ordering::Relaxed);
        list[i] = moved;
        end -= 1;
        i += 1;
    }
    list.truncate(end);
}

/// Puts objects back on list `gen` of their own shards, with the world stopped.
pub(crate) fn relist_objects(
    heap: &HeapInner,
    objects: impl Iterator<Item = HeaderPtr>,
    gen: usize,
) {
    for object in objects {
        object.header().clear(flag::IN_SET);
        let shard = &heap.shards()[object.header().shard()];
        // SAFETY: the world is stopped.
        unsafe { generation::push(&mut shard.lists(), gen, object.0) };
    }
}

/// Puts objects back on list `gen` of their own shards with the world running: each owner
/// lists them at its next allocation, the collector before its next scan.
pub(crate) fn hand_back(heap: &HeapInner, objects: impl Iterator<Item = HeaderPtr>, gen: usize) {
    for object in objects {
        let header = object.header();
        header.clear(flag::IN_SET);
        header.set(flag::LISTED);
        heap.shards()[header.shard()].post(Handover::List(object.0, gen));
    }
}

/// Takes the callbacks of the weak handles held inside `objects` out of the registry, unrun.
/// The world is stopped.
fn disarm_weak_callbacks(objects: &[HeaderPtr]) -> Vec<weak::Callback> {
    let mut found = Vec::new();
    let mut edges = Vec::new();
    for object in objects {
        let header: &Header = object.header();
        // SAFETY: the world is stopped.
        let mut tracer = unsafe { Tracer::weak_callbacks(&mut edges, &mut found) };
        // SAFETY: the object is alive (held) and its value intact; the world is stopped.
        unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
        edges.clear();
    }
    found
        .into_iter()
        .filter_map(|(target, id)| weak::disarm(target, id))
        .collect()
}
