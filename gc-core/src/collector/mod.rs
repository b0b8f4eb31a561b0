//! The cycle collector: CPython's generational trial deletion, with the world stopped only for
//! the scan.
//!
//! ```text
//!             world stopped                          world running (ordinary mutator)
//!  ┌─────────────────────────────────────────┐  ┌───────────────────────────────────────────┐
//!  gather (region) ─▶ subtract_refs ─▶ mark ─▶ weak callbacks ─▶ finalizers
//!                                     │                                           │
//!             survivors promoted ◀────┘     ┌── resurrection check (world stopped)◀┘
//!                                           └─▶ teardown: drop values, free
//! ```
//!
//! One phase per file; `docs/collector.md` walks through them with pictures of the lists.

mod edge_log;
mod gather;
mod mark;
mod region;
mod relist;
mod resurrect;
mod scratch;
mod subtract_refs;
mod teardown;
mod wide;

pub(crate) use self::scratch::Scratch;
#[cfg(loom)]
pub(crate) use self::{
    edge_log::{ChunkLog, EdgeLog},
    mark::{claim_root, mark_from, sequential as mark_sequential},
    region::{flag_set, unflag_set, Region, MARKED},
    subtract_refs::{apply_stripe, sequential as subtract_sequential, trace_chunk, Stripes},
};

use std::time::Duration;

use crate::error::GcError;
use crate::generation;
use crate::handle::GcAny;
use crate::heap::{Heap, HeapInner};
use crate::seeded;
use crate::stats::{
    Callback, CallbackId, Clock, CollectionInfo, DebugFlags, GenerationStats, Phase,
};
use crate::sync::{Instant, Ordering};
use crate::world;

/// The collector's mutable state beside the counters.
pub(crate) struct CollectorState {
    pub(crate) stats: Vec<GenerationStats>,
    pub(crate) callbacks: Vec<(CallbackId, Callback)>,
    pub(crate) garbage: Vec<GcAny>,
    pub(crate) debug: DebugFlags,
    #[cfg(feature = "pause-histogram")]
    pub(crate) pauses: Vec<crate::pauses::PauseHistograms>,
}

impl CollectorState {
    pub(crate) fn new(generations: usize) -> Self {
        CollectorState {
            stats: vec![GenerationStats::default(); generations],
            callbacks: Vec::new(),
            garbage: Vec::new(),
            debug: DebugFlags::empty(),
            #[cfg(feature = "pause-histogram")]
            pauses: (0..generations)
                .map(|_| crate::pauses::PauseHistograms::new())
                .collect(),
        }
    }
}

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

impl HeapInner {
    fn timeout(&self, wait: Wait) -> Option<Duration> {
        match wait {
            Wait::Unbounded => None,
            Wait::Bounded if seeded::AUTO_WAIT_UNBOUNDED => None,
            Wait::Bounded => Some(self.config.safepoint_timeout),
            Wait::Deadline(timeout) => Some(timeout),
        }
    }

    /// Runs the automatic collection CPython's rules choose, if any.
    pub(crate) fn collect_automatic(&self) {
        if !self.enabled.load(Ordering::Relaxed) || self.threshold0.load(Ordering::Relaxed) == 0 {
            self.pending.store(false, Ordering::Relaxed);
            return;
        }
        let young = self.young_count();
        let gen = self
            .counters
            .lock()
            .select(young, self.config.long_lived_rule);
        match gen {
            Some(gen) => {
                let _ = self.collect(gen, Wait::Bounded);
            }
            None => self.pending.store(false, Ordering::Relaxed),
        }
    }

    /// The full collection run when the last handle goes.
    pub(crate) fn collect_full_now(&self) {
        let _ = self.collect(self.generations() - 1, Wait::Unbounded);
    }

