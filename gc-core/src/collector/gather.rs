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
//! The phases in between are `subtract_refs`, `mark` and `relist`, one file each.
//!
//! If a `Trace` panics meanwhile, every list goes back unchanged (no header was written) and
//! the panic continues once the world has restarted: the heap stays consistent and usable.

use std::time::Duration;

use super::edge_log::EdgeLog;
use super::mark::{self, Overcounted};
use super::region::{Region, Segment};
use super::{relist, subtract_refs};
use crate::generation::{self, Handover, Object};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::stats::{Clock, PhaseTimes};
use crate::trace::Tracer;
use crate::weak;
use crate::world::{self, Stalled};

/// What the stopped-world scan found.
pub(crate) struct Scan {
    pub(crate) gen: usize,
    /// Unreachable objects, each held by one extra strong reference, flagged `WEAK_CLEARED`,
    /// off their lists; and flagged either `TEARDOWN | DROPPED` (`torn`) or `IN_SET` with
    /// `index` their position here.
    pub(crate) unreachable: Vec<Object>,
    /// The unreachable objects are flagged for teardown already: none has a finalizer or weak
    /// callbacks to run first, and the garbage is not to be saved (`DebugFlags::SAVEALL`).
    pub(crate) torn: bool,
    /// The callbacks of weak handles inside the garbage, taken out of the registry unrun, to
    /// drop once the world runs again.
    pub(crate) disarmed: Vec<weak::Callback>,
    /// Some unreachable object has weak callbacks registered.
    pub(crate) weak_callbacks: bool,
    /// Some unreachable object has a finalizer that has not run.
    pub(crate) finalizers: bool,
    pub(crate) examined: usize,
    pub(crate) pause: Duration,
    pub(crate) time_to_safepoint: Duration,
    /// The time of the phases run with the world stopped (`take` to `relist`).
    pub(crate) phases: PhaseTimes,
}

/// Stops the world and runs trial deletion over generations `0..=gen`. With `tear`, garbage
/// that needs no finalizer or weak callback first is flagged for teardown at once.
pub(crate) fn scan(
    heap: &HeapInner,
    gen: usize,
    timeout: Option<Duration>,
    tear: bool,
) -> Result<Scan, Stalled> {
    let stopped = world::stop(timeout)?;
    let mut clock = Clock::start();
    let dest = (gen + 1).min(heap.generations() - 1);
    let mut region = match Region::generations(heap, gen, take(heap, gen, dest)) {
        Ok(region) => region,
        Err(segments) => {
            put_back(heap, segments);
            drop(stopped);
            panic!("gc-core: a collection of 2^32 objects or more at once is not supported");
        }
    };
    let mut log = EdgeLog::take(heap, region.len(), region.chunk_len());
    let take = clock.lap();
    let traced = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        subtract_refs::run(heap, &region, &mut log);
    }));
    if let Err(panic) = traced {
        log.give_back(heap);
        put_back(heap, region.into_segments(heap));
        drop(stopped);
        std::panic::resume_unwind(panic);
    }
    let subtract = clock.lap();
    if let Err(overcounted) = mark::run(heap, &region, &log) {
        let message = overcounted_message(&region, &log, overcounted);
        log.give_back(heap);
        put_back(heap, region.into_segments(heap));
        drop(stopped);
        panic!("{message}");
    }
    let mark = clock.lap();
    log.give_back(heap);
    let examined = region.len();
    let mut unreachable = heap.scratch.lock().garbage.take();
    let seen = relist::relist(heap, &mut region, dest, tear, &mut unreachable);
    region.finish(heap);
    let needs_intact = seen.finalizers || seen.weak_callbacks;
    if !tear || needs_intact {
        relist::keep_intact(&unreachable);
    }
    // Weak handles inside the garbage are garbage too: their callbacks must never run, even
    // when their target outlives this collection and dies later (during the teardown, say).
    let disarmed = if weak::any_registered() {
        disarm_weak_callbacks(&unreachable)
    } else {
        Vec::new()
    };
    heap.counters
        .lock()
        .collected(gen, examined - unreachable.len());
    heap.reset_young();
    let relisted = clock.lap();
    let scan = Scan {
        gen,
        examined,
        unreachable,
        torn: tear && !needs_intact,
        disarmed,
        weak_callbacks: seen.weak_callbacks,
        finalizers: seen.finalizers,
        pause: stopped.started().elapsed(),
        time_to_safepoint: stopped.time_to_safepoint,
        phases: PhaseTimes {
            take,
            subtract,
            mark,
            relist: relisted,
            ..PhaseTimes::default()
        },
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

/// What a collection that found member `p` overcounted says: its type, and the types of the
/// members whose `Trace` reported edges to it (one of them reports too many).
fn overcounted_message(region: &Region, log: &EdgeLog, Overcounted(p): Overcounted) -> String {
    let type_at = |position: usize| {
        region
            .members()
            .find(|&(at, _)| at == position)
            .map_or("?", |(_, object)| object.header().type_name())
    };
    let mut referrers: Vec<&str> = (0..region.len())
        .filter(|&r| {
            let (chunk, from, to) = log.span(r);
            log.entries(chunk, from, to).contains(&(p as u32))
        })
        .map(type_at)
        .collect();
    referrers.sort_unstable();
    referrers.dedup();
    format!(
        "gc-core: a Trace implementation reported more edges to an object of type {} than it \
         has references (a handle reported twice, or one the value does not own); the objects \
         reporting edges to it are of type {}. The collection was abandoned and nothing was \
         freed",
        type_at(p),
        referrers.join(", ")
    )
}

/// Undoes `take` after a panic: the lists were not changed, only taken.
fn put_back(heap: &HeapInner, segments: Vec<Segment>) {
    for segment in segments {
        // SAFETY: the world is stopped.
        let lists = unsafe { heap.shards[segment.shard].lists() };
        lists[segment.gen] = segment.objects;
    }
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

/// Takes the callbacks of the weak handles held inside `objects` out of the registry, unrun.
/// The world is stopped.
fn disarm_weak_callbacks(objects: &[Object]) -> Vec<weak::Callback> {
    let mut found = Vec::new();
    let mut edges = Vec::new();
    for object in objects {
        let header: &Header = object.header();
        let mut tracer = Tracer::new(&mut edges, true);
        // Weak handles are untracked: containers skip them unless asked for everything.
        tracer.all = true;
        tracer.weak_callbacks = Some(&mut found);
        // SAFETY: the object is alive (held) and its value intact; the world is stopped.
        unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
        edges.clear();
    }
    found
        .into_iter()
        .filter_map(|(target, id)| weak::disarm(target, id))
        .collect()
}
