//! `Heap`: one collector instance — its shards of generation lists, its counters and settings.
//!
//! Allocation puts a tracked object on generation 0 of the calling thread's shard; its death
//! by reference count takes it off again under that shard's mutex, from whatever thread. Gen-0
//! counts are kept per shard and published to the heap in batches, so the hot paths touch no
//! shared cache line but their shard's.
//!
//! # Lifetime
//!
//! A tracked object points at its heap, so the heap's state must outlive every listed object.
//! When the last `Heap` handle (or `Mutator`) goes, the heap runs a full collection. Objects
//! still alive after it keep working normally — handles, weak references, reference-count death
//! — and the heap's state is freed when the last of them leaves its list. Cycles that become
//! garbage after that are never collected (nothing can call `collect` any more): they leak,
//! safely, as CPython leaks cycles at exit without a final collection.

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::collector::CollectorState;
use crate::config::Config;
use crate::error::GcError;
use crate::generation::{Counters, Shard};
use crate::handle::Gc;
use crate::header::{flag, GcBox, Header, VTable};
use crate::sync::{Arc, AtomicBool, AtomicIsize, AtomicUsize, Mutex, Ordering};
use crate::trace::Trace;
use crate::world::{self, Hold};

/// A collector instance (CPython's `gc` module state plus its object lists).
///
/// `Clone + Send + Sync`: clones share one heap. Several heaps may coexist; they share the
/// process-wide world lock (a collection of one stops the threads of all).
pub struct Heap {
    pub(crate) inner: Arc<HeapInner>,
}

pub(crate) struct HeapInner {
    pub(crate) config: Config,
    pub(crate) shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// `Heap` and `Mutator` handles alive.
    handles: AtomicUsize,
    /// Published part of `count()[0]`.
    young: AtomicIsize,
    /// Batch size for publishing shard counts.
    publish_batch: AtomicIsize,
    /// Gen-0 threshold (0 disables automatic collection).
    pub(crate) threshold0: AtomicUsize,
    /// Gen-0 count above which a collection is due: the threshold, or later after a miss.
    trigger_at: AtomicUsize,
    pub(crate) enabled: AtomicBool,
    /// An automatic collection is due; run at the next safepoint that is at rest.
    pub(crate) pending: AtomicBool,
    /// A collection of this heap is in progress.
    pub(crate) collecting: AtomicBool,
    pub(crate) counters: Mutex<Counters>,
    pub(crate) state: Mutex<CollectorState>,
    pub(crate) pool: Option<rayon::ThreadPool>,
    /// Set (under every shard lock) when the last handle went while objects stayed listed.
    orphaned: AtomicBool,
    /// Listed objects left when orphaned; the last one to leave frees the heap.
    orphans: AtomicUsize,
}

impl HeapInner {
    pub(crate) fn generations(&self) -> usize {
        self.config.thresholds.len()
    }

