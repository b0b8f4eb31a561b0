//! The stopped-world part of a collection: take lists `0..=gen` off every shard as one region,
//! run trial deletion over it, put the survivors on the lists and hold the unreachable.
//!
//! ```text
//!  before:  shard k:  gen0 [a b c]  gen1 [d e]  gen2 [f]        collecting gen 1
//!  region:  gen0 [a b c] gen1 [d e]     (positions 0..5; gc_refs in the side array)
//!  mark:    reachable {a d e}, unreachable {b c}
//!  after:   shard k:  gen0 [ ]    gen1 [ ]    gen2 [f a d e]    unreachable [b c] (+1 held)
//! ```
//!
//! In a full collection the oldest list stays where it is: its survivors are not written to at
//! all, and each hole its garbage leaves is filled with the list's last survivor.
//!
//! If a `Trace` panics meanwhile, every list goes back unchanged (no header was written) and
//! the panic continues once the world has restarted: the heap stays consistent and usable.

use std::collections::HashSet;
use std::time::Duration;

use super::edge_log::EdgeLog;
use super::region::{prefetch, Region, Segment, PREFETCH};
use super::{mark, subtract_refs};
use crate::generation::{self, Handover, Object};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::trace::Tracer;
use crate::world::{self, StopError};

/// What the stopped-world scan found.
pub(crate) struct Scan {
    pub(crate) gen: usize,
    /// Unreachable objects, each held by one extra strong reference, flagged `WEAK_CLEARED`,
    /// off their lists, `index` their position here; and flagged either `TEARDOWN | DROPPED`
    /// (`torn`) or `IN_SET`.
    pub(crate) unreachable: Vec<Object>,
    /// The unreachable objects are flagged for teardown already: none has a finalizer or weak
    /// callbacks to run first, and the garbage is not to be saved (`DebugFlags::SAVEALL`).
    pub(crate) torn: bool,
    /// Weak-callback registrations owned by unreachable objects: garbage themselves, they
    /// must not be called.
    pub(crate) garbage_callbacks: HashSet<u64>,
    /// Some unreachable object has weak callbacks registered.
    pub(crate) weak_callbacks: bool,
    /// Some unreachable object has a finalizer that has not run.
    pub(crate) finalizers: bool,
    pub(crate) examined: usize,
    pub(crate) pause: Duration,
    pub(crate) time_to_safepoint: Duration,
}

/// Stops the world and runs trial deletion over generations `0..=gen`. With `tear`, garbage
/// that needs no finalizer or weak callback first is flagged for teardown at once.
pub(crate) fn scan(
    heap: &HeapInner,
    gen: usize,
    timeout: Option<Duration>,
    tear: bool,
) -> Result<Scan, StopError> {
    let stopped = world::stop(timeout)?;
    let dest = (gen + 1).min(heap.generations() - 1);
    let mut region = Region::generations(heap, gen, take(heap, gen, dest));
    let mut log = EdgeLog::take(heap, region.len(), region.chunk_len());
    let traced = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        subtract_refs::run(heap, &region, &mut log);
    }));
    if let Err(panic) = traced {
        log.give_back(heap);
        put_back(heap, region.into_segments(heap));
        drop(stopped);
        std::panic::resume_unwind(panic);
    }
    mark::run(heap, &region, &log);
    log.give_back(heap);
    let examined = region.len();
    let mut unreachable = heap.scratch.lock().garbage.take();
    let seen = relist(heap, &mut region, dest, tear, &mut unreachable);
    region.finish(heap);
    let needs_intact = seen.finalizers || seen.weak_callbacks;
    if tear && needs_intact {
        keep_intact(&unreachable);
    }
    let garbage_callbacks = if seen.weak_callbacks {
        weak_registrations(&unreachable)
    } else {
        HashSet::new()
    };
    heap.counters
        .lock()
        .collected(gen, examined - unreachable.len());
    heap.reset_young();
    let scan = Scan {
        gen,
        examined,
        unreachable,
        torn: tear && !needs_intact,
        garbage_callbacks,
        weak_callbacks: seen.weak_callbacks,
        finalizers: seen.finalizers,
        pause: stopped.started().elapsed(),
        time_to_safepoint: stopped.time_to_safepoint,
    };
    drop(stopped);
    Ok(scan)
}

