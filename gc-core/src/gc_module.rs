//! CPython's `gc` module on a `Heap`: collections (`gc.collect`), the automatic trigger's
//! switches and thresholds (`gc.enable`, `gc.set_threshold`), counts and statistics
//! (`gc.get_count`, `gc.get_stats`), callbacks (`gc.callbacks`), the saved garbage and debug
//! flags (`gc.garbage`, `gc.set_debug`), and the permanent generation (`gc.freeze`).
//! `docs/semantics.md` goes through them row by row.

use std::time::Duration;

use crate::collector::{self, Wait};
use crate::error::GcError;
use crate::handle::GcAny;
use crate::heap::{Heap, HeapInner};
use crate::stats::{Callback, CallbackId, CollectionInfo, DebugFlags, GenerationStats, Phase};
use crate::world;

impl Heap {
    /// A full collection (CPython `gc.collect()`): the number of unreachable objects found.
    /// Waits as long as needed for other threads to reach safepoints (after a second it names
    /// on stderr the threads it waits for). Returns 0 when called while a collection of this
    /// heap is already running (from a finalizer, say).
    pub fn collect(&self) -> usize {
        collector::collect(&self.inner, self.generations() - 1, Wait::Unbounded)
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
        collector::collect(&self.inner, self.generations() - 1, Wait::Deadline(timeout)).map_err(
            |stalled| GcError::Stalled {
                waited: stalled.waited,
                threads: stalled.threads,
            },
        )
    }

    /// Collects generation `generation` and the younger ones (CPython `gc.collect(g)`).
    pub fn collect_generation(&self, generation: usize) -> Result<usize, GcError> {
        self.check_generation(generation)?;
        Ok(collector::collect(&self.inner, generation, Wait::Unbounded)
            .expect("an unbounded wait never runs out"))
    }

    /// Turns automatic collection on (CPython `gc.enable`).
    pub fn enable(&self) {
        self.inner.trigger().enable(true);
    }

    /// Turns automatic collection off (CPython `gc.disable`); explicit collections still run.
    pub fn disable(&self) {
        self.inner.trigger().enable(false);
    }

    /// CPython `gc.isenabled`.
    pub fn is_enabled(&self) -> bool {
        self.inner.trigger().is_enabled()
    }

    /// CPython `gc.get_threshold`.
    pub fn thresholds(&self) -> Vec<usize> {
        self.inner.trigger().counters().thresholds.clone()
    }

    /// CPython `gc.set_threshold`: one value per generation. A gen-0 threshold of zero
    /// disables automatic collection.
    pub fn set_thresholds(&self, thresholds: &[usize]) -> Result<(), GcError> {
        let mut counters = self.inner.trigger().counters();
        if thresholds.len() != counters.generations() {
            return Err(GcError::ThresholdCount {
                given: thresholds.len(),
                generations: counters.generations(),
            });
        }
        counters.thresholds = thresholds.to_vec();
        self.inner
            .trigger()
            .set_threshold0(thresholds[0], self.inner.shards().len());
        Ok(())
    }

    /// CPython `gc.get_count`: gen-0 allocations minus deallocations, then for each older
    /// generation the collections of the next younger one since its own last collection.
    pub fn count(&self) -> Vec<usize> {
        let young = self.inner.young_count();
        let counters = self.inner.trigger().counters();
        let mut counts = counters.counts.clone();
        counts[0] = young;
        counts
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
        self.inner.state().stats.clone()
    }

    /// Pause histograms per generation since the heap was made (or last reset).
    #[cfg(feature = "pause-histogram")]
    pub fn pause_histograms(&self) -> Vec<crate::pauses::PauseHistograms> {
        self.inner.state().pauses.clone()
    }

    /// Empties the pause histograms.
    #[cfg(feature = "pause-histogram")]
    pub fn reset_pause_histograms(&self) {
        for h in &mut self.inner.state().pauses {
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
        let mut state = self.inner.state();
        state.callbacks.push((id, std::sync::Arc::new(callback)));
        id
    }

    /// Unregisters a callback; false if it was not registered.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        let mut state = self.inner.state();
        let before = state.callbacks.len();
        state.callbacks.retain(|(i, _)| *i != id);
        state.callbacks.len() != before
    }

    /// Objects kept by `DebugFlags::SAVEALL` (CPython `gc.garbage`).
    pub fn garbage(&self) -> Vec<GcAny> {
        self.inner.state().garbage.clone()
    }

    /// Empties [`garbage`](Heap::garbage), returning what it held.
    pub fn take_garbage(&self) -> Vec<GcAny> {
        core::mem::take(&mut self.inner.state().garbage)
    }

    /// CPython `gc.set_debug`.
    pub fn set_debug(&self, flags: DebugFlags) {
        self.inner.state().debug = flags;
    }

    /// CPython `gc.get_debug`.
    pub fn debug(&self) -> DebugFlags {
        self.inner.state().debug
    }

    /// Moves every tracked object into the permanent generation, which collections never
    /// scan and treat as roots (CPython `gc.freeze`).
    pub fn freeze(&self) {
        let permanent = self.generations();
        self.with_world_stopped(|inner| {
            for shard in inner.shards() {
                for gen in 0..permanent {
                    // SAFETY: the world is stopped.
                    unsafe { shard.merge(gen, permanent) };
                }
            }
            inner.recount();
            inner.reset_young();
        });
    }

    /// Moves the permanent generation back into the oldest one (CPython `gc.unfreeze`).
    pub fn unfreeze(&self) {
        let permanent = self.generations();
        self.with_world_stopped(|inner| {
            for shard in inner.shards() {
                // SAFETY: the world is stopped.
                unsafe { shard.merge(permanent, permanent - 1) };
            }
        });
    }

    /// Objects in the permanent generation (CPython `gc.get_freeze_count`).
    pub fn freeze_count(&self) -> usize {
        let permanent = self.generations();
        let mut count = 0;
        self.with_world_stopped(|inner| {
            for shard in inner.shards() {
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

impl HeapInner {
    /// Calls the registered callbacks (CPython's `gc.callbacks`), outside the state's lock; a
    /// panicking one is reported and the others still run.
    pub(crate) fn notify(&self, phase: Phase, info: &CollectionInfo) {
        let callbacks: Vec<Callback> = self
            .state()
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

    /// Books a finished collection in the statistics of its generation, and the trigger.
    pub(crate) fn record(&self, info: &CollectionInfo) {
        self.trigger().ran();
        let mut state = self.state();
        let stats = &mut state.stats[info.generation];
        stats.collections += 1;
        stats.collected += info.collected as u64;
        stats.uncollectable += info.uncollectable as u64;
        stats.examined += info.examined as u64;
        stats.pause += info.pause;
        stats.max_pause = stats.max_pause.max(info.pause);
        stats.time += info.duration;
        #[cfg(feature = "pause-histogram")]
        state.pauses[info.generation].record(info.time_to_safepoint, info.pause);
    }
}
