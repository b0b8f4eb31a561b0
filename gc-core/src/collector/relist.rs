//! Phase 3, relist: with the marks made, the region goes back onto the lists and the rest of it
//! becomes the garbage, held by the collector.
//!
//! ```text
//!  region:   gen0 [a b c] gen1 [d e]          marked {a d e}          (collecting gen 1)
//!  judge:    b c → unreachable [b c]          flagged, +1 held, off the lists
//!  promote:  a d e → gen2 of their shard      gen bits and list position rewritten, in order
//! ```
//!
//! Above the parallel cutoff the workers judge: each chunk's garbage is counted, the counts give
//! each chunk its place in `unreachable`, and each chunk is judged into its place — the garbage
//! in position order, as on the sequential path. A garbage header is written by the one worker
//! of its chunk. Promoting and filling holes stay on the collecting thread (they write the
//! lists), and are skipped for a list with nothing to do.
//!
//! In a full collection the oldest list stays where it is: its survivors are not written to at
//! all (only their slots are read), and each hole its garbage leaves is filled with the list's
//! last survivor.
//!
//! The garbage is flagged for teardown at once (`tear`) — nothing can reach it once the
//! world restarts unless a finalizer or weak callback of it is to run; then [`keep_intact`]
//! takes the flag off again and numbers the set for the resurrection check.

use core::ops::Range;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicUsize};

use rayon::prelude::*;

use super::region::{prefetch, Region, PREFETCH};
use crate::generation::Object;
use crate::header::flag;
use crate::heap::HeapInner;
use crate::sync::Ordering;

/// What the unreachable objects need after the scan.
#[derive(Default)]
pub(crate) struct Seen {
    /// Some has weak callbacks registered.
    pub(crate) weak_callbacks: bool,
    /// Some has a finalizer that has not run.
    pub(crate) finalizers: bool,
}

/// Sorts the region after marking and gives its lists back: unreachable members are flagged
/// and held, into `unreachable` — flagged for teardown with `tear`; survivors of younger lists
/// go to list `dest` of their shard; survivors of a list already `dest` stay untouched, the
/// holes left by its garbage filled.
pub(crate) fn relist(
    heap: &HeapInner,
    region: &mut Region,
    dest: usize,
    tear: bool,
    unreachable: &mut Vec<Object>,
) -> Seen {
    let judged = if tear {
        flag::TEARDOWN | flag::DROPPED
    } else {
        0
    };
    let (needs, survivors) = match heap.parallel_pool(region.len()) {
        Some(pool) => {
            let mut counts = heap.scratch.lock().counts.take();
            let judging =
                pool.install(|| judge_in_parallel(region, judged, &mut counts, unreachable));
            let used = counts.len();
            let capacity = counts.capacity();
            heap.scratch.lock().counts.give_back(counts, used, capacity);
            judging
        }
        None => (0, Vec::new()),
    };
    let judged_already = !survivors.is_empty();
    let mut judge = Judge {
        judged,
        needs,
        unreachable,
    };
    for s in 0..region.segments.len() {
        let (shard, gen, base) = {
            let segment = &region.segments[s];
            (segment.shard, segment.gen, segment.base)
        };
        let mut objects = core::mem::take(&mut region.segments[s].objects);
        let marked = |i: usize| region.is_marked(base + i);
        // SAFETY: the world is stopped. The segments of a shard come with the list that stays
        // in place first, so `dest` holds it (or the list not collected) before others append.
        let lists = unsafe { heap.shards[shard].lists() };
        if judged_already {
            let survivors = survivors[s].load(Ordering::Relaxed);
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
            continue;
        }
        if gen == dest {
            // Survivors in place are not touched: only their slots are read.
            let before = judge.unreachable.len();
            for (i, &object) in objects.iter().enumerate() {
                if !marked(i) {
                    judge.judge(object);
                }
            }
            if judge.unreachable.len() > before {
                fill_holes(&mut objects, marked);
            }
            lists[dest] = objects;
            continue;
        }
        let list = &mut lists[dest];
        for (i, &object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            if marked(i) {
                promote_one(object, list, dest);
            } else {
                judge.judge(object);
            }
        }
        objects.clear();
        lists[gen] = objects;
    }
    Seen {
        finalizers: judge.needs & flag::HAS_FINALIZER != 0,
        weak_callbacks: judge.needs & flag::HAS_WEAK_CALLBACKS != 0,
    }
}

/// Moves the marked of a younger list's `objects` onto `list` (generation `dest`), in order.
fn promote(
    objects: &[Object],
    marked: impl Fn(usize) -> bool,
    list: &mut Vec<Object>,
    dest: usize,
) {
    for (i, &object) in objects.iter().enumerate() {
        if marked(i) {
            promote_one(object, list, dest);
        }
    }
}

/// Moves a survivor of a younger list onto `list` (generation `dest`).
#[inline]
fn promote_one(object: Object, list: &mut Vec<Object>, dest: usize) {
    // The world is stopped: this thread alone writes flags.
    let header = object.header();
    let flags = flag::with_generation(header.flags(), dest);
    header.flags.store(flags, Ordering::Relaxed);
    header.index.store(list.len() as u32, Ordering::Relaxed);
    list.push(object);
}