    /// One collection of generation `gen` (younger ones merged in). Returns the number of
    /// unreachable objects found; 0 when another collection of this heap is in progress
    /// (re-entrant calls from finalizers included). A bounded wait that runs out is the error:
    /// for an automatic collection, a miss is counted and the retry deferred.
    pub(crate) fn collect(&self, gen: usize, wait: Wait) -> Result<usize, world::Stalled> {
        if world::stopping_here() {
            panic!(
                "gc-core: collect() called while this thread has the world stopped (from Trace?)"
            );
        }
        if self
            .collecting
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Ok(0);
        }
        struct Done<'a>(&'a HeapInner);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.collecting.store(false, Ordering::Release);
            }
        }
        let _done = Done(self);
        let started = Instant::now();
        self.notify(
            Phase::Start,
            &CollectionInfo {
                generation: gen,
                ..CollectionInfo::default()
            },
        );
        let debug = self.state.lock().debug;
        if debug.contains(DebugFlags::STATS) {
            eprintln!("gc: collecting generation {gen}...");
        }
        let tear = !debug.contains(DebugFlags::SAVEALL);
        // A thread that held up the last automatic collection and has not moved since would
        // hold up this one too: give up at once.
        let scanned = match (wait, world::still_stalled()) {
            (Wait::Bounded, Some(stalled)) => Err(stalled),
            _ => gather::scan(self, gen, self.timeout(wait), tear),
        };
        let scan = match scanned {
            Ok(scan) => scan,
            Err(stalled) => {
                if wait == Wait::Bounded {
                    self.state.lock().stats[gen].missed += 1;
                    self.defer_retry();
                }
                self.notify(
                    Phase::Stop,
                    &CollectionInfo {
                        generation: gen,
                        duration: started.elapsed(),
                        ..CollectionInfo::default()
                    },
                );
                return Err(stalled);
            }
        };
        self.pending.store(false, Ordering::Relaxed);
        self.retry_succeeded();
        let examined = scan.examined;
        let mut pause = scan.pause;
        let time_to_safepoint = scan.time_to_safepoint;
        let mut phases = scan.phases;
        let mut clock = Clock::start();
        let (garbage, torn) = resurrect::finalize(self, scan, self.timeout(wait), &mut pause);
        phases.finalize = clock.lap();
        let found = garbage.len();
        if debug.contains(DebugFlags::COLLECTABLE) {
            for object in &garbage {
                eprintln!(
                    "gc: collectable <{} {:#x}>",
                    object.header().type_name(),
                    object.0.as_ptr() as usize
                );
            }
        }
        let uncollectable = if debug.contains(DebugFlags::SAVEALL) {
            teardown::save_all(self, garbage);
            0
        } else {
            teardown::tear_down(self, garbage, torn, debug)
        };
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
        {
            let mut state = self.state.lock();
            let stats = &mut state.stats[gen];
            stats.collections += 1;
            stats.collected += info.collected as u64;
            stats.uncollectable += uncollectable as u64;
            stats.examined += examined as u64;
            stats.pause += pause;
            stats.max_pause = stats.max_pause.max(pause);
            stats.time += info.duration;
            #[cfg(feature = "pause-histogram")]
            state.pauses[gen].record(time_to_safepoint, pause);
        }
        if debug.contains(DebugFlags::STATS) {
            eprintln!(
                "gc: done, {found} unreachable, {uncollectable} uncollectable, \
                 {examined} examined, {:.6}s paused, {:.6}s elapsed",
                pause.as_secs_f64(),
                info.duration.as_secs_f64()
            );
        }
        self.notify(Phase::Stop, &info);
        Ok(found)
    }

    fn notify(&self, phase: Phase, info: &CollectionInfo) {
        let callbacks: Vec<Callback> = self
            .state
            .lock()
            .callbacks
            .iter()
            .map(|(_, cb)| cb.clone())
            .collect();
        for callback in callbacks {
            if let Err(payload) =
                std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| callback(phase, info)))
            {
                crate::finalize::report_panic("gc callback", "Heap", &*payload);
            }
        }
    }
}