    /// Allocates an object; tracked ones go on gen 0 of the calling thread's shard.
    pub(crate) fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        let vtable = VTable::of::<T>();
        let mut flags = if T::FINALIZER.is_some() {
            flag::HAS_FINALIZER
        } else {
            0
        };
        if !T::TRACKED {
            let header = Header::new(vtable, flags, core::ptr::null());
            // SAFETY: a fresh box owns one strong reference.
            return unsafe { Gc::from_owned(GcBox::allocate(header, value)) };
        }
        world::safepoint();
        let gc = {
            let _hold = Hold::take();
            let shard = world::thread_index() % self.shards.len();
            flags |= flag::TRACKED | flag::LISTED | ((shard as u32) << flag::SHARD_SHIFT);
            let header = Header::new(vtable, flags, self);
            let object = GcBox::allocate(header, value);
            let mut lists = self.shards[shard].lock();
            lists.push(0, object);
            lists.unpublished += 1;
            if lists.unpublished >= self.publish_batch.load(Ordering::Relaxed) {
                let delta = core::mem::take(&mut lists.unpublished);
                drop(lists);
                self.publish(delta);
            }
            // SAFETY: a fresh box owns one strong reference.
            unsafe { Gc::from_owned(object) }
        };
        if self.pending.load(Ordering::Relaxed) {
            self.collect_if_due();
        }
        gc
    }

    /// Adds a shard's batch to the gen-0 count (never below zero) and flags a due collection.
    fn publish(&self, delta: isize) {
        let young = self
            .young
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |y| {
                Some((y + delta).max(0))
            })
            .map_or(0, |y| (y + delta).max(0));
        let threshold = self.threshold0.load(Ordering::Relaxed);
        let trigger = self.trigger_at.load(Ordering::Relaxed);
        if threshold > 0 && young as usize > trigger && self.enabled.load(Ordering::Relaxed) {
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// `count()[0]`: published plus unpublished, never below zero.
    pub(crate) fn young_count(&self) -> usize {
        let unpublished: isize = self.shards.iter().map(|s| s.lock().unpublished).sum();
        (self.young.load(Ordering::Relaxed) + unpublished).max(0) as usize
    }

    /// Zeroes gen 0's count (after a collection, with the world stopped).
    pub(crate) fn reset_young(&self) {
        for shard in self.shards.iter() {
            shard.lock().unpublished = 0;
        }
        self.young.store(0, Ordering::Relaxed);
        self.trigger_at
            .store(self.threshold0.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// An automatic collection missed its safepoint deadline: retry only after another
    /// threshold's worth of allocations, so a blocked thread costs one wait per threshold.
    pub(crate) fn defer_retry(&self) {
        let young = self.young.load(Ordering::Relaxed).max(0) as usize;
        let threshold = self.threshold0.load(Ordering::Relaxed).max(1);
        self.trigger_at.store(young + threshold, Ordering::Relaxed);
        self.pending.store(false, Ordering::Relaxed);
    }

    pub(crate) fn set_threshold0(&self, threshold: usize) {
        self.threshold0.store(threshold, Ordering::Relaxed);
        self.trigger_at.store(threshold, Ordering::Relaxed);
        let batch = (threshold / (4 * self.shards.len())).clamp(1, 32);
        self.publish_batch.store(batch as isize, Ordering::Relaxed);
    }

    /// The worker pool, when a set of `len` objects is worth scanning in parallel.
    pub(crate) fn parallel_pool(&self, len: usize) -> Option<&rayon::ThreadPool> {
        self.pool
            .as_ref()
            .filter(|_| len >= self.config.parallel_cutoff)
    }

    /// Takes a dead object off its list. The caller holds the world.
    pub(crate) fn unlist(&self, header: &Header) {
        let orphaned = {
            let mut lists = self.shards[header.shard()].lock();
            lists.remove(header);
            header.clear(flag::LISTED);
            lists.unpublished -= 1;
            if lists.unpublished <= -self.publish_batch.load(Ordering::Relaxed) {
                let delta = core::mem::take(&mut lists.unpublished);
                drop(lists);
                self.publish(delta);
            }
            self.orphaned.load(Ordering::Acquire)
        };
        if orphaned && self.orphans.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the orphaned heap's last listed object just left; `orphan` leaked one
            // `Arc` for exactly this moment, and nothing else refers to the heap any more.
            unsafe { drop(Arc::from_raw(self as *const HeapInner)) };
        }
    }

    /// Runs the automatic collection if one is due and this thread is at rest (no borrows).
    pub(crate) fn collect_if_due(&self) {
        if world::at_rest() && !world::stopping_here() {
            self.collect_automatic();
        }
    }

    /// The last handle went: collect, then free the heap or leave it to its survivors.
    fn orphan(this: &Arc<HeapInner>) {
        this.collect_full_now();
        let guards: Vec<_> = this.shards.iter().map(|s| s.lock()).collect();
        let listed: usize = guards
            .iter()
            .map(|g| g.lists.iter().map(Vec::len).sum::<usize>())
            .sum();
        if listed > 0 {
            this.orphans.store(listed, Ordering::Release);
            this.orphaned.store(true, Ordering::Release);
            // The survivors' share of the heap, released by the last of them in `unlist`.
            let _ = Arc::into_raw(this.clone());
        }
        drop(guards);
    }
}

impl Heap {
    /// A heap with CPython's defaults (thresholds 700, 10, 10).
    pub fn new() -> Heap {
        Heap::with_config(Config::default()).expect("the default configuration is valid")
    }

    /// A heap with the given configuration.
    pub fn with_config(config: Config) -> Result<Heap, GcError> {
        config.validate()?;
        let pool = if config.workers > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(config.workers)
                    .thread_name(|i| format!("gc-worker-{i}"))
                    .start_handler(|_| world::become_collector_worker())
                    .build()
                    .map_err(|e| GcError::InvalidConfig(format!("collector workers: {e}")))?,
            )
        } else {
            None
        };
        let generations = config.thresholds.len();
        let inner = HeapInner {
            shards: (0..config.shards)
                .map(|_| CachePadded::new(Mutex::new(Shard::new(generations))))
                .collect(),
            handles: AtomicUsize::new(1),
            young: AtomicIsize::new(0),
            publish_batch: AtomicIsize::new(1),
            threshold0: AtomicUsize::new(0),
            trigger_at: AtomicUsize::new(0),
            enabled: AtomicBool::new(true),
            pending: AtomicBool::new(false),
            collecting: AtomicBool::new(false),
            counters: Mutex::new(Counters::new(config.thresholds.clone())),
            state: Mutex::new(CollectorState::new(generations)),
            pool,
            orphaned: AtomicBool::new(false),
            orphans: AtomicUsize::new(0),
            config,
        };
        inner.set_threshold0(inner.config.thresholds[0]);
        Ok(Heap {
            inner: Arc::new(inner),
        })
    }

    /// Allocates `value` on this heap. Types that can hold handles are tracked (put on
    /// generation 0); others are plain reference-counted objects.
    pub fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        self.inner.alloc(value)
    }

    /// The configuration the heap was built with (thresholds as at creation).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Number of generations.
    pub fn generations(&self) -> usize {
        self.inner.generations()
    }

    /// Turns automatic collection on (CPython `gc.enable`).
    pub fn enable(&self) {
        self.inner.enabled.store(true, Ordering::Relaxed);
    }

    /// Turns automatic collection off (CPython `gc.disable`); explicit collections still run.
    pub fn disable(&self) {
        self.inner.enabled.store(false, Ordering::Relaxed);
        self.inner.pending.store(false, Ordering::Relaxed);
    }

    /// CPython `gc.isenabled`.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::Relaxed)
    }

    /// CPython `gc.get_threshold`.
    pub fn thresholds(&self) -> Vec<usize> {
        self.inner.counters.lock().thresholds.clone()
    }

    /// CPython `gc.set_threshold`: one value per generation. A gen-0 threshold of zero
    /// disables automatic collection.
    pub fn set_thresholds(&self, thresholds: &[usize]) -> Result<(), GcError> {
        let mut counters = self.inner.counters.lock();
        if thresholds.len() != counters.generations() {
            return Err(GcError::ThresholdCount {
                given: thresholds.len(),
                generations: counters.generations(),
            });
        }
        counters.thresholds = thresholds.to_vec();
        self.inner.set_threshold0(thresholds[0]);
        Ok(())
    }

    /// CPython `gc.get_count`: gen-0 allocations minus deallocations, then for each older
    /// generation the collections of the next younger one since its own last collection.
    pub fn count(&self) -> Vec<usize> {
        let young = self.inner.young_count();
        let counters = self.inner.counters.lock();
        let mut counts = counters.counts.clone();
        counts[0] = young;
        counts
    }

    /// Attaches the calling thread: operations inside the returned `Mutator` pay no lock,
    /// and collections wait for it to reach a safepoint.
    pub fn attach(&self) -> crate::Mutator {
        crate::Mutator::new(self.clone())
    }

    /// A bound on how long automatic collections wait for safepoints.
    pub fn safepoint_timeout(&self) -> Duration {
        self.inner.config.safepoint_timeout
    }

    pub(crate) fn from_inner(inner: &Arc<HeapInner>) -> Heap {
        inner.handles.fetch_add(1, Ordering::Relaxed);
        Heap {
            inner: inner.clone(),
        }
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Clone for Heap {
    fn clone(&self) -> Self {
        Heap::from_inner(&self.inner)
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            HeapInner::orphan(&self.inner);
        }
    }
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap")
            .field("generations", &self.generations())
            .field("count", &self.count())
            .field("enabled", &self.is_enabled())
            .finish()
    }
}