/// Takes lists `0..=gen` off every shard as segments, numbering positions through them: per
/// shard the list that stays in place (`dest`, in a full collection) first. The world is
/// stopped.
fn take(heap: &HeapInner, gen: usize, dest: usize) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut base = 0;
    for (shard_index, shard) in heap.shards.iter().enumerate() {
        // SAFETY: the world is stopped.
        let lists = unsafe {
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

/// Undoes `take` after a panic: the lists were not changed, only taken.
fn put_back(heap: &HeapInner, segments: Vec<Segment>) {
    for segment in segments {
        // SAFETY: the world is stopped.
        let lists = unsafe { heap.shards[segment.shard].lists() };
        lists[segment.gen] = segment.objects;
    }
}

/// What the unreachable objects need after the scan.
#[derive(Default)]
struct Seen {
    /// Some has weak callbacks registered.
    weak_callbacks: bool,
    /// Some has a finalizer that has not run.
    finalizers: bool,
}

/// Sorts the region after marking and gives its lists back: survivors of younger lists go to
/// list `dest` of their shard (gen bits and position rewritten); survivors of a list already
/// `dest` stay untouched, the holes left by its garbage filled; unreachable members are flagged
/// and held, into `unreachable` — flagged for teardown at once with `tear`, which
/// [`keep_intact`] undoes if some of them need to be seen intact after all.
fn relist(
    heap: &HeapInner,
    region: &mut Region,
    dest: usize,
    tear: bool,
    unreachable: &mut Vec<Object>,
) -> Seen {
    let mut seen = Seen::default();
    let judged = if tear {
        flag::TEARDOWN | flag::DROPPED
    } else {
        flag::IN_SET
    };
    let mut judge = |object: Object| {
        let header = object.header();
        let flags = header.flags();
        seen.finalizers |= flags & (flag::HAS_FINALIZER | flag::FINALIZED) == flag::HAS_FINALIZER;
        seen.weak_callbacks |= flags & flag::HAS_WEAK_CALLBACKS != 0;
        let flags = (flags & !flag::LISTED) | flag::WEAK_CLEARED | judged;
        #[cfg(gc_seeded_bug = "weak_not_cleared")]
        let flags = flags & !flag::WEAK_CLEARED;
        header.flags.store(flags, Ordering::Relaxed);
        header
            .index
            .store(unreachable.len() as u32, Ordering::Relaxed);
        // The collector's hold. No other thread can reach an unreachable object's count
        // (nothing outside the region references it, and weak upgrades wait for the world).
        let strong = header.strong_count();
        header.strong.store(strong + 1, Ordering::Relaxed);
        unreachable.push(object);
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
        if gen == dest {
            // Survivors in place are not touched: only their slots are read.
            for (i, &object) in objects.iter().enumerate() {
                if !marked(i) {
                    judge(object);
                }
            }
            fill_holes(&mut objects, marked);
            lists[dest] = objects;
            continue;
        }
        for (i, &object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            if !marked(i) {
                judge(object);
                continue;
            }
            // The world is stopped: this thread alone writes flags.
            let header = object.header();
            let flags = flag::with_generation(header.flags(), dest);
            header.flags.store(flags, Ordering::Relaxed);
            let list = &mut lists[dest];
            header.index.store(list.len() as u32, Ordering::Relaxed);
            list.push(object);
        }
        objects.clear();
        lists[gen] = objects;
    }
    seen
}

/// Takes the teardown flags off the garbage again, for its finalizers or weak callbacks to run
/// first: flagged `IN_SET` instead, the resurrection check's set.
fn keep_intact(unreachable: &[Object]) {
    for object in unreachable {
        let header = object.header();
        let flags = (header.flags() & !(flag::TEARDOWN | flag::DROPPED)) | flag::IN_SET;
        header.flags.store(flags, Ordering::Relaxed);
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

/// Puts objects back on list `gen` of their own shards, with the world stopped.
pub(crate) fn relist_objects(heap: &HeapInner, objects: impl Iterator<Item = Object>, gen: usize) {
    for object in objects {
        object.header().clear(flag::IN_SET);
        let shard = &heap.shards[object.header().shard()];
        // SAFETY: the world is stopped.
        unsafe { generation::push(shard.lists(), gen, object.0) };
    }
}

/// Puts objects back on list `gen` of their own shards with the world running: each owner
/// lists them at its next allocation, the collector before its next scan.
pub(crate) fn hand_back(heap: &HeapInner, objects: impl Iterator<Item = Object>, gen: usize) {
    for object in objects {
        let header = object.header();
        header.clear(flag::IN_SET);
        header.set(flag::LISTED);
        heap.shards[header.shard()].post(Handover::List(object.0, gen));
    }
}

/// The weak-callback registrations held inside `objects`.
fn weak_registrations(objects: &[Object]) -> HashSet<u64> {
    let mut ids = Vec::new();
    let mut edges = Vec::new();
    for object in objects {
        let header: &Header = object.header();
        let mut tracer = Tracer::new(&mut edges, true);
        // Weak handles are untracked: containers skip them unless asked for everything.
        tracer.all = true;
        tracer.weak_callbacks = Some(&mut ids);
        // SAFETY: the object is alive (held) and its value intact; the world is stopped.
        unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
        edges.clear();
    }
    ids.into_iter().collect()
}