impl Heap {
    /// A full collection (CPython `gc.collect()`): the number of unreachable objects found.
    /// Waits as long as needed for other threads to reach safepoints (after a second it names
    /// on stderr the threads it waits for). Returns 0 when called while a collection of this
    /// heap is already running (from a finalizer, say).
    pub fn collect(&self) -> usize {
        self.inner
            .collect(self.generations() - 1, Wait::Unbounded)
            .expect("an unbounded wait never runs out")
    }

    /// A full collection that waits at most `timeout` for other threads to reach safepoints:
    /// [`GcError::Stalled`] names the threads that kept it waiting, and nothing was collected.
    ///
    /// ```
    /// use std::time::Duration;
    /// let heap = gc_core::Heap::new();
    /// assert_eq!(heap.collect_within(Duration::from_secs(1)), Ok(0));
    /// ```
    pub fn collect_within(&self, timeout: Duration) -> Result<usize, GcError> {
        self.inner
            .collect(self.generations() - 1, Wait::Deadline(timeout))
            .map_err(|stalled| GcError::Stalled {
                waited: stalled.waited,
                threads: stalled.threads,
            })
    }

    /// Collects generation `generation` and the younger ones (CPython `gc.collect(g)`).
    pub fn collect_generation(&self, generation: usize) -> Result<usize, GcError> {
        self.check_generation(generation)?;
        Ok(self
            .inner
            .collect(generation, Wait::Unbounded)
            .expect("an unbounded wait never runs out"))
    }

    pub(crate) fn check_generation(&self, generation: usize) -> Result<(), GcError> {
        if generation >= self.generations() {
            return Err(GcError::GenerationOutOfRange {
                generation,
                generations: self.generations(),
            });
        }
        Ok(())
    }

    /// Per-generation statistics (CPython `gc.get_stats`, plus timing and misses).
    pub fn stats(&self) -> Vec<GenerationStats> {
        self.inner.state.lock().stats.clone()
    }

    /// Pause histograms per generation since the heap was made (or last reset).
    #[cfg(feature = "pause-histogram")]
    pub fn pause_histograms(&self) -> Vec<crate::pauses::PauseHistograms> {
        self.inner.state.lock().pauses.clone()
    }

    /// Empties the pause histograms.
    #[cfg(feature = "pause-histogram")]
    pub fn reset_pause_histograms(&self) {
        for h in &mut self.inner.state.lock().pauses {
            *h = crate::pauses::PauseHistograms::new();
        }
    }

    /// Registers a callback called at the start and stop of every collection (CPython
    /// `gc.callbacks`). It runs on the collecting thread with the world running.
    pub fn add_callback(
        &self,
        callback: impl Fn(Phase, &CollectionInfo) + Send + Sync + 'static,
    ) -> CallbackId {
        let id = CallbackId::next();
        let mut state = self.inner.state.lock();
        state.callbacks.push((id, std::sync::Arc::new(callback)));
        id
    }

