//! The cycle collector: CPython's generational trial deletion, with the world stopped only
//! while it reads counts and edges. A collection runs seven phases, one file each, in order:
//!
//! ```text
//!  world stopped ──────────────────────────────────────────────────────────────────────┐
//!   1 gather         lists 0..=g of every shard become one region, members by position
//!   2 subtract_refs  each member's strong count, less the edges from inside: its gc_refs
//!   3 mark           whatever is reachable from a member with gc_refs > 0 is MARKED
//!   4 relist         survivors back on their lists, promoted; the rest is the garbage:
//!                    held, weak references to it cleared, weak callbacks inside it disarmed
//!  world running ──────────────────────────────────────────────────────────────────────┤
//!   5 finalize       callbacks of weak references to the garbage, then finalizers
//!  world stopped, only if a finalizer ran ─────────────────────────────────────────────┤
//!   6 resurrect      trial deletion over the garbage: what is referenced now goes back
//!  world running ──────────────────────────────────────────────────────────────────────┘
//!   7 teardown       values dropped, memory freed (or, with SAVEALL, the garbage kept)
//! ```
//!
//! The data the phases share — the region, its edge log, the garbage, the buffers kept between
//! collections — live in `structures`. Debug builds check the lists and the side array between
//! phases (`validate`); `reference` is trial deletion written plainly, the specification the
//! phases are tested against. `docs/collector.md` walks through the phases with pictures of
//! the lists.

mod phase1_gather;
mod phase2_subtract_refs;
mod phase3_mark;
mod phase4_relist;
mod phase5_finalize;
mod phase6_resurrect;
mod phase7_teardown;
#[cfg(test)]
mod reference;
mod structures;
#[cfg(test)]
mod tests;
mod validate;

pub(crate) use self::structures::scratch::Scratch;
#[cfg(loom)]
pub(crate) use self::{
    phase2_subtract_refs::{
        apply_stripe, sequential as subtract_sequential, trace_chunk, Route, Stripes, Wide,
    },
    phase3_mark::{claim_root, mark_from, sequential as mark_sequential},
    structures::edge_log::ChunkLog,
    structures::region::{flag_set, unflag_set, MARKED},
};

use std::time::Duration;

pub(crate) use self::structures::edge_log::EdgeLog;
use self::structures::garbage::Garbage;
pub(crate) use self::structures::region::Region;
use crate::config;
use crate::heap::HeapInner;
use crate::seeded;
use crate::stats::{Clock, CollectionInfo, DebugFlags, Phase, PhaseTimes};
use crate::sync::Instant;
use crate::world::{self, Stalled, Stopped};

/// How long a collection may wait for safepoints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// As long as it takes (explicit collections).
    Unbounded,
    /// At most the heap's safepoint timeout, and not at all while a thread that held up the
    /// last one has not moved (automatic collections).
    Bounded,
    /// At most this long (`Heap::collect_within`).
    Deadline(Duration),
}

impl Wait {
    fn timeout(self, heap: &HeapInner) -> Option<Duration> {
        match self {
            Wait::Unbounded => None,
            Wait::Bounded if seeded::AUTO_WAIT_UNBOUNDED => None,
            Wait::Bounded => Some(heap.config().safepoint_timeout),
            Wait::Deadline(timeout) => Some(timeout),
        }
    }
}