/// The judging of the parallel path, on the heap's pool: the garbage of each chunk counted,
/// then each chunk judged into its own place in `unreachable`, so the garbage comes out in
/// position order as on the sequential path. Returns what the garbage needs and the survivors
/// of each segment.
fn judge_in_parallel(
    region: &Region,
    judged: u32,
    counts: &mut Vec<u32>,
    unreachable: &mut Vec<Object>,
) -> (u32, Vec<AtomicUsize>) {
    counts.clear();
    counts.par_extend((0..region.chunks()).into_par_iter().map(|c| {
        region
            .chunk_range(c)
            .filter(|&p| !region.is_marked(p))
            .count() as u32
    }));
    let total: usize = counts.iter().map(|&n| n as usize).sum();
    unreachable.clear();
    unreachable.par_extend(
        (0..total)
            .into_par_iter()
            .map(|_| Object(NonNull::dangling())),
    );
    let judging = Judging {
        region,
        judged,
        counts,
        needs: AtomicU32::new(0),
        survivors: region
            .segments
            .iter()
            .map(|_| AtomicUsize::new(0))
            .collect(),
    };
    judging.chunks(0..region.chunks(), unreachable);
    (judging.needs.into_inner(), judging.survivors)
}

/// What the workers of the parallel judging share.
struct Judging<'a> {
    region: &'a Region,
    judged: u32,
    /// Garbage per chunk.
    counts: &'a [u32],
    needs: AtomicU32,
    /// Marked members per segment.
    survivors: Vec<AtomicUsize>,
}

impl Judging<'_> {
    /// Judges `chunks` into `out`, which holds exactly their garbage: halves in parallel down to
    /// one chunk.
    fn chunks(&self, chunks: Range<usize>, out: &mut [Object]) {
        if chunks.len() > 1 {
            let mid = chunks.start + chunks.len() / 2;
            let left: u32 = self.counts[chunks.start..mid].iter().sum();
            let (left_out, right_out) = out.split_at_mut(left as usize);
            rayon::join(
                || self.chunks(chunks.start..mid, left_out),
                || self.chunks(mid..chunks.end, right_out),
            );
            return;
        }
        let Some(c) = chunks.clone().next() else {
            return;
        };
        let (mut n, mut needs) = (0, 0);
        for (s, base, objects) in self.region.slices(self.region.chunk_range(c)) {
            let mut survivors = 0;
            for (i, &object) in objects.iter().enumerate() {
                if let Some(ahead) = objects.get(i + PREFETCH) {
                    if !self.region.is_marked(base + i + PREFETCH) {
                        prefetch(ahead.0.as_ptr());
                    }
                }
                if self.region.is_marked(base + i) {
                    survivors += 1;
                } else {
                    needs |= judge_one(object, self.judged);
                    out[n] = object;
                    n += 1;
                }
            }
            self.survivors[s].fetch_add(survivors, Ordering::Relaxed);
        }
        self.needs.fetch_or(needs, Ordering::Relaxed);
    }
}

// `judge_one` finds a finalizer not run yet by shifting `FINALIZED` onto `HAS_FINALIZER`.
const _: () = assert!(flag::FINALIZED == flag::HAS_FINALIZER << 1);

/// Judges unreachable members into the garbage.
struct Judge<'a> {
    /// Flags every unreachable member gets.
    judged: u32,
    /// `HAS_FINALIZER` if some member judged has a finalizer that has not run,
    /// `HAS_WEAK_CALLBACKS` if some has weak callbacks.
    needs: u32,
    unreachable: &'a mut Vec<Object>,
}

impl Judge<'_> {
    /// Judges an unreachable member ([`judge_one`]) and adds it to the garbage.
    #[inline]
    fn judge(&mut self, object: Object) {
        self.needs |= judge_one(object, self.judged);
        self.unreachable.push(object);
    }
}

/// Flags an unreachable member (`judged` added) and takes the collector's hold on it; returns
/// what it needs: `HAS_FINALIZER` if its finalizer has not run, `HAS_WEAK_CALLBACKS` if it has
/// weak callbacks. The world is stopped and no other thread judges the same member.
#[inline]
fn judge_one(object: Object, judged: u32) -> u32 {
    let header = object.header();
    let flags = header.flags();
    // `FINALIZED` sits one bit above `HAS_FINALIZER`: shifted down, it masks it out.
    let needs = flags & ((flag::HAS_FINALIZER & !(flags >> 1)) | flag::HAS_WEAK_CALLBACKS);
    let flags = (flags & !flag::LISTED) | flag::WEAK_CLEARED | judged;
    #[cfg(gc_seeded_bug = "weak_not_cleared")]
    let flags = flags & !flag::WEAK_CLEARED;
    header.flags.store(flags, Ordering::Relaxed);
    // The collector's hold. No other thread can reach an unreachable object's count (nothing
    // outside the region references it, and weak upgrades wait for the world).
    let strong = header.strong_count();
    header.strong.store(strong + 1, Ordering::Relaxed);
    needs
}

/// Makes the garbage the resurrection check's set, intact: the teardown flags off (if the scan
/// set them), flagged `IN_SET`, `index` its position in `unreachable`. For a garbage with
/// finalizers or weak callbacks to run first, or that is to be saved.
pub(crate) fn keep_intact(unreachable: &[Object]) {
    for (i, object) in unreachable.iter().enumerate() {
        let header = object.header();
        let flags = (header.flags() & !(flag::TEARDOWN | flag::DROPPED)) | flag::IN_SET;
        header.flags.store(flags, Ordering::Relaxed);
        header.index.store(i as u32, Ordering::Relaxed);
    }
}

/// Closes the holes of a list that stays in place (positions `i` where `survives(i)` is false)
/// by moving the last survivors into them.
fn fill_holes(list: &mut Vec<Object>, survives: impl Fn(usize) -> bool) {
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