    /// Unregisters a callback; false if it was not registered.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        let mut state = self.inner.state.lock();
        let before = state.callbacks.len();
        state.callbacks.retain(|(i, _)| *i != id);
        state.callbacks.len() != before
    }

    /// Objects kept by `DebugFlags::SAVEALL` (CPython `gc.garbage`).
    pub fn garbage(&self) -> Vec<GcAny> {
        self.inner.state.lock().garbage.clone()
    }

    /// Empties [`garbage`](Heap::garbage), returning what it held.
    pub fn take_garbage(&self) -> Vec<GcAny> {
        core::mem::take(&mut self.inner.state.lock().garbage)
    }

    /// CPython `gc.set_debug`.
    pub fn set_debug(&self, flags: DebugFlags) {
        self.inner.state.lock().debug = flags;
    }

    /// CPython `gc.get_debug`.
    pub fn debug(&self) -> DebugFlags {
        self.inner.state.lock().debug
    }

    /// Moves every tracked object into the permanent generation, which collections never
    /// scan and treat as roots (CPython `gc.freeze`).
    pub fn freeze(&self) {
        let permanent = self.generations();
        self.with_world_stopped(|inner| {
            for shard in inner.shards.iter() {
                // SAFETY: the world is stopped.
                let lists = unsafe { shard.lists() };
                for gen in 0..permanent {
                    generation::merge(lists, gen, permanent);
                }
            }
            inner.reset_young();
        });
    }

    /// Moves the permanent generation back into the oldest one (CPython `gc.unfreeze`).
    pub fn unfreeze(&self) {
        let permanent = self.generations();
        self.with_world_stopped(|inner| {
            for shard in inner.shards.iter() {
                // SAFETY: the world is stopped.
                generation::merge(unsafe { shard.lists() }, permanent, permanent - 1);
            }
        });
    }

    /// Objects in the permanent generation (CPython `gc.get_freeze_count`).
    pub fn freeze_count(&self) -> usize {
        let permanent = self.generations();
        let mut count = 0;
        self.with_world_stopped(|inner| {
            for shard in inner.shards.iter() {
                // SAFETY: the world is stopped.
                count += unsafe { shard.lists() }[permanent].len();
            }
        });
        count
    }

    /// Runs `f` with the world stopped. A collection of this heap may be in progress — a
    /// freeze from one of its finalizers or callbacks, say: its garbage is off the lists then,
    /// and what it hands back after `f` lands on the lists as they are.
    fn with_world_stopped(&self, f: impl FnOnce(&HeapInner)) {
        let stopped = world::stop(None).expect("an unbounded wait never runs out");
        // SAFETY: the world is stopped.
        unsafe { self.inner.drain_all() };
        f(&self.inner);
        drop(stopped);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    use std::sync::{Arc, Mutex};

    use crate::test_support::quiet_heap as heap;
    use crate::{DebugFlags, Finalize, Gc, GcCell, Heap, Trace};

    #[derive(Trace)]
    #[gc(finalize)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
        #[gc(skip)]
        deaths: Arc<AtomicUsize>,
        #[gc(skip)]
        keep: Option<Arc<Mutex<Vec<Gc<Node>>>>>,
    }

    impl Finalize for Node {
        fn finalize(this: &Gc<Self>) {
            this.deaths.fetch_add(1, StdOrdering::SeqCst);
            if let Some(keep) = &this.keep {
                keep.lock().unwrap().push(this.clone());
            }
        }
    }

    impl Drop for Node {
        fn drop(&mut self) {
            // Touching a sibling in the garbage cycle must panic, never read freed memory.
            if let Some(first) = self.edges.get_mut().first() {
                let _ = first.edges.borrow().len();
            }
        }
    }

    fn node(
        heap: &Heap,
        deaths: &Arc<AtomicUsize>,
        keep: Option<Arc<Mutex<Vec<Gc<Node>>>>>,
    ) -> Gc<Node> {
        heap.alloc(Node {
            edges: GcCell::new(Vec::new()),
            deaths: deaths.clone(),
            keep,
        })
    }

    #[test]
    fn a_ring_is_finalized_torn_down_and_freed() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        let nodes: Vec<_> = (0..5).map(|_| node(&heap, &deaths, None)).collect();
        for (i, n) in nodes.iter().enumerate() {
            n.edges.borrow_mut().push(nodes[(i + 1) % 5].clone());
        }
        let weak = Gc::downgrade(&nodes[0]);
        drop(nodes);
        assert_eq!(heap.collect(), 5);
        assert_eq!(deaths.load(StdOrdering::SeqCst), 5);
        assert!(weak.upgrade().is_none());
        assert_eq!(
            heap.stats()[2].uncollectable,
            5,
            "each Drop touched a sibling"
        );
    }

    #[test]
    fn resurrection_keeps_the_object_and_its_cycle_intact() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        let keep = Arc::new(Mutex::new(Vec::new()));
        let a = node(&heap, &deaths, Some(keep.clone()));
        let b = node(&heap, &deaths, None);
        a.edges.borrow_mut().push(b.clone());
        b.edges.borrow_mut().push(a.clone());
        drop((a, b));
        assert_eq!(heap.collect(), 0);
        let a = keep.lock().unwrap().pop().unwrap();
        assert_eq!(a.edges.borrow()[0].edges.borrow().len(), 1);
        drop(a);
        assert_eq!(heap.collect(), 2);
        assert_eq!(deaths.load(StdOrdering::SeqCst), 2);
    }

    #[test]
    fn saveall_then_release() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        heap.set_debug(DebugFlags::SAVEALL);
        let a = node(&heap, &deaths, None);
        a.edges.borrow_mut().push(a.clone());
        drop(a);
        assert_eq!(heap.collect(), 1);
        assert_eq!(heap.garbage().len(), 1);
        heap.set_debug(DebugFlags::empty());
        drop(heap.take_garbage());
        assert_eq!(heap.collect(), 1);
    }

    #[derive(Trace)]
    struct Link {
        next: GcCell<Option<Gc<Link>>>,
    }

    /// Every listed object's position, generation and flag agree with its list.
    fn assert_lists_consistent(heap: &Heap) {
        let stopped = crate::world::stop(None).unwrap();
        for shard in heap.inner.shards.iter() {
            // SAFETY: the world is stopped.
            let lists = unsafe { shard.lists() };
            for (g, list) in lists.iter().enumerate() {
                for (i, object) in list.iter().enumerate() {
                    let header = object.header();
                    assert_eq!(header.index.load(StdOrdering::Relaxed) as usize, i);
                    assert_eq!(header.generation(), g);
                    assert!(header.has(crate::header::flag::LISTED));
                }
            }
        }
        drop(stopped);
    }

    #[test]
    fn collections_keep_every_list_position_right() {
        let heap = heap();
        let link = || {
            heap.alloc(Link {
                next: GcCell::new(None),
            })
        };
        let mut kept: Vec<Gc<Link>> = (0..600).map(|_| link()).collect();
        heap.collect();
        // Holes all over the oldest list: every third object becomes a self-cycle and goes,
        // and a few young objects wait to join it.
        let mut young: Vec<Gc<Link>> = (0..50).map(|_| link()).collect();
        for (i, object) in core::mem::take(&mut kept).into_iter().enumerate() {
            if i % 3 == 0 {
                object.next.set(Some(object.clone()));
            } else {
                kept.push(object);
            }
        }
        assert_eq!(heap.collect_generation(0).unwrap(), 0);
        assert_lists_consistent(&heap);
        assert_eq!(heap.collect(), 200);
        assert_lists_consistent(&heap);
        assert_eq!(heap.objects(Some(2)).unwrap().len(), 450);
        // Frees unlist by position: drop in an order unlike the lists'.
        kept.append(&mut young);
        let mut i = 0;
        while !kept.is_empty() {
            i = (i + 7) % kept.len();
            drop(kept.swap_remove(i));
            if kept.len().is_multiple_of(97) {
                assert_lists_consistent(&heap);
            }
        }
        assert_eq!(heap.objects(None).unwrap().len(), 0);
    }

    #[test]
    fn generations_promote_survivors() {
        let heap = heap();
        let deaths = Arc::new(AtomicUsize::new(0));
        let a = node(&heap, &deaths, None);
        heap.collect_generation(0).unwrap();
        assert_eq!(heap.objects(Some(1)).unwrap().len(), 1);
        heap.collect_generation(1).unwrap();
        assert_eq!(heap.objects(Some(2)).unwrap().len(), 1);
        drop(a);
        assert_eq!(heap.objects(None).unwrap().len(), 0);
    }
}