/// One collection of generation `gen` (younger ones merged in). Returns the number of
/// unreachable objects found; 0 when another collection of this heap is in progress
/// (re-entrant calls from finalizers included). A wait that runs out is the error: for an
/// automatic collection, a miss is counted and the retry deferred.
pub(crate) fn collect(heap: &HeapInner, gen: usize, wait: Wait) -> Result<usize, Stalled> {
    if world::stopping_here() {
        panic!("gc-core: collect() called while this thread has the world stopped (from Trace?)");
    }
    let Some(_collecting) = Collecting::start(heap) else {
        return Ok(0);
    };
    let started = Instant::now();
    heap.notify(Phase::Start, &CollectionInfo::starting(gen));
    let debug = heap.state().debug;
    if debug.contains(DebugFlags::STATS) {
        eprintln!("gc: collecting generation {gen}...");
    }
    let candidates = heap.config().scan == config::Scan::Candidates;
    if candidates && !heap.has_candidates(gen) {
        // Nothing can be garbage: no thread is stopped.
        examine_nothing(heap, gen);
        let info = CollectionInfo::missed(gen, started.elapsed());
        heap.record(&info);
        heap.notify(Phase::Stop, &info);
        return Ok(0);
    }
    let tear = !debug.contains(DebugFlags::SAVEALL);
    let scanned = if candidates {
        scan_candidates(heap, gen, wait, tear)
    } else {
        scan(heap, gen, wait, tear)
    };
    let scan = match scanned {
        Ok(scan) => scan,
        Err(stalled) => {
            if wait == Wait::Bounded {
                heap.state().stats[gen].missed += 1;
                heap.trigger().missed();
            }
            heap.notify(Phase::Stop, &CollectionInfo::missed(gen, started.elapsed()));
            return Err(stalled);
        }
    };
    let Scanned {
        garbage,
        examined,
        mut pause,
        time_to_safepoint,
        mut phases,
    } = scan;
    let mut clock = Clock::start();
    let garbage = phase5_finalize::run(garbage);
    let garbage = phase6_resurrect::run(heap, gen, garbage, wait.timeout(heap), &mut pause);
    phases.finalize = clock.lap();
    if debug.contains(DebugFlags::COLLECTABLE) {
        for object in &garbage.objects {
            eprintln!(
                "gc: collectable <{} {:#x}>",
                object.header().type_name(),
                object.0.as_ptr() as usize
            );
        }
    }
    let found = garbage.objects.len();
    let uncollectable = phase7_teardown::run(heap, garbage, debug);
    phases.teardown = clock.lap();
    // CPython's counting: `collect()` returns every unreachable object found; the stats and
    // the callbacks split them into collected and uncollectable.
    let info = CollectionInfo {
        generation: gen,
        collected: found - uncollectable,
        uncollectable,
        examined,
        pause,
        time_to_safepoint,
        duration: started.elapsed(),
        phases,
    };
    heap.record(&info);
    if debug.contains(DebugFlags::STATS) {
        eprintln!(
            "gc: done, {found} unreachable, {uncollectable} uncollectable, {examined} examined, \
             {:.6}s paused, {:.6}s elapsed",
            pause.as_secs_f64(),
            info.duration.as_secs_f64()
        );
    }
    heap.notify(Phase::Stop, &info);
    Ok(found)
}

/// What the stopped part of a collection found.
struct Scanned {
    garbage: Garbage,
    examined: usize,
    pause: Duration,
    time_to_safepoint: Duration,
    /// The time of the phases run with the world stopped.
    phases: PhaseTimes,
}

/// Phases 1 to 4: stops the world and runs trial deletion over generations `0..=gen`. With
/// `tear`, garbage that needs no finalizer or weak callback first is flagged for teardown at
/// once.
///
/// If a `Trace` panics meanwhile, or is found reporting too many edges, every list goes back
/// unchanged (no header was written) and the panic continues once the world has restarted: the
/// heap stays consistent and usable.
fn scan(heap: &HeapInner, gen: usize, wait: Wait, tear: bool) -> Result<Scanned, Stalled> {
    let stopped = stop(heap, wait)?;
    Ok(scan_whole(heap, gen, tear, stopped, false))
}

/// [`scan`] once the world is stopped. With `with_seeds`, on a heap that scans candidates, the
/// candidates of the generations collected are taken too and settled by the marks
/// (`phase4_relist::settle_seeds`), as a scan of candidates would.
fn scan_whole(
    heap: &HeapInner,
    gen: usize,
    tear: bool,
    stopped: Stopped,
    with_seeds: bool,
) -> Scanned {
    let mut clock = Clock::start();
    let dest = (gen + 1).min(heap.generations() - 1);
    validate::lists(heap);
    let region = phase1_gather::run(heap, gen, dest, &stopped);
    let seeds = if with_seeds {
        phase1_gather::take_seeds(heap, gen, &stopped)
    } else {
        Vec::new()
    };
    let take = clock.lap();
    let mut log = EdgeLog::take(heap, region.len(), region.chunk_len());
    let traced = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        phase2_subtract_refs::run(heap, &region, &mut log);
    }));
    if let Err(panic) = traced {
        phase1_gather::put_back_seeds(heap, seeds);
        abandon(heap, region, log, stopped, panic);
    }
    let subtract = clock.lap();
    if let Err(overcounted) = phase3_mark::run(heap, &region, &log) {
        let message = phase3_mark::overcounted_message(&region, &log, overcounted);
        phase1_gather::put_back_seeds(heap, seeds);
        abandon(heap, region, log, stopped, Box::new(message));
    }
    validate::marks(&region, &log);
    let mark = clock.lap();
    log.give_back(heap);
    let examined = region.len();
    phase4_relist::settle_seeds(heap, &region, seeds, gen, dest);
    let garbage = phase4_relist::run(heap, region, dest, tear);
    validate::lists(heap);
    heap.trigger()
        .counters()
        .collected(gen, examined - garbage.objects.len());
    heap.recount();
    heap.reset_young();
    let relist = clock.lap();
    let scan = Scanned {
        garbage,
        examined,
        pause: stopped.started().elapsed(),
        time_to_safepoint: stopped.time_to_safepoint,
        phases: PhaseTimes {
            take,
            subtract,
            mark,
            relist,
            ..PhaseTimes::default()
        },
    };
    drop(stopped);
    scan
}

/// Phases 1 to 4 with `Scan::Candidates`: as [`scan`], over the candidates of generations
/// `0..=gen` and what they reach inside those generations.
fn scan_candidates(
    heap: &HeapInner,
    gen: usize,
    wait: Wait,
    tear: bool,
) -> Result<Scanned, Stalled> {
    let stopped = stop(heap, wait)?;
    // SAFETY: the world is stopped.
    unsafe { heap.drain_all() };
    let choice = phase1_gather::choose(heap, gen, &stopped);
    if choice.whole {
        let scan = scan_whole(heap, gen, tear, stopped, true);
        phase1_gather::learn(
            heap,
            gen,
            &choice,
            scan.examined,
            scan.garbage.objects.len(),
        );
        return Ok(scan);
    }
    let mut clock = Clock::start();
    let dest = (gen + 1).min(heap.generations() - 1);
    validate::lists(heap);
    let (candidates, gathered) = phase1_gather::candidates(heap, gen, &stopped);
    if let Err(panic) = gathered {
        candidates.put_back(heap);
        drop(stopped);
        std::panic::resume_unwind(panic);
    }
    let take = clock.lap();
    let region = &candidates.region;
    let mut log = EdgeLog::take(heap, region.len(), region.chunk_len());
    let traced = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        phase2_subtract_refs::run(heap, region, &mut log);
    }));
    if let Err(panic) = traced {
        log.give_back(heap);
        candidates.put_back(heap);
        drop(stopped);
        std::panic::resume_unwind(panic);
    }
    let subtract = clock.lap();
    if let Err(overcounted) = phase3_mark::run(heap, region, &log) {
        let message = phase3_mark::overcounted_message(region, &log, overcounted);
        log.give_back(heap);
        candidates.put_back(heap);
        drop(stopped);
        std::panic::panic_any(message);
    }
    validate::marks(region, &log);
    let mark = clock.lap();
    log.give_back(heap);
    let examined = region.len();
    let (garbage, survivors) = phase4_relist::run_candidates(heap, candidates, gen, dest, tear);
    phase1_gather::learn(heap, gen, &choice, examined, garbage.objects.len());
    validate::lists(heap);
    heap.trigger().counters().collected(gen, survivors);
    heap.recount();
    heap.reset_young();
    let relist = clock.lap();
    let scan = Scanned {
        garbage,
        examined,
        pause: stopped.started().elapsed(),
        time_to_safepoint: stopped.time_to_safepoint,
        phases: PhaseTimes {
            take,
            subtract,
            mark,
            relist,
            ..PhaseTimes::default()
        },
    };
    drop(stopped);
    Ok(scan)
}

/// A collection of `gen` that examines nothing (`Scan::Candidates`, no candidate): the shards'
/// owners promote their own lists when they next touch them (or the next stop does), and the
/// counts go on as if the survivors were promoted now. No thread is stopped.
fn examine_nothing(heap: &HeapInner, gen: usize) {
    for shard in heap.shards() {
        shard.post_promote(gen);
    }
    let young = heap.young_count();
    heap.trigger().counters().examined_nothing(gen, young);
    let unpublished = |field: fn(&crate::generation::Shard) -> isize| -> isize {
        heap.shards().iter().map(|s| field(s)).sum()
    };
    heap.trigger().reset_young(
        unpublished(|s| s.unpublished.load(crate::sync::Ordering::Relaxed)),
        unpublished(|s| s.unpublished_due.load(crate::sync::Ordering::Relaxed)),
    );
}

/// Stops the world for a collection — but, for an automatic one, not when a thread that held
/// up the last one has not moved since: it would hold up this one too.
fn stop(heap: &HeapInner, wait: Wait) -> Result<Stopped, Stalled> {
    if wait == Wait::Bounded {
        if let Some(stalled) = world::still_stalled() {
            return Err(stalled);
        }
    }
    world::stop(wait.timeout(heap))
}

/// Abandons a scan: every list back as it was, the world restarted, then `panic` raised again.
fn abandon(
    heap: &HeapInner,
    region: Region,
    log: EdgeLog,
    stopped: Stopped,
    panic: Box<dyn std::any::Any + Send>,
) -> ! {
    log.give_back(heap);
    phase1_gather::put_back(heap, region.into_segments(heap));
    drop(stopped);
    std::panic::resume_unwind(panic)
}

/// This heap's collection in progress; `None` when another is already.
struct Collecting<'a>(&'a HeapInner);

impl<'a> Collecting<'a> {
    fn start(heap: &'a HeapInner) -> Option<Collecting<'a>> {
        heap.begin_collection().then(|| Collecting(heap))
    }
}

impl Drop for Collecting<'_> {
    fn drop(&mut self) {
        self.0.end_collection();
    }
}
